// @vitest-environment jsdom
import { beforeAll, describe, expect, it } from 'vitest';
import { blockHash, validateChain } from '../../src/core';
import type { KeyPair } from '../../src/crypto';
import { crypto, devnetGenesis, devnetKey, Simulation } from './harness';

/**
 * One forging key in two nodes (two browsers importing the same key): both forge whenever the
 * key is drawn, so they sign two different blocks at one height again and again. Whatever the
 * seed, the fork choice (src/core/fork-choice.ts) must bring every node to one head soon after
 * the last transaction, and the double forging must be recorded as an equivocation.
 */

const NODE_COUNT = 6;
const TRANSACTIONS = 30;
/** Virtual time from the last submitted transaction to one head everywhere, at most (ms). */
const CONVERGE_WITHIN_MS = 15_000;
const SEEDS = process.env.SIM_SEED
  ? [Number(process.env.SIM_SEED)]
  : Array.from({ length: Number(process.env.SIM_SEEDS ?? 20) }, (_, i) => 2000 + i);

let genesis: KeyPair;
let exchange: KeyPair;
let buyer: KeyPair;
beforeAll(async () => {
  genesis = await devnetKey('genesis');
  exchange = await devnetKey('exchange');
  buyer = await devnetKey('staker');
});

async function simulate(seed: number) {
  const ids = Array.from({ length: NODE_COUNT }, (_, i) => `n${i}`);
  const events: { node: string; kind: string; message: string }[] = [];
  // n0 and n1 hold the genesis key, the only staker: every block is theirs to forge, twice.
  const sim = new Simulation({
    seed,
    nodeIds: ids,
    wallets: { n0: genesis, n1: genesis },
    latency: { min: 5, max: 80 },
    reorder: true,
    maxPeersPerNode: 3,
    log: (node, event) => events.push({ node, ...event }),
  });
  await sim.start();
  const random = sim.random.fork();
  await sim.runFor(2_000);
  for (let i = 0; i < TRANSACTIONS; i++) {
    // Purchases from the exchange, sent to any node (the forgers included).
    const tx = await sim.sign(exchange, {
      receiverPublicKey: buyer.publicKeyPem,
      amount: random.int(1, 50),
      type: 'EXCHANGE',
    });
    const result = await sim.node(random.pick(ids)).submitTransaction(tx);
    expect(result.ok).toBe(true);
    await sim.runFor(random.int(20, 600));
  }
  const lastSubmit = sim.clock.now();
  const converged = await sim.runUntil(() => sim.converged(), 60_000);
  const convergedAfter = sim.clock.now() - lastSubmit;
  // And it stays converged: heartbeats and tie checks change nothing more.
  const head = sim.node('n0').getSnapshot().headHash;
  await sim.runFor(20_000);
  const stayed = ids.every((id) => sim.node(id).getSnapshot().headHash === head);
  await sim.stop();
  return { sim, ids, events, converged, convergedAfter, stayed };
}

describe('two nodes share one forging key', () => {
  it.each(SEEDS)(
    'seed %i: every node converges on one head and the equivocation is recorded',
    async (seed) => {
      const { sim, ids, events, converged, convergedAfter, stayed } = await simulate(seed);
      if (process.env.SIM_VERBOSE) {
        process.stderr.write(
          `${JSON.stringify({
            seed,
            convergedAfter,
            height: sim.node('n0').getSnapshot().height,
            reorgs: events.filter((e) => e.kind === 'reorg').length,
            equivocations: ids.map((id) => sim.node(id).getSnapshot().equivocations.length),
          })}\n`,
        );
      }
      expect(converged, `seed ${seed} converges`).toBe(true);
      expect(convergedAfter).toBeLessThanOrEqual(CONVERGE_WITHIN_MS);
      expect(stayed).toBe(true);
      const snapshots = ids.map((id) => sim.node(id).getSnapshot());
      // Every purchase is on the one chain.
      const exported = await sim.node('n2').exportChain();
      const onChain = exported.blocks.reduce((n, b) => n + b.transactions.length, 0);
      expect(onChain).toBe(TRANSACTIONS);
      // The key forged twice at some height, and nodes hold the evidence: two different blocks
      // by the genesis key at one height, the kept one on the chain.
      const recorded = snapshots.flatMap((s) => s.equivocations);
      expect(recorded.length).toBeGreaterThan(0);
      const node = sim.node('n2');
      for (const e of recorded) {
        expect(e.forger).toBe(genesis.publicKeyPem);
        expect(e.otherBlock.forger).toBe(genesis.publicKeyPem);
        expect(e.otherBlock.blockCount).toBe(e.height);
        expect(blockHash(e.otherBlock)).not.toBe(e.keptHash);
      }
      // Nobody is punished for a fork: equivocation is the forger's doing, not the relaying peer's.
      expect(events.filter((e) => e.kind === 'ban')).toEqual([]);
      expect(events.filter((e) => e.kind === 'error')).toEqual([]);
      const check = await validateChain((await node.exportChain()).blocks, devnetGenesis(), crypto);
      expect(check.valid).toBe(true);
    },
  );
});
