import { describe, expect, it } from 'vitest';
import type { Transaction } from '../../src/core';
import { type PoolSource, TransactionPool } from '../../src/node/pool';

/** An unsigned transaction: the pool never looks at signatures (admission does). */
let counter = 0;
function tx(
  sender: string,
  amount: number,
  type: 'TRANSFER' | 'EXCHANGE' | 'STAKE' = 'TRANSFER',
): Transaction {
  counter++;
  return {
    senderPublicKey: sender,
    receiverPublicKey: 'bob',
    amount,
    type,
    id: counter.toString(16).padStart(32, '0'),
    timestamp: counter,
    signature: 'ab',
  };
}

const LOCAL: PoolSource = { peer: null, local: true };
const fromPeer = (peer: string): PoolSource => ({ peer, local: false });

/** A pool over a mutable balance table, as the node's pool reads the head. */
function poolWith(
  balances: Record<string, number>,
  options: { max?: number; perSender?: number; ttl?: number } = {},
) {
  const pool = new TransactionPool(options.max ?? 100, options.ttl ?? 60_000, {
    perSender: options.perSender ?? 50,
    balanceOf: (key) => balances[key] ?? 0,
  });
  return pool;
}

const ids = (pool: TransactionPool) => pool.list().map((e) => e.transaction.id);
const coveredIds = (pool: TransactionPool) => pool.coveredEntries().map((e) => e.transaction.id);

describe('coverage', () => {
  it("covers a sender's transactions in arrival order while its head balance lasts", () => {
    const balances = { alice: 10 };
    const pool = poolWith(balances);
    const a = tx('alice', 6);
    const b = tx('alice', 6); // 6 + 6 > 10: waits
    const c = tx('alice', 4); // fits after a
    for (const t of [a, b, c]) expect(pool.add(t, 0, LOCAL)).toBe('added');
    expect(coveredIds(pool)).toEqual([a.id, c.id]);
    expect(pool.coveredCount).toBe(2);
    expect(pool.isCovered(b.id)).toBe(false);
  });

  it('does not count coins still on their way in: a spend of a pending purchase waits for a block', () => {
    const balances: Record<string, number> = { exchange: 0 };
    const pool = poolWith(balances);
    const purchase = tx('exchange', 100, 'EXCHANGE'); // pays bob
    const spend = tx('bob', 30);
    expect(pool.add(purchase, 0, LOCAL)).toBe('added');
    expect(pool.add(spend, 0, LOCAL)).toBe('added');
    // EXCHANGE is always covered (the exchange sells coins); bob holds nothing at the head yet.
    expect(coveredIds(pool)).toEqual([purchase.id]);
    expect(pool.takeGossip().map((g) => g.transaction.id)).toEqual([purchase.id]);

    // A block takes the purchase: bob now holds 100 at the head.
    balances.bob = 100;
    pool.remove([purchase.id]);
    pool.recheck();
    expect(coveredIds(pool)).toEqual([spend.id]);
    // The spend is handed out for gossip now, once.
    expect(pool.takeGossip().map((g) => g.transaction.id)).toEqual([spend.id]);
    expect(pool.takeGossip()).toEqual([]);
  });

  it('uncovers a transaction whose sender spent its coins elsewhere, and does not gossip it again', () => {
    const balances = { alice: 10 };
    const pool = poolWith(balances);
    const a = tx('alice', 8);
    pool.add(a, 0, fromPeer('p1'));
    expect(pool.takeGossip().map((g) => g.from)).toEqual(['p1']);
    balances.alice = 5; // another block spent some of alice's coins
    pool.recheck();
    expect(pool.coveredCount).toBe(0);
    balances.alice = 10;
    pool.recheck();
    expect(pool.coveredCount).toBe(1);
    expect(pool.takeGossip()).toEqual([]);
  });

  it('stakes spend like transfers; exchanges never run out', () => {
    const pool = poolWith({ alice: 10 });
    const stake = tx('alice', 10, 'STAKE');
    const transfer = tx('alice', 1);
    pool.add(stake, 0, LOCAL);
    pool.add(transfer, 0, LOCAL);
    for (let i = 0; i < 5; i++) pool.add(tx('exchange', 1_000_000, 'EXCHANGE'), 0, LOCAL);
    expect(pool.isCovered(stake.id)).toBe(true);
    expect(pool.isCovered(transfer.id)).toBe(false);
    expect(pool.coveredCount).toBe(6);
  });
});

