// @vitest-environment jsdom
import 'fake-indexeddb/auto';
import { webcrypto } from 'node:crypto';
import { IDBFactory } from 'fake-indexeddb';
import { type IDBPDatabase, openDB, wrap } from 'idb';

const wrapDb = (request: IDBOpenDBRequest) => wrap(request) as unknown as Promise<IDBPDatabase>;

import { Set as ImmutableSet } from 'immutable';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runLotteryAtOnce } from '../../src/core/lottery';
import { accountRecords, checkpointOf, stateOfAccounts } from '../../src/node/persistence';
import {
  accountTxRecords,
  StorageUnavailableError,
  type Store,
  type StoredBlock,
} from '../../src/ports/store';
import { openBestStore } from '../../src/storage';
import {
  DATABASE_PREFIX,
  databaseName,
  deleteNodeDatabase,
  getNodeId,
  listNodeDatabases,
  NODE_ID_KEY,
  openIndexedDbStore,
  SCHEMA_VERSION,
} from '../../src/storage/indexeddb';
import {
  appendMain,
  expectedChain,
  expectedIndex,
  forkChain,
  genesis,
  heights,
  indexOf,
  loadedHeadState,
  mainChain,
  plainState,
  sampleWallet,
  stateAt,
  storeCompliance,
  writeOf,
} from './store-compliance';
import { recordedPublicKey, recordedV1, recordedValue, writeV1Database } from './v1-fixture';

// Each compliance store gets its own fake IndexedDB, so tests cannot see each other's data.
const opened = new WeakMap<Store, { nodeId: string; factory: IDBFactory }>();
let compliance = 0;

storeCompliance(
  'IndexedDB (fake-indexeddb)',
  async () => {
    const factory = new IDBFactory();
    const nodeId = `compliance${++compliance}`;
    const store = await openIndexedDbStore(nodeId, { indexedDB: factory });
    opened.set(store, { nodeId, factory });
    return store;
  },
  async (store) => {
    const where = opened.get(store);
    if (!where) throw new Error('not a compliance store');
    await store.close();
    const again = await openIndexedDbStore(where.nodeId, { indexedDB: where.factory });
    opened.set(again, where);
    return again;
  },
  async (store, height) => {
    const where = opened.get(store);
    if (!where) throw new Error('not a compliance store');
    await store.close();
    const db = await wrapDb(where.factory.open(databaseName(where.nodeId)));
    await db.put('aggregates', { height, forger: 42 });
    db.close();
    const again = await openIndexedDbStore(where.nodeId, { indexedDB: where.factory });
    opened.set(again, where);
    return again;
  },
);

// The tests below use the global (fake) `indexedDB`, the production default, with fresh ids.
let counter = 0;
const freshId = (): string => `test${(++counter).toString().padStart(4, '0')}`;

/** The node database opened directly with idb, to corrupt or inspect it behind the store's back. */
const raw = (nodeId: string): Promise<IDBPDatabase> => openDB(databaseName(nodeId));

/** A store holding main-chain blocks 1..`height`, closed, so tests can tamper with it. */
async function storedChain(height: number): Promise<string> {
  const nodeId = freshId();
  const store = await openIndexedDbStore(nodeId);
  await appendMain(store, 1, height);
  await store.close();
  return nodeId;
}

/** The `txIndex` as `[id, height]` pairs sorted by id. */
async function txIndexOf(nodeId: string): Promise<[string, number][]> {
  const db = await raw(nodeId);
  const entries = (await db.getAll('txIndex')) as { id: string; height: number }[];
  db.close();
  return entries.map((e): [string, number] => [e.id, e.height]).sort(([a], [b]) => (a < b ? -1 : 1));
}

