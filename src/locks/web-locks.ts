import type { AcquireOptions, HeldLock, Locks } from '../ports/locks';

/** Whether this page has Web Locks (`navigator.locks`); missing outside secure contexts. */
export function hasWebLocks(target: { navigator?: Navigator } = globalThis): boolean {
  return typeof target.navigator?.locks?.request === 'function';
}

/**
 * The `Locks` port over Web Locks. The browser itself guarantees one holder per name across
 * all tabs of the origin, releases a closed tab's locks, and aborts a holder whose lock is
 * stolen (its request promise rejects). Exercised by test/e2e/identity.e2e.ts (jsdom has none).
 */
export function createWebLocks(manager: LockManager = navigator.locks): Locks {
  return {
    kind: 'web-locks',
    tryAcquire(name: string, options: AcquireOptions = {}): Promise<HeldLock | null> {
      return new Promise((resolve, reject) => {
        const controller = new AbortController();
        let releaseHold: () => void = () => {};
        const hold = new Promise<void>((done) => {
          releaseHold = done;
        });
        const lock: HeldLock = {
          name,
          signal: controller.signal,
          release: async () => {
            controller.abort();
            releaseHold();
            await settled;
          },
        };
        // `steal` and `ifAvailable` cannot be combined: a steal always gets the lock at once.
        const requestOptions: LockOptions = options.steal ? { steal: true } : { ifAvailable: true };
        const settled = manager
          .request(name, requestOptions, (granted) => {
            if (!granted) {
              resolve(null);
              return undefined;
            }
            resolve(lock);
            return hold;
          })
          .then(
            () => {},
            (error: unknown) => {
              // A stolen lock rejects the holder's request with AbortError: stop at once.
              controller.abort();
              if (!isAbort(error)) reject(error);
            },
          )
          .finally(() => controller.abort());
      });
    },
    async held(): Promise<ReadonlySet<string>> {
      const snapshot = await manager.query();
      return new Set((snapshot.held ?? []).flatMap((info) => (info.name ? [info.name] : [])));
    },
  };
}

function isAbort(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'name' in error && error.name === 'AbortError';
}
