// @vitest-environment jsdom
import 'fake-indexeddb/auto';
import { webcrypto } from 'node:crypto';
import { IDBFactory } from 'fake-indexeddb';
import { type IDBPDatabase, openDB } from 'idb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StorageUnavailableError, type Store, type StoredBlock } from '../../src/ports/store';
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
import { headAt, heights, mainChain, sampleWallet, storeCompliance } from './store-compliance';

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
  await store.appendBlocks(heights(mainChain(), 1, height), headAt(height));
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

describe('IndexedDB store: layout', () => {
  it('creates blocks (by height, byHash), txIndex (by id, byHeight) and meta with a schema record', async () => {
    const nodeId = await storedChain(3);
    const db = await raw(nodeId);
    expect(db.name).toBe(`${DATABASE_PREFIX}${nodeId}`);
    expect(db.version).toBe(SCHEMA_VERSION);
    expect([...db.objectStoreNames].sort()).toEqual(['blocks', 'meta', 'txIndex']);
    const tx = db.transaction(['blocks', 'txIndex', 'meta']);
    expect(tx.objectStore('blocks').keyPath).toBe('height');
    expect([...tx.objectStore('blocks').indexNames]).toEqual(['byHash']);
    expect(tx.objectStore('txIndex').keyPath).toBe('id');
    expect([...tx.objectStore('txIndex').indexNames]).toEqual(['byHeight']);
    const third = heights(mainChain(), 3, 3)[0] as StoredBlock;
    expect(await tx.objectStore('blocks').index('byHash').get(third.hash)).toEqual(third);
    expect(await tx.objectStore('meta').get('schema')).toEqual({ version: SCHEMA_VERSION });
    expect(await tx.objectStore('meta').get('head')).toEqual(headAt(3));
    db.close();
    expect(await txIndexOf(nodeId)).toEqual(expectedTxIndex(3));
  });

  it('keeps the transaction index in step with appends and reorgs', async () => {
    const nodeId = await storedChain(20);
    const store = await openIndexedDbStore(nodeId);
    await store.replaceBlocks(11, [], headAt(10));
    await store.close();
    expect(await txIndexOf(nodeId)).toEqual(expectedTxIndex(10));
  });
});

