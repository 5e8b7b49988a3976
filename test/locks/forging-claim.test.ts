import { afterEach, describe, expect, it } from 'vitest';
import { ForgingClaim, type ForgingNode } from '../../src/locks/forging-claim';
import type { LeaseChannel } from '../../src/locks/lease';
import { MemoryLockHub } from '../../src/locks/memory';

/** A node as the claim sees it; `log` records every forging change of every fake node, in order. */
function fakeNode(
  name: string,
  log: string[],
  publicKeyPem: string | null,
): ForgingNode & {
  setWallet(pem: string | null): void;
  allowed: boolean;
} {
  const listeners = new Set<() => void>();
  let snapshot = { wallet: publicKeyPem ? { publicKeyPem } : null };
  const node = {
    allowed: false,
    async setForging(allowed: boolean) {
      // A forging step in progress finishes before the command returns.
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (node.allowed !== allowed) log.push(`${name}:${allowed ? 'on' : 'off'}`);
      node.allowed = allowed;
    },
    getSnapshot: () => snapshot,
    subscribe(listener: () => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    setWallet(pem: string | null) {
      snapshot = { wallet: pem ? { publicKeyPem: pem } : null };
      for (const listener of listeners) listener();
    },
  };
  return node;
}

function channelHub(): () => LeaseChannel {
  const listeners = new Set<(message: unknown) => void>();
  return () => {
    const own = new Set<(message: unknown) => void>();
    return {
      post: (message) => {
        for (const listener of listeners) if (!own.has(listener)) queueMicrotask(() => listener(message));
      },
      listen: (listener) => {
        own.add(listener);
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    };
  };
}

async function until(check: () => boolean, ms = 3_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const claims: ForgingClaim[] = [];
afterEach(async () => {
  for (const claim of claims.splice(0)) await claim.stop();
});

function tabs(keys: readonly (string | null)[], options: { ackTimeoutMs?: number } = {}) {
  const hub = new MemoryLockHub();
  const channel = channelHub();
  const log: string[] = [];
  const made = keys.map((key, i) => {
    const node = fakeNode(`tab${i}`, log, key);
    const claim = new ForgingClaim({
      locks: hub.tab(),
      node,
      channel: channel(),
      retryMs: 20,
      ackTimeoutMs: options.ackTimeoutMs ?? 2_000,
    });
    claims.push(claim);
    claim.start();
    return { node, claim };
  });
  return { log, made };
}

describe('one forger per key in a browser', () => {
  it('of two tabs with one key exactly one forges; a tab with no key is off', async () => {
    const { made } = tabs(['KEY', 'KEY', null]);
    const [a, b, c] = made;
    await until(() => a?.claim.status() !== 'off' && b?.claim.status() !== 'off');
    expect([a?.claim.status(), b?.claim.status()].sort()).toEqual(['other-tab', 'this-tab']);
    expect([a?.node.allowed, b?.node.allowed].filter(Boolean)).toHaveLength(1);
    expect(c?.claim.status()).toBe('off');
    expect(c?.node.allowed).toBe(false);
  });

  it('taking over moves the forging, and the old tab stops before the new one starts', async () => {
    const { log, made } = tabs(['KEY', 'KEY'], { ackTimeoutMs: 10_000 });
    await until(() => made.every((t) => t.claim.status() !== 'off'));
    const holder = made.find((t) => t.claim.status() === 'this-tab');
    const other = made.find((t) => t.claim.status() === 'other-tab');
    if (!holder || !other) throw new Error('expected one holder');
    log.length = 0;
    const started = Date.now();
    await other.claim.takeOver();
    // The acknowledgement, not the 10 s bound, let the new holder start.
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(other.claim.status()).toBe('this-tab');
    await until(() => holder.claim.status() === 'other-tab');
    expect(holder.node.allowed).toBe(false);
    expect(other.node.allowed).toBe(true);
    const oldOff = log.indexOf(holder === made[0] ? 'tab0:off' : 'tab1:off');
    const newOn = log.indexOf(holder === made[0] ? 'tab1:on' : 'tab0:on');
    expect(oldOff).toBeGreaterThanOrEqual(0);
    expect(newOn).toBeGreaterThan(oldOff);
  });

  it('a forgotten key frees the lock, and the other tab takes it', async () => {
    const { made } = tabs(['KEY', 'KEY']);
    await until(() => made.every((t) => t.claim.status() !== 'off'));
    const holder = made.find((t) => t.claim.status() === 'this-tab');
    const other = made.find((t) => t.claim.status() === 'other-tab');
    if (!holder || !other) throw new Error('expected one holder');
    holder.node.setWallet(null);
    await until(() => holder.claim.status() === 'off' && other.claim.status() === 'this-tab');
    expect(holder.node.allowed).toBe(false);
    expect(other.node.allowed).toBe(true);
  });

  it('different keys forge in their own tabs', async () => {
    const { made } = tabs(['KEY-1', 'KEY-2']);
    await until(() => made.every((t) => t.claim.status() === 'this-tab'));
    expect(made.every((t) => t.node.allowed)).toBe(true);
  });
});

describe('a key an always-on node forges with', () => {
  /** A node whose snapshot says whether an always-on peer forges with its key. */
  function nodeBesideAlwaysOn() {
    const listeners = new Set<() => void>();
    let snapshot: { wallet: { publicKeyPem: string }; forgingElsewhere: string | null } = {
      wallet: { publicKeyPem: 'KEY' },
      forgingElsewhere: null,
    };
    const node = {
      allowed: false,
      takeOvers: 0,
      async setForging(allowed: boolean) {
        node.allowed = allowed;
      },
      getSnapshot: () => snapshot,
      subscribe(listener: () => void) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      async takeOverForging() {
        node.takeOvers++;
        return 1;
      },
      setElsewhere(peer: string | null) {
        snapshot = { ...snapshot, forgingElsewhere: peer };
        for (const listener of listeners) listener();
      },
    };
    return node;
  }

  it('shows other-node while one forges with it; Take over asks the node, keeping the lock', async () => {
    const node = nodeBesideAlwaysOn();
    const claim = new ForgingClaim({ locks: new MemoryLockHub().tab(), node, retryMs: 20 });
    claims.push(claim);
    let notified = 0;
    claim.subscribe(() => notified++);
    claim.start();
    await until(() => claim.status() === 'this-tab');
    const before = notified;
    node.setElsewhere('always-on-1');
    expect(claim.status()).toBe('other-node');
    expect(notified).toBeGreaterThan(before);
    // The lock stays with this tab: the node itself yields to the always-on peer.
    expect(node.allowed).toBe(true);
    await claim.takeOver();
    expect(node.takeOvers).toBe(1);
    expect(node.allowed).toBe(true);
    // The always-on node says it stopped: this tab forges.
    node.setElsewhere(null);
    expect(claim.status()).toBe('this-tab');
  });
});
