import { Map as ImmutableMap, Set as ImmutableSet, OrderedMap } from 'immutable';
import { GENESIS_BLOCK } from '../core/block';
import { nextResilientHead, type ResilientHead, rebuildResilientHead } from '../core/resilient/head';
import { STAKE_DELAY_BLOCKS } from '../core/resilient/params';
import {
  applyTransactions,
  type ChainState,
  drawNextForger,
  genesisState,
  maxTotalStakeOf,
  stateAfter,
} from '../core/state';
import type { Block, GenesisConfig, Transaction } from '../core/types';
import type { BlockRange, ChainIndex, CheckpointRecord } from '../ports/store';

/** Where a chain view finds what it does not hold: the node's store. */
export interface ChainSource {
  readBlocks(from: number, to: number): Promise<BlockRange>;
  readTransactionHeight(id: string): Promise<number | undefined>;
  readTransactionIds(from: number, to: number): Promise<readonly string[]>;
  readCheckpoint(height: number): Promise<CheckpointRecord | null>;
  /** Every hash and transaction id up to `to`; null when the store could not be read. */
  readChainIndex(to: number): Promise<ChainIndex | null>;
}

/**
 * A stored chain, as `restore` takes it: what makes the node interactive. Every older hash and
 * every transaction id come after, with `loadIndex`.
 */
export interface RestoredChain {
  /** The hash of the block the held blocks build on (the genesis hash when that is genesis). */
  readonly baseHash: string;
  /** The blocks held from now on: the newest ones, from the base's height + 1 to the tip. */
  readonly blocks: readonly { readonly block: Block; readonly hash: string }[];
  /** The base's height: the tip is `baseHeight + blocks.length`. */
  readonly baseHeight: number;
  /** The state the blocks build on, given its transaction ids; null for genesis. */
  readonly base: ((txIds: ImmutableSet<string>) => ChainState) | null;
  /** The head state without trusting `txIds` (they are set here), or null to replay it. */
  readonly head: ChainState | null;
  /** Where older blocks, hashes and transaction ids are read. */
  readonly source: ChainSource | null;
}

/**
 * The node's copy of its chain. It knows every block's hash and the head state (with every
 * transaction id, for the replay check), and holds the blocks from some height on: all of them
 * on a node that started empty, the recent ones on a node restored from its store. Older blocks
 * are read from the store when asked (`readRange`, `readBlock`, `readTransaction`,
 * `readStateAt`); the synchronous reads answer from what is held.
 *
 * States are kept for recent blocks and recomputed on demand for older ones by replaying the
 * transactions of blocks that were validated when they arrived.
 *
 * A restored view is interactive before it knows what grows with the chain: the older hashes
 * and the full transaction id set (the replay check's) come with `loadIndex`, run right after.
 * Until then its states' `txIds` hold only the held blocks' ids, `append` refuses (no block can
 * be accepted on an incomplete replay check: the node runs `loadIndex` as its queue's first task,
 * so every validation waits for it), the async reads wait for it (`ready()`), and
 * `hashAt`/`heightOf` know the held heights only.
 */
export class ChainView {
  private readonly hashList: string[];
  private readonly byHash = new Map<string, number>();
  /** `held[i]` is the block at height `heldFrom + i`; genesis is always known. */
  private held: Block[] = [];
  private heldFrom = 1;
  /** Where each held block's transactions are. */
  private readonly txHeight = new Map<string, number>();
  /** State after block `h`, where known; index 0 is genesis. */
  private readonly states = new Map<number, ChainState>();
  /** The lowest height whose state is kept: replays start at or above it. */
  private anchor = 0;
  private source: ChainSource | null = null;
  /** Callers of `ready()` waiting for `loadIndex`; null once every hash and id is known. */
  private indexWaiters: (() => void)[] | null = null;
  /** The state of the genesis block alone. */
  readonly genesisState: ChainState;

  /** A chain holding only the genesis block of `genesis`. */
  constructor(private readonly genesis: GenesisConfig) {
    this.genesisState = genesisState(genesis);
    this.hashList = [this.genesisState.headHash];
    this.byHash.set(this.genesisState.headHash, 0);
    this.states.set(0, this.genesisState);
  }

  /** Height of the head (its `blockCount`). */
  get height(): number {
    return this.hashList.length - 1;
  }

