// @vitest-environment jsdom
import { beforeAll, describe, expect, it } from 'vitest';
import { resilient, stateToJSON, validateChain } from '../../src/core';
import type { KeyPair } from '../../src/crypto';
import { readVectorKey } from '../helpers/vectors';
import { crypto, devnetKey, resilientGenesis, Simulation, stakeUp } from './harness';

/**
 * The seeded random simulation on the `resilient` profile, with churn: forgers leave (cut off
 * from everyone, as a closed laptop) and come back while purchases, transfers and stakes keep
 * arriving at random nodes over a lossy, reordering network. Whatever the seed, every node must
 * end on one valid chain holding every submitted transaction. (No long network split here: on
 * `resilient` both sides of one keep forging, and a side that forged more than
 * MAX_REORG_DEPTH blocks apart is refused by design, see docs/consensus-resilient.md §6.)
 */

const NODE_COUNT = 6;
const TARGET_BLOCKS = 50;
const SEEDS = process.env.SIM_SEED
  ? [Number(process.env.SIM_SEED)]
  : Array.from({ length: Number(process.env.SIM_SEEDS ?? 20) }, (_, i) => 3000 + i);

/** Per seed: forgers that left, blocks forged by a fallback rank, reorgs (all shallow). */
const tallies: { seed: number; departures: number; fallbacks: number; reorgs: number; deepest: number }[] =
  [];

let keys: { genesis: KeyPair; exchange: KeyPair; stakers: KeyPair[]; users: KeyPair[] };
beforeAll(async () => {
  const vectorKey = (name: string) => crypto.importPrivateKeyPem(readVectorKey(`${name}PrivateKey.pem`));
  keys = {
    genesis: await devnetKey('genesis'),
    exchange: await devnetKey('exchange'),
    stakers: await Promise.all(['user0', 'user1', 'user2'].map(vectorKey)),
    users: await Promise.all(['user3', 'bob', 'staker'].map(vectorKey)),
  };
});

async function simulate(seed: number) {
  const ids = Array.from({ length: NODE_COUNT }, (_, i) => `n${i}`);
  const forgers = ['n0', 'n1', 'n2', 'n3'];
  const events: { node: string; kind: string; message: string }[] = [];
  const wallets: Record<string, KeyPair> = { n0: keys.genesis };
  keys.stakers.forEach((staker, i) => {
    wallets[`n${i + 1}`] = staker;
  });
  const sim = new Simulation({
    seed,
    nodeIds: ids,
    wallets,
    genesis: resilientGenesis(),
    latency: { min: 5, max: 120 },
    dropRate: 0.02,
    reorder: true,
    maxPeersPerNode: 3,
    log: (node, event) => events.push({ node, ...event }),
  });
  await sim.start();
  await stakeUp(sim, {
    funder: keys.exchange,
    stakes: keys.stakers.map((key) => [key, 10] as const),
    via: 'n5',
    blocksAfter: 11,
  });
  const start = sim.node('n5').getSnapshot().height;
  const random = sim.random.fork();
  const balance = new Map<string, number>();
  for (const key of keys.stakers) balance.set(key.publicKeyPem, 10);
  const credit = (key: string, amount: number) => balance.set(key, (balance.get(key) ?? 0) + amount);
  const accounts = [...keys.stakers, ...keys.users];
  let submitted = 0;
  let away: string | null = null;
  let backAt = 0;
  let departures = 0;

  const height = () => Math.max(...ids.map((id) => sim.node(id).getSnapshot().height));
  while (height() < start + TARGET_BLOCKS) {
    // Churn: one forger at a time leaves for 5 to 30 s, then comes back.
    if (away !== null && sim.clock.now() >= backAt) {
      sim.network.heal();
      away = null;
    } else if (away === null && random.next() < 0.15) {
      away = random.pick(forgers);
      backAt = sim.clock.now() + random.int(5_000, 30_000);
      sim.network.partition([[away]]);
      departures++;
    }
    // Submitted only where someone is (a forger that left has no user either), and only what
    // the workload's own balances cover, so every transaction is eventually valid.
    const target = random.pick(ids.filter((id) => id !== away));
    const roll = random.next();
    const funded = accounts.filter((a) => (balance.get(a.publicKeyPem) ?? 0) >= 5);
    let signer: KeyPair;
    let draft: { receiverPublicKey: string; amount: number; type: 'EXCHANGE' | 'TRANSFER' | 'STAKE' };
    if (roll < 0.4 || funded.length === 0) {
      signer = keys.exchange;
      draft = {
        receiverPublicKey: random.pick(accounts).publicKeyPem,
        amount: random.int(10, 60),
        type: 'EXCHANGE',
      };
    } else {
      signer = random.pick(funded);
      const amount = random.int(1, Math.min(20, balance.get(signer.publicKeyPem) ?? 0));
      draft =
        keys.stakers.includes(signer) && roll > 0.9
          ? { receiverPublicKey: signer.publicKeyPem, amount, type: 'STAKE' }
          : { receiverPublicKey: random.pick(accounts).publicKeyPem, amount, type: 'TRANSFER' };
    }
    const result = await sim.node(target).submitTransaction(await sim.sign(signer, draft));
    if (result.ok) {
      submitted++;
      if (draft.type !== 'EXCHANGE') credit(signer.publicKeyPem, -draft.amount);
      if (draft.type !== 'STAKE') credit(draft.receiverPublicKey, draft.amount);
    }
    await sim.runFor(random.int(200, 4_000));
    if (sim.clock.now() > 3_600_000 + 1_795_670_000_000) throw new Error(`seed ${seed}: no progress`);
  }
  sim.network.heal();
  const converged = await sim.runUntil(() => sim.converged(), 10 * 60_000);
  await sim.stop();
  return { sim, ids, submitted, events, converged, departures, start };
}

