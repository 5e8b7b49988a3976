// @vitest-environment jsdom
import { beforeAll, describe, expect, it } from 'vitest';
import { validateChain } from '../../src/core';
import { networkIdOf } from '../../src/core/config';
import type { KeyPair } from '../../src/crypto';
import type { NodeLogEvent } from '../../src/node/node';
import { signTakeover, TAKEOVER_RELEASE_MS } from '../../src/node/takeover';
import { crypto, devnetGenesis, devnetKey, Simulation } from './harness';

/**
 * One key in two places: an always-on node (`npm run node --key`) and a tab that imported the
 * same key. The genesis key is the only staker, so every block is that key's to forge, and
 * both would forge every one (see shared-key.test.ts for what that does). Here the tab yields
 * to the always-on node: exactly one of them forges each block, and no equivocation is ever
 * made. Then the tab takes over with a signed FORGING_TAKEOVER: from then on only the tab
 * forges, and once the tab has been gone `TAKEOVER_RELEASE_MS` the node forges again. A forged
 * take-over (the wrong key, or a signature by another key) changes nothing and costs its sender.
 */

const PURCHASES = 8;
const SEEDS = process.env.SIM_SEED
  ? [Number(process.env.SIM_SEED)]
  : Array.from({ length: Number(process.env.SIM_SEEDS ?? 4) }, (_, i) => 1300 + i);

let genesis: KeyPair;
let exchange: KeyPair;
let buyer: KeyPair;
beforeAll(async () => {
  genesis = await devnetKey('genesis');
  exchange = await devnetKey('exchange');
  buyer = await devnetKey('staker');
});

/** Forged blocks by height, and which node forged each (from the nodes' own logs). */
function forgedBy(events: readonly { node: string; event: NodeLogEvent }[]): Map<number, string[]> {
  const byHeight = new Map<number, string[]>();
  for (const { node, event } of events) {
    const match = event.kind === 'forge' ? /^forged block (\d+) /.exec(event.message) : null;
    if (!match) continue;
    const height = Number(match[1]);
    byHeight.set(height, [...(byHeight.get(height) ?? []), node]);
  }
  return byHeight;
}

