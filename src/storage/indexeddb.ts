import { type DBSchema, type IDBPDatabase, type IDBPTransaction, type StoreNames, wrap } from 'idb';
import {
  type AccountRecord,
  type AccountTxRecord,
  type AggregateRange,
  accountTxRecords,
  type BlockAggregate,
  type BlockRange,
  type ChainIndex,
  type ChainWrite,
  type CheckpointRecord,
  DEFAULT_RECENT_BLOCKS,
  type HeadPointer,
  MAX_MY_TRANSACTIONS,
  replayedBlockAggregates,
  StorageUnavailableError,
  type Store,
  type StoredBlock,
  type StoredNode,
  type WalletRecord,
} from '../ports/store';
import { DATABASE_PREFIX, databaseName, databasePrefix } from './network-scope';
import {
  decodeAccount,
  decodeAccountTx,
  decodeAggregateChunk,
  decodeBlockAggregate,
  decodeCheckpoint,
  decodeChunk,
  decodeHeadPointer,
  decodeMyTransactions,
  decodePool,
  decodeStoredBlock,
  decodeStoredHash,
  decodeStoredTxId,
  decodeTxIndexEntry,
  decodeWallet,
} from './records';
import {
  checkAggregates,
  checkChainWrite,
  checkCheckpoints,
  checkFromHeight,
  GENESIS_HASH,
  GENESIS_TIP,
  StoreWriteError,
} from './write-checks';

/**
 * The storage layout's version: the IndexedDB version of every node database and the `version`
 * of its `meta` `schema` record. Bump it with a step in `MIGRATIONS` when the layout changes.
 */
export const SCHEMA_VERSION = 4;

export { DATABASE_PREFIX, databaseName, databasePrefix };

/** The sessionStorage key that holds this tab's node id. */
export const NODE_ID_KEY = 'tabchain.nodeId';

/** A `txIndex` record: which height holds the transaction with this id. */
export interface TxIndexEntry {
  readonly id: string;
  readonly height: number;
}

/** The `meta` record that says which layout wrote the database. */
export interface SchemaRecord {
  readonly version: number;
}

/**
 * The database layout (version 2):
 * - `blocks` by height: the stored blocks, read in ranges (the recent ones at load, older ones
 *   when asked);
 * - `hashes` by height: each block's hash alone, so load reads every hash without the blocks;
 * - `txIndex` by transaction id with a `byHeight` index: load reads its keys (every id, for the
 *   replay check), and cutting a tail is a key-range query even when the cut blocks are damaged;
 * - `accounts` by public key: the head state, one record per account; a block writes only the
 *   accounts it touched;
 * - `checkpoints` by height: the whole account model every few hundred blocks (the node decides
 *   where), from which the state at an older height is replayed;
 * - `meta` key-value: `head` (which block the accounts describe), `pool`, `wallet`, `schema`.
 */
interface NodeSchema extends DBSchema {
  blocks: { key: number; value: StoredBlock };
  hashes: { key: number; value: string };
  txIndex: { key: string; value: TxIndexEntry; indexes: { byHeight: number } };
  accounts: { key: string; value: AccountRecord };
  checkpoints: { key: number; value: CheckpointRecord };
  chunks: { key: number; value: ChainChunk };
  meta: { key: MetaKey; value: unknown };
  /** Version 3: each account's history lines, by `[publicKey, height, txIndex]`. */
  accountTx: {
    key: [string, number, number];
    value: AccountTxRecord;
    indexes: { byHeight: number };
  };
  /** Version 4: each block's aggregate (the charts' data), by height. */
  aggregates: { key: number; value: BlockAggregate };
  /** Version 4: the aggregates of `CHUNK_BLOCKS` blocks, written once the chunk's last block is. */
  aggregateChunks: { key: number; value: AggregateChunk };
}

/**
 * The aggregates of heights `index * CHUNK_BLOCKS + 1` to `(index + 1) * CHUNK_BLOCKS`: the charts
 * read a long chain's aggregates in a few records. A copy of what `aggregates` holds, which stays
 * the reference (a reorg into a chunk deletes the chunk, and it is rebuilt from `aggregates`).
 */
export interface AggregateChunk {
  readonly index: number;
  readonly aggregates: readonly BlockAggregate[];
}

/**
 * The hashes and transaction ids of `CHUNK_BLOCKS` blocks (chunk `index` holds heights
 * `index * CHUNK_BLOCKS + 1` to `(index + 1) * CHUNK_BLOCKS`), written once the chunk's last block
 * is: a reload reads every hash and id in a few large records instead of one record per block
 * and per transaction. A copy of what `hashes` and `txIndex` hold, which stay the reference.
 */
export interface ChainChunk {
  readonly index: number;
  readonly hashes: readonly string[];
  readonly txIds: readonly string[];
}

/** Blocks per `chunks` record. */
export const CHUNK_BLOCKS = 256;

type MetaKey = 'head' | 'pool' | 'wallet' | 'schema' | 'mine';
type NodeDb = IDBPDatabase<NodeSchema>;
type WriteTx = IDBPTransaction<NodeSchema, StoreNames<NodeSchema>[], 'readwrite'>;

/** The stores that hold the chain (cleared for a resync; `meta` keeps the wallet). */
const CHAIN_STORES: StoreNames<NodeSchema>[] = [
  'blocks',
  'hashes',
  'txIndex',
  'accounts',
  'checkpoints',
  'chunks',
  'accountTx',
  'aggregates',
  'aggregateChunks',
];
const ALL_STORES: StoreNames<NodeSchema>[] = [...CHAIN_STORES, 'meta'];

/**
 * Layout migrations: `MIGRATIONS[n]` turns a version-n database into version n + 1 inside the
 * upgrade transaction. A database older than the oldest step is cleared (its wallet kept) and the
 * node resyncs the chain from peers.
 */
const MIGRATIONS: Readonly<Record<number, (db: NodeDb, tx: WriteTx, notices: string[]) => void>> = {
  1: migrateFrom1,
  2: migrateFrom2,
  3: migrateFrom3,
};