describe('per-sender quota', () => {
  it('refuses a sender at its quota, and takes it again once a block took some', () => {
    const pool = poolWith({ exchange: 0 }, { perSender: 3 });
    const sent = [1, 2, 3].map(() => tx('exchange', 1, 'EXCHANGE'));
    for (const t of sent) expect(pool.add(t, 0, LOCAL)).toBe('added');
    expect(pool.hasRoomFor('exchange')).toBe(false);
    expect(pool.add(tx('exchange', 1, 'EXCHANGE'), 0, LOCAL)).toBe('sender-full');
    // Others are not affected.
    expect(pool.add(tx('other', 1, 'EXCHANGE'), 0, LOCAL)).toBe('added');
    pool.remove([sent[0]?.id ?? '']);
    expect(pool.add(tx('exchange', 1, 'EXCHANGE'), 0, LOCAL)).toBe('added');
  });
});

describe('eviction when full', () => {
  it('evicts uncovered before covered: a flood of unaffordable transactions never keeps out a covered one', () => {
    const pool = poolWith({ alice: 100 }, { max: 4 });
    const flood = [1, 2, 3, 4].map(() => tx('pauper', 5));
    for (const t of flood) expect(pool.add(t, 0, fromPeer('flooder'))).toBe('added');
    expect(pool.coveredCount).toBe(0);
    // Covered newcomers take the flooder's newest places, one each.
    const honest = [tx('alice', 1), tx('alice', 2)];
    for (const t of honest) expect(pool.add(t, 1, fromPeer('friend'))).toBe('added');
    expect(ids(pool)).toEqual([flood[0]?.id, flood[1]?.id, honest[0]?.id, honest[1]?.id]);
    // The flooder relayed two transactions that left the pool never covered.
    expect(pool.takeCharges()).toEqual(new Map([['flooder', 2]]));
  });

  it('takes the newest transaction of the sender holding the most, and refuses a newcomer that would hold as many', () => {
    const pool = poolWith({ a: 100, b: 100, c: 100 }, { max: 5 });
    const a = [1, 2, 3].map(() => tx('a', 1));
    const b = [1, 2].map(() => tx('b', 1));
    for (const t of [...a, ...b]) pool.add(t, 0, fromPeer('p'));
    // c holds none: it takes a's newest.
    const c1 = tx('c', 1);
    expect(pool.add(c1, 1, fromPeer('p'))).toBe('added');
    expect(pool.has(a[2]?.id ?? '')).toBe(false);
    // a, b and c hold 2, 2 and 1: c would hold 2, not fewer than a or b: refused.
    expect(pool.add(tx('c', 1), 2, fromPeer('p'))).toBe('full');
    // a would hold 3: refused as well; its own transactions never evict each other.
    expect(pool.add(tx('a', 1), 2, fromPeer('p'))).toBe('full');
    expect(pool.size).toBe(5);
    // Covered transactions that were evicted are nobody's fault.
    expect(pool.takeCharges()).toEqual(new Map());
  });

  it("ranks this node's own uncovered transactions above relayed uncovered ones", () => {
    const pool = poolWith({}, { max: 3 });
    for (const key of ['x', 'y', 'z']) pool.add(tx(key, 5), 0, fromPeer('flooder'));
    const mine = tx('me', 5); // uncovered, but submitted here
    expect(pool.add(mine, 1, LOCAL)).toBe('added');
    // A relayed uncovered newcomer cannot push out ours.
    for (let i = 0; i < 3; i++) pool.add(tx(`w${i}`, 5), 2, fromPeer('flooder'));
    expect(pool.has(mine.id)).toBe(true);
    expect(pool.size).toBe(3);
  });
});

describe('expiry', () => {
  it('drops transactions after the time to live and charges relayers of never-covered ones only', () => {
    const balances = { alice: 10 };
    const pool = poolWith(balances, { ttl: 1000 });
    const never = tx('pauper', 5);
    const once = tx('alice', 10);
    const mine = tx('pauper', 1);
    const late = tx('alice', 1);
    pool.add(never, 0, fromPeer('flooder'));
    pool.add(once, 0, fromPeer('friend'));
    pool.add(mine, 0, LOCAL);
    pool.add(late, 900, fromPeer('friend'));
    // alice's coins went elsewhere: `once` is uncovered now, but it was covered when relayed.
    balances.alice = 0;
    pool.recheck();
    expect(pool.expire(1001).map((t) => t.id)).toEqual([never.id, once.id, mine.id]);
    expect(ids(pool)).toEqual([late.id]);
    expect(pool.takeCharges()).toEqual(new Map([['flooder', 1]]));
    expect(pool.takeCharges()).toEqual(new Map());
  });

  it("drops a banned peer's never-covered transactions without charging it again", () => {
    const pool = poolWith({ alice: 10 });
    pool.add(tx('pauper', 5), 0, fromPeer('flooder'));
    const covered = tx('alice', 5);
    pool.add(covered, 0, fromPeer('flooder'));
    expect(pool.dropRelayedBy('flooder')).toBe(1);
    expect(ids(pool)).toEqual([covered.id]);
    expect(pool.takeCharges()).toEqual(new Map());
  });
});
