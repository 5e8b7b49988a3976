import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { canonicalBytes, hash } from './hash';

/**
 * The reference's proof-of-stake lottery (`ProofOfStake.forger`). Each staked coin is one lot;
 * staker `k`'s lot `i` (1..stake) hashes `k + seed` `i` times, each step `hex(hash(json(str)))`.
 * The winner is the lot whose hash, as a 256-bit integer, is nearest to `hash(seed)`; ties go to
 * the earlier lot in staker insertion order, then iteration order, as the reference's strict `<`.
 *
 * The reference builds every lot from scratch: O(stake²) hashes per staker. Lot `i+1` is one
 * more step of lot `i`'s chain, so one chain per staker gives the same lots in O(stake).
 */

/** A staker and its stake, in the order the chain first saw it stake (genesis first). */
export type StakeEntry = readonly [publicKey: string, stake: number];

/** The winning lot and the offsets, for the explorer. */
export interface LotteryResult {
  /** The winner's public key. */
  readonly forger: string;
  /** Which of the winner's lots won (1-based iteration). */
  readonly iteration: number;
  /** The winning lot's hash. */
  readonly lotHash: string;
  /** `hash(seed)`, the target. */
  readonly referenceHash: string;
}

const QUOTE = 0x22;

/**
 * One step of a lot chain, `hex(sha256(json.dumps(text)))`, where `text` is always 64 hex
 * digits: its JSON is the digits in quotes, no escapes, 66 ASCII bytes, written into `buffer`
 * (the caller's scratch space, so no state outlives a call).
 */
function hexStep(buffer: Uint8Array, digest: Uint8Array): Uint8Array {
  const hex = bytesToHex(digest);
  for (let i = 0; i < 64; i++) buffer[i + 1] = hex.charCodeAt(i);
  return sha256(buffer);
}

const toBigInt = (digest: Uint8Array): bigint => BigInt(`0x${bytesToHex(digest)}`);

function stepBuffer(): Uint8Array {
  const buffer = new Uint8Array(66);
  buffer[0] = QUOTE;
  buffer[65] = QUOTE;
  return buffer;
}

/** `Lot.lotHash()`: the hash of staker `publicKey`'s lot number `iteration` for `seed`. */
export function lotHash(publicKey: string, iteration: number, seed: string): string {
  if (iteration < 1) return publicKey + seed; // the reference returns the unhashed string
  const buffer = stepBuffer();
  let digest: Uint8Array = sha256(canonicalBytes(publicKey + seed));
  for (let i = 1; i < iteration; i++) digest = hexStep(buffer, digest);
  return bytesToHex(digest);
}

/**
 * A lottery in progress, as plain data: it can be resumed later, or elsewhere (it survives
 * structured clone), so an edge can spread one draw over slices of a time budget or run it in
 * a worker. The core holds no clock: `continueLottery` takes a number of hashes, the caller
 * decides how many fit its budget.
 */
export interface LotteryDraw {
  /** The stakers in lottery order. */
  readonly stakers: readonly StakeEntry[];
  /** The seed (the head block's hash). */
  readonly seed: string;
  /** `hash(seed)`, the target. */
  readonly referenceHash: string;
  /** Index into `stakers` of the staker being drawn; `stakers.length` when done. */
  readonly staker: number;
  /** Lots of that staker hashed so far. */
  readonly iteration: number;
  /** Hex of that staker's last lot hash ('' before its first). */
  readonly digest: string;
  /** The nearest lot so far. */
  readonly best: { readonly forger: string; readonly iteration: number; readonly lotHash: string } | null;
  /** Hashes done so far, over all stakers. */
  readonly hashes: number;
}

/** Starts a draw over `stakers` for `seed`; no hash of a lot is computed yet. */
export function startLottery(stakers: readonly StakeEntry[], seed: string): LotteryDraw {
  return {
    stakers,
    seed,
    referenceHash: hash(seed),
    staker: 0,
    iteration: 0,
    digest: '',
    best: null,
    hashes: 0,
  };
}

/** True when every lot of `draw` has been hashed. */
export const isLotteryDone = (draw: LotteryDraw): boolean => draw.staker >= draw.stakers.length;

const offsetFrom = (value: bigint, reference: bigint): bigint =>
  value > reference ? value - reference : reference - value;

