import { Map as ImmutableMap, Set as ImmutableSet } from 'immutable';
import type { LotteryRunner } from '../core/lottery';
import { rebuildResilientHead } from '../core/resilient/head';
import { STAKE_DELAY_BLOCKS } from '../core/resilient/params';
import { type ChainState, stateAfter } from '../core/state';
import type { Block, GenesisConfig } from '../core/types';
import {
  type AccountRecord,
  type AggregateRange,
  type BlockRange,
  blockAggregates,
  type ChainIndex,
  type ChainWrite,
  type CheckpointRecord,
  DEFAULT_RECENT_BLOCKS,
  replayedBlockAggregates,
  type Store,
  type StoredBlock,
  type StoredNode,
} from '../ports/store';
import { type ChainSource, type ChainView, resilientHeadOfCheckpoint, stateOfCheckpoint } from './chain';

/*
 * The node's side of its store: what a chain change writes, how a loaded store becomes the
 * chain view, and a store that fails once is dropped while the node keeps running from memory
 * (a full disk or a revoked permission must not stop a tab's node).
 */

/**
 * A full-state checkpoint is stored after every block whose height is a multiple of this.
 * 256 because: a reload reads the blocks from the newest checkpoint at least `RECENT_BLOCKS`
 * below the head, so between 128 and 383 blocks whatever the chain's length (a few tens of ms);
 * the state at any older height is one checkpoint read plus a replay of at most 255 blocks'
 * transactions; and a checkpoint costs O(accounts) once per 256 blocks, where the per-block
 * account writes cost O(accounts the block touched).
 */
export const CHECKPOINT_EVERY = 256;

/** Blocks a reload reads at least (the newest ones): reorgs and the explorer's latest list live here. */
export const RECENT_BLOCKS = DEFAULT_RECENT_BLOCKS;

/** The node's store, dropped at its first failure. */
export class GuardedStore {
  /** `onFailure` hears of the failure that dropped the store. */
  constructor(
    private store: Store | null,
    private readonly onFailure: (error: unknown) => void,
  ) {}

  /** Whether there is a store (none was given, or it failed). */
  get available(): boolean {
    return this.store !== null;
  }

  /** Runs `task` with the store, if any; on failure drops the store and reports it. */
  async use(task: (store: Store) => Promise<void>): Promise<void> {
    await this.read(task, undefined);
  }

  /** Reads with the store; `fallback` when there is none or the read fails (which drops it). */
  async read<T>(task: (store: Store) => Promise<T>, fallback: T): Promise<T> {
    if (!this.store) return fallback;
    try {
      return await task(this.store);
    } catch (error) {
      this.store = null;
      this.onFailure(error);
      return fallback;
    }
  }

  /** The chain view's way to the blocks it does not hold; `onProblem` hears of damaged records. */
  source(onProblem: (notice: string) => void): ChainSource {
    return {
      readBlocks: async (from, to) => {
        const range = await this.read<BlockRange>((s) => s.readBlocks(from, to), {
          blocks: [],
          problem: null,
        });
        if (range.problem !== null) onProblem(range.problem);
        return range;
      },
      readTransactionHeight: (id) => this.read((s) => s.readTransactionHeight(id), undefined),
      readTransactionIds: (from, to) => this.read((s) => s.readTransactionIds(from, to), []),
      readCheckpoint: (height) => this.read((s) => s.readCheckpoint(height), null),
      readChainIndex: (to) => this.read<ChainIndex | null>((s) => s.readChainIndex(to), null),
    };
  }

  /** Closes the store, if any. */
  async close(): Promise<void> {
    await this.store?.close();
  }
}

/**
 * Blocks `from`..`to`'s aggregates, for the charts: from the store's index (a few records per 256
 * blocks); without a store (none given, or it failed), from the blocks the chain view holds, their
 * stakes replayed from the stakes before `from`.
 */
export async function readAggregates(
  store: GuardedStore,
  chain: Pick<ChainView, 'height' | 'readRange' | 'readStateAt'>,
  from: number,
  to: number,
): Promise<AggregateRange> {
  const empty: AggregateRange = { aggregates: [], problem: null };
  if (store.available) return store.read((s) => s.readBlockAggregates(from, to), empty);
  const start = Math.max(1, Math.ceil(from));
  const end = Math.min(chain.height, Math.floor(to));
  if (end < start) return empty;
  const blocks = await chain.readRange(start, end);
  const before = start > 1 ? new Map((await chain.readStateAt(start - 1)).stakes) : undefined;
  const stored = blocks.map((block) => ({ height: block.blockCount, hash: '', block }));
  return { aggregates: replayedBlockAggregates(stored, before), problem: null };
}

