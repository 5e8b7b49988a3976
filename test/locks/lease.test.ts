import { describe, expect, it } from 'vitest';
import { createLeaseLocks, LEASE_PREFIX, type LeaseChannel, type LeaseStorage } from '../../src/locks/lease';
import { locksCompliance } from '../ports/locks-compliance';

/** localStorage as the tabs of one browser share it. */
function sharedStorage(): LeaseStorage & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return {
    map,
    get length() {
      return map.size;
    },
    key: (index) => [...map.keys()][index] ?? null,
    getItem: (key) => map.get(key) ?? null,
    setItem: (key, value) => void map.set(key, value),
    removeItem: (key) => void map.delete(key),
  };
}

/** A BroadcastChannel between tabs: a message reaches every other tab, asynchronously. */
function channelHub(): () => LeaseChannel {
  const listeners = new Set<(message: unknown) => void>();
  return () => {
    const own = new Set<(message: unknown) => void>();
    return {
      post: (message) => {
        const copy = structuredClone(message);
        for (const listener of listeners) if (!own.has(listener)) queueMicrotask(() => listener(copy));
      },
      listen: (listener) => {
        own.add(listener);
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    };
  };
}

const FAST = { renewMs: 40, ttlMs: 150, settleMs: 10 } as const;

locksCompliance('lease', async () => {
  const storage = sharedStorage();
  const channel = channelHub();
  const tabs = [0, 1, 2].map((i) =>
    createLeaseLocks({ storage, channel: channel(), owner: `tab${i}`, ...FAST }),
  ) as unknown as readonly [
    ReturnType<typeof createLeaseLocks>,
    ReturnType<typeof createLeaseLocks>,
    ReturnType<typeof createLeaseLocks>,
  ];
  return {
    tabs,
    closeTab: (index) => tabs[index].close(),
    cleanup: async () => {
      for (const tab of tabs) await tab.close();
    },
  };
});

describe('lease fallback, beyond the compliance suite', () => {
  it('a lease that cannot be read is treated as held, never as free', async () => {
    const storage = sharedStorage();
    storage.setItem(`${LEASE_PREFIX}node.x`, '{not json');
    const tab = createLeaseLocks({ storage, ...FAST });
    expect(await tab.tryAcquire('node.x')).toBeNull();
    expect((await tab.held()).has('node.x')).toBe(true);
    await tab.close();
  });

  it("a crashed tab's lease (never released, never renewed) frees itself after its lifetime", async () => {
    const storage = sharedStorage();
    let clock = 1_000;
    const crashed = createLeaseLocks({ storage, owner: 'crashed', now: () => clock, ...FAST });
    expect(await crashed.tryAcquire('node.y')).not.toBeNull();
    // The page dies: its renewal timer stops with it, the record stays.
    const record = storage.getItem(`${LEASE_PREFIX}node.y`);
    await crashed.close();
    storage.setItem(`${LEASE_PREFIX}node.y`, record ?? '');
    const other = createLeaseLocks({ storage, owner: 'other', now: () => clock, ...FAST });
    expect(await other.tryAcquire('node.y')).toBeNull();
    clock += FAST.ttlMs + 1;
    expect(await other.tryAcquire('node.y')).not.toBeNull();
    await other.close();
  });

  it('a holder that missed the steal message notices at its next renewal', async () => {
    const storage = sharedStorage();
    const old = createLeaseLocks({ storage, owner: 'old', ...FAST });
    const thief = createLeaseLocks({ storage, owner: 'thief', ...FAST });
    const lock = await old.tryAcquire('forging.k');
    expect(await thief.tryAcquire('forging.k', { steal: true })).not.toBeNull();
    await new Promise((resolve) => setTimeout(resolve, FAST.renewMs * 3));
    expect(lock?.signal.aborted).toBe(true);
    await old.close();
    await thief.close();
  });
});
