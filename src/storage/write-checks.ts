import { blockHash, GENESIS_BLOCK } from '../core/block';
import type { BlockAggregate, CheckpointRecord, HeadPointer, StoredBlock } from '../ports/store';

/*
 * The preconditions every `Store` implementation checks before a chain write, here so that the
 * IndexedDB store and its in-memory twin refuse alike (and neither imports the other).
 */

/** The hash block 1 must link to: the genesis payload's hash (`b61900e4…`). */
export const GENESIS_HASH: string = blockHash(GENESIS_BLOCK);

/** Why a store refused a chain write. */
export type StoreWriteErrorCode =
  | 'BAD_FROM_HEIGHT'
  | 'BAD_HEIGHT'
  | 'BAD_LINK'
  | 'BAD_HEAD'
  | 'BAD_CHECKPOINT'
  | 'BAD_AGGREGATE';

/**
 * Thrown (as a rejection) by `writeChain` when the write would not continue
 * the stored chain; the store is left exactly as it was. Both stores throw the same codes.
 */
export class StoreWriteError extends Error {
  override readonly name = 'StoreWriteError';
  /** Which precondition failed. */
  constructor(
    readonly code: StoreWriteErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The block a write continues from: height 0 with `GENESIS_HASH` for the genesis block. */
export interface ChainTip {
  readonly height: number;
  readonly hash: string;
}

/** The tip of a chain of genesis alone. */
export const GENESIS_TIP: ChainTip = Object.freeze({ height: 0, hash: GENESIS_HASH });

/**
 * Checks that `fromHeight` is a height `writeChain` may cut at: 1 (replace everything) up to
 * `tipHeight + 1` (cut nothing, a plain append). Shared by both stores so they refuse alike.
 */
export function checkFromHeight(fromHeight: number, tipHeight: number): void {
  if (!Number.isSafeInteger(fromHeight) || fromHeight < 1 || fromHeight > tipHeight + 1) {
    throw new StoreWriteError(
      'BAD_FROM_HEIGHT',
      `cannot replace blocks from height ${fromHeight}: the stored chain ends at ${tipHeight}, so it must be 1..${tipHeight + 1}`,
    );
  }
}

/**
 * Checks that `blocks` continue the chain at `base` (heights contiguous, each `lastHash` the
 * previous stored hash, `blockCount` equal to the height) and that `head` describes the block
 * they end at. Stored hashes are trusted, not recomputed: hashing is the node's job, and a block
 * of 1,000 transfers costs milliseconds to hash. Shared by both stores so they refuse alike.
 */
export function checkChainWrite(base: ChainTip, blocks: readonly StoredBlock[], head: HeadPointer): void {
  let tip = base;
  for (const stored of blocks) {
    if (stored.height !== tip.height + 1 || stored.block.blockCount !== stored.height) {
      throw new StoreWriteError(
        'BAD_HEIGHT',
        `block at height ${stored.height} (blockCount ${stored.block.blockCount}) does not follow height ${tip.height}`,
      );
    }
    if (stored.block.lastHash !== tip.hash || typeof stored.hash !== 'string' || stored.hash === '') {
      throw new StoreWriteError(
        'BAD_LINK',
        `block ${stored.height}'s lastHash ${String(stored.block.lastHash).slice(0, 12)}… does not link to block ${tip.height}'s hash ${tip.hash.slice(0, 12)}…`,
      );
    }
    tip = { height: stored.height, hash: stored.hash };
  }
  if (head.height !== tip.height || head.hash !== tip.hash) {
    throw new StoreWriteError(
      'BAD_HEAD',
      `head state is for height ${head.height} (${String(head.hash).slice(0, 12)}…) but the chain would end at ${tip.height} (${tip.hash.slice(0, 12)}…)`,
    );
  }
}

/**
 * Checks that every checkpoint is for a block of the chain after the write: its height at most
 * the new tip and its hash that block's. `hashAt` gives the hash of a height below the written
 * blocks (from the store); the written blocks' hashes are taken from `blocks`.
 */
export async function checkCheckpoints(
  checkpoints: readonly CheckpointRecord[],
  blocks: readonly StoredBlock[],
  head: HeadPointer,
  hashAt: (height: number) => Promise<string | undefined> | string | undefined,
): Promise<void> {
  const written = new Map(blocks.map((stored) => [stored.height, stored.hash]));
  for (const checkpoint of checkpoints) {
    const { height } = checkpoint;
    const hash =
      !Number.isSafeInteger(height) || height < 1 || height > head.height
        ? undefined
        : (written.get(height) ?? (await hashAt(height)));
    if (hash === undefined || hash !== checkpoint.hash) {
      throw new StoreWriteError(
        'BAD_CHECKPOINT',
        `checkpoint at height ${height} (${String(checkpoint.hash).slice(0, 12)}…) is not for a block of the chain ending at ${head.height}`,
      );
    }
  }
}

/** Checks that `aggregates` are one per written block, at the blocks' heights, in order. */
export function checkAggregates(aggregates: readonly BlockAggregate[], blocks: readonly StoredBlock[]): void {
  const heights = (aggregates ?? []).map((aggregate) => aggregate?.height);
  if (heights.length !== blocks.length || blocks.some((stored, i) => stored.height !== heights[i])) {
    throw new StoreWriteError(
      'BAD_AGGREGATE',
      `the write's aggregates (heights ${heights.join(', ') || 'none'}) are not one per written block (heights ${blocks.map((s) => s.height).join(', ') || 'none'})`,
    );
  }
}