  /** Hash of the head block. */
  get headHash(): string {
    return this.hashList[this.hashList.length - 1] as string;
  }

  /** The head block (always held). */
  get head(): Block {
    return this.blockAt(this.height) as Block;
  }

  /** State after the head block. */
  get headState(): ChainState {
    return this.stateAt(this.height);
  }

  /** The genesis configuration this chain was built on. */
  get config(): GenesisConfig {
    return this.genesis;
  }

  /** Whether every hash and transaction id is known (false between `restore` and `loadIndex`). */
  get complete(): boolean {
    return this.indexWaiters === null;
  }

  /** Resolves once every hash and transaction id is known (at once, unless restoring). */
  ready(): Promise<void> {
    const waiters = this.indexWaiters;
    return waiters === null ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve));
  }

  /** The lowest height whose block is held (older ones are read with `readRange`). */
  get lowestHeld(): number {
    return this.heldFrom;
  }

  /** The block at `height`, if held. */
  blockAt(height: number): Block | undefined {
    if (height === 0) return GENESIS_BLOCK;
    return height >= this.heldFrom ? this.held[height - this.heldFrom] : undefined;
  }

  /** The hash of the block at `height`, if known (every height's, once `ready`). */
  hashAt(height: number): string | undefined {
    return this.hashList[height];
  }

  /** Height of the block with this hash, if it is on this chain. */
  heightOf(hash: string): number | undefined {
    return this.byHash.get(hash);
  }

  /** Height of the held block holding transaction `id`, if any. */
  transactionHeight(id: string): number | undefined {
    return this.txHeight.get(id);
  }

  /** The transaction with this id and its block height, if in a held block. */
  findTransaction(id: string): { transaction: Transaction; height: number } | undefined {
    const height = this.txHeight.get(id);
    if (height === undefined) return undefined;
    const transaction = this.blockAt(height)?.transactions.find((t) => t.id === id);
    return transaction ? { transaction, height } : undefined;
  }

  /** The held blocks among `from`..`to` inclusive (genesis too, when every block is held). */
  range(from: number, to: number): Block[] {
    const end = Math.min(this.height, to);
    const blocks: Block[] = [];
    if (from <= 0 && end >= 0 && this.heldFrom === 1) blocks.push(GENESIS_BLOCK);
    for (let h = Math.max(from, this.heldFrom); h <= end; h++)
      blocks.push(this.held[h - this.heldFrom] as Block);
    return blocks;
  }

  /**
   * Blocks `from`..`to` inclusive (clamped to the chain), reading from the store those not held.
   * A damaged stored block ends the answer there (the source reports it).
   */
  async readRange(from: number, to: number): Promise<Block[]> {
    await this.ready();
    const start = Math.max(0, Math.ceil(from));
    const end = Math.min(this.height, Math.floor(to));
    if (end < start) return [];
    const blocks: Block[] = start === 0 ? [GENESIS_BLOCK] : [];
    const oldTo = Math.min(end, this.heldFrom - 1);
    const oldFrom = Math.max(1, start);
    if (oldFrom <= oldTo) {
      const read = this.source ? await this.source.readBlocks(oldFrom, oldTo) : { blocks: [] };
      // Only what still matches this chain (a reorg may have run while the store was read).
      for (const stored of read.blocks) {
        if (this.hashList[stored.height] !== stored.hash) return blocks;
        blocks.push(stored.block);
      }
      if (read.blocks.length < oldTo - oldFrom + 1) return blocks;
    }
    return [...blocks, ...this.range(Math.max(start, this.heldFrom), Math.min(end, this.height))];
  }

  /** The block at `height` with its hash, reading it from the store if it is not held. */
  async readBlock(height: number): Promise<{ block: Block; hash: string } | undefined> {
    await this.ready();
    const hash = this.hashList[height];
    if (hash === undefined) return undefined;
    const block = this.blockAt(height) ?? (await this.readRange(height, height))[0];
    return block && this.hashList[height] === hash ? { block, hash } : undefined;
  }

  /** The transaction with this id and its block height, looking it up in the store if needed. */
  async readTransaction(id: string): Promise<{ transaction: Transaction; height: number } | undefined> {
    await this.ready();
    const held = this.findTransaction(id);
    if (held || !this.source || !this.headState.txIds.has(id)) return held;
    const height = await this.source.readTransactionHeight(id);
    if (height === undefined || height >= this.heldFrom) return this.findTransaction(id);
    const transaction = (await this.readBlock(height))?.block.transactions.find((t) => t.id === id);
    return transaction ? { transaction, height } : undefined;
  }

  /**
   * The state after block `height` when it can be computed from what is held: a kept state, or
   * a replay of held blocks' transactions from one (the blocks were fully validated on arrival,
   * so rules and signatures are not checked again). Throws for an older height of a restored
   * chain: use `readStateAt`.
   */
  stateAt(height: number): ChainState {
    const known = this.states.get(height);
    if (known) return known;
    if (height < this.anchor || height > this.height) {
      throw new Error(`the state after block ${height} is not held: read it with readStateAt`);
    }
    let from = height;
    while (from > this.anchor && !this.states.has(from)) from--;
    const base = this.states.get(from);
    if (!base) throw new Error(`the state after block ${height} is not held: read it with readStateAt`);
    const state = this.replay(base, (h) => this.blockAt(h), height);
    this.states.set(height, state);
    return state;
  }

  /** The state after block `height`, reading a checkpoint and blocks from the store if needed. */
  async readStateAt(height: number): Promise<ChainState> {
    await this.ready();
    if (height >= this.anchor || !this.source) return this.stateAt(height);
    const head = this.height;
    const checkpoint = await this.source.readCheckpoint(height);
    const baseHeight = checkpoint?.height ?? 0;
    // The ids at the checkpoint: the head's, less those of every later block.
    const laterHeld = this.range(Math.max(baseHeight + 1, this.heldFrom), head).flatMap((b) =>
      b.transactions.map((tx) => tx.id),
    );
    const laterStored = await this.source.readTransactionIds(baseHeight + 1, this.heldFrom - 1);
    // On `resilient` the checkpoint's ranking needs the stakes of the blocks before it too: the
    // checkpoint block and the `STAKE_DELAY_BLOCKS` below it are read along.
    const lookback =
      checkpoint && this.genesisState.resilient ? Math.min(STAKE_DELAY_BLOCKS + 1, baseHeight) : 0;
    // One block past `height` too: its forger is the state's next forger (no lottery to draw).
    const read = await this.readRange(baseHeight + 1 - lookback, Math.min(height + 1, head));
    const before = read.slice(0, lookback);
    const blocks = read.slice(lookback);
    if (this.height !== head || blocks.length < height - baseHeight || before.length < lookback) {
      throw new Error(`could not read the blocks up to ${height} from the store`);
    }
    const txIds = without(this.headState.txIds, [...laterHeld, ...laterStored]);
    const base = checkpoint
      ? stateOfCheckpoint(
          checkpoint,
          txIds,
          this.genesis,
          blocks[0]?.forger,
          lookback > 0 ? resilientHeadOfCheckpoint(checkpoint, this.genesis, before) : undefined,
        )
      : this.genesisState;
    const state = this.replay(base, (h) => blocks[h - baseHeight - 1], height);
    this.states.set(height, state);
    return state;
  }

  /** Appends a validated block with its hash and the state after it. */
  append(block: Block, hash: string, state: ChainState): void {
    if (!this.complete) throw new Error('no block is appended before every transaction id is loaded');
    this.push(block, hash);
    const height = this.height;
    this.states.set(height, state);
    // A chain cut below its anchor state starts again from its first new state.
    if (!this.states.has(this.anchor)) this.anchor = height;
    // Keep states for the most recent blocks only (reorgs happen near the head); older ones
    // are recomputed on demand. Kept states every CHECKPOINT_EVERY blocks bound the replay.
    const old = height - RECENT_STATES;
    if (old > this.anchor && old % CHECKPOINT_EVERY !== 0) this.states.delete(old);
  }

  /** Removes the blocks above `height` and returns those that were held (oldest first). */
  truncate(height: number): Block[] {
    const keep = Math.max(0, height + 1 - this.heldFrom);
    const removed = this.held.splice(keep);
    const removedHashes = this.hashList.splice(height + 1);
    for (const hash of removedHashes) this.byHash.delete(hash);
    for (const block of removed) for (const tx of block.transactions) this.txHeight.delete(tx.id);
    for (const h of [...this.states.keys()]) if (h > height) this.states.delete(h);
    if (height + 1 < this.heldFrom) this.heldFrom = height + 1;
    if (this.anchor > height) this.anchor = height;
    return removed;
  }

  /**
   * Restores a stored chain without re-verifying signatures: the recent blocks with their base
   * state, and the head state (rebuilt by replaying the recent blocks if it is null). The states'
   * `txIds` are the held blocks' until `loadIndex` brings the rest.
   */
  restore(stored: RestoredChain): void {
    this.truncate(0);
    this.held = [];
    this.heldFrom = stored.baseHeight + 1;
    // Older heights stay holes until `loadIndex` fills them.
    this.hashList.length = this.heldFrom;
    if (stored.baseHeight > 0) {
      this.hashList[stored.baseHeight] = stored.baseHash;
      this.byHash.set(stored.baseHash, stored.baseHeight);
    }
    for (const { block, hash } of stored.blocks) this.push(block, hash);
    this.source = stored.source;
    this.indexWaiters = [];
    const base = stored.base ? stored.base(ImmutableSet()) : this.genesisState;
    this.states.set(stored.baseHeight, base);
    this.anchor = stored.baseHeight;
    if (stored.head && stored.head.height === this.height && stored.head.headHash === this.headHash) {
      this.states.set(this.height, { ...stored.head, txIds: ImmutableSet(this.heldIds(stored.baseHeight)) });
    }
  }

  /**
   * Reads every older hash and every transaction id from the source and completes the view:
   * from then on its states carry every id, and blocks may be appended. When the source fails
   * (the store was dropped) the view goes back to genesis, to be synced again from peers: it
   * cannot check replays without the ids. Returns a notice for the user when something was lost.
   */
  async loadIndex(yieldToPage: () => Promise<void> = async () => {}): Promise<string | null> {
    if (this.complete) return null;
    const index = this.source ? await this.source.readChainIndex(this.height) : null;
    return this.completeIndex(index, yieldToPage);
  }

  /**
   * Puts the index in, `INDEX_SLICE` hashes or ids at a time with `yieldToPage` between: tens of
   * thousands of set and map inserts would otherwise be one long task right after the page
   * became interactive. Nothing else changes the view meanwhile (`append` waits for it).
   */
  private async completeIndex(
    index: ChainIndex | null,
    yieldToPage: () => Promise<void>,
  ): Promise<string | null> {
    const waiters = this.indexWaiters ?? [];
    const base = this.heldFrom - 1;
    let notice: string | null = null;
    const baseKnown = base > 0 && index !== null && index.hashes.length >= base;
    if (index === null || (baseKnown && index.hashes[base - 1] !== this.hashList[base])) {
      notice =
        index === null
          ? 'The stored chain could not be read: this tab starts again from genesis and syncs from its peers.'
          : 'The stored hash list does not match the stored blocks: this tab starts again from genesis and syncs from its peers.';
      this.truncate(0);
      this.held = [];
      this.heldFrom = 1;
      this.source = null;
    } else {
      const known = Math.min(base - 1, index.hashes.length);
      for (let from = 1; from <= known; from += INDEX_SLICE) {
        for (let height = from; height < from + INDEX_SLICE && height <= known; height++) {
          const hash = index.hashes[height - 1] as string;
          this.hashList[height] = hash;
          this.byHash.set(hash, height);
        }
        await yieldToPage();
      }
      if (index.hashes.length < base - 1 && index.problem !== null) {
        notice = `Older blocks cannot be looked up by hash (${index.problem}).`;
      }
      // The index covers blocks 1..height, the held ones included (nothing is appended meanwhile).
      let all = ImmutableSet(this.heldIds(base));
      for (let from = 0; from < index.txIds.length; from += INDEX_SLICE) {
        all = all.withMutations((ids) => {
          for (const id of index.txIds.slice(from, from + INDEX_SLICE)) ids.add(id);
        });
        await yieldToPage();
      }
      const head = this.states.get(this.height);
      const baseState = this.states.get(base) as ChainState;
      // Other kept states were made with partial ids: they are recomputed on demand from the base.
      this.states.clear();
      this.states.set(0, this.genesisState);
      this.states.set(base, { ...baseState, txIds: without(all, this.heldIds(base)) });
      if (head) this.states.set(this.height, { ...head, txIds: all });
    }
    this.indexWaiters = null;
    for (const resolve of waiters) resolve();
    return notice;
  }

  /** The ids of the held blocks above `height`. */
  private heldIds(height: number): string[] {
    return this.range(height + 1, this.height).flatMap((block) => block.transactions.map((tx) => tx.id));
  }

  /** Adds a block and its hash at the top (the one append loop: `append` and `restore` use it). */
  private push(block: Block, hash: string): void {
    if (this.held.length === 0) this.heldFrom = this.height + 1;
    const height = this.hashList.length;
    this.held.push(block);
    this.hashList.push(hash);
    this.byHash.set(hash, height);
    for (const tx of block.transactions) this.txHeight.set(tx.id, height);
  }

  /** Replays blocks' transactions from `base` up to `height`. */
  private replay(
    base: ChainState,
    blockAt: (height: number) => Block | undefined,
    height: number,
  ): ChainState {
    let state = base;
    for (let h = base.height + 1; h <= height; h++) {
      const block = blockAt(h);
      const applied = block ? applyTransactions(state, block.transactions) : null;
      if (!applied?.ok) {
        throw new Error(
          `stored block ${h} ${applied ? `no longer applies: ${applied.error.message}` : 'is not available'}`,
        );
      }
      const headHash = this.hashList[h] as string;
      if (state.resilient) {
        // The profile's head moves on with each block: seed, time, stake window, ranking.
        const resilient = nextResilientHead(state.resilient, block as Block, applied.value.stakes);
        state = stateAfter({ ...applied.value, resilient }, h, headHash, resilient.ranking[0] ?? '');
        continue;
      }
      // Below the head the next forger is the next block's (it was validated on arrival); only
      // a state with no known successor draws the lottery.
      const next = blockAt(h + 1)?.forger ?? drawNextForger(applied.value.stakes, headHash);
      state = stateAfter(applied.value, h, headHash, next);
    }
    return state;
  }
}

