import type { OrderedMap } from 'immutable';
import type { ChainError } from '../errors';
import { err, ok, type Result } from '../result';
import type { Block, GenesisConfig } from '../types';
import { RESILIENT_SLOTS, type SlotParams, STAKE_DELAY_BLOCKS } from './params';
import { type EligibleStake, rankOf, rankStakers } from './ranking';
import { genesisSeed, seedFromSignature } from './seed';
import { checkTimestamp, earliestForgeTime, fallbackReason, onDuty, slotOf } from './slots';

/*
 * What a chain state of the `resilient` profile carries beyond the account model, and the
 * profile's block rules over it (docs/consensus-resilient.md). Everything here is pure: the
 * receiver's clock comes in as `now`.
 */

/** Stakes per account in first-stake order, as `ChainState.stakes`. */
export type StakeMap = OrderedMap<string, number>;

/** The resilient part of a chain state: enough to rank and check the next block. */
export interface ResilientHead {
  /** The seed after the head block (SHA-256 of its seed signature; the genesis seed at 0): the next block's draw. */
  readonly seed: string;
  /** The head block's timestamp in whole seconds (0 for genesis): slots count from it. */
  readonly headTime: number;
  /**
   * The stakes after each of the last `STAKE_DELAY_BLOCKS + 1` blocks, oldest first (fewer near
   * genesis, whose stakes come first). The next block's ranking uses the oldest: a stake counts
   * only `STAKE_DELAY_BLOCKS` blocks after it lands (§3).
   */
  readonly stakeWindow: readonly StakeMap[];
  /** The stakers ranked for the next block, rank 0 first (every staker whose delayed stake is > 0). */
  readonly ranking: readonly string[];
}

/** Where a resilient block stands in its parent's ranking. */
export interface BlockTurn {
  /** The forger's rank for this block (0 is the first in line). */
  readonly rank: number;
  /** The block's slot: whole slots between the parent's timestamp and its own. */
  readonly slot: number;
}

/** Ranks the stakers for the block after a head with `seed` and `stakeWindow`. */
function rankingFor(seed: string, stakeWindow: readonly StakeMap[]): readonly string[] {
  const counted = stakeWindow[0];
  if (!counted) return [];
  const ranked = rankStakers(seed, [...counted.entries()] as EligibleStake[]);
  // A state's stakes are whole numbers ≥ 0 without duplicates and its seed is a digest, so this
  // cannot fail; an empty ranking (nobody may forge) is the safe answer if it ever did.
  return ranked.ok ? ranked.value : [];
}

/** The resilient head of a chain holding only the genesis block. */
export function genesisResilientHead(config: GenesisConfig, stakes: StakeMap): ResilientHead {
  const seed = genesisSeed(config);
  const stakeWindow = [stakes];
  return { seed, headTime: 0, stakeWindow, ranking: rankingFor(seed, stakeWindow) };
}

/**
 * Checks the profile's rules of `block` after `head`, before its transactions apply: it carries
 * a seed signature of the right length, its timestamp is whole seconds, its forger is ranked,
 * and the timestamp lies in a slot of the forger's rank and no more than the drift bound ahead
 * of `now` (when given; a chain read from a file has no "now"). The seed signature itself is
 * verified with the other signatures (`seedSigningBytes(head.seed)` under the forger's key).
 */
export function checkResilientBlock(
  head: ResilientHead,
  block: Block,
  now: number | undefined,
  params: SlotParams = RESILIENT_SLOTS,
): Result<BlockTurn, ChainError> {
  const seedSignature = block.seedSignature;
  if (seedSignature === undefined)
    return err({ code: 'BAD_SEED_SIGNATURE', message: 'a resilient block must carry a seedSignature' });
  if (seedSignature.length !== block.signature.length)
    return err({
      code: 'BAD_SEED_SIGNATURE',
      message: `the seed signature must be as long as the block signature (${block.signature.length} hex digits), one spelling per signature`,
    });
  if (typeof block.timestamp !== 'number')
    return err({
      code: 'BAD_TIMESTAMP',
      message: 'a resilient block timestamp is whole seconds, not a float',
    });
  const rank = rankOf(head.ranking, block.forger);
  if (rank === null)
    return err({
      code: 'WRONG_FORGER',
      expected: head.ranking[0] ?? '',
      actual: block.forger,
      message: 'the block was forged by a key with no stake that counts for this block',
    });
  const checked = checkTimestamp(
    { parentTime: head.headTime, time: block.timestamp, rank, now: now ?? block.timestamp },
    params,
  );
  if (!checked.ok) return checked;
  return ok({ rank, slot: checked.value });
}

/**
 * The resilient head after `block` (already checked by `checkResilientBlock`), whose
 * transactions left `stakes`: the next seed, the block's time, the window moved on by one and
 * the ranking for the block after.
 */
export function nextResilientHead(head: ResilientHead, block: Block, stakes: StakeMap): ResilientHead {
  const seedSignature = block.seedSignature ?? '';
  const next = seedFromSignature(seedSignature, seedSignature.length / 2);
  const seed = next.ok ? next.value : head.seed;
  const stakeWindow = [...head.stakeWindow, stakes].slice(-(STAKE_DELAY_BLOCKS + 1));
  const headTime = typeof block.timestamp === 'number' ? block.timestamp : block.timestamp.wholeFloat;
  return { seed, headTime, stakeWindow, ranking: rankingFor(seed, stakeWindow) };
}

