/**
 * The stake-grinding attack of issue 12, run through the real state transition (`applyBlock`)
 * on both consensus profiles, so the attacker's share of blocks is a measured figure.
 *
 * The network: an attacker holding 10% of the stake, nine honest stakers and the genesis key
 * holding the rest, always online. Each block is forged by whoever the rules name: on
 * `reference` the lottery's winner (`state.nextForger`), on `resilient` rank 0 of the ranking
 * (rank 1, one slot later, when rank 0 withholds). The network is busy: five transfers are
 * always pending. Honest forgers forge plainly and on demand: one block for the oldest pending
 * transfer, one second after the parent. The attacker, when it forges, tries variations of its
 * block (its timestamp, and the order and subset of the five pending transfers) and publishes
 * the first that makes it the next forger again, else the plain one; on `resilient` it may
 * also withhold (`runGrinding`).
 *
 * Identities are placeholder PEMs and signatures placeholder hex of the right shape:
 * `applyBlock` checks every rule but signatures (those are `validateBlock`'s), and the property
 * under test is what the rules do with a block, not who signed it.
 *
 * Seed signatures on `resilient`: a real forger signs the previous seed with RSASSA-PKCS1-v1_5,
 * which is deterministic, one signature per key and message. Real RSA signing costs about
 * 0.8 ms per signature here (WebCrypto, idle machine), and these runs need over 20,000 of them
 * (16 s, more than the rest of the file), so the long runs use a stand-in with the one property
 * that matters, determinism per (key, message): HMAC-SHA-256 of the message under a per-key
 * secret, repeated to 256 bytes (`standInSigner`). That is
 * acceptable only because `applyBlock` does not verify signatures; `grinding.test.ts` checks
 * the mechanism once more with a real RSA-2048 signature.
 */

import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import {
  applyBlock,
  type Block,
  type ChainState,
  createBlock,
  createTransaction,
  type GenesisConfig,
  genesisState,
  resilient,
  type Transaction,
  withBlockSignature,
  withTransactionSignature,
} from '../../src/core';
import { SeededRandom } from '../../src/net/memory';
import { placeholderPem } from '../helpers/placeholder-keys';

export type Profile = 'reference' | 'resilient';

/** The attacker's stake and the honest stakes (the genesis key's 1 coin comes on top): 2 of 20 coins. */
export const ATTACKER_STAKE = 2;
/** Uneven honest stakes; with the genesis key's coin they hold 18 of 20. */
export const HONEST_STAKES: readonly number[] = [3, 2, 2, 2, 2, 2, 2, 1, 1];
/**
 * The total stake is kept small on purpose: the reference lottery hashes once per staked coin
 * at every try. The attacker's odds per try are its share, 10%, whatever the total.
 */
export const TOTAL_STAKE = 1 + ATTACKER_STAKE + HONEST_STAKES.reduce((a, b) => a + b, 0);

/** The most variations the attacker tries for one block (issue 12). */
export const MAX_VARIATIONS = 1000;
/** Pending transfers the forger can choose from (ordered subsets of 5, times 4 timestamps: 1,304 variations). */
export const POOL_SIZE = 5;
/**
 * Transfers in an honest block: the oldest pending one. Forging is on demand, one block per
 * transfer; it also keeps honest blocks, 90% of the work of a run, cheap.
 */
export const HONEST_BLOCK_TRANSFERS = 1;
/**
 * Whole-second offsets after the parent the attacker may stamp its block with: seconds 1–4
 * are slot 0 on `resilient` (rank 0's own, before rank 1 may forge) and within the drift
 * bound of a clock that reads the moment it publishes. The reference checks no timestamp;
 * the same offsets keep both profiles' variations alike.
 */
export const TIME_OFFSETS = 4;

const PLACEHOLDER_SIGNATURE = 'ab'.repeat(256);

