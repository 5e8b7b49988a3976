// @vitest-environment jsdom
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Block,
  type ChainState,
  type GenesisConfig,
  networkIdOf,
  profileOf,
  resilient,
  runLotteryAtOnce,
  validateChain,
} from '../../src/core';
import type { KeyPair } from '../../src/crypto';
import { chooseTransactions, forgeBlock } from '../../src/node/forge';
import type { NodeLogEvent } from '../../src/node/node';
import { readVectorKey } from '../helpers/vectors';
import { crypto, devnetGenesis, devnetKey, resilientGenesis, Simulation, stakeUp } from './harness';

/**
 * A private chain (issue 12): a staker holding 30% of the stake withholds its blocks. From a
 * fork point it builds a branch of its own, block by block as the clock allows (on `resilient`
 * each block waits for its key's rank slot and may not be stamped ahead of the clock; on
 * `reference` it grinds each block's timestamp until the lottery names it again), while the
 * honest network forges one purchase every 10 s. Once its branch is longer and the honest chain
 * has grown 10 blocks past the fork, it publishes the branch through a relay peer.
 *
 * `resilient`: no honest node replaces more than MAX_REORG_DEPTH = 8 blocks (read from their
 * reorg logs); each refuses the branch and says so, and all still agree. `reference`, side by
 * side: every honest node replaces the whole honest branch.
 */

const HONEST_BLOCK_EVERY_MS = 10_000;
const PUBLIC_DEPTH = 10;

type Logged = NodeLogEvent & { node: string };

interface Outcome {
  /** The most blocks any honest node dropped in one reorg. */
  readonly deepestReorg: number;
  readonly privateLength: number;
  readonly publicLength: number;
  /** Each honest node's notices, by id. */
  readonly notices: Readonly<Record<string, readonly string[]>>;
}

let keys: { genesis: KeyPair; exchange: KeyPair; buyer: KeyPair; attacker: KeyPair; honest: KeyPair[] };
const outcomes: Record<string, Outcome> = {};

beforeAll(async () => {
  const vectorKey = (name: string) => crypto.importPrivateKeyPem(readVectorKey(`${name}PrivateKey.pem`));
  keys = {
    genesis: await devnetKey('genesis'),
    exchange: await devnetKey('exchange'),
    buyer: await crypto.generateKeyPair(),
    attacker: await devnetKey('staker'),
    honest: await Promise.all(['user0', 'user1', 'user2'].map(vectorKey)),
  };
});

afterAll(() => {
  console.log(
    Object.entries(outcomes)
      .map(
        ([profile, o]) =>
          `${profile}: a 30% staker published a ${o.privateLength}-block private branch against ${o.publicLength} honest blocks; the deepest reorg on an honest node replaced ${o.deepestReorg} blocks`,
      )
      .join('\n'),
  );
});

/** The next block of the attacker's private branch on `tip`, or null while its turn has not come. */
async function privateBlock(
  tip: ChainState,
  nowMs: number,
): Promise<{ block: Block; state: ChainState } | null> {
  const choice = chooseTransactions(tip, [], 0);
  const head = tip.resilient;
  if (head) {
    const rank = resilient.rankOf(head.ranking, keys.attacker.publicKeyPem);
    if (rank === null) return null;
    const earliest = resilient.earliestForgeTime(head.headTime, rank, resilient.RESILIENT_SLOTS);
    if (Math.floor(nowMs / 1000) < earliest) return null;
    return forgeBlock(tip, choice, keys.attacker, crypto, nowMs, runLotteryAtOnce);
  }
  // Reference: grind the timestamp (one hash and one lottery per try) until the lottery names the
  // attacker for the block after, so the branch never waits for anyone else.
  if (tip.nextForger !== keys.attacker.publicKeyPem) return null;
  for (let attempt = 0; attempt < 1000; attempt++) {
    const forged = await forgeBlock(tip, choice, keys.attacker, crypto, nowMs - attempt, runLotteryAtOnce);
    if (forged?.state.nextForger === keys.attacker.publicKeyPem) return forged;
  }
  return null;
}