describe('IndexedDB store: integrity check on load', () => {
  it('cuts the tail from a block whose lastHash does not link, and says so', async () => {
    const nodeId = await storedChain(12);
    const db = await raw(nodeId);
    const seventh = (await db.get('blocks', 7)) as StoredBlock;
    await db.put('blocks', { ...seventh, block: { ...seventh.block, lastHash: 'ab'.repeat(32) } });
    db.close();

    const store = await openIndexedDbStore(nodeId);
    const loaded = await store.load();
    expect(loaded.blocks).toEqual(heights(mainChain(), 1, 6));
    // The saved head was for block 12: the node must rebuild the state of block 6.
    expect(loaded.head).toBeNull();
    expect(loaded.notices).toHaveLength(2);
    expect(loaded.notices[0]).toMatch(/block 7's lastHash does not match block 6's hash/);
    expect(loaded.notices[0]).toMatch(/kept blocks 1–6 and removed 6 blocks/);
    expect(loaded.notices[1]).toMatch(/rebuilt by replaying/);
    await store.close();
    // The tail was deleted from the database, transaction index included.
    const check = await raw(nodeId);
    expect(await check.getAllKeys('blocks')).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await check.get('meta', 'head')).toBeUndefined();
    check.close();
    expect(await txIndexOf(nodeId)).toEqual(expectedTxIndex(6));

    // Until the node saves the rebuilt head, each load says it is missing; then all is quiet.
    const again = await openIndexedDbStore(nodeId);
    expect((await again.load()).notices).toEqual([expect.stringMatching(/rebuilt by replaying/)]);
    await again.appendBlocks([], headAt(6));
    await again.appendBlocks(heights(mainChain(), 7, 12), headAt(12));
    expect(await again.load()).toEqual({
      blocks: heights(mainChain(), 1, 12),
      head: headAt(12),
      pool: [],
      wallet: null,
      notices: [],
    });
    await again.close();
  });

  it('cuts at a missing block and at a damaged record', async () => {
    const gap = await storedChain(12);
    let db = await raw(gap);
    await db.delete('blocks', 5);
    db.close();
    let store = await openIndexedDbStore(gap);
    let loaded = await store.load();
    expect(loaded.blocks).toEqual(heights(mainChain(), 1, 4));
    expect(loaded.notices[0]).toMatch(/block 5 is missing.*kept blocks 1–4 and removed 7 blocks/);
    await store.close();

    const damaged = await storedChain(12);
    db = await raw(damaged);
    await db.put('blocks', { height: 9, note: 'not a block' });
    db.close();
    store = await openIndexedDbStore(damaged);
    loaded = await store.load();
    expect(loaded.blocks).toEqual(heights(mainChain(), 1, 8));
    expect(loaded.notices[0]).toMatch(/block 9's record is damaged/);
    await store.close();
    expect(await txIndexOf(damaged)).toEqual(expectedTxIndex(8));
  });

  it('a head record that does not match the last block is dropped: head null, state to rebuild', async () => {
    const nodeId = await storedChain(12);
    const db = await raw(nodeId);
    await db.put('meta', headAt(11), 'head');
    db.close();
    const store = await openIndexedDbStore(nodeId);
    const loaded = await store.load();
    expect(loaded.blocks).toEqual(heights(mainChain(), 1, 12));
    expect(loaded.head).toBeNull();
    expect(loaded.notices).toEqual([
      expect.stringMatching(/account state does not match.*block 12.*replaying/),
    ]);
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

  it('rebuilds a transaction index that does not match the chain', async () => {
    const nodeId = await storedChain(12);
    const db = await raw(nodeId);
    const [firstId] = (await db.getAllKeys('txIndex')) as string[];
    await db.delete('txIndex', firstId as string);
    await db.put('txIndex', { id: 'stray', height: 99 });
    await db.put('txIndex', { id: 'stray2', height: 98 });
    db.close();
    const store = await openIndexedDbStore(nodeId);
    expect((await store.load()).notices).toEqual([expect.stringMatching(/transaction index .* rebuilt/)]);
    await store.close();
    expect(await txIndexOf(nodeId)).toEqual(expectedTxIndex(12));
  });
});

describe('IndexedDB store: atomic writes', () => {
  it('an append whose third block cannot be cloned writes none of its blocks or index entries', async () => {
    const nodeId = await storedChain(10);
    const store = await openIndexedDbStore(nodeId);
    const [b11, b12, b13] = heights(mainChain(), 11, 13) as [StoredBlock, StoredBlock, StoredBlock];
    const uncloneable = { ...b13, block: { ...b13.block, timestamp: () => 0 } } as unknown as StoredBlock;
    await expect(store.appendBlocks([b11, b12, uncloneable], headAt(13))).rejects.toThrow(/clone/i);
    await store.close();
    const db = await raw(nodeId);
    expect(await db.getAllKeys('blocks')).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(await db.get('meta', 'head')).toEqual(headAt(10));
    db.close();
    expect(await txIndexOf(nodeId)).toEqual(expectedTxIndex(10));
  });
});

describe('IndexedDB store: schema versions', () => {
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
      blocks: [],
      head: null,
      pool: [],
      wallet: sampleWallet('erin'),
      notices: [expect.stringMatching(/older storage format.*resync.*wallet was kept/)],
    });
    expect((await store.load()).notices).toEqual([]);
    await store.appendBlocks(heights(mainChain(), 1, 2), headAt(2));
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
    await store.appendBlocks(heights(mainChain(), 1, 3), headAt(3));
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
    const error = await store.appendBlocks(heights(mainChain(), 11, 14), headAt(14)).catch((e: unknown) => e);
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
    await fallback.store.appendBlocks(heights(mainChain(), 1, 2), headAt(2));
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
    await a.appendBlocks(heights(mainChain(), 1, 2), headAt(2));
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