/** Every ordered subset of `n` items, smallest first (cheap blocks are tried first). */
function orderedSubsets(n: number): number[][] {
  const bySize: number[][][] = [[[]]];
  for (let size = 1; size <= n; size++) {
    const next: number[][] = [];
    for (const prefix of bySize[size - 1] as number[][])
      for (let i = 0; i < n; i++) if (!prefix.includes(i)) next.push([...prefix, i]);
    bySize.push(next);
  }
  return bySize.flat();
}

const SUBSETS = orderedSubsets(POOL_SIZE);

/** Variation `index`: which pending transfers in which order, and how many seconds after the parent. */
export function variation(
  index: number,
  pool: readonly Transaction[],
): {
  transactions: Transaction[];
  offset: number;
} {
  const subset = SUBSETS[Math.floor(index / TIME_OFFSETS)];
  if (!subset) throw new RangeError(`there are only ${SUBSETS.length * TIME_OFFSETS} variations`);
  return {
    transactions: subset.filter((i) => i < pool.length).map((i) => pool[i] as Transaction),
    offset: 1 + (index % TIME_OFFSETS),
  };
}

/** Signs seed bytes for a forger: deterministic per (key, message). */
export type SeedSigner = (publicKey: string, message: Uint8Array) => string;

/**
 * The stand-in seed signature (see the file comment): HMAC-SHA-256 of the message under the
 * key's secret, its 32 bytes repeated to the 256 of an RSA-2048 signature (the rules check only
 * the length). Deterministic per (key, message), as PKCS#1 v1.5 is; unpredictable without the
 * secret, as a signature is.
 */
export function standInSigner(secretOf: (publicKey: string) => Uint8Array): SeedSigner {
  return (publicKey, message) => bytesToHex(hmac(sha256, secretOf(publicKey), message)).repeat(8);
}

/** The identities and the starting chain of one seeded run. */
export interface Network {
  readonly config: GenesisConfig;
  readonly attacker: string;
  readonly honest: readonly string[];
  readonly users: readonly string[];
  readonly signSeed: SeedSigner;
}

/**
 * A seeded network: every key differs per seed, so each seed is another network (and genesis
 * seed). `attacker` replaces the attacker's placeholder with a real public key.
 */
export function makeNetwork(profile: Profile, seed: number, attacker?: string): Network {
  const key = (name: string) => placeholderPem(`${name}@${seed}:`);
  const genesis = key('genesis');
  const honest = [genesis, ...HONEST_STAKES.map((_, i) => key(`honest${i}`))];
  const secrets = new Map<string, Uint8Array>();
  return {
    config: { profile, genesisPublicKey: genesis },
    attacker: attacker ?? key('attacker'),
    honest,
    users: Array.from({ length: POOL_SIZE }, (_, i) => key(`user${i}`)),
    signSeed: standInSigner((publicKey) => {
      let secret = secrets.get(publicKey);
      if (!secret) {
        secret = sha256(utf8ToBytes(`secret:${seed}:${publicKey}`));
        secrets.set(publicKey, secret);
      }
      return secret;
    }),
  };
}

/** A chain in progress: the state, its head's time, the pending transfers and a seeded stream. */
export interface Chain {
  state: ChainState;
  time: number;
  pool: Transaction[];
  readonly random: SeededRandom;
  nextTxId: number;
}

const T0 = 1_800_000_000;

function transaction(chain: Chain, draft: Parameters<typeof createTransaction>[0]): Transaction {
  const id = (chain.nextTxId++).toString(16).padStart(32, '0');
  const tx = createTransaction(draft, id, T0 + chain.nextTxId);
  // A placeholder of an RSA-2048 signature's shape, different per transaction.
  return withTransactionSignature(tx, bytesToHex(sha256(utf8ToBytes(id))).repeat(8));
}

/** The block an honest forger makes: the oldest pending transfers, `offset` seconds after the parent. */
export function plainBlock(chain: Chain, network: Network, forger: string, offset = 1): Block {
  return blockOn(chain, network, forger, chain.pool.slice(0, HONEST_BLOCK_TRANSFERS), offset);
}

