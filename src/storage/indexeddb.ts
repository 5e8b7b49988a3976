import { type DBSchema, type IDBPDatabase, type IDBPTransaction, type StoreNames, wrap } from 'idb';
import {
  type HeadRecord,
  StorageUnavailableError,
  type Store,
  type StoredBlock,
  type StoredNode,
  type StoredPoolEntry,
  type WalletRecord,
} from '../ports/store';
import { checkChainWrite, checkFromHeight, GENESIS_TIP, StoreWriteError } from './write-checks';

/**
 * The storage layout's version: the IndexedDB version of every node database and the `version`
 * of its `meta` `schema` record. Bump it with a step in `MIGRATIONS` when the layout changes.
 */
export const SCHEMA_VERSION = 1;

/** Every node database is named this prefix plus the node id. */
export const DATABASE_PREFIX = 'tabchain-node-';

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
 * The database layout. `blocks` by height with a `byHash` index; `txIndex` by transaction id
 * with a `byHeight` index (so cutting a tail is a key-range query, even when the cut blocks are
 * damaged); `meta` key-value for the head state, pool, wallet and schema record.
 */
interface NodeSchema extends DBSchema {
  blocks: { key: number; value: StoredBlock; indexes: { byHash: string } };
  txIndex: { key: string; value: TxIndexEntry; indexes: { byHeight: number } };
  meta: { key: MetaKey; value: unknown };
}

type MetaKey = 'head' | 'pool' | 'wallet' | 'schema';
type NodeDb = IDBPDatabase<NodeSchema>;
type WriteTx = IDBPTransaction<NodeSchema, StoreNames<NodeSchema>[], 'readwrite'>;

const ALL_STORES: StoreNames<NodeSchema>[] = ['blocks', 'txIndex', 'meta'];

/**
 * Layout migrations: `MIGRATIONS[n]` turns a version-n database into version n + 1 inside the
 * upgrade transaction. None exist yet (version 1 is the first layout); a database older than
 * the oldest step is cleared (its wallet kept) and the node resyncs the chain from peers.
 */
const MIGRATIONS: Readonly<Record<number, (db: NodeDb, tx: WriteTx) => void>> = {};

const RESYNC_NOTICE =
  'The stored chain was written in an older storage format that this version cannot migrate: it was ' +
  'cleared and the node will resync the chain from its peers. Your wallet was kept.';
const UNKNOWN_LAYOUT_NOTICE =
  'The stored data was in a storage layout this version does not recognise: the database was recreated ' +
  'and the node will resync the chain from its peers.';

/** The database name for a node id. */
export function databaseName(nodeId: string): string {
  return `${DATABASE_PREFIX}${nodeId}`;
}

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