describe('one key on an always-on node and in a tab', () => {
  it.each(SEEDS)(
    'seed %i: one forger per block, the tab takes over, a forged take-over changes nothing',
    async (seed) => {
      const events: { node: string; event: NodeLogEvent }[] = [];
      const sim = new Simulation({
        seed,
        nodeIds: ['node', 'tab', 'shop'],
        wallets: { node: genesis, tab: genesis },
        alwaysOn: ['node'],
        latency: { min: 5, max: 50 },
        log: (node, event) => events.push({ node, event }),
      });
      const ids = ['node', 'tab', 'shop'];
      const random = sim.random.fork();
      await sim.start();
      const node = sim.node('node');
      const tab = sim.node('tab');
      expect(await sim.runUntil(() => tab.getSnapshot().forgingElsewhere === 'node', 5_000)).toBe(true);
      expect(tab.getSnapshot().forging).toBe(false);
      expect(tab.getSnapshot().forgingAllowed).toBe(true);
      expect(node.getSnapshot().forging).toBe(true);
      expect(node.getSnapshot().alwaysOn).toBe(true);
      // Every peer sees the node as always-on and forging, and the tab as holding the key idle.
      const shopSees = (id: string) =>
        sim
          .node('shop')
          .getSnapshot()
          .peers.find((p) => p.id === id);
      expect(
        await sim.runUntil(
          () => shopSees('tab')?.forgerKey === genesis.publicKeyPem && shopSees('tab')?.forging === false,
          5_000,
        ),
      ).toBe(true);
      const seenByShop = sim.node('shop').getSnapshot().peers;
      expect(seenByShop.find((p) => p.id === 'node')).toMatchObject({ alwaysOn: true, forging: true });
      expect(seenByShop.find((p) => p.id === 'tab')).toMatchObject({ alwaysOn: false, forging: false });

      const purchases = async (count: number) => {
        for (let i = 0; i < count; i++) {
          const tx = await sim.sign(exchange, {
            receiverPublicKey: buyer.publicKeyPem,
            amount: random.int(1, 20),
            type: 'EXCHANGE',
          });
          expect((await sim.node(random.pick(ids)).submitTransaction(tx)).ok).toBe(true);
          await sim.runFor(random.int(50, 400));
        }
        expect(await sim.runUntil(() => sim.converged(), 60_000)).toBe(true);
      };

      // 1. The always-on node forges every block; the tab none.
      await purchases(PURCHASES);
      const phase1 = forgedBy(events);
      const phase1Height = node.getSnapshot().height;
      expect(phase1Height).toBeGreaterThan(0);
      for (let h = 1; h <= phase1Height; h++) expect(phase1.get(h), `block ${h}`).toEqual(['node']);

      // 2. A forged take-over: signed by another key (for the right key), and for a key the
      // node does not forge with. Neither changes anything; the sender is banned.
      const mallory = await sim.rawPeer('mallory', ['node']);
      const network = networkIdOf(devnetGenesis());
      const wrongSigner = await signTakeover(crypto, buyer, network, 'node', sim.clock.now());
      mallory.send('node', { ...wrongSigner, key: genesis.publicKeyPem });
      await sim.runFor(200);
      expect(node.getSnapshot().forging).toBe(true);
      expect(node.getSnapshot().forgingTakenOverBy).toBeNull();
      expect(
        events.some((e) => e.node === 'node' && e.event.kind === 'ban' && e.event.peer === 'mallory'),
      ).toBe(true);
      const mallory2 = await sim.rawPeer('mallory2', ['node']);
      mallory2.send('node', await signTakeover(crypto, buyer, network, 'node', sim.clock.now()));
      await sim.runFor(200);
      expect(node.getSnapshot().forging).toBe(true);
      expect(tab.getSnapshot().forging).toBe(false);
      expect(
        events.some((e) => e.node === 'node' && e.event.kind === 'ban' && e.event.peer === 'mallory2'),
      ).toBe(true);
      await mallory.stop();
      await mallory2.stop();

      // 3. The tab takes over: the node stops and says so, then the tab forges.
      expect(await tab.takeOverForging()).toBe(1);
      expect(await sim.runUntil(() => tab.getSnapshot().forging && !node.getSnapshot().forging, 5_000)).toBe(
        true,
      );
      expect(node.getSnapshot().forgingTakenOverBy).toBe('tab');
      expect(tab.getSnapshot().forgingElsewhere).toBeNull();
      await purchases(PURCHASES);
      const phase2 = forgedBy(events);
      const phase2Height = node.getSnapshot().height;
      expect(phase2Height).toBeGreaterThan(phase1Height);
      for (let h = phase1Height + 1; h <= phase2Height; h++)
        expect(phase2.get(h), `block ${h}`).toEqual(['tab']);

      // 4. The tab leaves: the node forges again once it has been gone TAKEOVER_RELEASE_MS.
      await tab.stop();
      await sim.runFor(TAKEOVER_RELEASE_MS - 1_000);
      expect(node.getSnapshot().forging).toBe(false);
      await sim.runFor(2_000);
      expect(node.getSnapshot().forging).toBe(true);
      expect(node.getSnapshot().forgingTakenOverBy).toBeNull();
      const tx = await sim.sign(exchange, {
        receiverPublicKey: buyer.publicKeyPem,
        amount: 1,
        type: 'EXCHANGE',
      });
      expect((await sim.node('shop').submitTransaction(tx)).ok).toBe(true);
      expect(await sim.runUntil(() => sim.converged(['node', 'shop']), 30_000)).toBe(true);
      const finalHeight = node.getSnapshot().height;
      expect(finalHeight).toBe(phase2Height + 1);
      expect(forgedBy(events).get(finalHeight)).toEqual(['node']);

      // Never two blocks at one height: no equivocation anywhere, and one valid chain.
      for (const id of ids) expect(sim.node(id).getSnapshot().equivocations).toEqual([]);
      expect(events.filter((e) => e.event.kind === 'reorg')).toEqual([]);
      expect(events.filter((e) => e.event.kind === 'error')).toEqual([]);
      const chain = (await node.exportChain()).blocks;
      expect(chain.reduce((n, b) => n + b.transactions.length, 0)).toBe(2 * PURCHASES + 1);
      expect((await validateChain(chain, devnetGenesis(), crypto)).valid).toBe(true);
      await sim.stop();
    },
  );
});
