import type { Block, Transaction } from '../core/types';

/**
 * The `Store` port: where a node keeps its chain, head state, pool and wallet across reloads.
 * Implementations: IndexedDB (one database per node) and an in-memory twin; one compliance
 * suite runs against both. Every write method is atomic: it either happens whole or not at all.
 */

/** A block with its hash (the hash of its payload), stored by height and by hash. */
export interface StoredBlock {
  readonly height: number;
  readonly hash: string;
  readonly block: Block;
}

/** The account model at the head, so start-up need not replay or re-verify the chain. */
export interface HeadRecord {
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

/** Everything a store holds, as `load` returns it. */
export interface StoredNode {
  /** Blocks in height order from 1 (genesis is implicit). */
  readonly blocks: readonly StoredBlock[];
  /** The head's state, or null for a chain of genesis alone. */
  readonly head: HeadRecord | null;
  readonly pool: readonly StoredPoolEntry[];
  readonly wallet: WalletRecord | null;
  /** What `load` had to repair (a truncated chain, an old schema), for the user. */
  readonly notices: readonly string[];
}

/** Persistence for one node. */
export interface Store {
  /** Reads everything; a corrupt tail is cut back to the valid prefix and reported in `notices`. */
  load(): Promise<StoredNode>;
  /** Appends blocks after the stored head and sets the new head state, in one transaction. */
  appendBlocks(blocks: readonly StoredBlock[], head: HeadRecord): Promise<void>;
  /** Deletes blocks from `fromHeight` on, appends `blocks`, sets the head: one transaction (a reorg). */
  replaceBlocks(fromHeight: number, blocks: readonly StoredBlock[], head: HeadRecord): Promise<void>;
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