/**
 * Rebuilds a resilient head from what a store keeps: the stakes after the head and the last
 * blocks up to the head, oldest first (the last `STAKE_DELAY_BLOCKS` of them at least, or all
 * from block 1). Each earlier window entry is the later one with that block's `STAKE`s taken
 * back out (a stake only grows by `STAKE`s), so nothing but blocks needs storing.
 */
export function rebuildResilientHead(
  config: GenesisConfig,
  headStakes: StakeMap,
  recentBlocks: readonly Block[],
): ResilientHead {
  const head = recentBlocks.at(-1);
  if (!head || head.blockCount === 0) return genesisResilientHead(config, headStakes);
  const window: StakeMap[] = [headStakes];
  for (let i = recentBlocks.length - 1; i > 0 && window.length <= STAKE_DELAY_BLOCKS; i--) {
    window.unshift(withoutStakesOf(window[0] as StakeMap, recentBlocks[i] as Block));
  }
  // At genesis the window starts with the genesis stakes (block 1's parent).
  const first = recentBlocks[0] as Block;
  if (first.blockCount === 1 && window.length <= STAKE_DELAY_BLOCKS)
    window.unshift(withoutStakesOf(window[0] as StakeMap, first));
  const seedSignature = head.seedSignature ?? '';
  const next = seedFromSignature(seedSignature, seedSignature.length / 2);
  const seed = next.ok ? next.value : genesisSeed(config);
  const headTime = typeof head.timestamp === 'number' ? head.timestamp : head.timestamp.wholeFloat;
  return { seed, headTime, stakeWindow: window, ranking: rankingFor(seed, window) };
}

/** `stakes` before `block`: its `STAKE`s taken back, a staker it introduced removed. */
function withoutStakesOf(stakes: StakeMap, block: Block): StakeMap {
  let before = stakes;
  for (const tx of block.transactions) {
    if (tx.type !== 'STAKE') continue;
    const left = before.get(tx.senderPublicKey, 0) - tx.amount;
    before = left > 0 ? before.set(tx.senderPublicKey, left) : before.delete(tx.senderPublicKey);
  }
  return before;
}

/** Where a key stands for the block after `head` at time `now` (whole seconds). */
export interface ForgingTurn {
  /** The key's rank, or null when it holds no stake that counts. */
  readonly rank: number | null;
  /** The slot `now` falls in after the head. */
  readonly slot: number;
  /** Whether an honest node with this key should forge now (its rank may, and is on duty). */
  readonly onDuty: boolean;
  /** The earliest whole second at which this key is next on duty (now, when `onDuty`); null when never. */
  readonly nextDutyAt: number | null;
}

/** How far ahead `forgingTurn` looks for a key's next duty slot. */
const DUTY_LOOKAHEAD_SLOTS = 10_000;

/**
 * Whether `publicKey` should forge the next block at `now`, and if not, when it next should:
 * rank r may forge from slot r on, and honest nodes forge only on duty (rank 0 always; in slot
 * s also rank s mod n), so after an idle spell one backup per slot takes its turn (§4).
 */
export function forgingTurn(
  head: ResilientHead,
  publicKey: string,
  now: number,
  params: SlotParams = RESILIENT_SLOTS,
): ForgingTurn {
  const rank = rankOf(head.ranking, publicKey);
  const slot = slotOf(head.headTime, now, params) ?? 0;
  const n = head.ranking.length;
  if (rank === null) return { rank, slot, onDuty: false, nextDutyAt: null };
  const earliest = earliestForgeTime(head.headTime, rank, params);
  const due = now >= earliest && onDuty(rank, slot, n);
  if (due) return { rank, slot, onDuty: true, nextDutyAt: now };
  if (rank === 0) return { rank, slot, onDuty: false, nextDutyAt: earliest };
  // The next slot from the current one on in which this rank is on duty.
  for (let s = Math.max(slot + 1, rank); s < slot + 1 + DUTY_LOOKAHEAD_SLOTS; s++) {
    if (onDuty(rank, s, n))
      return {
        rank,
        slot,
        onDuty: false,
        nextDutyAt: Math.max(earliest, head.headTime + s * params.slotSeconds),
      };
  }
  return { rank, slot, onDuty: false, nextDutyAt: null };
}

/** A resilient block's rank, slot and why its forger was allowed, as the explorer shows it. */
export interface BlockTurnReading extends BlockTurn {
  readonly reason: string;
}

/** Reads a block's turn against its parent's head (null when the forger is not ranked there). */
export function readBlockTurn(
  parent: ResilientHead,
  block: Block,
  params: SlotParams = RESILIENT_SLOTS,
): BlockTurnReading | null {
  const rank = rankOf(parent.ranking, block.forger);
  const time = typeof block.timestamp === 'number' ? block.timestamp : block.timestamp.wholeFloat;
  const slot = slotOf(parent.headTime, time, params);
  if (rank === null || slot === null) return null;
  return { rank, slot, reason: fallbackReason(rank, slot) };
}