/** The `txIndex` a chain of main-chain blocks 1..`height` should have. */
function expectedTxIndex(height: number): [string, number][] {
  return heights(mainChain(), 1, height)
    .flatMap((stored) => stored.block.transactions.map((tx): [string, number] => [tx.id, stored.height]))
    .sort(([a], [b]) => (a < b ? -1 : 1));
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

/** The head pointer a store writes for main-chain height `h`. */
const pointerAt = (height: number) => ({ height, hash: stateAt(height).headHash });

describe('IndexedDB store: layout', () => {
  it('creates blocks, hashes, txIndex (byHeight), accounts, checkpoints and meta with a schema record', async () => {
    const nodeId = await storedChain(3);
    const db = await raw(nodeId);
    expect(db.name).toBe(`${DATABASE_PREFIX}${nodeId}`);
    expect(db.version).toBe(SCHEMA_VERSION);
    const names = [
      'accountTx',
      'accounts',
      'aggregateChunks',
      'aggregates',
      'blocks',
      'checkpoints',
      'chunks',
      'hashes',
      'meta',
      'txIndex',
    ];
    expect([...db.objectStoreNames].sort()).toEqual(names);
    const tx = db.transaction(names);
    expect(tx.objectStore('blocks').keyPath).toBe('height');
    expect([...tx.objectStore('blocks').indexNames]).toEqual([]);
    expect(tx.objectStore('txIndex').keyPath).toBe('id');
    expect([...tx.objectStore('txIndex').indexNames]).toEqual(['byHeight']);
    expect(tx.objectStore('accounts').keyPath).toBe('publicKey');
    expect(tx.objectStore('checkpoints').keyPath).toBe('height');
    expect(tx.objectStore('chunks').keyPath).toBe('index');
    expect(tx.objectStore('accountTx').keyPath).toEqual(['publicKey', 'height', 'txIndex']);
    expect([...tx.objectStore('accountTx').indexNames]).toEqual(['byHeight']);
    expect(tx.objectStore('aggregates').keyPath).toBe('height');
    expect(tx.objectStore('aggregateChunks').keyPath).toBe('index');
    expect(await tx.objectStore('hashes').getAll()).toEqual(heights(mainChain(), 1, 3).map((s) => s.hash));
    expect(await tx.objectStore('meta').get('schema')).toEqual({ version: SCHEMA_VERSION });
    expect(await tx.objectStore('meta').get('head')).toEqual(pointerAt(3));
    db.close();
    expect(await txIndexOf(nodeId)).toEqual(expectedTxIndex(3));
  });

  it('keeps the transaction index and hashes in step with appends and reorgs', async () => {
    const nodeId = await storedChain(20);
    const store = await openIndexedDbStore(nodeId);
    await store.writeChain(writeOf(mainChain(), 11, 10, { fixture: mainChain(), tip: 20 }));
    await store.close();
    expect(await txIndexOf(nodeId)).toEqual(expectedTxIndex(10));
    const db = await raw(nodeId);
    expect(await db.getAllKeys('hashes')).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    db.close();
  });
});

describe('IndexedDB store: chunks of hashes and ids (what a reload reads instead of one record per block)', () => {
  let built: ReturnType<typeof forkChain> | undefined;
  const long = () => {
    built ??= forkChain(40, 260);
    return built;
  };
  const all = () => [...heights(mainChain(), 1, 40), ...long().blocks];
  const chunksOf = async (nodeId: string) => {
    const db = await raw(nodeId);
    const chunks = (await db.getAll('chunks')) as { index: number; hashes: string[]; txIds: string[] }[];
    db.close();
    return chunks;
  };

  it('a chunk is written when its 256th block is, cut by a reorg below it, and rebuilt by load when damaged', async () => {
    const nodeId = freshId();
    const store = await openIndexedDbStore(nodeId);
    await appendMain(store, 1, 40);
    await store.writeChain(writeOf(long(), 41, 200));
    expect(await chunksOf(nodeId)).toEqual([]);
    // Block 256 arrives alone: the chunk takes 255 hashes and ids from the store.
    await store.writeChain(writeOf(long(), 201, 256));
    await store.writeChain(writeOf(long(), 257, 300));
    const chunk = {
      index: 0,
      hashes: all()
        .slice(0, 256)
        .map((s) => s.hash),
      txIds: expect.arrayContaining(expectedTxIndex(40).map(([id]) => id)),
    };
    expect(await chunksOf(nodeId)).toEqual([chunk]);
    expect(await store.load()).toMatchObject(expectedChain(all()));
    // A reorg from 250 removes it; the branch's block 256 writes it again.
    const fork = forkChain(249, 10, 0, long());
    await store.writeChain(writeOf(fork, 250, 259, { fixture: long(), tip: 300 }));
    expect(await chunksOf(nodeId)).toEqual([
      { ...chunk, hashes: [...all().slice(0, 249), ...fork.blocks.slice(0, 7)].map((s) => s.hash) },
    ]);
    await store.writeChain(writeOf(long(), 250, 300, { fixture: fork, tip: 259 }));
    expect(await indexOf(store)).toEqual(expectedIndex(all()));
    await store.close();
    // A damaged chunk: the index read takes the per-block records instead, and writes the chunk again.
    const db = await raw(nodeId);
    await db.put('chunks', { index: 0, hashes: ['x'], txIds: [] });
    db.close();
    const again = await openIndexedDbStore(nodeId);
    const loaded = await again.load();
    expect(loaded).toMatchObject(expectedChain(all()));
    expect(loaded.notices).toEqual([]);
    expect(await indexOf(again)).toEqual(expectedIndex(all()));
    await again.close();
    expect(await chunksOf(nodeId)).toEqual([chunk]);
  });
});

describe('IndexedDB store: integrity check on load (one decoder, a valid prefix)', () => {
  it('cuts the tail from a block whose lastHash does not link, and says so', async () => {
    const nodeId = await storedChain(12);
    const db = await raw(nodeId);
    const seventh = (await db.get('blocks', 7)) as StoredBlock;
    await db.put('blocks', { ...seventh, block: { ...seventh.block, lastHash: 'ab'.repeat(32) } });
    db.close();

    const store = await openIndexedDbStore(nodeId);
    const loaded = await store.load();
    expect(loaded).toMatchObject(expectedChain(heights(mainChain(), 1, 6)));
    // The accounts were for block 12: the node must rebuild the state of block 6.
    expect(loaded.accounts).toBeNull();
    expect(loaded.notices).toEqual([
      expect.stringMatching(
        /block 7's lastHash does not match block 6's hash.*kept blocks 1–6 and removed 6 blocks/,
      ),
    ]);
    await store.close();
    // The tail was deleted from the database, transaction index and hashes included.
    const check = await raw(nodeId);
    expect(await check.getAllKeys('blocks')).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await check.getAllKeys('hashes')).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await check.get('meta', 'head')).toBeUndefined();
    check.close();
    expect(await txIndexOf(nodeId)).toEqual(expectedTxIndex(6));

    // Until the node saves the rebuilt head state, each load says it is missing; then all is quiet.
    const again = await openIndexedDbStore(nodeId);
    const second = await again.load();
    expect(second.accounts).toBeNull();
    expect(second.notices).toEqual([expect.stringMatching(/rebuilt by replaying/)]);
    const state = stateAt(6);
    await again.writeChain({
      ...writeOf(mainChain(), 7, 6),
      accounts: accountRecords(state, new Set([...state.balances.keys(), ...state.stakes.keys()])),
      resetAccounts: true,
    });
    await again.writeChain(writeOf(mainChain(), 7, 12));
    const repaired = await again.load();
    expect(repaired.notices).toEqual([]);
    expect(await loadedHeadState(repaired)).toEqual(plainState(stateAt(12)));
    await again.close();
  });

  it('cuts at a missing block, a damaged record, a missing or damaged hash', async () => {
    const cases: [string, (db: IDBPDatabase) => Promise<unknown>, number, RegExp][] = [
      [
        'missing block',
        (db) => db.delete('blocks', 5),
        4,
        /block 5 is missing.*kept blocks 1–4 and removed 8 blocks/,
      ],
      [
        'damaged record',
        (db) => db.put('blocks', { height: 9, note: 'not a block' }),
        8,
        /block 9's record is damaged/,
      ],
      [
        'damaged transaction',
        async (db) => {
          const record = (await db.get('blocks', 10)) as StoredBlock;
          return db.put('blocks', { ...record, block: { ...record.block, transactions: [{ id: 1 }] } });
        },
        9,
        /block 10's record is damaged.*malformed block/,
      ],
      ['missing hash', (db) => db.delete('hashes', 3), 2, /block 3's hash is missing/],
      ['damaged hash', (db) => db.put('hashes', 'not a hash', 11), 10, /block 11's stored hash is damaged/],
    ];
    for (const [what, damage, kept, notice] of cases) {
      const nodeId = await storedChain(12);
      const db = await raw(nodeId);
      await damage(db);
      db.close();
      const store = await openIndexedDbStore(nodeId);
      const loaded = await store.load();
      expect(loaded, what).toMatchObject(expectedChain(heights(mainChain(), 1, kept)));
      expect(loaded.notices[0], what).toMatch(notice);
      await store.close();
      expect(await txIndexOf(nodeId), what).toEqual(expectedTxIndex(kept));
    }
  });

  it('load reads only the recent part of the hash list: damage below it is the chain index read’s to report', async () => {
    const nodeId = freshId();
    const store = await openIndexedDbStore(nodeId);
    await store.writeChain({ ...writeOf(mainChain(), 1, 40), checkpoints: [checkpointOf(stateAt(30))] });
    await store.close();
    const db = await raw(nodeId);
    await db.delete('hashes', 3);
    db.close();
    const again = await openIndexedDbStore(nodeId);
    // The base is the checkpoint at 30: its hash and blocks 31..40 are checked, nothing is cut.
    const loaded = await again.load({ recentBlocks: 5 });
    expect(loaded).toMatchObject(expectedChain(heights(mainChain(), 1, 40), checkpointOf(stateAt(30))));
    expect(loaded.notices).toEqual([]);
    // The index stops its hashes at the hole and says why; every id is still there.
    const index = await indexOf(again);
    expect(index).toEqual({
      ...expectedIndex(heights(mainChain(), 1, 40)),
      hashes: heights(mainChain(), 1, 2).map((s) => s.hash),
      problem: "block 3's hash is missing",
    });
    await again.close();
  });

  it('a head pointer for another block, or a damaged account, leaves the head state to rebuild', async () => {
    let nodeId = await storedChain(12);
    let db = await raw(nodeId);
    await db.put('meta', pointerAt(11), 'head');
    db.close();
    let store = await openIndexedDbStore(nodeId);
    let loaded = await store.load();
    expect(loaded).toMatchObject({ ...expectedChain(heights(mainChain(), 1, 12)), accounts: null });
    expect(loaded.notices).toEqual([
      expect.stringMatching(/account state does not match.*block 12.*replaying/),
    ]);
    await store.close();

    nodeId = await storedChain(12);
    db = await raw(nodeId);
    const [key] = await db.getAllKeys('accounts');
    await db.put('accounts', { publicKey: key, balance: 'lots', stake: null, stakeOrder: null });
    db.close();
    store = await openIndexedDbStore(nodeId);
    loaded = await store.load();
    expect(loaded.accounts).toBeNull();
    expect(loaded.notices).toEqual([expect.stringMatching(/account state was damaged.*balance.*replaying/)]);
    await store.close();
  });

  it('a damaged checkpoint is removed and an older one (or genesis) is the base', async () => {
    const nodeId = freshId();
    const store = await openIndexedDbStore(nodeId);
    await store.writeChain({
      ...writeOf(mainChain(), 1, 40),
      checkpoints: [checkpointOf(stateAt(10)), checkpointOf(stateAt(20))],
    });
    await store.close();
    const db = await raw(nodeId);
    await db.put('checkpoints', { ...checkpointOf(stateAt(20)), balances: 'gone' });
    db.close();
    const again = await openIndexedDbStore(nodeId);
    const loaded = await again.load({ recentBlocks: 5 });
    expect(loaded.base).toEqual(checkpointOf(stateAt(10)));
    expect(loaded.blocks).toEqual(heights(mainChain(), 11, 40));
    expect(loaded.notices).toEqual([
      expect.stringMatching(/checkpoint at block 20 was damaged and was removed/),
    ]);
    expect(await again.readCheckpoint(30)).toEqual(checkpointOf(stateAt(10)));
    await again.close();
  });

  it('a damaged old block read on demand gives the valid prefix and a notice, never a throw', async () => {
    const nodeId = freshId();
    const writer = await openIndexedDbStore(nodeId);
    await writer.writeChain({ ...writeOf(mainChain(), 1, 30), checkpoints: [checkpointOf(stateAt(20))] });
    await writer.close();
    const db = await raw(nodeId);
    await db.put('blocks', { height: 8, block: 'damaged' });
    db.close();
    const store = await openIndexedDbStore(nodeId);
    // Recent blocks only: block 8 is not read at load.
    const loaded = await store.load({ recentBlocks: 5 });
    expect(loaded.notices).toEqual([]);
    const range = await store.readBlocks(5, 12);
    expect(range.blocks).toEqual(heights(mainChain(), 5, 7));
    expect(range.problem).toMatch(/stored block 8.*damaged/);
    await store.close();
  });

  it('pool entries and the wallet are decoded: a damaged entry keeps those before it; a damaged wallet is ignored', async () => {
    const nodeId = await storedChain(3);
    const pool = heights(mainChain(), 4, 6)
      .flatMap((s) => s.block.transactions)
      .slice(0, 3);
    const db = await raw(nodeId);
    await db.put(
      'meta',
      [
        { transaction: pool[0], receivedAt: 1 },
        { transaction: { ...pool[1], amount: 'ten' }, receivedAt: 2 },
        { transaction: pool[2], receivedAt: 3 },
      ],
      'pool',
    );
    await db.put('meta', { publicKeyPem: 42, privateKey: null, extractable: 'yes' }, 'wallet');
    db.close();
    const store = await openIndexedDbStore(nodeId);
    const loaded = await store.load();
    expect(loaded.pool).toEqual([{ transaction: pool[0], receivedAt: 1 }]);
    expect(loaded.wallet).toBeNull();
    expect(loaded.notices).toEqual([
      expect.stringMatching(/pool entry 1 is damaged.*kept 1 pending transaction/),
      expect.stringMatching(/wallet record is damaged.*ignored/),
    ]);
    await store.close();
  });

  it('a node-forge key record (PKCS#8 bytes) is decoded: wrong bytes or extra fields make the wallet ignored', async () => {
    const damaged = [
      { format: 'pkcs8', der: 'MIIE' },
      { format: 'pkcs8', der: new Uint8Array(0) },
      { format: 'pkcs8', der: new Uint8Array(16_385) },
      { format: 'pkcs8', der: new Uint8Array(8), label: 'extra' },
      { format: 'spki', der: new Uint8Array(8) },
    ];
    for (const privateKey of damaged) {
      const nodeId = await storedChain(1);
      const db = await raw(nodeId);
      await db.put('meta', { publicKeyPem: 'PEM', privateKey, extractable: true }, 'wallet');
      db.close();
      const store = await openIndexedDbStore(nodeId);
      const loaded = await store.load();
      expect(loaded.wallet).toBeNull();
      expect(loaded.notices).toEqual([expect.stringMatching(/wallet record is damaged.*ignored/)]);
      await store.close();
    }
    const nodeId = await storedChain(1);
    const db = await raw(nodeId);
    const der = new Uint8Array([48, 130, 4, 189]);
    await db.put(
      'meta',
      { publicKeyPem: 'PEM', privateKey: { format: 'pkcs8', der }, extractable: true },
      'wallet',
    );
    db.close();
    const store = await openIndexedDbStore(nodeId);
    const wallet = (await store.load()).wallet;
    // jsdom's structured clone gives typed arrays of another realm: compare the bytes.
    const kept = wallet?.privateKey as { format: string; der: Uint8Array };
    expect({ ...wallet, privateKey: { ...kept, der: Array.from(kept.der) } }).toEqual({
      publicKeyPem: 'PEM',
      privateKey: { format: 'pkcs8', der: Array.from(der) },
      extractable: true,
    });
    await store.close();
  });

  it('checks links with the stored hashes and does not rehash block contents (the node may)', async () => {
    const nodeId = await storedChain(12);
    const db = await raw(nodeId);
    const tenth = (await db.get('blocks', 10)) as StoredBlock;
    const tampered = { ...tenth, block: { ...tenth.block, timestamp: 1 } };
    await db.put('blocks', tampered);
    db.close();
    const store = await openIndexedDbStore(nodeId);
    const loaded = await store.load();
    expect(loaded.notices).toEqual([]);
    expect(loaded.blocks[9]).toEqual(tampered);
    await store.close();
  });
});

describe('IndexedDB store: atomic writes', () => {
  it('an append whose third block cannot be cloned writes none of its blocks, hashes, index entries or accounts', async () => {
    const nodeId = await storedChain(10);
    const store = await openIndexedDbStore(nodeId);
    const write = writeOf(mainChain(), 11, 13);
    const [b11, b12, b13] = write.blocks as [StoredBlock, StoredBlock, StoredBlock];
    const uncloneable = { ...b13, block: { ...b13.block, timestamp: () => 0 } } as unknown as StoredBlock;
    const before = await raw(nodeId).then(async (db) => {
      const accounts = await db.getAll('accounts');
      db.close();
      return accounts;
    });
    await expect(store.writeChain({ ...write, blocks: [b11, b12, uncloneable] })).rejects.toThrow(/clone/i);
    await store.close();
    const db = await raw(nodeId);
    expect(await db.getAllKeys('blocks')).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(await db.getAllKeys('hashes')).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(await db.get('meta', 'head')).toEqual(pointerAt(10));
    expect(await db.getAll('accounts')).toEqual(before);
    db.close();
    expect(await txIndexOf(nodeId)).toEqual(expectedTxIndex(10));
  });
});

describe('IndexedDB store: migration from layout version 1 (a recorded database)', () => {
  it('keeps the chain, the head state, the pool and the wallet', async () => {
    const nodeId = freshId();
    await writeV1Database(nodeId);
    const store = await openIndexedDbStore(nodeId);
    const loaded = await store.load();
    expect(loaded).toMatchObject(expectedChain(heights(mainChain(), 1, 12)));
    expect(loaded.notices).toEqual([expect.stringMatching(/upgraded to the new storage format/)]);
    // The head state comes from the migrated accounts, and is the chain's.
    expect(await loadedHeadState(loaded)).toEqual(plainState(stateAt(12)));
    const oldHead = recordedValue('meta', 'head') as { balances: unknown; stakes: unknown };
    const migrated = await stateOfAccounts(
      genesis(),
      pointerAt(12),
      loaded.accounts ?? [],
      ImmutableSet(),
      runLotteryAtOnce,
    );
    expect([...migrated.stakes.entries()]).toEqual(oldHead.stakes);
    // The old head record became a checkpoint.
    expect(await store.readCheckpoint(12)).toEqual(
      oldHead && { height: 12, hash: stateAt(12).headHash, ...oldHead },
    );
    // The pool survives, each entry decoded.
    expect(loaded.pool).toEqual(recordedValue('meta', 'pool'));
    expect(loaded.pool).toHaveLength(9);
    // The wallet survives: its (non-extractable) CryptoKey still signs what the public key verifies.
    const wallet = loaded.wallet;
    const key = wallet?.privateKey as webcrypto.CryptoKey;
    expect(wallet?.publicKeyPem).toBe('fixture-public-key');
    expect(key.extractable).toBe(false);
    const message = new TextEncoder().encode('migrated');
    const signature = await webcrypto.subtle.sign('RSASSA-PKCS1-v1_5', key, message);
    expect(
      await webcrypto.subtle.verify('RSASSA-PKCS1-v1_5', await recordedPublicKey(), signature, message),
    ).toBe(true);
    // The migrated store takes the next block.
    await store.writeChain(writeOf(mainChain(), 13, 14));
    expect(await loadedHeadState(await store.load())).toEqual(plainState(stateAt(14)));
    await store.close();
    const db = await raw(nodeId);
    expect(db.version).toBe(SCHEMA_VERSION);
    expect([...db.transaction('blocks').store.indexNames]).toEqual([]);
    expect(await db.get('meta', 'schema')).toEqual({ version: SCHEMA_VERSION });
    db.close();
    expect(await txIndexOf(nodeId)).toEqual(expectedTxIndex(14));
  });

  it('a version-1 head record that does not match its chain is dropped: the head state is rebuilt', async () => {
    const nodeId = freshId();
    await writeV1Database(nodeId, (db) => {
      const meta = db.stores.meta;
      if (!meta) throw new Error('no meta store recorded');
      const records = meta.records.map((r) =>
        r.key === 'head' ? { ...r, value: { ...(r.value as object), height: 11 } } : r,
      );
      return { ...db, stores: { ...db.stores, meta: { ...meta, records } } };
    });
    const store = await openIndexedDbStore(nodeId);
    const loaded = await store.load();
    expect(loaded).toMatchObject({ ...expectedChain(heights(mainChain(), 1, 12)), accounts: null });
    expect(loaded.wallet).not.toBeNull();
    expect(loaded.pool).toHaveLength(9);
    expect(loaded.notices).toEqual([
      expect.stringMatching(/upgraded/),
      expect.stringMatching(/account state does not match.*replaying/),
    ]);
    expect(recordedV1().version).toBe(1);
    await store.close();
  });
});

describe('IndexedDB store: schema versions', () => {
  it('a version-2 database gains the account history, built from its stored blocks', async () => {
    const nodeId = freshId();
    const blocks = heights(mainChain(), 1, 12);
    const v2 = await openDB(databaseName(nodeId), 2, {
      upgrade(db) {
        db.createObjectStore('blocks', { keyPath: 'height' });
        db.createObjectStore('hashes');
        db.createObjectStore('txIndex', { keyPath: 'id' }).createIndex('byHeight', 'height');
        db.createObjectStore('accounts', { keyPath: 'publicKey' });
        db.createObjectStore('checkpoints', { keyPath: 'height' });
        db.createObjectStore('chunks', { keyPath: 'index' });
        db.createObjectStore('meta');
      },
    });
    for (const stored of blocks) {
      await v2.put('blocks', stored);
      await v2.put('hashes', stored.hash, stored.height);
      for (const tx of stored.block.transactions)
        await v2.put('txIndex', { id: tx.id, height: stored.height });
    }
    await v2.put('meta', { version: 2 }, 'schema');
    v2.close();

    const store = await openIndexedDbStore(nodeId);
    expect((await store.readChainIndex(12)).hashes).toEqual(blocks.map((s) => s.hash));
    const lines = accountTxRecords(blocks);
    expect(lines.length).toBeGreaterThan(0);
    for (const key of new Set(lines.map((line) => line.publicKey))) {
      const want = lines
        .filter((line) => line.publicKey === key)
        .sort((a, b) => b.height - a.height || b.txIndex - a.txIndex);
      expect(await store.readAccountHistory(key, { limit: 1000 })).toEqual(want);
    }
    // And the charts' aggregates, their stakes replayed from the blocks: the node's own.
    expect(await store.readBlockAggregates(1, 12)).toEqual({
      aggregates: writeOf(mainChain(), 1, 12).aggregates,
      problem: null,
    });
    await store.close();
  });

  it('an older schema record: the chain is cleared for a resync, the wallet is kept', async () => {
    const nodeId = await storedChain(8);
    let store = await openIndexedDbStore(nodeId);
    await store.saveWallet(sampleWallet('erin'));
    await store.savePool([]);
    await store.close();
    const db = await raw(nodeId);
    await db.put('meta', { version: SCHEMA_VERSION - 1 }, 'schema');
    db.close();

    store = await openIndexedDbStore(nodeId);
    const loaded = await store.load();
    expect(loaded).toEqual({
      ...expectedChain([]),
      accounts: [],
      pool: [],
      wallet: sampleWallet('erin'),
      notices: [expect.stringMatching(/older storage format.*resync.*wallet was kept/)],
    });
    expect((await store.load()).notices).toEqual([]);
    await appendMain(store, 1, 2);
    await store.close();
    expect(await txIndexOf(nodeId)).toEqual(expectedTxIndex(2));
  });

  it('a database with data but no schema record is treated as older', async () => {
    const nodeId = await storedChain(4);
    const db = await raw(nodeId);
    await db.delete('meta', 'schema');
    db.close();
    const store = await openIndexedDbStore(nodeId);
    const loaded = await store.load();
    expect(loaded.blocks).toEqual([]);
    expect(loaded.notices).toEqual([expect.stringMatching(/resync/)]);
    await store.close();
  });

  it('a layout this version does not know (same version number) is recreated, with a resync notice', async () => {
    const nodeId = freshId();
    const db = await openDB(databaseName(nodeId), SCHEMA_VERSION, {
      upgrade(database) {
        database.createObjectStore('blocks', { keyPath: 'hash' });
      },
    });
    await db.put('blocks', { hash: 'abc' });
    db.close();
    const store = await openIndexedDbStore(nodeId);
    const loaded = await store.load();
    expect(loaded.blocks).toEqual([]);
    expect(loaded.notices).toEqual([expect.stringMatching(/layout.*resync/)]);
    await appendMain(store, 1, 3);
    expect((await store.load()).blocks).toHaveLength(3);
    await store.close();
  });

  it('a database from a newer version is left alone: StorageUnavailableError("unavailable")', async () => {
    const newerRecord = await storedChain(2);
    const db = await raw(newerRecord);
    await db.put('meta', { version: SCHEMA_VERSION + 1 }, 'schema');
    db.close();
    const error = await openIndexedDbStore(newerRecord).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageUnavailableError);
    expect((error as StorageUnavailableError).reason).toBe('unavailable');
    expect((error as Error).message).toMatch(/newer version/);

    const newerVersion = freshId();
    (await openDB(databaseName(newerVersion), SCHEMA_VERSION + 1)).close();
    await expect(openIndexedDbStore(newerVersion)).rejects.toMatchObject({
      name: 'StorageUnavailableError',
      reason: 'unavailable',
      message: expect.stringMatching(/newer version/),
    });
  });
});