/** Tops the pending pool up to `POOL_SIZE` seeded transfers of 1–5 coins between the users. */
export function refillPool(chain: Chain, network: Network): void {
  while (chain.pool.length < POOL_SIZE) {
    const from = chain.random.int(0, network.users.length - 1);
    const to = (from + chain.random.int(1, network.users.length - 1)) % network.users.length;
    chain.pool.push(
      transaction(chain, {
        senderPublicKey: network.users[from] as string,
        receiverPublicKey: network.users[to] as string,
        amount: chain.random.int(1, 5),
        type: 'TRANSFER',
      }),
    );
  }
}

/** `forger`'s block on the chain's head with `transactions`, `offset` seconds after the parent. */
export function blockOn(
  chain: Chain,
  network: Network,
  forger: string,
  transactions: readonly Transaction[],
  offset: number,
  seedSignature?: string,
): Block {
  const { state } = chain;
  let seal = seedSignature;
  if (state.resilient && seal === undefined) {
    const bytes = resilient.seedSigningBytes(state.resilient.seed);
    if (!bytes.ok) throw new Error(bytes.error.message);
    seal = network.signSeed(forger, bytes.value);
  }
  const unsigned = createBlock(
    transactions,
    state.headHash,
    forger,
    state.height + 1,
    chain.time + offset,
    seal,
  );
  return withBlockSignature(unsigned, PLACEHOLDER_SIGNATURE);
}

/** Applies `block` (it must be valid: these are the rules' own forgers) and drops its transfers from the pool. */
export function publish(chain: Chain, block: Block): void {
  const next = applyBlock(chain.state, block, block.timestamp as number);
  if (!next.ok)
    throw new Error(`the simulation made an invalid block: ${next.error.code}: ${next.error.message}`);
  chain.state = next.value;
  chain.time = block.timestamp as number;
  const included = new Set(block.transactions.map((tx) => tx.id));
  chain.pool = chain.pool.filter((tx) => !included.has(tx.id));
}

/** Who the rules name to forge next: the lottery's winner, or rank 0. */
export const dueForger = (state: ChainState): string => state.resilient?.ranking[0] ?? state.nextForger;

/**
 * A new chain with every stake in place and counting: block 1 funds and stakes every staker
 * and funds the users; on `resilient` honest blocks follow until the stake delay has passed.
 */
export function startChain(network: Network, seed: number): Chain {
  const chain: Chain = {
    state: genesisState(network.config),
    time: T0,
    pool: [],
    random: new SeededRandom(seed),
    nextTxId: 0,
  };
  const exchange = placeholderPem(`exchange@${seed}:`);
  const funding: Transaction[] = [];
  const stakers: [string, number][] = [
    [network.attacker, ATTACKER_STAKE],
    ...HONEST_STAKES.map((stake, i) => [network.honest[i + 1] as string, stake] as [string, number]),
  ];
  for (const [staker, stake] of stakers) {
    funding.push(
      transaction(chain, {
        senderPublicKey: exchange,
        receiverPublicKey: staker,
        amount: stake,
        type: 'EXCHANGE',
      }),
      transaction(chain, {
        senderPublicKey: staker,
        receiverPublicKey: staker,
        amount: stake,
        type: 'STAKE',
      }),
    );
  }
  for (const user of network.users)
    funding.push(
      transaction(chain, {
        senderPublicKey: exchange,
        receiverPublicKey: user,
        amount: 1_000_000,
        type: 'EXCHANGE',
      }),
    );
  publish(chain, blockOn(chain, network, dueForger(chain.state), funding, 1));
  const everyone = stakers.length + 1;
  while (chain.state.resilient && chain.state.resilient.ranking.length < everyone)
    publish(chain, blockOn(chain, network, dueForger(chain.state), [], 1));
  return chain;
}

/**
 * Forges honestly (every forger plain) until the rules name the attacker: the state where its
 * first chance to grind comes, with a full pool of pending transfers.
 */