/**
 * Version 3 → 4: adds the `aggregates` and `aggregateChunks` stores and builds them from the
 * stored blocks, their stakes replayed from the blocks (`replayedBlockAggregates`); no block has a
 * measured propagation time. The first damaged or missing block ends them: load cuts there anyway.
 */
function migrateFrom3(db: NodeDb, tx: WriteTx): void {
  createLayout(db);
  const run = async (): Promise<void> => {
    const records = (await tx.objectStore('blocks').getAll()) as unknown[];
    const blocks: StoredBlock[] = [];
    for (const record of records) {
      const stored = decodeStoredBlock(record, blocks.length + 1);
      if (!stored.ok) break;
      blocks.push(stored.value);
    }
    const aggregates = replayedBlockAggregates(blocks);
    for (const aggregate of aggregates) queue(tx.objectStore('aggregates').put(aggregate));
    for (let index = 0; (index + 1) * CHUNK_BLOCKS <= aggregates.length; index++) {
      const chunk: AggregateChunk = {
        index,
        aggregates: aggregates.slice(index * CHUNK_BLOCKS, (index + 1) * CHUNK_BLOCKS),
      };
      queue(tx.objectStore('aggregateChunks').put(chunk));
    }
  };
  queue(run());
}

/**
 * Version 2 → 3: adds the `accountTx` store (each account's history lines) and builds it from
 * the stored blocks. A damaged block gets no lines: the first load cuts the chain there anyway.
 */
function migrateFrom2(db: NodeDb, tx: WriteTx): void {
  createLayout(db);
  const lines = tx.objectStore('accountTx');
  const run = async (): Promise<void> => {
    const records = (await tx.objectStore('blocks').getAll()) as unknown[];
    for (const record of records) {
      const height = (record as { height?: unknown } | null)?.height;
      if (typeof height !== 'number') continue;
      const stored = decodeStoredBlock(record, height);
      if (!stored.ok) continue;
      for (const line of accountTxRecords([stored.value])) queue(lines.put(line));
    }
  };
  queue(run());
}

/**
 * Version 1 → 2. Version 1 kept `blocks` (with a `byHash` index), `txIndex`, and in `meta` a
 * `head` record holding the whole head state. The blocks, index, pool and wallet stay as they
 * are; the `byHash` index goes (hashes live in their own store now); each block's hash is copied
 * into `hashes`; the old head record becomes a checkpoint, the `accounts` records and the head
 * pointer. A head record that is damaged or not for the last block is dropped: the node then
 * rebuilds the head state by replaying the chain, as it did with version 1. Runs once, inside the
 * upgrade transaction, so a failure leaves the version-1 database as it was.
 */
function migrateFrom1(db: NodeDb, tx: WriteTx, notices: string[]): void {
  const blocks = tx.objectStore('blocks');
  // Version 1's index, which this layout's schema type no longer names.
  if (blocks.indexNames.contains('byHash' as never)) blocks.deleteIndex('byHash' as never);
  createLayout(db);
  const hashes = tx.objectStore('hashes');
  const meta = tx.objectStore('meta');
  const run = async (): Promise<void> => {
    const [records, oldHead] = await Promise.all([blocks.getAll(), meta.get('head')]);
    let tip = GENESIS_TIP;
    for (const record of records as unknown[]) {
      const { height, hash } = (record ?? {}) as { height?: unknown; hash?: unknown };
      // A damaged record gets no hash: the first load then cuts the chain there.
      if (typeof height !== 'number' || typeof hash !== 'string') continue;
      queue(hashes.put(hash, height));
      if (height === tip.height + 1) tip = { height, hash };
    }
    queue(meta.delete('head'));
    const head = decodeCheckpoint(oldHead);
    if (head.ok && head.value.height === tip.height && head.value.hash === tip.hash && tip.height > 0) {
      const checkpoint = head.value;
      queue(tx.objectStore('checkpoints').put(checkpoint));
      for (const account of accountsOfCheckpoint(checkpoint)) queue(tx.objectStore('accounts').put(account));
      queue(meta.put({ height: checkpoint.height, hash: checkpoint.hash } satisfies HeadPointer, 'head'));
    }
    notices.push(MIGRATED_NOTICE);
  };
  queue(run());
}

/** The account records of a whole state. */
function accountsOfCheckpoint(checkpoint: CheckpointRecord): AccountRecord[] {
  const accounts = new Map<
    string,
    { balance: number | null; stake: number | null; stakeOrder: number | null }
  >();
  for (const [publicKey, balance] of checkpoint.balances) {
    accounts.set(publicKey, { balance, stake: null, stakeOrder: null });
  }
  for (const [order, [publicKey, stake]] of checkpoint.stakes.entries()) {
    const account = accounts.get(publicKey) ?? { balance: null, stake: null, stakeOrder: null };
    accounts.set(publicKey, { ...account, stake, stakeOrder: order });
  }
  return [...accounts].map(([publicKey, account]) => ({ publicKey, ...account }));
}

const MIGRATED_NOTICE =
  'The stored chain was upgraded to the new storage format (head state per account, checkpoints): ' +
  'the first start may take a little longer while checkpoints are written.';
const RESYNC_NOTICE =
  'The stored chain was written in an older storage format that this version cannot migrate: it was ' +
  'cleared and the node will resync the chain from its peers. Your wallet was kept.';
const UNKNOWN_LAYOUT_NOTICE =
  'The stored data was in a storage layout this version does not recognise: the database was recreated ' +
  'and the node will resync the chain from its peers.';

/**
 * This tab's node id: 16 hex characters kept in sessionStorage, so a reloaded tab reopens its own
 * database, while a new tab starts a new node. (A duplicated tab copies sessionStorage and so
 * the id; the node layer must notice two live tabs on one id.) Where sessionStorage cannot be
 * used (a sandboxed frame), the id is fresh each load and the chain does not survive reloads.
 */