describe('6 nodes on resilient, seeded random workload with forgers leaving and returning', () => {
  it.each(SEEDS)('seed %i: every node converges on one valid chain', async (seed) => {
    const { sim, ids, submitted, events, converged, departures, start } = await simulate(seed);
    expect(converged, `seed ${seed} converges`).toBe(true);
    expect(departures).toBeGreaterThan(0);
    // Honest nodes never blame each other for data, and nothing crashed.
    expect(events.filter((e) => e.kind === 'penalty' && !e.message.includes('timed out'))).toEqual([]);
    expect(events.filter((e) => e.kind === 'ban' || e.kind === 'error')).toEqual([]);
    // Churn costs at most shallow reorgs, never one past the bound.
    const depths = events
      .filter((e) => e.kind === 'reorg')
      .map((e) => Number(/(\d+) blocks orphaned/.exec(e.message)?.[1]));
    expect(depths.every((d) => d >= 1 && d <= 8)).toBe(true);
    const snapshots = ids.map((id) => sim.node(id).getSnapshot());
    expect(new Set(snapshots.map((s) => s.headHash)).size).toBe(1);
    expect(snapshots[0]?.height).toBeGreaterThanOrEqual(start + TARGET_BLOCKS);
    expect(snapshots.every((s) => s.pool.length === 0)).toBe(true);
    // Every submitted transaction is in the one chain (the staking set-up's included).
    const { blocks } = await sim.node('n0').exportChain();
    const onChain = blocks.reduce((n, b) => n + b.transactions.length, 0);
    expect(onChain).toBe(submitted + 3 + 3 + 11);
    const check = await validateChain(blocks, resilientGenesis(), crypto);
    expect(check.valid).toBe(true);
    expect(stateToJSON(check.state)).toEqual(stateToJSON(sim.node('n4').getSnapshot().state));
    // Which blocks a fallback rank forged (rank 0 was away, or silent in its slot).
    let fallbacks = 0;
    for (const [i, block] of blocks.entries()) {
      const parent = check.validStates[i - 1]?.resilient;
      if (i > 0 && parent && (resilient.readBlockTurn(parent, block)?.rank ?? 0) > 0) fallbacks++;
    }
    tallies.push({ seed, departures, fallbacks, reorgs: depths.length, deepest: Math.max(0, ...depths) });
  });

  it('over all seeds, the chain kept going on fallback ranks while forgers were away', () => {
    const total = (key: 'departures' | 'fallbacks' | 'reorgs') => tallies.reduce((n, t) => n + t[key], 0);
    console.log(
      `resilient random: ${tallies.length} seeds, ${total('departures')} forger departures, ${total('fallbacks')} blocks by fallback ranks, ${total('reorgs')} reorgs, the deepest ${Math.max(...tallies.map((t) => t.deepest))} blocks`,
    );
    expect(tallies).toHaveLength(SEEDS.length);
    expect(total('fallbacks')).toBeGreaterThan(0);
  });
});
