import { Set as ImmutableSet } from 'immutable';
import { GENESIS_BLOCK } from '../core/block';
import { applyBlockRules, type ChainState, drawNextForger, genesisState, stateAfter } from '../core/state';
import type { Block, GenesisConfig, Transaction } from '../core/types';

/**
 * The node's copy of its chain: blocks by height and by hash, where each transaction is, and
 * the state after each block. States are kept for recent blocks and recomputed on demand for
 * older ones (by replaying the rules over blocks that were validated when they arrived), so a
 * restored 10,000-block chain does not hold 10,000 states.
 */
export class ChainView {
  private readonly blockList: Block[] = [GENESIS_BLOCK];
  private readonly hashList: string[];
  private readonly byHash = new Map<string, number>();
  private readonly txHeight = new Map<string, number>();
  /** State after block `h`, where known; index 0 is genesis. */
  private readonly states = new Map<number, ChainState>();

  /** A chain holding only the genesis block of `genesis`. */
  constructor(private readonly genesis: GenesisConfig) {
    const start = genesisState(genesis);
    this.hashList = [start.headHash];
    this.byHash.set(start.headHash, 0);
    this.states.set(0, start);
  }

  /** Height of the head (its `blockCount`). */
  get height(): number {
    return this.blockList.length - 1;
  }

  /** Hash of the head block. */
  get headHash(): string {
    return this.hashList[this.hashList.length - 1] as string;
  }

  /** The head block. */
  get head(): Block {
    return this.blockList[this.blockList.length - 1] as Block;
  }

  /** State after the head block. */
  get headState(): ChainState {
    return this.stateAt(this.height);
  }

  /** The block at `height`, if any. */
  blockAt(height: number): Block | undefined {
    return this.blockList[height];
  }

  /** The hash of the block at `height`, if any. */
  hashAt(height: number): string | undefined {
    return this.hashList[height];
  }

  /** Height of the block with this hash, if it is on this chain. */
  heightOf(hash: string): number | undefined {
    return this.byHash.get(hash);
  }

  /** Height of the block holding transaction `id`, if any. */
  transactionHeight(id: string): number | undefined {
    return this.txHeight.get(id);
  }

  /** The transaction with this id and its block height, if on chain. */
  findTransaction(id: string): { transaction: Transaction; height: number } | undefined {
    const height = this.txHeight.get(id);
    const transaction =
      height === undefined ? undefined : this.blockList[height]?.transactions.find((t) => t.id === id);
    return transaction && height !== undefined ? { transaction, height } : undefined;
  }

  /** Blocks `from`..`to` inclusive (clamped). */
  range(from: number, to: number): Block[] {
    return this.blockList.slice(Math.max(0, from), Math.min(this.blockList.length, to + 1));
  }

  /** Every block, genesis first. */
  allBlocks(): readonly Block[] {
    return this.blockList;
  }

  /**
   * The state after block `height`. Replays the rules forward from the nearest known state;
   * the blocks were fully validated on arrival, so signatures are not checked again.
   */
  stateAt(height: number): ChainState {
    const known = this.states.get(height);
    if (known) return known;
    let from = height;
    while (!this.states.has(from)) from--;
    let state = this.states.get(from) as ChainState;
    for (let h = from + 1; h <= height; h++) {
      const applied = applyBlockRules(state, this.blockList[h] as Block);
      if (!applied.ok) throw new Error(`stored block ${h} no longer applies: ${applied.error.message}`);
      const headHash = this.hashList[h] as string;
      // Below the head, the next forger is the next block's (it was validated); only a
      // replay to the head draws the lottery.
      const next = this.blockList[h + 1]?.forger ?? drawNextForger(applied.value.stakes, headHash);
      state = stateAfter(applied.value, h, headHash, next);
    }
    this.states.set(height, state);
    return state;
  }

  /** Appends a validated block with its hash and the state after it. */
  append(block: Block, hash: string, state: ChainState): void {
    const height = this.blockList.length;
    this.blockList.push(block);
    this.hashList.push(hash);
    this.byHash.set(hash, height);
    for (const tx of block.transactions) this.txHeight.set(tx.id, height);
    this.states.set(height, state);
    // Keep states for the most recent blocks only (reorgs happen near the head); older ones
    // are recomputed on demand. Checkpoints every 256 blocks bound the replay.
    const old = height - RECENT_STATES;
    if (old > 0 && old % CHECKPOINT_EVERY !== 0) this.states.delete(old);
  }

  /** Removes the blocks above `height` and returns them (oldest first). */
  truncate(height: number): Block[] {
    const removed = this.blockList.splice(height + 1);
    const removedHashes = this.hashList.splice(height + 1);
    for (const hash of removedHashes) this.byHash.delete(hash);
    for (const block of removed) for (const tx of block.transactions) this.txHeight.delete(tx.id);
    for (const h of [...this.states.keys()]) if (h > height) this.states.delete(h);
    return removed;
  }

  /**
   * Restores a stored chain without re-verifying signatures: blocks with their stored hashes,
   * and the head state if it was stored (else it is rebuilt by replaying the rules).
   */
  restore(blocks: readonly { block: Block; hash: string }[], head: ChainState | null): void {
    this.truncate(0);
    for (const [index, { block, hash }] of blocks.entries()) {
      const height = index + 1;
      this.blockList.push(block);
      this.hashList.push(hash);
      this.byHash.set(hash, height);
      for (const tx of block.transactions) this.txHeight.set(tx.id, height);
    }
    if (head && head.height === this.height && head.headHash === this.headHash) {
      const txIds = ImmutableSet(this.txHeight.keys());
      this.states.set(this.height, { ...head, txIds });
    }
  }

  /** The genesis configuration this chain was built on. */
  get config(): GenesisConfig {
    return this.genesis;
  }
}

/** States kept for the newest blocks. */
const RECENT_STATES = 128;
/** Older states kept every this many blocks, to bound a replay. */
const CHECKPOINT_EVERY = 256;
