import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { err, ok, type Result } from '../result';

/*
 * The stake-weighted ranking of the `resilient` profile: who may forge the next block, in
 * order of priority. Successive weighted draws without replacement ("successive sampling",
 * the same distribution as Efraimidis–Spirakis's keys u^(1/w), but in integers only):
 *
 *   draw i: x_i = SHA-256(seed ‖ uint32be(i)) as a 256-bit integer, mod the stake still in
 *   the urn; the staker whose cumulative interval holds x_i gets rank i and leaves the urn.
 *
 * Stakes sit in a Fenwick tree of bigints, so each draw finds and removes its staker in
 * O(log n): n hashes and O(n log n) integer additions for the whole ranking, never O(stake).
 * The modulo bias is below total/2^256, at most 2^-196 for any stake a chain can hold.
 */

/** A staker and the stake that counts for this draw (already past the stake delay). */
export type EligibleStake = readonly [publicKey: string, stake: number];

/** Why a ranking could not be computed; `code` is stable. */
export type RankingError =
  | { readonly code: 'BAD_SEED'; readonly message: string }
  | { readonly code: 'BAD_STAKE'; readonly message: string; readonly index: number }
  | { readonly code: 'DUPLICATE_STAKER'; readonly message: string; readonly index: number };

const SEED_PATTERN = /^[0-9a-f]{64}$/;

/** The 256-bit draw number `i` for `seed`: SHA-256 of the seed's 32 bytes and `i` big-endian. */
export function drawNumber(seedBytes: Uint8Array, index: number): bigint {
  const message = new Uint8Array(36);
  message.set(seedBytes, 0);
  new DataView(message.buffer).setUint32(32, index, false);
  return BigInt(`0x${bytesToHex(sha256(message))}`);
}

/** Checks the inputs; returns the stakers that hold stake, in the given order. */
function checkInputs(
  seed: string,
  stakes: readonly EligibleStake[],
): Result<readonly EligibleStake[], RankingError> {
  if (!SEED_PATTERN.test(seed)) {
    return err({ code: 'BAD_SEED', message: 'the seed must be 64 lower-case hex digits' });
  }
  const seen = new Set<string>();
  const holding: EligibleStake[] = [];
  for (const [index, entry] of stakes.entries()) {
    const [publicKey, stake] = entry;
    if (!Number.isSafeInteger(stake) || stake < 0) {
      return err({ code: 'BAD_STAKE', message: `stake ${stake} is not a whole number ≥ 0`, index });
    }
    if (seen.has(publicKey)) {
      return err({ code: 'DUPLICATE_STAKER', message: 'a staker appears twice', index });
    }
    seen.add(publicKey);
    if (stake > 0) holding.push(entry);
  }
  return ok(holding);
}

/**
 * The stakers ranked for the next block: rank 0 first. Stakers with stake 0 are left out;
 * every other staker appears exactly once. `limit` stops after that many ranks (the node
 * rarely needs more than the first few). The order of `stakes` is part of consensus: the
 * chain's staker order (genesis first, then by first stake).
 */
export function rankStakers(
  seed: string,
  stakes: readonly EligibleStake[],
  limit: number = Number.POSITIVE_INFINITY,
): Result<readonly string[], RankingError> {
  const checked = checkInputs(seed, stakes);
  if (!checked.ok) return checked;
  const holding = checked.value;
  const n = holding.length;
  // Fenwick tree, 1-based: tree[i] holds the stake of positions (i - lowbit(i), i].
  const tree: bigint[] = new Array<bigint>(n + 1).fill(0n);
  let remaining = 0n;
  for (let i = 1; i <= n; i++) {
    const stake = BigInt((holding[i - 1] as EligibleStake)[1]);
    remaining += stake;
    tree[i] = (tree[i] as bigint) + stake;
    const parent = i + (i & -i);
    if (parent <= n) tree[parent] = (tree[parent] as bigint) + (tree[i] as bigint);
  }
  let topBit = 1;
  while (topBit * 2 <= n) topBit *= 2;
  const seedBytes = hexToBytes(seed);
  const ranked: string[] = [];
  const count = Math.min(n, limit);
  for (let rank = 0; rank < count; rank++) {
    let target = drawNumber(seedBytes, rank) % remaining;
    // Descend to the first position whose cumulative stake exceeds `target`.
    let position = 0;
    for (let step = topBit; step > 0; step >>= 1) {
      const next = position + step;
      if (next <= n && (tree[next] as bigint) <= target) {
        position = next;
        target -= tree[next] as bigint;
      }
    }
    const [publicKey, stake] = holding[position] as EligibleStake;
    ranked.push(publicKey);
    const amount = BigInt(stake);
    remaining -= amount;
    for (let i = position + 1; i <= n; i += i & -i) tree[i] = (tree[i] as bigint) - amount;
  }
  return ok(ranked);
}

/** The rank of `publicKey` in `ranking`, or null when it is not ranked. */
export function rankOf(ranking: readonly string[], publicKey: string): number | null {
  const index = ranking.indexOf(publicKey);
  return index < 0 ? null : index;
}
