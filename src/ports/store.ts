import { timestampSeconds } from '../core/transaction';
import type { Block, Transaction } from '../core/types';

/**
 * The `Store` port: where a node keeps its chain, head state, pool and wallet across reloads.
 * Implementations: IndexedDB (one database per node) and an in-memory twin; one compliance
 * suite runs against both. Every write method is atomic: it either happens whole or not at all.
 *
 * The layout is built so that a reload costs the same however long the chain is: the head state
 * is kept per account (each block writes only the accounts it touched), full-state checkpoints
 * are kept every so many blocks, and `load` reads the head, the accounts, one checkpoint and the
 * blocks after it. What grows with the chain is read afterwards: every older hash and every
 * transaction id with `readChainIndex` (the node does it right after it is interactive, and
 * validates nothing before it has them), older blocks on demand with `readBlocks`.
 */

/** A block with its hash (the hash of its payload), stored by height. */
export interface StoredBlock {
  readonly height: number;
  readonly hash: string;
  readonly block: Block;
}

/** Which block the stored head state (the `accounts`) describes. */
export interface HeadPointer {
  readonly height: number;
  readonly hash: string;
}

/**
 * One account of the head state. `balance` and `stake` are null when the account is absent from
 * that map (a record with both null is a deletion in a write, and never stored). `stakeOrder`
 * is the account's position in first-stake order (the lottery's order), null when it never staked.
 */
export interface AccountRecord {
  readonly publicKey: string;
  readonly balance: number | null;
  readonly stake: number | null;
  readonly stakeOrder: number | null;
}

/** The whole account model after block `height`: a point a replay can start from. */
export interface CheckpointRecord {
  readonly height: number;
  readonly hash: string;
  /** Balances as `[publicKey, amount]` pairs. */
  readonly balances: readonly (readonly [string, number])[];
  /** Stakes as `[publicKey, stake]` pairs in first-stake order (the lottery's order). */
  readonly stakes: readonly (readonly [string, number])[];
}

/** A pooled transaction and when this node first saw it (ms since epoch). */
export interface StoredPoolEntry {
  readonly transaction: Transaction;
  readonly receivedAt: number;
}

/**
 * The wallet. `privateKey` is a WebCrypto `CryptoKey` (structured-cloneable, and stored
 * non-extractable unless the user imported or created it exportable).
 */
export interface WalletRecord {
  readonly publicKeyPem: string;
  readonly privateKey: unknown;
  readonly extractable: boolean;
}

/** What `load` returns: enough to run from the head, and the recent blocks. */
export interface StoredNode {
  /** The stored tip (which the `accounts` describe, unless they are null), or null for genesis alone. */
  readonly head: HeadPointer | null;
  /** The state the loaded `blocks` build on; null for genesis (height 0). */
  readonly base: CheckpointRecord | null;
  /**
   * Blocks from `base.height + 1` to the tip, in height order, with their hashes (checked against
   * the stored hash list and each other). The older hashes and every transaction id are not
   * loaded: `readChainIndex` reads them.
   */
  readonly blocks: readonly StoredBlock[];
  /**
   * The head state's accounts, or null when they do not describe the stored tip (damaged, or a
   * tail was cut): the node rebuilds the head state by replaying `blocks` from `base`.
   */
  readonly accounts: readonly AccountRecord[] | null;
  readonly pool: readonly StoredPoolEntry[];
  readonly wallet: WalletRecord | null;
  /** What `load` had to repair (a truncated chain, an old schema), for the user. */
  readonly notices: readonly string[];
}

/** What `load` reads. */
export interface LoadOptions {
  /**
   * At least this many of the newest blocks are loaded: the base is the newest checkpoint at or
   * below `tip - recentBlocks` (genesis when there is none). Default `DEFAULT_RECENT_BLOCKS`.
   */
  readonly recentBlocks?: number;
}

/** `LoadOptions.recentBlocks` when none is given. */
export const DEFAULT_RECENT_BLOCKS = 128;

/**
 * One chain change, written in one transaction: blocks from `fromHeight` on are replaced by
 * `blocks` (for an append, `fromHeight` is the stored tip + 1 and nothing is cut), then the
 * account records, checkpoints and head pointer are written.
 */
export interface ChainWrite {
  readonly fromHeight: number;
  readonly blocks: readonly StoredBlock[];
  /** The tip after the write; the accounts describe it. */
  readonly head: HeadPointer;
  /** Accounts whose values changed (both values null: the account is gone). */
  readonly accounts: readonly AccountRecord[];
  /** Clears every account record first (`accounts` is then the whole head state). */
  readonly resetAccounts?: boolean;
  /** Checkpoints to add, at heights of the chain after the write. */
  readonly checkpoints: readonly CheckpointRecord[];
  /** One aggregate per block of `blocks`, same heights, same order (the charts' data). */
  readonly aggregates: readonly BlockAggregate[];
}