export function getNodeId(storage?: Storage): string {
  let target: Storage | undefined;
  try {
    target = storage ?? globalThis.sessionStorage;
    const existing = target?.getItem(NODE_ID_KEY);
    if (existing && /^[0-9a-f]{16}$/.test(existing)) return existing;
  } catch {
    target = undefined;
  }
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  const id = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  try {
    target?.setItem(NODE_ID_KEY, id);
  } catch {
    // Storage full or denied: the id still works for this page load.
  }
  return id;
}

/** The IndexedDB factory to use, or a `StorageUnavailableError` naming why there is none. */
function factoryOf(factory: IDBFactory | undefined): IDBFactory {
  let found: IDBFactory | undefined;
  try {
    // Reading `indexedDB` itself throws SecurityError in some sandboxed frames.
    found = factory ?? (globalThis.indexedDB as IDBFactory | undefined);
  } catch {
    found = undefined;
  }
  if (!found) {
    throw new StorageUnavailableError(
      'unavailable',
      'IndexedDB is not available in this tab (private window or storage disabled): the chain cannot be saved across reloads.',
    );
  }
  return found;
}

/**
 * Leaves a queued request to the transaction: a failed request aborts it, and the failure is
 * seen once, through `tx.done`, instead of as an unhandled rejection here.
 */
function queue(request: Promise<unknown>): void {
  request.catch(() => {});
}

/** The name of an error-like value (DOMException or Error), or ''. */
function errorName(error: unknown): string {
  return typeof error === 'object' && error !== null && 'name' in error ? String(error.name) : '';
}

/** Maps the browser's "storage is full" errors to `StorageUnavailableError('quota')`; others pass. */
function mapQuota(error: unknown, action: string): unknown {
  const name = errorName(error);
  // Firefox before 2020 named it NS_ERROR_DOM_QUOTA_REACHED.
  if (name === 'QuotaExceededError' || name === 'NS_ERROR_DOM_QUOTA_REACHED') {
    return new StorageUnavailableError(
      'quota',
      `Could not ${action}: the browser's storage for this site is full (${name}). Free space, for example by deleting old tabchain node databases, then try again.`,
    );
  }
  return error;
}

/**
 * Lists the node databases of network `networkId` in this browser (those without a network when
 * it is absent); empty where `indexedDB.databases()` is missing.
 */
