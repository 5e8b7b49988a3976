import { describe, expect, it } from 'vitest';
import { devnetKey, Simulation } from '../sim/harness';

/** `setForging` on a real node: a denied node never forges, even as the next forger. */
describe('node.setForging', () => {
  it('moves forging between two nodes with one key, with no block forged twice', async () => {
    const genesis = await devnetKey('genesis');
    const exchange = await devnetKey('exchange');
    const forged: string[] = [];
    const sim = new Simulation({
      seed: 11,
      nodeIds: ['p', 'q'],
      wallets: { p: genesis, q: genesis },
      log: (id, event) => {
        if (event.kind === 'forge') forged.push(id);
      },
    });
    const [p, q] = [sim.node('p'), sim.node('q')];
    await sim.start();
    await q.setForging(false);
    expect(q.getSnapshot().forgingAllowed).toBe(false);
    await sim.runUntil(() => p.getSnapshot().peers.length === 1);

    const buy = (amount: number) =>
      sim.sign(exchange, { receiverPublicKey: genesis.publicKeyPem, amount, type: 'EXCHANGE' });
    expect(await q.submitTransaction(await buy(10))).toEqual({ ok: true });
    expect(await sim.runUntil(() => p.getSnapshot().height === 1 && q.getSnapshot().height === 1)).toBe(true);
    expect(forged).toEqual(['p']);

    // The hand-over: the old holder stops (its command returns once nothing is being forged), then the new one starts.
    await p.setForging(false);
    await q.setForging(true);
    expect(await p.submitTransaction(await buy(20))).toEqual({ ok: true });
    expect(await sim.runUntil(() => p.getSnapshot().height === 2 && q.getSnapshot().height === 2)).toBe(true);
    expect(forged).toEqual(['p', 'q']);
    expect(p.getSnapshot().headHash).toBe(q.getSnapshot().headHash);
    expect(p.getSnapshot().equivocations).toEqual([]);

    // Denied while a transaction waits: nothing is forged until it is allowed again.
    await q.setForging(false);
    expect(await q.submitTransaction(await buy(30))).toEqual({ ok: true });
    await sim.runFor(5_000);
    expect(q.getSnapshot().height).toBe(2);
    expect(q.getSnapshot().pool).toHaveLength(1);
    await q.setForging(true);
    expect(await sim.runUntil(() => q.getSnapshot().height === 3)).toBe(true);
    await Promise.all([p.stop(), q.stop()]);
  });
});