/**
 * What the charts over time read about one block, kept with the chain's index (never a scan of
 * the blocks): small, fixed-size but for the rare stake changes.
 */
export interface BlockAggregate {
  readonly height: number;
  /** The block's timestamp, in seconds since the epoch (as the chain carries it, a plain number). */
  readonly timestamp: number;
  readonly txCount: number;
  readonly forger: string;
  /** `[publicKey, stake after the block]` of each account whose stake the block changed (usually none). */
  readonly stakeChanges: readonly (readonly [string, number])[];
  /** How long the block took to reach this node from its forging, when this node measured it. */
  readonly propagationMs: number | null;
}

/** A range of aggregates, oldest first, and why it stopped short, if it did. */
export interface AggregateRange {
  readonly aggregates: readonly BlockAggregate[];
  /** A notice when a record in the range was missing or damaged (the aggregates before it are returned). */
  readonly problem: string | null;
}

/**
 * The aggregates of `blocks`, each with the stakes after it (`stakeAfter`) for the accounts
 * its STAKE transactions changed (the only way a stake changes).
 */
export function blockAggregates(
  blocks: readonly StoredBlock[],
  stakeAfter: (index: number, publicKey: string) => number,
  propagationMs: (height: number) => number | null = () => null,
): BlockAggregate[] {
  return blocks.map(({ height, block }, index) => {
    const stakers = new Set(
      block.transactions.filter((tx) => tx.type === 'STAKE').map((tx) => tx.senderPublicKey),
    );
    return {
      height,
      timestamp: timestampSeconds(block.timestamp),
      txCount: block.transactions.length,
      forger: block.forger,
      stakeChanges: [...stakers].map((key): [string, number] => [key, stakeAfter(index, key)]),
      propagationMs: propagationMs(height),
    };
  });
}

/**
 * The aggregates of valid consecutive blocks from height 1 (or after `stakesBefore`), their
 * stakes replayed from the blocks alone: each STAKE adds its amount to the sender's stake, and
 * the genesis staker (block 1's forger, the only staker at height 0) starts with 1. For stores
 * that must build aggregates without the node's states (a migration, a node without a store).
 */
export function replayedBlockAggregates(
  blocks: readonly StoredBlock[],
  stakesBefore?: ReadonlyMap<string, number>,
): BlockAggregate[] {
  const stakes = new Map(stakesBefore ?? []);
  const first = blocks[0];
  if (!stakesBefore && first?.height === 1) stakes.set(first.block.forger, 1);
  const after: Map<string, number>[] = [];
  for (const { block } of blocks) {
    const changed = new Map<string, number>();
    for (const tx of block.transactions) {
      if (tx.type !== 'STAKE') continue;
      const stake = (stakes.get(tx.senderPublicKey) ?? 0) + tx.amount;
      stakes.set(tx.senderPublicKey, stake);
      changed.set(tx.senderPublicKey, stake);
    }
    after.push(changed);
  }
  return blockAggregates(blocks, (index, key) => after[index]?.get(key) ?? 0);
}

/**
 * What grows with the chain, read apart from `load` so that a reload does not wait for it: the
 * hash of every block up to a height and every transaction id up to it.
 */
export interface ChainIndex {
  /** `hashes[h - 1]` is block h's, for h = 1..n where n is the height asked for, or less when `problem`. */
  readonly hashes: readonly string[];
  /** The ids of the transactions in blocks 1..the height asked for (any order). */
  readonly txIds: readonly string[];
  /** Why `hashes` stops short of the height asked for, if it does. */
  readonly problem: string | null;
}

/** A range read: the valid blocks of the range, oldest first, and why it stopped short, if it did. */
export interface BlockRange {
  readonly blocks: readonly StoredBlock[];
  /** A notice when a record in the range was damaged (the blocks before it are returned). */
  readonly problem: string | null;
}

/**
 * One line of an account's history, from the chain: transaction `txIndex` of block `height`
 * moved `amount` from or to `publicKey`. Kept in step with the stored chain by `writeChain`
 * (an append adds lines, a reorg removes the cut blocks' lines first).
 */
export interface AccountTxRecord {
  readonly publicKey: string;
  readonly height: number;
  readonly txIndex: number;
  readonly id: string;
  readonly type: string;
  readonly amount: number;
  /** `out` when `publicKey` sent it (a transfer to oneself is one `out` line), `in` when it received it. */
  readonly direction: 'in' | 'out';
  /** The other side: the receiver of an `out` line, the sender of an `in` line. */
  readonly counterparty: string;
}

