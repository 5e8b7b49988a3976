import { afterEach, describe, expect, it } from 'vitest';
import type { HeldLock, Locks } from '../../src/ports/locks';

/** Tabs of one browser sharing one lock space; `closeTab` closes one as a page unload would. */
export interface LocksHarness {
  readonly tabs: readonly [Locks, Locks, Locks];
  closeTab(index: 0 | 1 | 2): Promise<void>;
  cleanup(): Promise<void>;
}

/** Resolves once `signal` aborts, or rejects after `ms`. */
function aborted(signal: AbortSignal, ms = 2_000): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not aborted within ${ms} ms`)), ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function must(lock: HeldLock | null): HeldLock {
  if (!lock) throw new Error('expected the lock to be granted');
  return lock;
}

/** The behaviour every `Locks` implementation must have. */
export function locksCompliance(name: string, makeHarness: () => Promise<LocksHarness>): void {
  describe(`Locks compliance: ${name}`, () => {
    let harness: LocksHarness | null = null;
    const open = async () => {
      harness = await makeHarness();
      return harness;
    };
    afterEach(async () => {
      await harness?.cleanup();
      harness = null;
    });

    it('grants a free name to one tab and refuses it to the others, that tab included', async () => {
      const { tabs } = await open();
      const lock = must(await tabs[0].tryAcquire('node.a'));
      expect(lock.signal.aborted).toBe(false);
      expect(await tabs[1].tryAcquire('node.a')).toBeNull();
      expect(await tabs[0].tryAcquire('node.a')).toBeNull();
      // Another name is independent.
      must(await tabs[1].tryAcquire('node.b'));
      expect(lock.signal.aborted).toBe(false);
    });

    it('lists held names from every tab, and forgets released ones', async () => {
      const { tabs } = await open();
      const a = must(await tabs[0].tryAcquire('node.a'));
      must(await tabs[1].tryAcquire('node.b'));
      const held = await tabs[2].held();
      expect(held.has('node.a')).toBe(true);
      expect(held.has('node.b')).toBe(true);
      expect(held.has('node.c')).toBe(false);
      await a.release();
      expect(a.signal.aborted).toBe(true);
      expect((await tabs[2].held()).has('node.a')).toBe(false);
      must(await tabs[1].tryAcquire('node.a'));
    });

    it('gives a racing claim to exactly one of the tabs', async () => {
      const { tabs } = await open();
      const results = await Promise.all(tabs.map((tab) => tab.tryAcquire('node.race')));
      expect(results.filter((lock) => lock !== null)).toHaveLength(1);
    });

    it('a steal takes the lock and aborts the old holder; its late release frees nothing', async () => {
      const { tabs } = await open();
      const old = must(await tabs[0].tryAcquire('forging.k'));
      const stolen = must(await tabs[1].tryAcquire('forging.k', { steal: true }));
      await aborted(old.signal);
      expect(stolen.signal.aborted).toBe(false);
      await old.release();
      expect(await tabs[2].tryAcquire('forging.k')).toBeNull();
      expect((await tabs[2].held()).has('forging.k')).toBe(true);
    });

    it("a closed tab's locks become free", async () => {
      const h = await open();
      const lock = must(await h.tabs[0].tryAcquire('node.a'));
      await h.closeTab(0);
      await aborted(lock.signal);
      must(await h.tabs[1].tryAcquire('node.a'));
    });
  });
}