/** A chain change as the node makes it: an append (`orphaned` empty) or a reorg. */
export interface ChainChange {
  /** The height the new blocks build on (the old head, for an append). */
  readonly forkHeight: number;
  /** The blocks the change removed that the chain view held (oldest first). */
  readonly orphaned: readonly Block[];
  /** The new blocks after `forkHeight`, validated, with the state after each. */
  readonly blocks: readonly Block[];
  readonly states: readonly ChainState[];
  /** The head state after the change. */
  readonly head: ChainState;
  /** The time (ms) each new block took to reach this node from its forger, when measured. */
  readonly propagationMs?: (hash: string) => number | null;
}

/** Writes one chain change in one store transaction (see `chainWriteOf`). */
export async function writeChainChange(store: Store, change: ChainChange): Promise<void> {
  await store.writeChain(chainWriteOf(change));
}

/**
 * What a chain change writes: its blocks, the records of the accounts its blocks (new and
 * orphaned) touched, a checkpoint at each multiple of `CHECKPOINT_EVERY`, and the head pointer.
 * When some orphaned blocks were not held in memory (a reorg deeper than the restored window),
 * their accounts are unknown and the whole account model is rewritten instead.
 */
export function chainWriteOf(change: ChainChange): ChainWrite {
  const { forkHeight, orphaned, blocks, states, head } = change;
  const complete = orphaned.length === 0 || orphaned[0]?.blockCount === forkHeight + 1;
  const keys = complete ? touchedAccounts([...orphaned, ...blocks]) : allAccounts(head);
  const stored = storedBlocks(blocks, states);
  return {
    fromHeight: forkHeight + 1,
    blocks: stored,
    aggregates: blockAggregates(
      stored,
      (i, key) => (states[i] as ChainState).stakes.get(key, 0),
      (height) => {
        // Stored blocks are consecutive from `forkHeight + 1`.
        const hash = stored[height - forkHeight - 1]?.hash;
        return hash === undefined || !change.propagationMs ? null : change.propagationMs(hash);
      },
    ),
    head: { height: head.height, hash: head.headHash },
    accounts: accountRecords(head, keys),
    resetAccounts: !complete,
    checkpoints: states.filter((s) => s.height % CHECKPOINT_EVERY === 0).map(checkpointOf),
  };
}

/** The accounts a block's transactions change: senders and receivers. */
function touchedAccounts(blocks: readonly Block[]): Set<string> {
  const keys = new Set<string>();
  for (const block of blocks) {
    for (const tx of block.transactions) {
      keys.add(tx.senderPublicKey);
      keys.add(tx.receiverPublicKey);
    }
  }
  return keys;
}

/** Every account of a state. */
function allAccounts(state: ChainState): Set<string> {
  return new Set([...state.balances.keys(), ...state.stakes.keys()]);
}

/**
 * The records of `keys` in `state`. A staker's record carries its place in first-stake order,
 * found by one pass over the stakers, made only when a written account stakes.
 */
export function accountRecords(state: ChainState, keys: Iterable<string>): AccountRecord[] {
  let order: Map<string, number> | null = null;
  const orderOf = (key: string): number => {
    order ??= new Map([...state.stakes.keys()].map((staker, index): [string, number] => [staker, index]));
    return order.get(key) as number;
  };
  return [...keys].map((publicKey) => {
    const balance = state.balances.get(publicKey);
    const stake = state.stakes.get(publicKey);
    return {
      publicKey,
      balance: balance ?? null,
      stake: stake ?? null,
      stakeOrder: stake === undefined ? null : orderOf(publicKey),
    };
  });
}

/** The whole state as a checkpoint record. */
export function checkpointOf(state: ChainState): CheckpointRecord {
  return {
    height: state.height,
    hash: state.headHash,
    balances: [...state.balances.entries()],
    stakes: [...state.stakes.entries()],
  };
}

/**
 * What a `resilient` head state is rebuilt from besides its accounts: the network's config and
 * the blocks up to the head, oldest first (`STAKE_DELAY_BLOCKS + 1` of them at least, or all
 * from block 1): see `rebuildResilientHead`.
 */
export interface ResilientRecent {
  readonly config: GenesisConfig;
  readonly blocks: readonly Block[];
}

/**
 * The head state from its account records. The genesis staker holds stake 1 from height 0 and
 * stays first in stake order, whether or not a block ever touched (and so stored) it. The next
 * forger is drawn by `lottery` (sliced in a page: restoring must not freeze it either); on a
 * `resilient` network (the genesis state carries its head) it is rank 0 of the ranking rebuilt
 * from `recent`.
 */
