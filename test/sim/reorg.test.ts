// @vitest-environment jsdom
import { describe, expect, it } from 'vitest';
import { crypto, devnetKey, Simulation } from './harness';

/**
 * A real fork: the genesis key is loaded in two tabs (X and Y) that a partition separates. Each
 * side forges its own blocks; on healing, the longer valid chain wins everywhere, the orphaned
 * block's transaction returns to the pool and is forged again, and the forger's two blocks at
 * one height are recorded as equivocation.
 */
describe('fork, reorg and equivocation', () => {
  it('switches to the longer chain, re-pools orphaned transactions and records the equivocation', async () => {
    const genesis = await devnetKey('genesis');
    const exchange = await devnetKey('exchange');
    const alice = await crypto.generateKeyPair();
    const sim = new Simulation({
      seed: 7,
      nodeIds: ['X', 'a', 'Y', 'b'],
      wallets: { X: genesis, Y: genesis },
    });
    await sim.start();
    expect(
      await sim.runUntil(() =>
        ['X', 'a', 'Y', 'b'].every((id) => sim.node(id).getSnapshot().peers.length >= 2),
      ),
    ).toBe(true);

    sim.network.partition(
      [
        ['X', 'a'],
        ['Y', 'b'],
      ],
      { refuseConnections: true },
    );
    const buy = (amount: number) =>
      sim.sign(exchange, { receiverPublicKey: alice.publicKeyPem, amount, type: 'EXCHANGE' });
    const [tx1, tx2, tx3] = [await buy(1), await buy(2), await buy(3)];
    expect(await sim.node('a').submitTransaction(tx1)).toEqual({ ok: true });
    await sim.runUntil(() => sim.node('a').getSnapshot().height === 1);
    expect(await sim.node('a').submitTransaction(tx2)).toEqual({ ok: true });
    expect(await sim.node('b').submitTransaction(tx3)).toEqual({ ok: true });
    await sim.runUntil(
      () => sim.node('a').getSnapshot().height === 2 && sim.node('b').getSnapshot().height === 1,
    );
    const orphanedHead = sim.node('Y').getSnapshot().headHash;
    expect(sim.node('X').getSnapshot().height).toBe(2);
    expect(sim.node('Y').getSnapshot().height).toBe(1);

    sim.network.heal();
    expect(
      await sim.runUntil(() => sim.converged() && sim.node('X').getSnapshot().height === 3, 120_000),
    ).toBe(true);
    for (const id of ['X', 'a', 'Y', 'b']) {
      const node = sim.node(id);
      // The orphaned block is gone, its transaction forged again on the winning chain.
      expect(node.heightOf(orphanedHead)).toBeUndefined();
      expect(node.findTransaction(tx1.id)?.height).toBe(1);
      expect(node.findTransaction(tx2.id)?.height).toBe(2);
      expect(node.findTransaction(tx3.id)?.height).toBe(3);
      expect(node.getSnapshot().state.balances.get(alice.publicKeyPem)).toBe(6);
    }
    // Y's block 1 and X's block 1: one forger, one height, two blocks.
    const seen = ['X', 'a', 'Y', 'b'].flatMap((id) => sim.node(id).getSnapshot().equivocations);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((e) => e.forger === genesis.publicKeyPem && e.height === 1)).toBe(true);
    await sim.stop();
  });
});