describe('IndexedDB store: storage refused', () => {
  /** Makes the `n`th `put` from now on throw what a full disk throws. */
  function quotaOnPut(n: number): void {
    const original = IDBObjectStore.prototype.put;
    let calls = 0;
    vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (
      this: IDBObjectStore,
      ...args: Parameters<IDBObjectStore['put']>
    ) {
      if (++calls === n) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return original.apply(this, args);
    });
  }

  it('QuotaExceededError during an append becomes StorageUnavailableError("quota"), nothing written', async () => {
    const nodeId = await storedChain(10);
    const store = await openIndexedDbStore(nodeId);
    const before = await store.load();
    quotaOnPut(2);
    const error = await store.writeChain(writeOf(mainChain(), 11, 14)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageUnavailableError);
    expect((error as StorageUnavailableError).reason).toBe('quota');
    expect((error as Error).message).toMatch(/storage for this site is full/);
    vi.restoreAllMocks();
    expect(await store.load()).toEqual(before);
    await store.close();
  });

  it('QuotaExceededError saving the pool or wallet becomes StorageUnavailableError("quota")', async () => {
    const store = await openIndexedDbStore(freshId());
    quotaOnPut(1);
    await expect(store.savePool([])).rejects.toMatchObject({
      name: 'StorageUnavailableError',
      reason: 'quota',
    });
    quotaOnPut(1);
    await expect(store.saveWallet(sampleWallet('x'))).rejects.toMatchObject({ reason: 'quota' });
    vi.restoreAllMocks();
    expect((await store.load()).wallet).toBeNull();
    await store.close();
  });

  it('no indexedDB at all, or open() refused, is StorageUnavailableError("unavailable")', async () => {
    vi.stubGlobal('indexedDB', undefined);
    await expect(openIndexedDbStore(freshId())).rejects.toMatchObject({
      name: 'StorageUnavailableError',
      reason: 'unavailable',
      message: expect.stringMatching(/IndexedDB is not available/),
    });
    vi.unstubAllGlobals();
    // As in Firefox private windows before version 115: open() throws InvalidStateError.
    const refusing = {
      open() {
        throw new DOMException(
          'A mutation operation was attempted on a database that did not allow mutations.',
          'InvalidStateError',
        );
      },
    } as unknown as IDBFactory;
    await expect(openIndexedDbStore(freshId(), { indexedDB: refusing })).rejects.toMatchObject({
      reason: 'unavailable',
      message: expect.stringMatching(/InvalidStateError.*private windows/),
    });
  });

  it('openBestStore falls back to the memory store with a notice when IndexedDB is unavailable', async () => {
    const best = await openBestStore(freshId());
    expect(best.persistent).toBe(true);
    expect(best.notice).toBeNull();
    await best.store.close();

    vi.stubGlobal('indexedDB', undefined);
    const fallback = await openBestStore(freshId());
    expect(fallback.persistent).toBe(false);
    expect(fallback.notice).toMatch(/IndexedDB is not available.*in memory only.*lost when the tab reloads/);
    await appendMain(fallback.store, 1, 2);
    expect((await fallback.store.load()).blocks).toHaveLength(2);
  });
});