export async function stateOfAccounts(
  genesis: ChainState,
  head: { readonly height: number; readonly hash: string },
  accounts: readonly AccountRecord[],
  txIds: ImmutableSet<string>,
  lottery: LotteryRunner,
  recent?: ResilientRecent,
): Promise<ChainState> {
  const balances: [string, number][] = [];
  const stakers: AccountRecord[] = [];
  for (const account of accounts) {
    if (account.balance !== null) balances.push([account.publicKey, account.balance]);
    if (account.stake !== null) stakers.push(account);
  }
  stakers.sort((a, b) => (a.stakeOrder ?? 0) - (b.stakeOrder ?? 0));
  const stakes = genesis.stakes.merge(stakers.map((a): [string, number] => [a.publicKey, a.stake as number]));
  const applied = { balances: ImmutableMap(balances), stakes, txIds, maxTotalStake: genesis.maxTotalStake };
  if (genesis.resilient) {
    if (!recent) throw new Error('a resilient head state is rebuilt from its recent blocks');
    const resilient = rebuildResilientHead(recent.config, stakes, recent.blocks);
    return stateAfter({ ...applied, resilient }, head.height, head.hash, resilient.ranking[0] ?? '');
  }
  const drawn = await lottery([...stakes.entries()], head.hash);
  return stateAfter(applied, head.height, head.hash, drawn?.forger ?? '');
}

/** Validated blocks, with their states, as the store keeps them. */
export function storedBlocks(blocks: readonly Block[], states: readonly ChainState[]): StoredBlock[] {
  return blocks.map((block, i) => ({
    height: block.blockCount,
    hash: (states[i] as ChainState).headHash,
    block,
  }));
}

/**
 * Puts a loaded store into the chain view, and returns the write that repairs the store, if it
 * needs one: the account model when it had to be rebuilt by replay, and the checkpoints missing
 * below the recent window (after a migration, or a damaged checkpoint), so the next reload reads
 * only the recent blocks again.
 */
export async function restoreChain(
  chain: ChainView,
  stored: StoredNode,
  source: ChainSource,
  lottery: LotteryRunner,
): Promise<ChainWrite | null> {
  const genesis = chain.genesisState;
  const headPointer = stored.head ?? { height: 0, hash: genesis.headHash };
  const base = stored.base;
  // The base's next forger is the first held block's forger: that block was validated.
  const afterBase = stored.blocks[0]?.block.forger;
  // The head state's ids are the held blocks' until `chain.loadIndex` brings them all.
  const heldIds = ImmutableSet(stored.blocks.flatMap((s) => s.block.transactions.map((tx) => tx.id)));
  // On `resilient` both states need their profile's head, rebuilt from blocks up to them: the
  // head's from the held ones, the base's from the checkpoint block and those below it.
  const resilient = genesis.resilient !== undefined;
  const baseHead =
    resilient && base
      ? resilientHeadOfCheckpoint(base, chain.config, await blocksUpTo(source, base.height))
      : undefined;
  const recent = resilient
    ? { config: chain.config, blocks: stored.blocks.slice(-(STAKE_DELAY_BLOCKS + 1)).map((s) => s.block) }
    : undefined;
  chain.restore({
    baseHash: base?.hash ?? genesis.headHash,
    baseHeight: base?.height ?? 0,
    blocks: stored.blocks,
    base: base ? (txIds) => stateOfCheckpoint(base, txIds, chain.config, afterBase, baseHead) : null,
    head: stored.accounts
      ? await stateOfAccounts(genesis, headPointer, stored.accounts, heldIds, lottery, recent)
      : null,
    source,
  });
  const baseHeight = stored.base?.height ?? 0;
  const checkpoints: CheckpointRecord[] = [];
  if (chain.height - baseHeight > RECENT_BLOCKS + CHECKPOINT_EVERY) {
    for (
      let height = (Math.floor(baseHeight / CHECKPOINT_EVERY) + 1) * CHECKPOINT_EVERY;
      height <= chain.height - RECENT_BLOCKS;
      height += CHECKPOINT_EVERY
    ) {
      checkpoints.push(checkpointOf(chain.stateAt(height)));
    }
  }
  if (stored.accounts !== null && checkpoints.length === 0) return null;
  const head = chain.headState;
  return {
    fromHeight: head.height + 1,
    blocks: [],
    head: { height: head.height, hash: head.headHash },
    accounts: stored.accounts === null ? accountRecords(head, allAccounts(head)) : [],
    resetAccounts: stored.accounts === null,
    checkpoints,
    aggregates: [],
  };
}

/**
 * The `STAKE_DELAY_BLOCKS + 1` stored blocks up to `height` (fewer near genesis), oldest first.
 * Throws when the store cannot serve them: a resilient state rebuilt from fewer would rank the
 * wrong stakers, so the restore fails and the node syncs again from its peers.
 */
async function blocksUpTo(source: ChainSource, height: number): Promise<Block[]> {
  const from = Math.max(1, height - STAKE_DELAY_BLOCKS);
  const read = await source.readBlocks(from, height);
  if (read.blocks.length !== height - from + 1)
    throw new Error(`could not read blocks ${from} to ${height} to rebuild the resilient head`);
  return read.blocks.map((stored) => stored.block);
}
