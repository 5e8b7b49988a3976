// @vitest-environment jsdom
import { beforeAll, describe, expect, it } from 'vitest';
import { stateToJSON, validateChain } from '../../src/core';
import type { KeyPair } from '../../src/crypto';
import { readVectorKey } from '../helpers/vectors';
import { crypto, devnetGenesis, devnetKey, Simulation } from './harness';

/**
 * Ten nodes under a seeded random workload: random delays, reordering, drops, and a partition
 * that heals. Whatever the seed, every node must end on one head.
 */

const NODE_COUNT = 10;
const TARGET_BLOCKS = 200;
const SEEDS = process.env.SIM_SEED
  ? [Number(process.env.SIM_SEED)]
  : Array.from({ length: Number(process.env.SIM_SEEDS ?? 20) }, (_, i) => 1000 + i);

interface Keys {
  genesis: KeyPair;
  exchange: KeyPair;
  stakers: KeyPair[];
  users: KeyPair[];
}

let keys: Keys;
beforeAll(async () => {
  // Fixed keys (the vectors' test keys), so that a seed replays the same run exactly.
  const vectorKey = (name: string) => crypto.importPrivateKeyPem(readVectorKey(`${name}PrivateKey.pem`));
  keys = {
    genesis: await devnetKey('genesis'),
    exchange: await devnetKey('exchange'),
    stakers: await Promise.all(['user0', 'user1', 'user2'].map(vectorKey)),
    users: await Promise.all(['user3', 'bob', 'staker'].map(vectorKey)),
  };
});

/** Runs one seeded simulation; returns what the assertions need. */
async function simulate(seed: number) {
  const ids = Array.from({ length: NODE_COUNT }, (_, i) => `n${i}`);
  const events: { node: string; kind: string; message: string; peer?: string }[] = [];
  const wallets: Record<string, KeyPair> = { n0: keys.genesis };
  keys.stakers.forEach((staker, i) => {
    wallets[`n${i + 1}`] = staker;
  });
  const sim = new Simulation({
    seed,
    nodeIds: ids,
    wallets,
    latency: { min: 5, max: 120 },
    dropRate: 0.02,
    reorder: true,
    maxPeersPerNode: 4,
    log: (node, event) => events.push({ node, ...event }),
  });
  await sim.start();
  const random = sim.random.fork();

  // The workload's own model of balances: it only signs what that model covers, so every
  // submitted transaction is eventually valid, whatever order the network delivers them in.
  const balance = new Map<string, number>();
  const credit = (key: string, amount: number) => balance.set(key, (balance.get(key) ?? 0) + amount);
  const accounts = [...keys.stakers, ...keys.users];
  let submitted = 0;
  let partitioned = false;
  let healedAt = -1;

  while (sim.node('n0').getSnapshot().height < TARGET_BLOCKS || !sim.converged()) {
    const height = Math.max(...ids.map((id) => sim.node(id).getSnapshot().height));
    if (process.env.SIM_VERBOSE && sim.clock.now() % 20 < 2) {
      process.stderr.write(
        `t=${sim.clock.now()} heights=${ids.map((id) => sim.node(id).getSnapshot().height).join(',')} pools=${ids.map((id) => sim.node(id).getSnapshot().pool.length).join(',')} sync=${ids.map((id) => sim.node(id).getSnapshot().sync?.peer ?? '-').join(',')}\n`,
      );
    }
    if (height >= TARGET_BLOCKS) {
      // Enough blocks: stop submitting and let the network settle.
      expect(await sim.runUntil(() => sim.converged(), 10 * 60_000), `seed ${seed} converges`).toBe(true);
      break;
    }
    if (!partitioned && height >= TARGET_BLOCKS / 3) {
      partitioned = true;
      const shuffled = random.shuffle(ids);
      sim.network.partition([shuffled.slice(0, 5), shuffled.slice(5)]);
      healedAt = sim.clock.now() + 20_000;
    }
    if (healedAt > 0 && sim.clock.now() >= healedAt) {
      sim.network.heal();
      healedAt = -1;
    }
    const roll = random.next();
    const target = random.pick(ids);
    let signer: KeyPair;
    let draft: { receiverPublicKey: string; amount: number; type: 'EXCHANGE' | 'TRANSFER' | 'STAKE' };
    const funded = accounts.filter((a) => (balance.get(a.publicKeyPem) ?? 0) >= 5);
    if (roll < 0.35 || funded.length === 0) {
      signer = keys.exchange;
      draft = {
        receiverPublicKey: random.pick(accounts).publicKeyPem,
        amount: random.int(10, 60),
        type: 'EXCHANGE',
      };
    } else {
      signer = random.pick(funded);
      const amount = random.int(1, Math.min(20, balance.get(signer.publicKeyPem) ?? 0));
      const canStake = keys.stakers.includes(signer);
      draft =
        canStake && roll > 0.85
          ? { receiverPublicKey: signer.publicKeyPem, amount, type: 'STAKE' }
          : { receiverPublicKey: random.pick(accounts).publicKeyPem, amount, type: 'TRANSFER' };
    }
    const tx = await sim.sign(signer, draft);
    const result = await sim.node(target).submitTransaction(tx);
    if (result.ok) {
      submitted++;
      if (draft.type !== 'EXCHANGE') credit(signer.publicKeyPem, -draft.amount);
      if (draft.type !== 'STAKE') credit(draft.receiverPublicKey, draft.amount);
    }
    await sim.runFor(random.int(50, 1500));
  }
  if (healedAt > 0) sim.network.heal();
  await sim.stop();
  return { sim, ids, submitted, partitioned, events };
}

