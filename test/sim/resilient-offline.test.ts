// @vitest-environment jsdom
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GenesisConfig, validateChain } from '../../src/core';
import type { KeyPair } from '../../src/crypto';
import { readVectorKey } from '../helpers/vectors';
import { crypto, devnetGenesis, devnetKey, resilientGenesis, Simulation, stakeUp } from './harness';

/**
 * Forgers going offline, on both profiles side by side (issue 12, "Offline forgers"):
 * - with the top forger (rank 0 for the next block) cut off, a pending purchase lands within 2
 *   slots (10 s) on `resilient`; on `reference` it waits for that one forger;
 * - with a third of the stake offline and one purchase submitted per slot, `resilient` keeps at
 *   least half the block rate it has with everyone online; `reference` stalls.
 * Six stakers hold 10 coins each beside the genesis key's 1; `u` holds no key and takes the
 * purchases. Every run ends with the network healed and every node on one valid chain.
 */

const SLOT_MS = 5_000;
const RATE_SLOTS = 40;
const TOP_FORGER_TRIALS = 5;

interface Figures {
  /** Per trial, ms from submitting a purchase with the top forger cut off to it landing (null: not within 30 s). */
  readonly topForgerDelays: (number | null)[];
  /** Blocks per minute with everyone online, and with a third of the stake offline. */
  readonly onlineRate: number;
  readonly offlineRate: number;
}

let keys: { genesis: KeyPair; exchange: KeyPair; buyer: KeyPair; stakers: KeyPair[] };
const figures: Record<string, Figures> = {};

beforeAll(async () => {
  const vectorKey = (name: string) => crypto.importPrivateKeyPem(readVectorKey(`${name}PrivateKey.pem`));
  keys = {
    genesis: await devnetKey('genesis'),
    exchange: await devnetKey('exchange'),
    buyer: await crypto.generateKeyPair(),
    stakers: [
      await devnetKey('staker'),
      ...(await Promise.all(['user0', 'user1', 'user2', 'user3', 'bob'].map(vectorKey))),
    ],
  };
});

afterAll(() => {
  // The figures for the README: one line per profile.
  console.log(
    Object.entries(figures)
      .map(
        ([profile, f]) =>
          `${profile}: top forger cut off, purchase landed after ${f.topForgerDelays.map((d) => (d === null ? 'never (30 s)' : `${(d / 1000).toFixed(1)} s`)).join(', ')}; blocks/min ${f.onlineRate.toFixed(1)} online, ${f.offlineRate.toFixed(1)} with a third of the stake offline (${((100 * f.offlineRate) / f.onlineRate).toFixed(0)}%)`,
      )
      .join('\n'),
  );
});

/** Runs the scenario on one profile; returns its figures once every node agrees on a valid chain. */
async function scenario(genesis: GenesisConfig, seed: number): Promise<Figures> {
  const stakerIds = keys.stakers.map((_, i) => `s${i}`);
  const ids = ['g', ...stakerIds, 'u'];
  const wallets: Record<string, KeyPair> = { g: keys.genesis };
  keys.stakers.forEach((key, i) => {
    wallets[`s${i}`] = key;
  });
  const sim = new Simulation({ seed, nodeIds: ids, wallets, genesis });
  await sim.start();
  await stakeUp(sim, {
    funder: keys.exchange,
    stakes: keys.stakers.map((key) => [key, 10] as const),
    via: 'u',
    blocksAfter: 11,
  });
  const u = sim.node('u');
  const nodeOf = (publicKey: string) => ids.find((id) => wallets[id]?.publicKeyPem === publicKey);
  const purchase = () =>
    sim.sign(keys.exchange, { receiverPublicKey: keys.buyer.publicKeyPem, amount: 1, type: 'EXCHANGE' });
  const heal = async () => {
    sim.network.heal();
    expect(await sim.runUntil(() => sim.converged(), 120_000), 'the healed network agrees').toBe(true);
  };

  // 1. The top forger for the next block is cut off; a purchase is submitted at once.
  const topForgerDelays: (number | null)[] = [];
  for (let trial = 0; trial < TOP_FORGER_TRIALS; trial++) {
    const top = nodeOf(u.getSnapshot().state.nextForger);
    if (!top) throw new Error('the top forger holds no node');
    sim.network.partition([[top]]);
    const tx = await purchase();
    const submittedAt = sim.clock.now();
    expect(await u.submitTransaction(tx)).toEqual({ ok: true });
    const landed = await sim.runUntil(() => u.getSnapshot().state.txIds.has(tx.id), 30_000);
    topForgerDelays.push(landed ? sim.clock.now() - submittedAt : null);
    await heal();
  }

  // 2. Blocks per minute with one purchase per slot: everyone online, then s0 and s1 (20 of
  // the 61 coins staked) offline.
  const rate = async (offline: readonly string[]) => {
    if (offline.length > 0) sim.network.partition(offline.map((id) => [id]));
    const startHeight = u.getSnapshot().height;
    for (let slot = 0; slot < RATE_SLOTS; slot++) {
      expect(await u.submitTransaction(await purchase())).toEqual({ ok: true });
      await sim.runFor(SLOT_MS);
    }
    const blocks = u.getSnapshot().height - startHeight;
    await heal();
    return blocks / ((RATE_SLOTS * SLOT_MS) / 60_000);
  };
  const onlineRate = await rate([]);
  const offlineRate = await rate(['s0', 's1']);

  // Every node on one chain, valid from genesis on its profile.
  const { blocks } = await sim.node('g').exportChain();
  const check = await validateChain(blocks, genesis, crypto);
  expect(check.valid).toBe(true);
  expect(check.state.headHash).toBe(u.getSnapshot().headHash);
  await sim.stop();
  return { topForgerDelays, onlineRate, offlineRate };
}

describe('forgers going offline', () => {
  it('resilient: with the top forger gone a purchase lands within 2 slots; a third offline keeps over half the block rate', async () => {
    const result = await scenario(resilientGenesis(), 41);
    figures.resilient = result;
    for (const delay of result.topForgerDelays) {
      expect(delay).not.toBeNull();
      expect(delay as number).toBeLessThanOrEqual(2 * SLOT_MS);
    }
    expect(result.onlineRate).toBeGreaterThan(0);
    expect(result.offlineRate).toBeGreaterThanOrEqual(result.onlineRate / 2);
  }, 120_000);

  it('reference, side by side: the same purchases wait for the one named forger, and the chain stalls', async () => {
    const result = await scenario(devnetGenesis(), 41);
    figures.reference = result;
    // The named forger is the only one who may forge: nothing lands while it is cut off.
    expect(result.topForgerDelays.every((delay) => delay === null)).toBe(true);
    expect(result.offlineRate).toBeLessThan(result.onlineRate / 2);
  }, 120_000);
});