/** The history lines of `blocks`: one per side of each transaction (one for a self-transfer). */
export function accountTxRecords(blocks: readonly StoredBlock[]): AccountTxRecord[] {
  const records: AccountTxRecord[] = [];
  for (const { height, block } of blocks) {
    for (const [txIndex, tx] of block.transactions.entries()) {
      const line = { height, txIndex, id: tx.id, type: tx.type, amount: tx.amount };
      records.push({
        ...line,
        publicKey: tx.senderPublicKey,
        direction: 'out',
        counterparty: tx.receiverPublicKey,
      });
      if (tx.receiverPublicKey !== tx.senderPublicKey) {
        records.push({
          ...line,
          publicKey: tx.receiverPublicKey,
          direction: 'in',
          counterparty: tx.senderPublicKey,
        });
      }
    }
  }
  return records;
}

/** Where a page of history starts: strictly before this line (newest first). */
export interface HistoryCursor {
  readonly height: number;
  readonly txIndex: number;
}

/** What `readAccountHistory` reads: `limit` lines, newest first, before `before` (or from the tip). */
export interface HistoryQuery {
  readonly before?: HistoryCursor;
  readonly limit: number;
}

/**
 * A transaction this node's user signed and sent ("my transactions"), with the signed
 * transaction itself so it can be sent again.
 */
export interface MyTransactionRecord {
  readonly id: string;
  readonly type: 'TRANSFER' | 'EXCHANGE' | 'STAKE';
  readonly amount: number;
  readonly receiverPublicKey: string;
  /** Wall-clock ms when it was first submitted. */
  readonly sentAt: number;
  readonly transaction: Transaction;
  /**
   * The last thing the node saw happen to it off chain: `returned` to the pool by a reorg, or
   * it left the pool unmined (`expired`, `evicted`). Absent when nothing did (or it was re-sent).
   */
  readonly note?: 'returned' | 'expired' | 'evicted';
}

/** "My transactions" a store keeps at most (the newest). */
export const MAX_MY_TRANSACTIONS = 200;

/** Persistence for one node. */
export interface Store {
  /** Reads the head state, the recent blocks and the rest; a corrupt tail is cut and reported. */
  load(options?: LoadOptions): Promise<StoredNode>;
  /** Applies a chain change (append or reorg) in one transaction; refuses one that does not fit. */
  writeChain(write: ChainWrite): Promise<void>;
  /** Stored blocks `from`..`to` inclusive (clamped to 1..tip), oldest first. */
  readBlocks(from: number, to: number): Promise<BlockRange>;
  /** The height of the block holding transaction `id`, if stored. */
  readTransactionHeight(id: string): Promise<number | undefined>;
  /**
   * Every block hash and transaction id up to `to` (clamped to the tip): what a reload leaves out
   * of `load`. One read of a few records per 256 blocks, however long the chain.
   */
  readChainIndex(to: number): Promise<ChainIndex>;
  /**
   * The aggregates of blocks `from`..`to` inclusive (clamped to 1..tip), oldest first: a few
   * records per 256 blocks (chunk records) and one per block after the last whole chunk.
   */
  readBlockAggregates(from: number, to: number): Promise<AggregateRange>;
  /** The ids of the transactions in blocks `from`..`to` inclusive (keys only: cheap). */
  readTransactionIds(from: number, to: number): Promise<readonly string[]>;
  /** The newest valid checkpoint at or below `height`, if any. */
  readCheckpoint(height: number): Promise<CheckpointRecord | null>;
  /** `publicKey`'s history lines, newest first (`query.limit` at most, before `query.before`). */
  readAccountHistory(publicKey: string, query: HistoryQuery): Promise<readonly AccountTxRecord[]>;
  /** The stored "my transactions" (the valid ones; a damaged record ends the list). */
  readMyTransactions(): Promise<readonly MyTransactionRecord[]>;
  /** Replaces the stored "my transactions". */
  saveMyTransactions(list: readonly MyTransactionRecord[]): Promise<void>;
  /** Replaces the stored pool. */
  savePool(pool: readonly StoredPoolEntry[]): Promise<void>;
  /** Replaces the stored wallet (null forgets it). */
  saveWallet(wallet: WalletRecord | null): Promise<void>;
  /** Releases the store; no method is called after it. */
  close(): Promise<void>;
}

/** Thrown by a store when the browser refuses to write (quota) or has no IndexedDB. */
export class StorageUnavailableError extends Error {
  override readonly name = 'StorageUnavailableError';
  /** `quota` when storage is full, `unavailable` when IndexedDB cannot be used at all. */
  constructor(
    readonly reason: 'quota' | 'unavailable',
    message: string,
  ) {
    super(message);
  }
}