async function scenario(genesis: GenesisConfig, seed: number): Promise<Outcome> {
  const honestIds = keys.honest.map((_, i) => `h${i}`);
  const ids = ['g', ...honestIds, 'x', 'u'];
  const wallets: Record<string, KeyPair> = { g: keys.genesis, x: keys.attacker };
  keys.honest.forEach((key, i) => {
    wallets[`h${i}`] = key;
  });
  const events: Logged[] = [];
  const sim = new Simulation({
    seed,
    nodeIds: ids,
    wallets,
    genesis,
    log: (node, e) => events.push({ node, ...e }),
  });
  await sim.start();
  // 30 of 100 coins staked are the attacker's (the genesis key holds 1).
  await stakeUp(sim, {
    funder: keys.exchange,
    stakes: [[keys.attacker, 30], ...keys.honest.map((key) => [key, 23] as const)],
    via: 'u',
    blocksAfter: 11,
  });
  const u = sim.node('u');
  const purchase = async () => {
    const tx = await sim.sign(keys.exchange, {
      receiverPublicKey: keys.buyer.publicKeyPem,
      amount: 1,
      type: 'EXCHANGE',
    });
    expect(await u.submitTransaction(tx)).toEqual({ ok: true });
  };
  // The fork point: on reference, a head whose lottery names the attacker (it must forge the
  // branch's first block); on resilient, any head (every staker is ranked).
  while (
    u.getSnapshot().state.nextForger !== keys.attacker.publicKeyPem &&
    !u.getSnapshot().state.resilient
  ) {
    await purchase();
    const height = u.getSnapshot().height;
    expect(await sim.runUntil(() => sim.converged() && u.getSnapshot().height > height, 60_000)).toBe(true);
  }
  const fork = u.getSnapshot();
  const prefix = (await u.exportChain()).blocks;
  const branch: Block[] = [];
  let tip = fork.state;
  let nextPurchaseAt = sim.clock.now();
  const deadline = sim.clock.now() + 600_000;
  const publicLength = () => u.getSnapshot().height - fork.height;
  while (!(branch.length >= publicLength() + 2 && publicLength() >= PUBLIC_DEPTH)) {
    if (sim.clock.now() > deadline) throw new Error('the private branch never outgrew the honest one');
    if (sim.clock.now() >= nextPurchaseAt && publicLength() < PUBLIC_DEPTH) {
      await purchase();
      nextPurchaseAt += HONEST_BLOCK_EVERY_MS;
    }
    const next = await privateBlock(tip, sim.clock.now());
    if (next) {
      branch.push(next.block);
      tip = next.state;
    }
    await sim.runFor(1_000);
  }
  expect(await sim.runUntil(() => sim.converged(), 60_000)).toBe(true);
  const honestHead = u.getSnapshot();

  // Published: a relay serves the fork prefix and the branch, and claims its height.
  const chain = [...prefix, ...branch];
  const network = networkIdOf(genesis);
  const relay = await sim.rawPeer('relay', ids, (_from, message, send) => {
    if (message.type !== 'BLOCKCHAINREQUEST') return;
    send({
      type: 'BLOCKCHAIN',
      from: message.from,
      blocks: chain.slice(message.from, message.from + message.count),
      height: tip.height,
      head: tip.headHash,
    });
  });
  for (const id of ids)
    relay.send(id, {
      type: 'STATUS',
      height: tip.height,
      head: tip.headHash,
      forgerKey: null,
      network,
      profile: profileOf(genesis),
    });
  await sim.runFor(60_000);
  expect(await sim.runUntil(() => sim.converged(), 120_000), 'every honest node agrees').toBe(true);

  const reorgs = events
    .filter((e) => e.kind === 'reorg')
    .map((e) => Number(/(\d+) blocks orphaned/.exec(e.message)?.[1] ?? Number.NaN));
  expect(reorgs.every(Number.isFinite)).toBe(true);
  // The chain they agree on is valid from genesis.
  const agreed = (await sim.node('h0').exportChain()).blocks;
  expect((await validateChain(agreed, genesis, crypto)).valid).toBe(true);
  const outcome = {
    deepestReorg: Math.max(0, ...reorgs),
    privateLength: branch.length,
    publicLength: honestHead.height - fork.height,
    notices: Object.fromEntries(ids.map((id) => [id, sim.node(id).getSnapshot().notices])),
  };
  // Which chain won: the honest one on resilient, the attacker's on reference.
  const won = u.getSnapshot();
  if (genesis.profile === 'resilient') expect(won.height).toBeGreaterThanOrEqual(honestHead.height);
  else expect(won.height).toBeGreaterThanOrEqual(tip.height);
  expect(
    agreed[fork.height + 1]?.forger === keys.attacker.publicKeyPem || genesis.profile === 'resilient',
  ).toBe(true);
  await relay.stop();
  await sim.stop();
  return outcome;
}

describe('a 30% staker publishes a withheld branch', () => {
  it('resilient: no honest node replaces more than 8 blocks; each refuses and says so; all agree', async () => {
    const outcome = await scenario(resilientGenesis(), 51);
    outcomes.resilient = outcome;
    expect(outcome.privateLength).toBeGreaterThan(outcome.publicLength);
    expect(outcome.publicLength).toBeGreaterThan(resilient.MAX_REORG_DEPTH);
    expect(outcome.deepestReorg).toBeLessThanOrEqual(resilient.MAX_REORG_DEPTH);
    // Every honest node refused the branch, and says so.
    for (const notices of Object.values(outcome.notices))
      expect(notices).toContain(
        `refused a branch that would replace ${outcome.publicLength} blocks; this node never replaces more than 8`,
      );
  }, 120_000);

  it('reference, side by side: every honest node replaces the whole honest branch', async () => {
    const outcome = await scenario(devnetGenesis(), 51);
    outcomes.reference = outcome;
    expect(outcome.privateLength).toBeGreaterThan(outcome.publicLength);
    expect(outcome.deepestReorg).toBe(outcome.publicLength);
    expect(outcome.deepestReorg).toBeGreaterThan(resilient.MAX_REORG_DEPTH);
    expect(Object.values(outcome.notices).flat()).toEqual([]);
  }, 120_000);
});