export async function listNodeDatabases(
  factory?: IDBFactory,
  networkId?: string,
): Promise<{ nodeId: string; name: string }[]> {
  const prefix = databasePrefix(networkId);
  const target = factoryOf(factory);
  // Firefox before 126 has no databases(): it cannot list, so it lists nothing.
  if (typeof target.databases !== 'function') return [];
  const infos = await target.databases();
  return infos
    .flatMap((info) =>
      info.name?.startsWith(prefix) ? [{ nodeId: info.name.slice(prefix.length), name: info.name }] : [],
    )
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Deletes a node's database (of network `networkId`); open stores on it close themselves so the delete is not blocked. */
export async function deleteNodeDatabase(
  nodeId: string,
  factory?: IDBFactory,
  networkId?: string,
): Promise<void> {
  await wrap(factoryOf(factory).deleteDatabase(databaseName(nodeId, networkId)));
}

/** Creates whatever stores and indexes of the current layout are missing. */
function createLayout(db: NodeDb): void {
  if (!db.objectStoreNames.contains('blocks')) db.createObjectStore('blocks', { keyPath: 'height' });
  if (!db.objectStoreNames.contains('hashes')) db.createObjectStore('hashes');
  if (!db.objectStoreNames.contains('txIndex')) {
    db.createObjectStore('txIndex', { keyPath: 'id' }).createIndex('byHeight', 'height');
  }
  if (!db.objectStoreNames.contains('accounts')) db.createObjectStore('accounts', { keyPath: 'publicKey' });
  if (!db.objectStoreNames.contains('checkpoints')) {
    db.createObjectStore('checkpoints', { keyPath: 'height' });
  }
  if (!db.objectStoreNames.contains('chunks')) db.createObjectStore('chunks', { keyPath: 'index' });
  if (!db.objectStoreNames.contains('meta')) db.createObjectStore('meta');
  if (!db.objectStoreNames.contains('accountTx')) {
    db.createObjectStore('accountTx', { keyPath: ['publicKey', 'height', 'txIndex'] }).createIndex(
      'byHeight',
      'height',
    );
  }
  if (!db.objectStoreNames.contains('aggregates')) db.createObjectStore('aggregates', { keyPath: 'height' });
  if (!db.objectStoreNames.contains('aggregateChunks')) {
    db.createObjectStore('aggregateChunks', { keyPath: 'index' });
  }
}

/**
 * The `upgrade` step. A new database gets the layout. An older one runs its migrations, or when
 * a step is missing loses its chain (blocks, transaction index, head, pool) but keeps the wallet:
 * the chain can be fetched again from peers, a private key cannot.
 */
function upgrade(db: NodeDb, oldVersion: number, tx: WriteTx, notices: string[]): void {
  let version = oldVersion;
  for (let step = MIGRATIONS[version]; version > 0 && step; step = MIGRATIONS[version]) {
    step(db, tx, notices);
    version++;
  }
  if (version > 0 && version < SCHEMA_VERSION) {
    for (const name of Array.from(db.objectStoreNames)) {
      if (name !== 'meta') db.deleteObjectStore(name);
    }
    // A `meta` that is not a key-value store cannot even hold the wallet: it goes too.
    if (db.objectStoreNames.contains('meta') && tx.objectStore('meta').keyPath !== null) {
      db.deleteObjectStore('meta');
    }
    if (db.objectStoreNames.contains('meta')) {
      const meta = tx.objectStore('meta');
      queue(meta.delete('head'));
      queue(meta.delete('pool'));
    }
    notices.push(RESYNC_NOTICE);
  }
  createLayout(db);
  queue(tx.objectStore('meta').put({ version: SCHEMA_VERSION } satisfies SchemaRecord, 'schema'));
}

/** True when the database has the stores, key paths and indexes this layout reads. */
function hasLayout(db: NodeDb): boolean {
  if (!ALL_STORES.every((name) => db.objectStoreNames.contains(name))) return false;
  const tx = db.transaction(ALL_STORES, 'readonly');
  const txIndex = tx.objectStore('txIndex');
  return (
    tx.objectStore('blocks').keyPath === 'height' &&
    tx.objectStore('hashes').keyPath === null &&
    txIndex.keyPath === 'id' &&
    txIndex.indexNames.contains('byHeight') &&
    tx.objectStore('accounts').keyPath === 'publicKey' &&
    tx.objectStore('checkpoints').keyPath === 'height' &&
    tx.objectStore('chunks').keyPath === 'index' &&
    tx.objectStore('accountTx').indexNames.contains('byHeight') &&
    tx.objectStore('aggregates').keyPath === 'height' &&
    tx.objectStore('aggregateChunks').keyPath === 'index' &&
    tx.objectStore('meta').keyPath === null
  );
}

/** Opens (creating or upgrading) one node database; a refusal becomes `StorageUnavailableError`. */
async function openDatabase(factory: IDBFactory, name: string, notices: string[]): Promise<NodeDb> {
  // idb's `openDB` always opens the global `indexedDB`; this is `openDB` over the given factory
  // (idb's own `wrap`), so `options.indexedDB` is honoured.
  try {
    const request = factory.open(name, SCHEMA_VERSION);
    request.addEventListener('upgradeneeded', (event) => {
      const tx = request.transaction;
      if (tx)
        upgrade(wrap(request.result) as NodeDb, event.oldVersion, wrap(tx) as unknown as WriteTx, notices);
    });
    const db = (await wrap(request)) as NodeDb | undefined;
    if (!db) throw new Error('IndexedDB opened no database');
    return db;
  } catch (error) {
    if (errorName(error) === 'VersionError') {
      throw new StorageUnavailableError(
        'unavailable',
        `This node's database was written by a newer version of tabchain (${name}): reload the page to get it.`,
      );
    }
    const quota = mapQuota(error, 'open the node database');
    if (quota instanceof StorageUnavailableError) throw quota;
    throw new StorageUnavailableError(
      'unavailable',
      `IndexedDB refused to open the node database (${errorName(error) || String(error)}; private windows do this in some browsers): the chain cannot be saved across reloads.`,
    );
  }
}

/**
 * Opens the IndexedDB store of node `nodeId` on network `options.network` (a network id: database
 * `tabchain-net-<tag>-node-<nodeId>`; without one, `tabchain-node-<nodeId>`). Rejects with
 * `StorageUnavailableError` when IndexedDB is missing or refuses to open. `options.indexedDB`
 * replaces the global factory; idb recognises IndexedDB objects by the global `IDB*` classes, so
 * the factory must be of the same implementation (a `new IDBFactory()` of fake-indexeddb in tests).
 */
export async function openIndexedDbStore(
  nodeId: string,
  options?: { indexedDB?: IDBFactory; network?: string },
): Promise<Store> {
  const name = databaseName(nodeId, options?.network);
  const factory = factoryOf(options?.indexedDB);
  const notices: string[] = [];
  let db = await openDatabase(factory, name, notices);
  if (!hasLayout(db)) {
    // Not a layout any version of ours wrote at this version number: start the database over.
    db.close();
    await wrap(factory.deleteDatabase(name));
    db = await openDatabase(factory, name, notices);
    notices.push(UNKNOWN_LAYOUT_NOTICE);
  }
  await checkSchemaRecord(db, notices);
  return indexedDbStore(db, notices);
}

/**
 * Checks the `schema` record: written by this layout, or the database is fresh. A database whose
 * record is missing or older (it holds data no migration covers) loses its chain, keeps its wallet.
 */
async function checkSchemaRecord(db: NodeDb, notices: string[]): Promise<void> {
  const tx = db.transaction(ALL_STORES, 'readwrite');
  const done = tx.done;
  done.catch(() => {});
  const record = (await tx.objectStore('meta').get('schema')) as Partial<SchemaRecord> | undefined;
  const version = typeof record?.version === 'number' ? record.version : null;
  if (version !== null && version > SCHEMA_VERSION) {
    tx.abort();
    db.close();
    throw new StorageUnavailableError(
      'unavailable',
      `This node's database was written by a newer version of tabchain (format ${version}): reload the page to get it.`,
    );
  }
  if (version !== SCHEMA_VERSION) {
    const metaKeys = await tx.objectStore('meta').getAllKeys();
    const holdsData =
      (await tx.objectStore('blocks').count()) > 0 ||
      metaKeys.some((key) => key === 'head' || key === 'pool');
    if (holdsData) {
      for (const name of CHAIN_STORES) queue(tx.objectStore(name).clear());
      queue(tx.objectStore('meta').delete('head'));
      queue(tx.objectStore('meta').delete('pool'));
      notices.push(RESYNC_NOTICE);
    }
    queue(tx.objectStore('meta').put({ version: SCHEMA_VERSION } satisfies SchemaRecord, 'schema'));
  }
  try {
    await done;
  } catch (error) {
    db.close();
    throw mapQuota(error, 'prepare the node database');
  }
}

/** The `txIndex` records for `blocks`, one per id (a later block wins, as a later `put` would). */
function txIndexEntries(blocks: readonly StoredBlock[]): TxIndexEntry[] {
  const byId = new Map<string, TxIndexEntry>();
  for (const stored of blocks) {
    for (const tx of stored.block.transactions) byId.set(tx.id, { id: tx.id, height: stored.height });
  }
  return [...byId.values()];
}

/** "1 block" / "2 blocks". */
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The store over an open node database; `pending` are notices from opening, shown by the first load. */
function indexedDbStore(db: NodeDb, pending: string[]): Store {
  let lostReason: string | null = null;
  // Another tab deleting or upgrading this database waits for us: step aside, and say so on use.
  db.addEventListener('versionchange', () => {
    db.close();
    lostReason = 'The node database was deleted or upgraded by another tab: reload this tab.';
  });
  // The browser closed the connection itself (site data cleared, disk error).
  db.addEventListener('close', () => {
    lostReason = 'The browser closed the node database (site data cleared?): reload this tab.';
  });

  const ensureUsable = (): void => {
    if (lostReason) throw new StorageUnavailableError('unavailable', lostReason);
  };

  /**
   * Runs `body` in one readwrite transaction and waits for it to commit. Any throw aborts the
   * transaction: IndexedDB itself would commit the requests already made when a later `put`
   * throws synchronously (a value it cannot clone), leaving half a write.
   */
  async function write<T>(
    stores: StoreNames<NodeSchema>[],
    action: string,
    body: (tx: WriteTx) => Promise<T> | T,
  ): Promise<T> {
    ensureUsable();
    const tx = db.transaction(stores, 'readwrite') as unknown as WriteTx;
    const done = tx.done;
    // Observed below; without this an early throw in `body` leaves its rejection unhandled.
    done.catch(() => {});
    try {
      const result = await body(tx);
      await done;
      return result;
    } catch (error) {
      try {
        tx.abort();
      } catch {
        // Already finished or aborted: nothing was committed by this write.
      }
      throw mapQuota(error, action);
    }
  }

  /**
   * Queues the deletion of everything from `fromHeight` on: blocks, hashes, their transaction
   * index entries and checkpoints. The head pointer goes too: the caller writes a new one, or
   * (a repair) leaves the head state to be rebuilt.
   */
  async function cutTail(tx: WriteTx, fromHeight: number): Promise<void> {
    const range = IDBKeyRange.lowerBound(fromHeight);
    const txIndex = tx.objectStore('txIndex');
    const ids = await txIndex.index('byHeight').getAllKeys(range);
    queue(tx.objectStore('blocks').delete(range));
    queue(tx.objectStore('hashes').delete(range));
    queue(tx.objectStore('checkpoints').delete(range));
    const firstChunk = Math.floor((fromHeight - 1) / CHUNK_BLOCKS);
    queue(tx.objectStore('chunks').delete(IDBKeyRange.lowerBound(firstChunk)));
    queue(tx.objectStore('aggregates').delete(range));
    queue(tx.objectStore('aggregateChunks').delete(IDBKeyRange.lowerBound(firstChunk)));
    for (const id of ids) queue(txIndex.delete(id));
    const lines = tx.objectStore('accountTx');
    for (const key of await lines.index('byHeight').getAllKeys(range)) queue(lines.delete(key));
    queue(tx.objectStore('meta').delete('head'));
  }

  /**
   * The newest checkpoint at or below `height` that decodes and is for the stored block at its
   * height (`hashAt`); damaged ones are skipped (and deleted when `tx` may write).
   */
  async function newestCheckpoint(
    tx: WriteTx,
    height: number,
    hashAt: (height: number) => Promise<string | undefined> | string | undefined,
    notices: string[] | null,
  ): Promise<CheckpointRecord | null> {
    if (height < 1) return null;
    let cursor = await tx.objectStore('checkpoints').openCursor(IDBKeyRange.upperBound(height), 'prev');
    while (cursor) {
      const checkpoint = decodeCheckpoint(cursor.value);
      if (checkpoint.ok && checkpoint.value.hash === (await hashAt(checkpoint.value.height))) {
        return checkpoint.value;
      }
      if (notices) {
        notices.push(
          `The checkpoint at block ${String(cursor.key)} was damaged and was removed (${checkpoint.ok ? 'it is for another block' : checkpoint.error.message}).`,
        );
        queue(cursor.delete());
      }
      cursor = await cursor.continue();
    }
    return null;
  }

  /**
   * Reads the block hashes of heights `from`..`to` from the `hashes` store (one record each),
   * keeping the prefix that runs from, from + 1, … and decodes, and what stopped it.
   */
  async function readHashRange(
    tx: WriteTx,
    from: number,
    to: number,
  ): Promise<{ hashes: string[]; problem: string | null }> {
    if (to < from) return { hashes: [], problem: null };
    const store = tx.objectStore('hashes');
    const values = await store.getAll(IDBKeyRange.bound(from, to));
    let valid = values.length;
    let problem: string | null = null;
    if (to - from + 1 !== values.length) {
      // A gap somewhere: find it by the keys (only on this damaged path).
      const keys = await store.getAllKeys(IDBKeyRange.bound(from, to));
      valid = keys.findIndex((key, index) => key !== from + index);
      if (valid < 0) valid = keys.length;
      problem = `block ${from + valid}'s hash is missing`;
    }
    const hashes: string[] = [];
    for (let i = 0; i < valid; i++) {
      const hash = decodeStoredHash(values[i], from + i);
      if (!hash.ok) {
        problem = hash.error.message;
        break;
      }
      hashes.push(hash.value);
    }
    return { hashes, problem: hashes.length < to - from + 1 ? problem : null };
  }

  /**
   * Every block hash up to `to`: whole chunks first, then the `hashes` records after the last
   * one, keeping the prefix that runs 1, 2, 3… and decodes.
   */
  async function readHashes(
    tx: WriteTx,
    to: number,
  ): Promise<{ hashes: string[]; chunks: ChainChunk[]; problem: string | null }> {
    const lastChunk = Math.floor(to / CHUNK_BLOCKS) - 1;
    const chunkValues =
      lastChunk < 0 ? [] : await tx.objectStore('chunks').getAll(IDBKeyRange.bound(0, lastChunk));
    const chunks: ChainChunk[] = [];
    for (const value of chunkValues) {
      const chunk = decodeChunk(value, chunks.length, CHUNK_BLOCKS);
      // A damaged or missing chunk ends the run: the per-block records are read from there.
      if (!chunk.ok) break;
      chunks.push(chunk.value);
    }
    const covered = chunks.length * CHUNK_BLOCKS;
    const rest = await readHashRange(tx, covered + 1, to);
    return {
      hashes: [...chunks.flatMap((chunk) => chunk.hashes), ...rest.hashes],
      chunks,
      problem: rest.problem,
    };
  }

  /**
   * The transaction ids of the chain up to `tip`: those of whole `chunks`, and the `txIndex` keys
   * above them (keys only). Writes the chunks that are missing below the tip and that `hashes`
   * covers (a migrated or repaired database), so the next read takes them whole.
   */
  async function readTxIds(
    tx: WriteTx,
    chunks: readonly ChainChunk[],
    hashes: readonly string[],
    tip: number,
  ): Promise<string[]> {
    const txIds = chunks.flatMap((chunk) => [...chunk.txIds]);
    const byHeight = tx.objectStore('txIndex').index('byHeight');
    let covered = chunks.length * CHUNK_BLOCKS;
    while (covered + CHUNK_BLOCKS <= tip) {
      const range = IDBKeyRange.bound(covered + 1, covered + CHUNK_BLOCKS);
      const ids = (await byHeight.getAllKeys(range)).filter((key) => decodeStoredTxId(key).ok);
      if (covered + CHUNK_BLOCKS <= hashes.length) {
        const chunk: ChainChunk = {
          index: covered / CHUNK_BLOCKS,
          hashes: hashes.slice(covered, covered + CHUNK_BLOCKS),
          txIds: ids,
        };
        queue(tx.objectStore('chunks').put(chunk));
      }
      txIds.push(...ids);
      covered += CHUNK_BLOCKS;
    }
    if (covered < tip) {
      for (const key of await byHeight.getAllKeys(IDBKeyRange.bound(covered + 1, tip))) {
        const id = decodeStoredTxId(key);
        if (id.ok) txIds.push(id.value);
      }
    }
    return txIds;
  }

  /**
   * Decodes the block records of heights `from`.. and checks each against its stored hash and
   * its parent: returns the valid prefix and what stopped it.
   */
  function checkBlocks(
    records: readonly unknown[],
    from: number,
    parentHash: string,
    hashAt: (height: number) => string | undefined,
  ): { blocks: StoredBlock[]; problem: string | null } {
    const blocks: StoredBlock[] = [];
    let parent = parentHash;
    for (const [index, record] of records.entries()) {
      const height = from + index;
      const found = (record as { height?: unknown } | null)?.height;
      if (typeof found === 'number' && found !== height) {
        return { blocks, problem: `block ${height} is missing` };
      }
      const decoded = decodeStoredBlock(record, height);
      if (!decoded.ok) return { blocks, problem: decoded.error.message };
      const stored = decoded.value;
      if (stored.block.lastHash !== parent) {
        return { blocks, problem: `block ${height}'s lastHash does not match block ${height - 1}'s hash` };
      }
      const expected = hashAt(height);
      if (expected !== undefined && stored.hash !== expected) {
        return { blocks, problem: `block ${height}'s hash does not match the stored hash list` };
      }
      blocks.push(stored);
      parent = stored.hash;
    }
    return { blocks, problem: null };
  }

  /** Writes the chunks that `change`'s blocks complete (their older blocks' part read in `tx`). */
  async function putChunks(tx: WriteTx, change: ChainWrite): Promise<void> {
    const first = Math.ceil(change.fromHeight / CHUNK_BLOCKS);
    for (let end = first * CHUNK_BLOCKS; end <= change.head.height; end += CHUNK_BLOCKS) {
      const start = end - CHUNK_BLOCKS + 1;
      const hashes: string[] = [];
      const txIds: string[] = [];
      if (start < change.fromHeight) {
        const range = IDBKeyRange.bound(start, change.fromHeight - 1);
        hashes.push(...(await tx.objectStore('hashes').getAll(range)));
        txIds.push(...(await tx.objectStore('txIndex').index('byHeight').getAllKeys(range)));
      }
      for (const stored of change.blocks) {
        if (stored.height < start || stored.height > end) continue;
        hashes.push(stored.hash);
        txIds.push(...new Set(stored.block.transactions.map((t) => t.id)));
      }
      const chunk: ChainChunk = { index: end / CHUNK_BLOCKS - 1, hashes, txIds };
      queue(tx.objectStore('chunks').put(chunk));
      const aggregates: BlockAggregate[] = [];
      if (start < change.fromHeight) {
        const range = IDBKeyRange.bound(start, change.fromHeight - 1);
        aggregates.push(...(await tx.objectStore('aggregates').getAll(range)));
      }
      aggregates.push(...change.aggregates.filter((a) => a.height >= start && a.height <= end));
      const aggregateChunk: AggregateChunk = { index: end / CHUNK_BLOCKS - 1, aggregates };
      queue(tx.objectStore('aggregateChunks').put(aggregateChunk));
    }
  }

  /**
   * The aggregates of heights `start`..`end`: whole chunks from `aggregateChunks`, the rest (and
   * any chunk missing or damaged) from the per-block `aggregates` records; the valid prefix, and
   * what stopped it.
   */
  async function readAggregates(tx: WriteTx, start: number, end: number): Promise<AggregateRange> {
    const aggregates: BlockAggregate[] = [];
    const firstChunk = Math.floor((start - 1) / CHUNK_BLOCKS);
    const lastChunk = Math.floor(end / CHUNK_BLOCKS) - 1;
    const chunkValues =
      lastChunk < firstChunk
        ? []
        : await tx.objectStore('aggregateChunks').getAll(IDBKeyRange.bound(firstChunk, lastChunk));
    const chunks = new Map<number, unknown>(
      chunkValues.map((value) => [(value as { index?: unknown } | null)?.index as number, value]),
    );
    let height = start;
    while (height <= end) {
      const index = Math.floor((height - 1) / CHUNK_BLOCKS);
      const chunkEnd = Math.min(end, (index + 1) * CHUNK_BLOCKS);
      const chunk = index <= lastChunk ? decodeAggregateChunk(chunks.get(index), index, CHUNK_BLOCKS) : null;
      if (chunk?.ok) {
        aggregates.push(
          ...chunk.value.slice(height - 1 - index * CHUNK_BLOCKS, chunkEnd - index * CHUNK_BLOCKS),
        );
        height = chunkEnd + 1;
        continue;
      }
      // No whole chunk here (the tail, or a chunk missing or damaged): the per-block records.
      const values = await tx.objectStore('aggregates').getAll(IDBKeyRange.bound(height, chunkEnd));
      for (let h = height; h <= chunkEnd; h++) {
        const value = values[h - height];
        const decoded =
          value === undefined || (value as { height?: unknown }).height !== h
            ? null
            : decodeBlockAggregate(value, h);
        if (!decoded?.ok) {
          const why = decoded ? decoded.error.message : `block ${h}'s aggregate record is missing`;
          return { aggregates, problem: `Could not read the aggregates from block ${h} on: ${why}.` };
        }
        aggregates.push(decoded.value);
      }
      height = chunkEnd + 1;
    }
    return { aggregates, problem: null };
  }

  return {
    async load(options): Promise<StoredNode> {
      const recent = Math.max(0, options?.recentBlocks ?? DEFAULT_RECENT_BLOCKS);
      const loaded = await write(ALL_STORES, 'repair the stored chain', async (tx) => {
        const meta = tx.objectStore('meta');
        const notices = [...pending];
        const hashStore = tx.objectStore('hashes');
        const [last, headValue, poolValue, walletValue] = await Promise.all([
          hashStore.openKeyCursor(null, 'prev'),
          meta.get('head'),
          meta.get('pool'),
          meta.get('wallet'),
        ]);
        const stored = last ? Number(last.key) : 0;
        // Only the recent part of the hash list is read (the rest is `readChainIndex`'s).
        const base = await newestCheckpoint(tx, stored - recent, (h) => hashStore.get(h), notices);
        const baseHeight = base?.height ?? 0;
        const recentHashes = await readHashRange(tx, baseHeight + 1, stored);
        const hashes = recentHashes.hashes;
        let problem = recentHashes.problem;
        const hashAt = (height: number): string | undefined =>
          height === baseHeight ? (base?.hash ?? GENESIS_HASH) : hashes[height - baseHeight - 1];
        const records =
          hashes.length > 0
            ? await tx
                .objectStore('blocks')
                .getAll(IDBKeyRange.bound(baseHeight + 1, baseHeight + hashes.length))
            : [];
        const checked = checkBlocks(records, baseHeight + 1, hashAt(baseHeight) as string, hashAt);
        if (checked.problem === null && records.length < hashes.length) {
          checked.problem = `block ${baseHeight + records.length + 1} is missing`;
        }
        const blocks = checked.blocks;
        problem = checked.problem ?? problem;
        const tip = checked.problem !== null ? baseHeight + blocks.length : baseHeight + hashes.length;
        const cut = tip < stored;
        if (cut) {
          await cutTail(tx, tip + 1);
          hashes.length = tip - baseHeight;
          notices.push(
            `The stored chain was damaged (${problem}): kept blocks 1–${tip} and removed ${plural(stored - tip, 'block')} after them; the node will fetch the rest from its peers.`,
          );
        }
        // The accounts hold the head state when the head pointer names the stored tip.
        const pointer = decodeHeadPointer(headValue);
        const describesTip =
          !cut &&
          (pointer.ok
            ? pointer.value.height === tip && pointer.value.hash === hashAt(tip)
            : headValue === undefined && tip === 0);
        let accounts: AccountRecord[] | null = null;
        if (describesTip) {
          accounts = [];
          for (const value of await tx.objectStore('accounts').getAll()) {
            const account = decodeAccount(value);
            if (!account.ok) {
              accounts = null;
              notices.push(
                `The saved account state was damaged (${account.error.message}): it will be rebuilt by replaying the chain.`,
              );
              break;
            }
            accounts.push(account.value);
          }
        } else if (tip > 0 && !cut) {
          notices.push(
            `The saved account state does not match the stored chain (which ends at block ${tip}): it will be rebuilt by replaying the chain.`,
          );
        }
        if (accounts === null && headValue !== undefined) queue(meta.delete('head'));
        const pool = poolValue === undefined ? { entries: [], error: null } : decodePool(poolValue);
        if (pool.error) {
          notices.push(
            `${pool.error.message}: kept ${plural(pool.entries.length, 'pending transaction')} before it.`,
          );
        }
        let wallet: WalletRecord | null = null;
        if (walletValue !== undefined) {
          const decoded = decodeWallet(walletValue);
          if (decoded.ok) wallet = decoded.value;
          else notices.push(`${decoded.error.message}: it was ignored.`);
        }
        return {
          head: tip === 0 ? null : { height: tip, hash: hashAt(tip) as string },
          base,
          blocks,
          accounts,
          pool: pool.entries,
          wallet,
          notices,
        };
      });
      // Notices from opening are shown once, by the first load that succeeds.
      pending.length = 0;
      return loaded;
    },

    async writeChain(change: ChainWrite) {
      await write(ALL_STORES, 'save blocks', async (tx) => {
        const hashes = tx.objectStore('hashes');
        const last = await hashes.openKeyCursor(null, 'prev');
        checkFromHeight(change.fromHeight, last ? Number(last.key) : 0);
        const baseHash = change.fromHeight > 1 ? await hashes.get(change.fromHeight - 1) : GENESIS_HASH;
        if (baseHash === undefined) {
          throw new StoreWriteError(
            'BAD_FROM_HEIGHT',
            `cannot write blocks from height ${change.fromHeight}: block ${change.fromHeight - 1} is not stored`,
          );
        }
        checkChainWrite({ height: change.fromHeight - 1, hash: baseHash }, change.blocks, change.head);
        await checkCheckpoints(change.checkpoints, change.blocks, change.head, (height) =>
          height < change.fromHeight ? hashes.get(height) : undefined,
        );
        checkAggregates(change.aggregates, change.blocks);
        if (last && change.fromHeight <= Number(last.key)) await cutTail(tx, change.fromHeight);
        const blockStore = tx.objectStore('blocks');
        const txIndex = tx.objectStore('txIndex');
        for (const stored of change.blocks) {
          queue(blockStore.put(stored));
          queue(hashes.put(stored.hash, stored.height));
        }
        for (const entry of txIndexEntries(change.blocks)) queue(txIndex.put(entry));
        const lines = tx.objectStore('accountTx');
        for (const line of accountTxRecords(change.blocks)) queue(lines.put(line));
        const aggregates = tx.objectStore('aggregates');
        for (const aggregate of change.aggregates) queue(aggregates.put(aggregate));
        const accounts = tx.objectStore('accounts');
        if (change.resetAccounts) queue(accounts.clear());
        for (const account of change.accounts) {
          queue(
            account.balance === null && account.stake === null
              ? accounts.delete(account.publicKey)
              : accounts.put(account),
          );
        }
        const checkpoints = tx.objectStore('checkpoints');
        for (const checkpoint of change.checkpoints) queue(checkpoints.put(checkpoint));
        await putChunks(tx, change);
        const meta = tx.objectStore('meta');
        // A head at height 0 is genesis alone, which `load` reports as null.
        const pointer: HeadPointer = { height: change.head.height, hash: change.head.hash };
        queue(change.head.height === 0 ? meta.delete('head') : meta.put(pointer, 'head'));
      });
    },

    async readBlocks(from, to): Promise<BlockRange> {
      ensureUsable();
      const tx = db.transaction(['blocks', 'hashes'], 'readonly');
      const last = await tx.objectStore('hashes').openKeyCursor(null, 'prev');
      const start = Math.max(1, Math.ceil(from));
      const end = Math.min(last ? Number(last.key) : 0, Math.floor(to));
      if (end < start) return { blocks: [], problem: null };
      const [records, hashList, parentHash] = await Promise.all([
        tx.objectStore('blocks').getAll(IDBKeyRange.bound(start, end)),
        tx.objectStore('hashes').getAll(IDBKeyRange.bound(start, end)),
        start === 1 ? GENESIS_HASH : tx.objectStore('hashes').get(start - 1),
      ]);
      const checked = checkBlocks(records, start, parentHash ?? '', (height) => hashList[height - start]);
      const problem =
        checked.problem ??
        (checked.blocks.length < end - start + 1
          ? `block ${start + checked.blocks.length} is missing`
          : null);
      return {
        blocks: checked.blocks,
        problem:
          problem === null
            ? null
            : `Could not read stored block ${start + checked.blocks.length}: ${problem}.`,
      };
    },

    async readBlockAggregates(from, to): Promise<AggregateRange> {
      ensureUsable();
      const tx = db.transaction(
        ['hashes', 'aggregates', 'aggregateChunks'],
        'readonly',
      ) as unknown as WriteTx;
      const last = await tx.objectStore('hashes').openKeyCursor(null, 'prev');
      const start = Math.max(1, Math.ceil(from));
      const end = Math.min(last ? Number(last.key) : 0, Math.floor(to));
      if (end < start) return { aggregates: [], problem: null };
      return readAggregates(tx, start, end);
    },

    async readTransactionHeight(id) {
      ensureUsable();
      const entry = decodeTxIndexEntry(await db.get('txIndex', id));
      return entry.ok && entry.value.id === id ? entry.value.height : undefined;
    },

    async readChainIndex(to): Promise<ChainIndex> {
      // Read-write: chunks missing below the tip (a migrated database) are written on the way.
      return write(['hashes', 'chunks', 'txIndex'], 'read the chain index', async (tx) => {
        const last = await tx.objectStore('hashes').openKeyCursor(null, 'prev');
        const end = Math.max(0, Math.min(last ? Number(last.key) : 0, Math.floor(to)));
        const { hashes, chunks, problem } = await readHashes(tx, end);
        const txIds = await readTxIds(tx, chunks, hashes, end);
        return { hashes, txIds, problem: hashes.length < end ? problem : null };
      });
    },

    async readTransactionIds(from, to) {
      ensureUsable();
      if (Math.floor(to) < Math.ceil(from)) return [];
      const keys = await db.getAllKeysFromIndex(
        'txIndex',
        'byHeight',
        IDBKeyRange.bound(Math.ceil(from), Math.floor(to)),
      );
      return keys.flatMap((key) => {
        const id = decodeStoredTxId(key);
        return id.ok ? [id.value] : [];
      });
    },

    async readCheckpoint(height) {
      ensureUsable();
      const tx = db.transaction(['checkpoints', 'hashes'], 'readonly') as unknown as WriteTx;
      const hashes = tx.objectStore('hashes');
      return newestCheckpoint(tx, Math.floor(height), (h) => hashes.get(h), null);
    },

    async readAccountHistory(publicKey, query) {
      ensureUsable();
      const limit = Math.max(0, Math.floor(query.limit));
      if (limit === 0) return [];
      const { before } = query;
      const upper: [string, number, number] = before
        ? [publicKey, before.height, before.txIndex]
        : [publicKey, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];
      const range = IDBKeyRange.bound([publicKey, 0, 0], upper, false, before !== undefined);
      const lines: AccountTxRecord[] = [];
      let cursor = await db.transaction('accountTx').store.openCursor(range, 'prev');
      while (cursor && lines.length < limit) {
        const line = decodeAccountTx(cursor.value);
        // A damaged line is skipped: the history is a view, the blocks stay the reference.
        if (line.ok) lines.push(line.value);
        cursor = await cursor.continue();
      }
      return lines;
    },

    async readMyTransactions() {
      ensureUsable();
      const value = await db.get('meta', 'mine');
      return value === undefined ? [] : decodeMyTransactions(value).entries;
    },

    async saveMyTransactions(list) {
      await write(['meta'], 'save your transactions', (tx) => {
        queue(tx.objectStore('meta').put(list.slice(0, MAX_MY_TRANSACTIONS), 'mine'));
      });
    },

    async savePool(pool) {
      await write(['meta'], 'save the transaction pool', (tx) => {
        queue(tx.objectStore('meta').put(pool, 'pool'));
      });
    },

    async saveWallet(wallet) {
      await write(['meta'], 'save the wallet', (tx) => {
        const meta = tx.objectStore('meta');
        queue(wallet === null ? meta.delete('wallet') : meta.put(wallet, 'wallet'));
      });
    },

    async close() {
      db.close();
    },
  };
}