describe('node ids and node databases', () => {
  /** A Storage backed by a Map, standing for another tab's sessionStorage. */
  function mapStorage(): Storage {
    const items = new Map<string, string>();
    return {
      get length() {
        return items.size;
      },
      clear: () => items.clear(),
      getItem: (key) => items.get(key) ?? null,
      key: (index) => [...items.keys()][index] ?? null,
      removeItem: (key) => void items.delete(key),
      setItem: (key, value) => void items.set(key, value),
    };
  }

  it('getNodeId is 16 hex characters, stable per storage, different between storages', () => {
    const tab = mapStorage();
    const id = getNodeId(tab);
    expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(getNodeId(tab)).toBe(id);
    expect(tab.getItem(NODE_ID_KEY)).toBe(id);
    expect(getNodeId(mapStorage())).not.toBe(id);
    // The default is this tab's sessionStorage.
    sessionStorage.clear();
    const own = getNodeId();
    expect(sessionStorage.getItem(NODE_ID_KEY)).toBe(own);
    expect(getNodeId()).toBe(own);
  });

  it('getNodeId replaces a malformed id and survives a storage that throws', () => {
    const tab = mapStorage();
    tab.setItem(NODE_ID_KEY, 'not-an-id');
    expect(getNodeId(tab)).toMatch(/^[0-9a-f]{16}$/);
    const denied = {
      getItem() {
        throw new DOMException('denied', 'SecurityError');
      },
    } as unknown as Storage;
    expect(getNodeId(denied)).toMatch(/^[0-9a-f]{16}$/);
  });

  it('lists and deletes node databases; a deleted open store steps aside', async () => {
    const factory = new IDBFactory();
    const a = await openIndexedDbStore('aaaa', { indexedDB: factory });
    const b = await openIndexedDbStore('bbbb', { indexedDB: factory });
    await appendMain(a, 1, 2);
    await wrapClose(factory.open('someone-else'));
    expect(await listNodeDatabases(factory)).toEqual([
      { nodeId: 'aaaa', name: 'tabchain-node-aaaa' },
      { nodeId: 'bbbb', name: 'tabchain-node-bbbb' },
    ]);
    // `a` is still open: the delete must not wait for it.
    await deleteNodeDatabase('aaaa', factory);
    expect(await listNodeDatabases(factory)).toEqual([{ nodeId: 'bbbb', name: 'tabchain-node-bbbb' }]);
    await expect(a.load()).rejects.toMatchObject({
      reason: 'unavailable',
      message: expect.stringMatching(/another tab/),
    });
    const reopened = await openIndexedDbStore('aaaa', { indexedDB: factory });
    expect((await reopened.load()).blocks).toEqual([]);
    await Promise.all([reopened.close(), b.close()]);
  });

  it('lists nothing where indexedDB.databases() is missing (older Firefox)', async () => {
    const noListing = { open: () => null } as unknown as IDBFactory;
    expect(await listNodeDatabases(noListing)).toEqual([]);
  });
});

