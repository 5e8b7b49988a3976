// @vitest-environment jsdom
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { buildSignedChain } from '../../bench/chain';
import { GENESIS_BLOCK, type Transaction } from '../../src/core';
import type { MyTransaction } from '../../src/node/node';
import { MAX_DEPARTURES, TransactionPool } from '../../src/node/pool';
import { openIndexedDbStore } from '../../src/storage';
import { crypto, devnetKey, Simulation } from '../sim/harness';

const TTL_MS = 60_000;

/** id → state (and height when landed), for comparing lists. */
const states = (list: readonly MyTransaction[]) =>
  Object.fromEntries(list.map((t) => [t.id, t.state === 'landed' ? `landed@${t.height}` : t.state]));

/**
 * "My transactions" and the account history come from the chain, the pool and what the node saw
 * happen (a reorg, expiry), and survive a restart over the same store.
 */
describe('history from the chain', () => {
  it('a transaction lands, is orphaned by a reorg and returns to the pool; another expires; a restored node shows the same', async () => {
    const genesis = await devnetKey('genesis');
    const exchange = await devnetKey('exchange');
    const me = await crypto.generateKeyPair({ extractable: false });
    const sim = new Simulation({ seed: 3, nodeIds: [], limits: { poolTtlMs: TTL_MS } });
    const tab = sim.addNode('tab', genesis, { store: await openIndexedDbStore('history') });
    await sim.start();

    const landing = await sim.sign(exchange, {
      receiverPublicKey: me.publicKeyPem,
      amount: 7,
      type: 'EXCHANGE',
    });
    expect(await tab.submitTransaction(landing)).toEqual({ ok: true });
    // This tab is the only staker: it forges the transaction at once.
    expect(await sim.runUntil(() => tab.getSnapshot().height === 1)).toBe(true);
    expect(states(await tab.readMyTransactions())).toEqual({ [landing.id]: 'landed@1' });
    const mine = await tab.readAccountHistory(me.publicKeyPem, { limit: 10 });
    expect(mine).toEqual([
      expect.objectContaining({ id: landing.id, height: 1, direction: 'in', amount: 7 }),
    ]);

    // No more blocks from this tab: what is pooled now stays pooled until it expires.
    await tab.setForging(false);
    const expiring = await sim.sign(exchange, {
      receiverPublicKey: me.publicKeyPem,
      amount: 3,
      type: 'EXCHANGE',
    });
    expect(await tab.submitTransaction(expiring)).toEqual({ ok: true });
    await sim.runFor(TTL_MS / 2);

    // A longer chain without `landing` replaces block 1: `landing` goes back to the pool.
    const longer = await buildSignedChain(2, 0);
    expect((await tab.importChain([{ ...GENESIS_BLOCK }, ...longer])).adopted).toBe(true);
    expect(tab.getSnapshot().height).toBe(2);
    expect(states(await tab.readMyTransactions())).toEqual({
      [expiring.id]: 'pending',
      [landing.id]: 'returned',
    });
    // The index followed the reorg: `landing` is no longer in my account's history.
    expect(await tab.readAccountHistory(me.publicKeyPem, { limit: 10 })).toEqual([]);

    // `expiring` was pooled TTL/2 before `landing` went back: it expires first.
    await sim.runFor(TTL_MS / 2 + 15_000);
    const before = await tab.readMyTransactions();
    expect(states(before)).toEqual({ [expiring.id]: 'expired', [landing.id]: 'returned' });
    expect(before.map((t) => t.transaction)).toEqual([expiring, landing]);
    await tab.stop();

    // A restart over the same store: the same list, the same states.
    // (No wallet yet, so it does not forge the pooled one at once.)
    const restored = sim.addNode('tab-again', undefined, { store: await openIndexedDbStore('history') });
    await restored.start();
    expect(restored.getSnapshot().wallet).toBeNull();
    const after = await restored.readMyTransactions();
    expect(after).toEqual(before);
    // The account history of the imported chain's exchange comes from the index, paged.
    const first = await restored.readAccountHistory(exchange.publicKeyPem, { limit: 4 });
    const last = first[first.length - 1];
    expect(first).toHaveLength(4);
    const next = await restored.readAccountHistory(exchange.publicKeyPem, {
      limit: 100,
      before: { height: last?.height ?? 0, txIndex: last?.txIndex ?? 0 },
    });
    expect([...first, ...next].map((line) => line.id)).toEqual(
      longer
        .flatMap((block) => block.transactions)
        .filter((tx) => tx.senderPublicKey === exchange.publicKeyPem)
        .map((tx) => tx.id)
        .reverse(),
    );

    // Sending the expired one again: the same signed transaction, pending once more.
    expect(await restored.submitTransaction(expiring)).toEqual({ ok: true });
    expect(states(await restored.readMyTransactions())).toEqual({
      [expiring.id]: 'pending',
      [landing.id]: 'returned',
    });
    // Forging again: both land, and the states say where.
    await restored.setWallet(genesis);
    expect(await sim.runUntil(() => restored.getSnapshot().height === 3)).toBe(true);
    expect(states(await restored.readMyTransactions())).toEqual({
      [expiring.id]: 'landed@3',
      [landing.id]: 'landed@3',
    });
    await sim.stop();
  }, 60_000);
});

describe('the pool remembers why a transaction left it', () => {
  let counter = 0;
  const tx = (sender: string, amount: number): Transaction => {
    counter++;
    return {
      senderPublicKey: sender,
      receiverPublicKey: 'bob',
      amount,
      type: 'TRANSFER',
      id: counter.toString(16).padStart(32, '0'),
      timestamp: counter,
      signature: 'ab',
    };
  };
  const poolOf = (max: number, ttl: number, balances: Record<string, number>) =>
    new TransactionPool(max, ttl, { perSender: 50, balanceOf: (key) => balances[key] ?? 0 });

  it('expired, evicted, taken by a block (no departure), and forgotten once pooled again', () => {
    const pool = poolOf(2, 1_000, { alice: 100 });
    const old = tx('alice', 1);
    const poor = tx('pauper', 5);
    pool.add(old, 0, { peer: null, local: true });
    pool.add(poor, 500, { peer: 'p', local: false });
    expect(pool.departureOf(old.id)).toBeUndefined();
    // Full: a covered newcomer evicts the uncovered one.
    const newcomer = tx('alice', 2);
    expect(pool.add(newcomer, 600, { peer: null, local: true })).toBe('added');
    expect(pool.departureOf(poor.id)).toBe('evicted');
    expect(pool.expire(1_200).map((t) => t.id)).toEqual([old.id]);
    expect(pool.departureOf(old.id)).toBe('expired');
    pool.remove([newcomer.id]);
    expect(pool.departureOf(newcomer.id)).toBeUndefined();
    // Sent again: pooled, so no departure.
    expect(pool.add(old, 1_300, { peer: null, local: true })).toBe('added');
    expect(pool.departureOf(old.id)).toBeUndefined();
  });

  it('keeps at most MAX_DEPARTURES, forgetting the oldest', () => {
    const pool = poolOf(MAX_DEPARTURES + 1, 10, {});
    const all = Array.from({ length: MAX_DEPARTURES + 1 }, (_, i) => tx(`sender${i}`, 0));
    for (const t of all) pool.add(t, 0);
    expect(pool.expire(100)).toHaveLength(MAX_DEPARTURES + 1);
    expect(pool.departureOf(all[0]?.id ?? '')).toBeUndefined();
    expect(pool.departureOf(all[1]?.id ?? '')).toBe('expired');
    expect(pool.departureOf(all[MAX_DEPARTURES]?.id ?? '')).toBe('expired');
  });
});