/**
 * Continues `draw` by at most `maxHashes` lot hashes (at least one, unless it is done) and
 * returns the draw after them; `draw` itself is not changed.
 */
export function continueLottery(draw: LotteryDraw, maxHashes: number): LotteryDraw {
  if (isLotteryDone(draw)) return draw;
  const reference = BigInt(`0x${draw.referenceHash}`);
  const buffer = stepBuffer();
  let { staker, iteration, best } = draw;
  let digest: Uint8Array | null = draw.digest === '' ? null : hexToBytes(draw.digest);
  let bestOffset = best ? offsetFrom(BigInt(`0x${best.lotHash}`), reference) : null;
  let bestDigest: Uint8Array | null = null;
  let bestAt: { forger: string; iteration: number } | null = null;
  let done = 0;
  const budget = Math.max(1, maxHashes);
  while (staker < draw.stakers.length && done < budget) {
    const [publicKey, stake] = draw.stakers[staker] as StakeEntry;
    if (iteration >= stake) {
      staker++;
      iteration = 0;
      digest = null;
      continue;
    }
    digest = digest === null ? sha256(canonicalBytes(publicKey + draw.seed)) : hexStep(buffer, digest);
    iteration++;
    done++;
    const offset = offsetFrom(toBigInt(digest), reference);
    if (bestOffset === null || offset < bestOffset) {
      bestOffset = offset;
      bestDigest = digest;
      bestAt = { forger: publicKey, iteration };
    }
  }
  if (bestAt && bestDigest) best = { ...bestAt, lotHash: bytesToHex(bestDigest) };
  // Step past a staker whose lots are all drawn, so `isLotteryDone` is true as soon as it can be.
  while (staker < draw.stakers.length && iteration >= ((draw.stakers[staker] as StakeEntry)[1] ?? 0)) {
    staker++;
    iteration = 0;
    digest = null;
  }
  return {
    ...draw,
    staker,
    iteration,
    digest: digest === null ? '' : bytesToHex(digest),
    best,
    hashes: draw.hashes + done,
  };
}

/** The outcome of a finished draw, or null when no staker held a lot. */
export function lotteryResult(draw: LotteryDraw): LotteryResult | null {
  if (!draw.best) return null;
  return { ...draw.best, referenceHash: draw.referenceHash };
}

/**
 * Runs the lottery over `stakers` for `seed` (the last block's hash) in one go. Returns null
 * when no staker holds a lot, which cannot happen on a chain (the genesis staker always holds one).
 */
export function runLottery(stakers: Iterable<StakeEntry>, seed: string): LotteryResult | null {
  return lotteryResult(continueLottery(startLottery([...stakers], seed), Number.POSITIVE_INFINITY));
}

/** The next forger after a block whose hash is `seed`, or null with no stakers. */
export function nextForger(stakers: Iterable<StakeEntry>, seed: string): string | null {
  return runLottery(stakers, seed)?.forger ?? null;
}

/**
 * Computes the next forger for a chain state: the core's default runs the draw at once; an
 * edge that must not block (a browser page) passes one that spreads the draw over time slices
 * or runs it in a worker, driving `startLottery`/`continueLottery`.
 */
export type LotteryRunner = (stakers: readonly StakeEntry[], seed: string) => Promise<LotteryResult | null>;

/** The default runner: the whole draw at once. */
export const runLotteryAtOnce: LotteryRunner = async (stakers, seed) => runLottery(stakers, seed);

/**
 * The reference's own per-lot algorithm, O(stake²) hashes: kept only as the benchmark baseline
 * and as a cross-check in tests. Never call it on a hot path.
 */
export function naiveLottery(stakers: Iterable<StakeEntry>, seed: string): string | null {
  const reference = BigInt(`0x${hash(seed)}`);
  let winner: string | null = null;
  let leastOffset: bigint | null = null;
  for (const [publicKey, stake] of stakers) {
    for (let iteration = 1; iteration <= stake; iteration++) {
      let lot = publicKey + seed; // Lot.lotHash(), literally
      for (let step = 0; step < iteration; step++) lot = hash(lot);
      const value = BigInt(`0x${lot}`);
      const offset = value > reference ? value - reference : reference - value;
      if (leastOffset === null || offset < leastOffset) {
        leastOffset = offset;
        winner = publicKey;
      }
    }
  }
  return winner;
}
