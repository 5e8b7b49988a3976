import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
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

/** One step of a lot chain: `hex(sha256(json.dumps(text)))`; `text` here is always 64 hex digits. */
const QUOTE = 0x22;
const hexStep = (() => {
  // The JSON of a 64-hex-digit string is the digits in quotes: no escapes, 66 ASCII bytes.
  const buffer = new Uint8Array(66);
  buffer[0] = QUOTE;
  buffer[65] = QUOTE;
  return (digest: Uint8Array): Uint8Array => {
    const hex = bytesToHex(digest);
    for (let i = 0; i < 64; i++) buffer[i + 1] = hex.charCodeAt(i);
    return sha256(buffer);
  };
})();

const toBigInt = (digest: Uint8Array): bigint => BigInt(`0x${bytesToHex(digest)}`);

/** `Lot.lotHash()`: the hash of staker `publicKey`'s lot number `iteration` for `seed`. */
export function lotHash(publicKey: string, iteration: number, seed: string): string {
  if (iteration < 1) return publicKey + seed; // the reference returns the unhashed string
  let digest: Uint8Array = sha256(canonicalBytes(publicKey + seed));
  for (let i = 1; i < iteration; i++) digest = hexStep(digest);
  return bytesToHex(digest);
}

/**
 * Runs the lottery over `stakers` for `seed` (the last block's hash). Returns null when no
 * staker holds a lot, which cannot happen on a chain (the genesis staker always holds one).
 */
export function runLottery(stakers: Iterable<StakeEntry>, seed: string): LotteryResult | null {
  const referenceHash = hash(seed);
  const reference = BigInt(`0x${referenceHash}`);
  let best: { forger: string; iteration: number; digest: Uint8Array; offset: bigint } | null = null;
  for (const [publicKey, stake] of stakers) {
    if (stake < 1) continue;
    let digest: Uint8Array = sha256(canonicalBytes(publicKey + seed));
    for (let iteration = 1; iteration <= stake; iteration++) {
      if (iteration > 1) digest = hexStep(digest);
      const value = toBigInt(digest);
      const offset = value > reference ? value - reference : reference - value;
      if (best === null || offset < best.offset) best = { forger: publicKey, iteration, digest, offset };
    }
  }
  if (best === null) return null;
  return { forger: best.forger, iteration: best.iteration, lotHash: bytesToHex(best.digest), referenceHash };
}

/** The next forger after a block whose hash is `seed`, or null with no stakers. */
export function nextForger(stakers: Iterable<StakeEntry>, seed: string): string | null {
  return runLottery(stakers, seed)?.forger ?? null;
}

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