describe('10 nodes, seeded random workload', () => {
  it.each(SEEDS)('seed %i: every node converges on one head after 200+ blocks', async (seed) => {
    const { sim, ids, submitted, partitioned, events } = await simulate(seed);
    const count = (kind: string) => events.filter((e) => e.kind === kind).length;
    if (process.env.SIM_VERBOSE) {
      process.stderr.write(
        `${JSON.stringify({
          seed,
          blocks: sim.node('n0').getSnapshot().height,
          submitted,
          stats: sim.network.stats(),
          syncs: count('sync'),
          reorgs: events
            .filter((e) => e.kind === 'reorg')
            .map((e) => `${e.node} ${e.message}`)
            .slice(0, 4),
          forges: events.filter((e) => e.kind === 'forge').length,
          equiv: ids.map((id) => sim.node(id).getSnapshot().equivocations.length),
          penalties: events
            .filter((e) => e.kind === 'penalty')
            .map((e) => e.message)
            .slice(0, 5),
          t: sim.clock.now(),
        })}\n`,
      );
    }
    // Honest nodes never punish each other for data: at most a slow sync reply times out.
    expect(events.filter((e) => e.kind === 'penalty' && !e.message.includes('timed out'))).toEqual([]);
    expect(count('ban')).toBe(0);
    expect(count('error')).toBe(0);
    expect(partitioned).toBe(true);
    const snapshots = ids.map((id) => sim.node(id).getSnapshot());
    const head = snapshots[0]?.headHash;
    expect(snapshots.every((s) => s.headHash === head)).toBe(true);
    expect(snapshots[0]?.height).toBeGreaterThanOrEqual(TARGET_BLOCKS);
    expect(submitted).toBeGreaterThanOrEqual(TARGET_BLOCKS);
    // Every pool emptied: each submitted transaction made it into the one chain.
    expect(snapshots.every((s) => s.pool.length === 0)).toBe(true);
    const onChain = (await sim.node('n0').exportChain()).blocks.reduce(
      (n, b) => n + b.transactions.length,
      0,
    );
    expect(onChain).toBe(submitted);
    // Peers are capped, and the network is no full mesh: gossip was relayed.
    expect(snapshots.every((s) => s.peers.length <= 8)).toBe(true);
    expect(snapshots.some((s) => s.peers.length < NODE_COUNT - 1)).toBe(true);
    // And the chain they agree on is valid from genesis.
    const check = await validateChain((await sim.node('n5').exportChain()).blocks, devnetGenesis(), crypto);
    expect(check.valid).toBe(true);
    expect(stateToJSON(check.state)).toEqual(stateToJSON(sim.node('n9').getSnapshot().state));
  });
});

describe('replay', () => {
  it('the same seed replays the same run: same head, same traffic', async () => {
    const first = await simulate(1001);
    const second = await simulate(1001);
    expect(second.sim.node('n0').getSnapshot().headHash).toBe(first.sim.node('n0').getSnapshot().headHash);
    expect(second.sim.network.stats()).toEqual(first.sim.network.stats());
    expect(second.submitted).toBe(first.submitted);
  });
});