/**
 * `set` less `ids`, in O(ids): Immutable's own `subtract` asks every element of `set` whether
 * the list holds it, O(set × ids), 50 ms for 200 ids out of 10,000.
 */
function without(set: ImmutableSet<string>, ids: readonly string[]): ImmutableSet<string> {
  return set.withMutations((mutable) => {
    for (const id of ids) mutable.remove(id);
  });
}

/** The stakes a checkpoint records, in first-stake order. */
function stakesOfCheckpoint(record: CheckpointRecord): OrderedMap<string, number> {
  return OrderedMap(record.stakes.map(([key, value]): [string, number] => [key, value]));
}

/**
 * The state a checkpoint describes, with the given transaction ids. On `resilient` pass the
 * profile's head at the checkpoint (`resilientHeadOfCheckpoint`): the next forger is its rank 0.
 */
export function stateOfCheckpoint(
  record: CheckpointRecord,
  txIds: ImmutableSet<string>,
  config: GenesisConfig,
  nextForger?: string,
  resilient?: ResilientHead,
): ChainState {
  const stakes = stakesOfCheckpoint(record);
  const applied = {
    balances: ImmutableMap(record.balances.map(([key, value]): [string, number] => [key, value])),
    stakes,
    txIds,
    maxTotalStake: maxTotalStakeOf(config),
  };
  if (resilient)
    return stateAfter({ ...applied, resilient }, record.height, record.hash, resilient.ranking[0] ?? '');
  // The block after the checkpoint names its forger; a checkpoint at the head draws it.
  return stateAfter(applied, record.height, record.hash, nextForger ?? drawNextForger(stakes, record.hash));
}

/**
 * The `resilient` head at a checkpoint, from its stakes and the blocks up to it (the checkpoint
 * block and at least `STAKE_DELAY_BLOCKS` before it, oldest first): see `rebuildResilientHead`.
 */
export function resilientHeadOfCheckpoint(
  record: CheckpointRecord,
  config: GenesisConfig,
  recentBlocks: readonly Block[],
): ResilientHead {
  return rebuildResilientHead(config, stakesOfCheckpoint(record), recentBlocks);
}

/** Hashes or ids put in per slice of `loadIndex` (a few ms of a page's main thread). */
const INDEX_SLICE = 2_048;

/** States kept for the newest blocks. */
const RECENT_STATES = 128;
/** Older states kept every this many blocks, to bound a replay. */
const CHECKPOINT_EVERY = 256;
