import type { AcquireOptions, HeldLock, Locks } from '../ports/locks';

/**
 * The in-memory twin of the `Locks` port: one `MemoryLockHub` stands for one browser, and each
 * `hub.tab()` for one of its tabs. Exact, like Web Locks: unit tests and the simulator use it.
 */
export class MemoryLockHub {
  private readonly holders = new Map<string, { tab: number; controller: AbortController }>();
  private tabs = 0;

  /** The locks of a new tab of this browser. */
  tab(): Locks & { close(): void } {
    const tab = ++this.tabs;
    const hub = this;
    return {
      kind: 'memory',
      async tryAcquire(name: string, options: AcquireOptions = {}): Promise<HeldLock | null> {
        return hub.acquire(tab, name, options.steal === true);
      },
      async held(): Promise<ReadonlySet<string>> {
        return new Set(hub.holders.keys());
      },
      /** The tab closes: every lock it holds is released, as a closed page's are. */
      close(): void {
        for (const [name, holder] of [...hub.holders]) {
          if (holder.tab === tab) hub.drop(name, holder.controller);
        }
      },
    };
  }

  private acquire(tab: number, name: string, steal: boolean): HeldLock | null {
    const current = this.holders.get(name);
    if (current) {
      if (!steal) return null;
      this.drop(name, current.controller);
    }
    const controller = new AbortController();
    this.holders.set(name, { tab, controller });
    return {
      name,
      signal: controller.signal,
      release: async () => this.drop(name, controller),
    };
  }

  private drop(name: string, controller: AbortController): void {
    if (this.holders.get(name)?.controller === controller) this.holders.delete(name);
    controller.abort();
  }
}