/** Waits for an open request and closes the database it opened. */
function wrapClose(request: IDBOpenDBRequest): Promise<void> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => {
      request.result.close();
      resolve();
    };
    request.onerror = () => reject(request.error);
  });
}

describe('IndexedDB store: wallet keys', () => {
  // fake-indexeddb clones with Node's structuredClone, which (like browsers) clones a CryptoKey.
  // Real Chromium is covered by the e2e suite.
  it('a non-extractable CryptoKey round-trips and still signs', async () => {
    const { privateKey, publicKey } = await webcrypto.subtle.generateKey(
      {
        name: 'RSASSA-PKCS1-v1_5',
        modulusLength: 1024,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: 'SHA-256',
      },
      false,
      ['sign', 'verify'],
    );
    const nodeId = freshId();
    let store = await openIndexedDbStore(nodeId);
    await store.saveWallet({ publicKeyPem: 'pem', privateKey, extractable: false });
    await store.close();
    store = await openIndexedDbStore(nodeId);
    const wallet = (await store.load()).wallet;
    await store.close();
    const key = wallet?.privateKey as webcrypto.CryptoKey;
    expect(key.extractable).toBe(false);
    expect(key.type).toBe('private');
    const message = new TextEncoder().encode('tabchain');
    const signature = await webcrypto.subtle.sign('RSASSA-PKCS1-v1_5', key, message);
    expect(await webcrypto.subtle.verify('RSASSA-PKCS1-v1_5', publicKey, signature, message)).toBe(true);
  });
});