export function untilAttackerIsDue(network: Network, chain: Chain): Chain {
  for (;;) {
    refillPool(chain, network);
    const forger = dueForger(chain.state);
    if (forger === network.attacker) return chain;
    publish(chain, plainBlock(chain, network, forger));
  }
}

/** What one run measured. */
export interface GrindingRun {
  readonly profile: Profile;
  readonly seed: number;
  readonly withholding: boolean;
  readonly blocks: number;
  /** Blocks the attacker forged and published. */
  readonly attackerBlocks: number;
  /** Blocks where the rules named the attacker (rank 0, or the lottery's winner). */
  readonly attackerDue: number;
  /** Times the attacker, due, published a variation that made it the next forger again. */
  readonly groundWins: number;
  /** Times the attacker withheld its block (rank 1 forged instead). */
  readonly withheld: number;
  /** Variations tried, over the run. */
  readonly tries: number;
  /** Per attacker block, the most distinct next seeds (resilient) or next forgers (reference) among its tries. */
  readonly mostDistinctOutcomes: number;
}

/** The attacker's share of the run's blocks. */
export const shareOf = (run: GrindingRun): number => run.attackerBlocks / run.blocks;

/**
 * Runs `blocks` blocks after the stakes are in place. `triesPerBlock` caps the attacker's tries
 * (at most `MAX_VARIATIONS`); `withholding` lets a resilient attacker keep back a block that
 * would not make it rank 0 again (greedy: it cannot foresee the seed rank 1's block gives).
 */
export function runGrinding(options: {
  profile: Profile;
  seed: number;
  blocks: number;
  triesPerBlock: number;
  withholding: boolean;
}): GrindingRun {
  const { profile, seed, blocks, withholding } = options;
  const tries = Math.min(options.triesPerBlock, MAX_VARIATIONS);
  const network = makeNetwork(profile, seed);
  const chain = startChain(network, seed);
  const { attacker } = network;
  let attackerBlocks = 0;
  let attackerDue = 0;
  let groundWins = 0;
  let withheld = 0;
  let triesTotal = 0;
  let mostDistinctOutcomes = 0;
  for (let n = 0; n < blocks; n++) {
    refillPool(chain, network);
    const forger = dueForger(chain.state);
    if (forger !== attacker) {
      publish(chain, plainBlock(chain, network, forger));
      continue;
    }
    attackerDue++;
    // One seed signature for all its tries: it depends on the key and the previous seed only.
    const seal = blockOn(chain, network, attacker, [], 1).seedSignature;
    let chosen: Block | null = null;
    const outcomes = new Set<string>();
    for (let i = 0; i < tries && !chosen; i++) {
      const { transactions, offset } = variation(i, chain.pool);
      const candidate = blockOn(chain, network, attacker, transactions, offset, seal);
      triesTotal++;
      const after = applyBlock(chain.state, candidate, candidate.timestamp as number);
      if (!after.ok)
        throw new Error(`variation ${i} is invalid: ${after.error.code}: ${after.error.message}`);
      outcomes.add(after.value.resilient?.seed ?? after.value.nextForger);
      if (dueForger(after.value) === attacker) chosen = candidate;
    }
    mostDistinctOutcomes = Math.max(mostDistinctOutcomes, outcomes.size);
    if (chosen) {
      groundWins++;
    } else if (withholding && chain.state.resilient) {
      // Withhold: rank 1 (honest, online) forges once its slot comes.
      withheld++;
      const rank1 = chain.state.resilient.ranking[1] as string;
      publish(chain, plainBlock(chain, network, rank1, resilient.RESILIENT_SLOTS.slotSeconds));
      continue;
    } else {
      chosen = plainBlock(chain, network, attacker);
    }
    publish(chain, chosen);
    attackerBlocks++;
  }
  return {
    profile,
    seed,
    withholding,
    blocks,
    attackerBlocks,
    attackerDue,
    groundWins,
    withheld,
    tries: triesTotal,
    mostDistinctOutcomes,
  };
}
