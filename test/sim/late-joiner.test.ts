// @vitest-environment jsdom
import { describe, expect, it } from 'vitest';
import { createWebCryptoProvider } from '../../src/crypto';
import type { SyncProgress } from '../../src/node/node';
import { crypto, devnetKey, Simulation } from './harness';

const CHAIN_LENGTH = 500;

describe('a late joiner', () => {
  it(`syncs ${CHAIN_LENGTH} blocks, validating every one, and reports its progress`, async () => {
    const genesis = await devnetKey('genesis');
    const exchange = await devnetKey('exchange');
    const alice = await crypto.generateKeyPair();
    const sim = new Simulation({ seed: 3, nodeIds: ['forger', 'relay'], wallets: { forger: genesis } });
    await sim.start();
    await sim.runUntil(() => sim.node('relay').getSnapshot().peers.length === 1);
    for (let i = 1; i <= CHAIN_LENGTH; i++) {
      const tx = await sim.sign(exchange, {
        receiverPublicKey: alice.publicKeyPem,
        amount: 1,
        type: 'EXCHANGE',
      });
      expect((await sim.node('relay').submitTransaction(tx)).ok).toBe(true);
      await sim.runUntil(() => sim.node('relay').getSnapshot().height === i);
    }
    expect(sim.converged()).toBe(true);

    // The newcomer checks signatures with its own provider, so they can be counted.
    const ownCrypto = createWebCryptoProvider();
    let verified = 0;
    const counting = {
      ...ownCrypto,
      verify: (...args: Parameters<typeof ownCrypto.verify>) => {
        verified++;
        return ownCrypto.verify(...args);
      },
    };
    const late = sim.addNode('late', undefined, { crypto: counting });
    const progress: SyncProgress[] = [];
    late.subscribe(() => {
      const sync = late.getSnapshot().sync;
      if (sync && progress[progress.length - 1]?.validatedHeight !== sync.validatedHeight)
        progress.push(sync);
    });
    await sim.start(['late']);
    expect(await sim.runUntil(() => sim.converged(), 600_000)).toBe(true);

    const snapshot = late.getSnapshot();
    expect(snapshot.height).toBe(CHAIN_LENGTH);
    expect(snapshot.headHash).toBe(sim.node('forger').getSnapshot().headHash);
    expect(snapshot.state.balances.get(alice.publicKeyPem)).toBe(CHAIN_LENGTH);
    // Every block and every transaction signature was checked by the newcomer itself.
    expect(verified).toBeGreaterThanOrEqual(2 * CHAIN_LENGTH);
    // Progress was reported along the way, rising to the target.
    expect(progress.length).toBeGreaterThan(5);
    const heights = progress.map((p) => p.validatedHeight);
    expect(heights).toEqual([...heights].sort((a, b) => a - b));
    expect(progress.every((p) => p.targetHeight === CHAIN_LENGTH)).toBe(true);
    expect(late.getSnapshot().sync).toBeNull();
    await sim.stop();
  });
});
