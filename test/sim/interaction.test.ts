// @vitest-environment jsdom
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stateToJSON, type Transaction, validateChain } from '../../src/core';
import type { KeyPair } from '../../src/crypto';
import { type ChainVector, readVector } from '../helpers/vectors';
import { crypto, devnetGenesis, devnetKey, resilientGenesis, Simulation } from './harness';

/**
 * The reference's interaction script across three nodes, on each consensus profile: A holds the
 * genesis key, B the staker key, C none. The keys are the devnet's, not the vectors', but every
 * amount must come out as the reference's chain says: the staker ends with 73 coins and 25
 * staked. On `resilient`, blocks carry seed signatures and whole-second timestamps and are
 * forged in slots; on `reference`, neither.
 */
describe.each([
  { profile: 'reference', genesisConfig: devnetGenesis() },
  { profile: 'resilient', genesisConfig: resilientGenesis() },
])('the reference interaction across 3 nodes on the $profile profile', ({ profile, genesisConfig }) => {
  let sim: Simulation;
  let keys: { genesis: KeyPair; staker: KeyPair; exchange: KeyPair; bob: KeyPair };
  const vector = readVector<ChainVector>('chain-interaction.json');

  beforeAll(async () => {
    keys = {
      genesis: await devnetKey('genesis'),
      staker: await devnetKey('staker'),
      exchange: await devnetKey('exchange'),
      bob: await crypto.generateKeyPair(),
    };
    sim = new Simulation({
      seed: 1,
      nodeIds: ['A', 'B', 'C'],
      wallets: { A: keys.genesis, B: keys.staker },
      genesis: genesisConfig,
    });
    await sim.start();
    // Channels come from the directory bootstrap and DISCOVERY; wait for all three.
    await sim.runUntil(
      () => ['A', 'B', 'C'].every((id) => sim.node(id).getSnapshot().peers.length === 2),
      30_000,
    );
  });
  afterAll(() => sim.stop());

  it('ends every node at the same head with the reference balances and stakes', async () => {
    const { genesis, staker, exchange, bob } = keys;
    expect(sim.node('A').getSnapshot().peers).toHaveLength(2);
    const steps: [KeyPair, Omit<Transaction, 'senderPublicKey' | 'id' | 'timestamp' | 'signature'>][] = [
      [exchange, { receiverPublicKey: staker.publicKeyPem, amount: 100, type: 'EXCHANGE' }],
      [exchange, { receiverPublicKey: bob.publicKeyPem, amount: 100, type: 'EXCHANGE' }],
      [exchange, { receiverPublicKey: bob.publicKeyPem, amount: 10, type: 'EXCHANGE' }],
      [staker, { receiverPublicKey: staker.publicKeyPem, amount: 25, type: 'STAKE' }],
      [staker, { receiverPublicKey: bob.publicKeyPem, amount: 1, type: 'TRANSFER' }],
      [staker, { receiverPublicKey: bob.publicKeyPem, amount: 1, type: 'TRANSFER' }],
    ];
    for (const [index, [signer, draft]] of steps.entries()) {
      const tx = await sim.sign(signer, draft as never);
      // Each transaction enters at the plain node, as the reference script posts to one node.
      expect(await sim.node('C').submitTransaction(tx)).toEqual({ ok: true });
      const height = index + 1;
      const reached = await sim.runUntil(
        () => sim.converged() && sim.node('A').getSnapshot().height === height,
        60_000,
      );
      expect(reached, `block ${height} reached every node`).toBe(true);
    }
    const heads = new Set(Object.values(sim.heads()));
    expect(heads.size).toBe(1);
    const rename = (record: Record<string, number>, names: Record<string, string>) =>
      Object.fromEntries(Object.entries(record).map(([key, value]) => [names[key] ?? key, value]));
    // The vector's accounts by role, and ours.
    const vectorNames: Record<string, string> = {};
    const chainBlocks = vector.chain.blocks as { transactions: Transaction[] }[];
    const first = chainBlocks[1]?.transactions[0];
    const vectorStaker = first?.receiverPublicKey ?? '';
    const vectorExchange = first?.senderPublicKey ?? '';
    const vectorBob = chainBlocks[2]?.transactions[0]?.receiverPublicKey ?? '';
    vectorNames[vectorStaker] = 'staker';
    vectorNames[vectorExchange] = 'exchange';
    vectorNames[vectorBob] = 'bob';
    vectorNames[Object.keys(vector.expect.stakes)[0] ?? ''] = 'genesis';
    const ourNames: Record<string, string> = {
      [staker.publicKeyPem]: 'staker',
      [exchange.publicKeyPem]: 'exchange',
      [bob.publicKeyPem]: 'bob',
      [genesis.publicKeyPem]: 'genesis',
    };
    for (const id of ['A', 'B', 'C']) {
      const snapshot = sim.node(id).getSnapshot();
      const { balances, stakes } = stateToJSON(snapshot.state);
      expect(rename(balances, ourNames)).toEqual(rename(vector.expect.balances, vectorNames));
      expect(rename(stakes, ourNames)).toEqual(rename(vector.expect.stakes, vectorNames));
      expect(snapshot.height + 1).toBe(vector.expect.blocks);
    }
    expect(rename(stateToJSON(sim.node('C').getSnapshot().state).balances, ourNames)).toEqual({
      exchange: -210,
      staker: 73,
      bob: 112,
    });
    expect(sim.node('C').getSnapshot().state.stakes.get(staker.publicKeyPem)).toBe(25);
    // Every block is of its profile (a seed signature and whole seconds on resilient only), and
    // the chain the nodes agree on is valid from genesis on this profile.
    const { blocks } = await sim.node('B').exportChain();
    expect(
      blocks.slice(1).every((b) => (typeof b.seedSignature === 'string') === (profile === 'resilient')),
    ).toBe(true);
    if (profile === 'resilient')
      expect(blocks.slice(1).every((b) => Number.isInteger(b.timestamp))).toBe(true);
    const check = await validateChain(blocks, genesisConfig, crypto);
    expect(check.valid).toBe(true);
    expect(stateToJSON(check.state)).toEqual(stateToJSON(sim.node('A').getSnapshot().state));
  });
});