/** Lists the node databases in this browser (empty where `indexedDB.databases()` is missing). */
export async function listNodeDatabases(factory?: IDBFactory): Promise<{ nodeId: string; name: string }[]> {
  const target = factoryOf(factory);
  // Firefox before 126 has no databases(): it cannot list, so it lists nothing.
  if (typeof target.databases !== 'function') return [];
  const infos = await target.databases();
  return infos
    .flatMap((info) =>
      info.name?.startsWith(DATABASE_PREFIX)
        ? [{ nodeId: info.name.slice(DATABASE_PREFIX.length), name: info.name }]
        : [],
    )
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Deletes a node's database; open stores on it close themselves so the delete is not blocked. */
export async function deleteNodeDatabase(nodeId: string, factory?: IDBFactory): Promise<void> {
  await wrap(factoryOf(factory).deleteDatabase(databaseName(nodeId)));
}

/** Creates whatever stores and indexes of the current layout are missing. */
function createLayout(db: NodeDb): void {
  if (!db.objectStoreNames.contains('blocks')) {
    db.createObjectStore('blocks', { keyPath: 'height' }).createIndex('byHash', 'hash');
  }
  if (!db.objectStoreNames.contains('txIndex')) {
    db.createObjectStore('txIndex', { keyPath: 'id' }).createIndex('byHeight', 'height');
  }
  if (!db.objectStoreNames.contains('meta')) db.createObjectStore('meta');
}

/**
 * The `upgrade` step. A new database gets the layout. An older one runs its migrations, or when
 * a step is missing loses its chain (blocks, transaction index, head, pool) but keeps the wallet:
 * the chain can be fetched again from peers, a private key cannot.
 */
function upgrade(db: NodeDb, oldVersion: number, tx: WriteTx, notices: string[]): void {
  let version = oldVersion;
  for (let step = MIGRATIONS[version]; version > 0 && step; step = MIGRATIONS[version]) {
    step(db, tx);
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
  const blocks = tx.objectStore('blocks');
  const txIndex = tx.objectStore('txIndex');
  return (
    blocks.keyPath === 'height' &&
    blocks.indexNames.contains('byHash') &&
    txIndex.keyPath === 'id' &&
    txIndex.indexNames.contains('byHeight') &&
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
 * Opens the IndexedDB store of node `nodeId` (database `tabchain-node-<nodeId>`). Rejects with
 * `StorageUnavailableError` when IndexedDB is missing or refuses to open. `options.indexedDB`
 * replaces the global factory; idb recognises IndexedDB objects by the global `IDB*` classes, so
 * the factory must be of the same implementation (a `new IDBFactory()` of fake-indexeddb in tests).
 */
export async function openIndexedDbStore(
  nodeId: string,
  options?: { indexedDB?: IDBFactory },
): Promise<Store> {
  const factory = factoryOf(options?.indexedDB);
  const name = databaseName(nodeId);
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
      queue(tx.objectStore('blocks').clear());
      queue(tx.objectStore('txIndex').clear());
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

/** Whether `value` is a stored block record at `height` with a usable hash and link. */
function isBlockRecord(value: unknown, height: number): value is StoredBlock {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Partial<StoredBlock>;
  const block = record.block as Partial<StoredBlock['block']> | undefined;
  return (
    record.height === height &&
    typeof record.hash === 'string' &&
    record.hash !== '' &&
    typeof block === 'object' &&
    block !== null &&
    block.blockCount === height &&
    typeof block.lastHash === 'string' &&
    Array.isArray(block.transactions)
  );
}

/** Whether `value` has the shape of a head record. */
function isHeadRecord(value: unknown): value is HeadRecord {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Partial<HeadRecord>;
  return (
    typeof record.height === 'number' &&
    typeof record.hash === 'string' &&
    Array.isArray(record.balances) &&
    Array.isArray(record.stakes)
  );
}

/** Whether `value` has the shape of a wallet record. */
function isWalletRecord(value: unknown): value is WalletRecord {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Partial<WalletRecord>;
  return typeof record.publicKeyPem === 'string' && typeof record.extractable === 'boolean';
}

/**
 * The `txIndex` records for `blocks`, one per id (a later block wins, as a later `put` would).
 * Entries without a string id are skipped: they cannot be keys, and validity is the node's call.
 */
function txIndexEntries(blocks: readonly StoredBlock[]): TxIndexEntry[] {
  const byId = new Map<string, TxIndexEntry>();
  for (const stored of blocks) {
    for (const tx of stored.block.transactions as readonly unknown[]) {
      const id = (tx as { id?: unknown } | null)?.id;
      if (typeof id === 'string') byId.set(id, { id, height: stored.height });
    }
  }
  return [...byId.values()];
}

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
    if (lostReason) throw new StorageUnavailableError('unavailable', lostReason);
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

  /** Queues the block, txIndex and head writes of a chain write. */
  function putChain(tx: WriteTx, blocks: readonly StoredBlock[], head: HeadRecord): void {
    const blockStore = tx.objectStore('blocks');
    const txIndex = tx.objectStore('txIndex');
    for (const stored of blocks) queue(blockStore.put(stored));
    for (const entry of txIndexEntries(blocks)) queue(txIndex.put(entry));
    // A head at height 0 is genesis alone, which `load` reports as null.
    queue(
      head.height === 0 ? tx.objectStore('meta').delete('head') : tx.objectStore('meta').put(head, 'head'),
    );
  }

  /** Queues the deletion of blocks from `fromHeight` on and their transaction index entries. */
  async function cutTail(tx: WriteTx, fromHeight: number): Promise<void> {
    const range = IDBKeyRange.lowerBound(fromHeight);
    const txIndex = tx.objectStore('txIndex');
    const ids = await txIndex.index('byHeight').getAllKeys(range);
    queue(tx.objectStore('blocks').delete(range));
    for (const id of ids) queue(txIndex.delete(id));
  }

  return {
    async load(): Promise<StoredNode> {
      const loaded = await write(ALL_STORES, 'repair the stored chain', async (tx) => {
        const meta = tx.objectStore('meta');
        const [records, headValue, poolValue, walletValue] = await Promise.all([
          tx.objectStore('blocks').getAll(),
          meta.get('head'),
          meta.get('pool'),
          meta.get('wallet'),
        ]);
        // Keep the longest prefix whose heights run 1, 2, 3… and whose links hold, by the stored
        // hashes. Recomputing every hash would cost seconds on a long chain: that is the node's call.
        const notices = [...pending];
        const blocks: StoredBlock[] = [];
        let tip = GENESIS_TIP;
        let problem: string | null = null;
        for (const record of records as unknown[]) {
          const height = tip.height + 1;
          if (!isBlockRecord(record, height)) {
            const found = (record as { height?: unknown } | null)?.height;
            problem =
              typeof found === 'number' && found !== height
                ? `block ${height} is missing`
                : `block ${height}'s record is damaged`;
            break;
          }
          if (record.block.lastHash !== tip.hash) {
            problem = `block ${height}'s lastHash does not match block ${tip.height}'s hash`;
            break;
          }
          blocks.push(record);
          tip = { height, hash: record.hash };
        }
        if (problem !== null) {
          const removed = records.length - blocks.length;
          await cutTail(tx, tip.height + 1);
          notices.push(
            `The stored chain was damaged (${problem}): kept blocks 1–${tip.height} and removed ${removed} block${removed === 1 ? '' : 's'} after them; the node will fetch the rest from its peers.`,
          );
        }
        // The transaction index must hold exactly the kept blocks' transactions; rebuild it if not
        // (cheap to check: one count).
        const entries = txIndexEntries(blocks);
        if ((await tx.objectStore('txIndex').count()) !== entries.length) {
          const txIndex = tx.objectStore('txIndex');
          queue(txIndex.clear());
          for (const entry of entries) queue(txIndex.put(entry));
          notices.push('The transaction index did not match the stored chain and was rebuilt.');
        }
        let head: HeadRecord | null = null;
        if (isHeadRecord(headValue) && headValue.height === tip.height && headValue.hash === tip.hash) {
          head = tip.height === 0 ? null : headValue;
        } else if (headValue !== undefined || blocks.length > 0) {
          if (headValue !== undefined) queue(meta.delete('head'));
          if (blocks.length > 0) {
            notices.push(
              `The saved account state does not match the stored chain (which ends at block ${tip.height}): it will be rebuilt by replaying the chain.`,
            );
          }
        }
        let pool: StoredPoolEntry[] = [];
        if (Array.isArray(poolValue)) pool = poolValue as StoredPoolEntry[];
        else if (poolValue !== undefined)
          notices.push('The saved transaction pool was unreadable and was dropped.');
        let wallet: WalletRecord | null = null;
        if (isWalletRecord(walletValue)) wallet = walletValue;
        else if (walletValue !== undefined)
          notices.push('The saved wallet record was unreadable and was ignored.');
        return { blocks, head, pool, wallet, notices };
      });
      // Notices from opening are shown once, by the first load that succeeds.
      pending.length = 0;
      return loaded;
    },

    async appendBlocks(blocks, head) {
      await write(ALL_STORES, 'save blocks', async (tx) => {
        const last = await tx.objectStore('blocks').openCursor(null, 'prev');
        checkChainWrite(
          last ? { height: last.value.height, hash: last.value.hash } : GENESIS_TIP,
          blocks,
          head,
        );
        putChain(tx, blocks, head);
      });
    },

    async replaceBlocks(fromHeight, blocks, head) {
      await write(ALL_STORES, 'save blocks', async (tx) => {
        const blockStore = tx.objectStore('blocks');
        const lastKey = await blockStore.openKeyCursor(null, 'prev');
        checkFromHeight(fromHeight, lastKey ? lastKey.key : 0);
        let base = GENESIS_TIP;
        if (fromHeight > 1) {
          const before = await blockStore.get(fromHeight - 1);
          if (!before) {
            throw new StoreWriteError(
              'BAD_FROM_HEIGHT',
              `cannot replace blocks from height ${fromHeight}: block ${fromHeight - 1} is not stored`,
            );
          }
          base = { height: before.height, hash: before.hash };
        }
        checkChainWrite(base, blocks, head);
        await cutTail(tx, fromHeight);
        putChain(tx, blocks, head);
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
