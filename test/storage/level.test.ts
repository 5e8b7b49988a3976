import { webcrypto } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterAll, describe, expect, it } from 'vitest';
import { StorageUnavailableError, type Store } from '../../src/ports/store';
import { LEVEL_SCHEMA_VERSION, type LevelStore, openLevelStore } from '../../src/storage/level';
import {
  appendMain,
  expectedChain,
  expectedIndex,
  heights,
  indexOf,
  loadedHeadState,
  mainChain,
  plainState,
  samplePool,
  sampleWallet,
  stateAt,
  storeCompliance,
  writeOf,
} from './store-compliance';

// Every store gets its own temporary directory, removed when the file's tests end.
const directories: string[] = [];
const freshDirectory = async (): Promise<string> => {
  const directory = await mkdtemp(join(tmpdir(), 'tabchain-level-'));
  directories.push(directory);
  return directory;
};
afterAll(async () => {
  await Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true })));
});

storeCompliance(
  'LevelDB (classic-level)',
  async () => openLevelStore(await freshDirectory()),
  async (store) => {
    const { directory } = store as LevelStore;
    await store.close();
    return openLevelStore(directory);
  },
  async (store, height) => {
    const { directory } = store as LevelStore;
    await store.close();
    const { serialize } = await import('node:v8');
    await withRaw(directory, (db) =>
      db.put(`g:${String(height).padStart(16, '0')}`, serialize({ height, forger: 42 })),
    );
    return openLevelStore(directory);
  },
);

/** A closed store in a fresh directory holding main-chain blocks 1..`height`. */
async function storedChain(height: number): Promise<string> {
  const directory = await freshDirectory();
  const store = await openLevelStore(directory);
  await appendMain(store, 1, height);
  await store.close();
  return directory;
}

/** Runs `body` on the raw LevelDB of `directory` (to tamper with it behind the store's back). */
async function withRaw(directory: string, body: (db: ClassicLevel<string, Uint8Array>) => Promise<void>) {
  const db = new ClassicLevel<string, Uint8Array>(directory, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open();
  try {
    await body(db);
  } finally {
    await db.close();
  }
}

async function withStore<T>(directory: string, body: (store: Store) => Promise<T>): Promise<T> {
  const store = await openLevelStore(directory);
  try {
    return await body(store);
  } finally {
    await store.close();
  }
}

const pad = (height: number): string => String(height).padStart(16, '0');

describe('LevelDB store: layout and lifecycle', () => {
  it('keeps heights in key order, so a range of blocks is one ordered scan', async () => {
    const directory = await storedChain(12);
    await withRaw(directory, async (db) => {
      const keys = await db.keys({ gte: 'h:', lt: 'h;' }).all();
      expect(keys).toEqual(heights(mainChain(), 1, 12).map((s) => `h:${pad(s.height)}`));
      const blockKeys = await db.keys({ gte: 'b:', lt: 'b;' }).all();
      expect(blockKeys).toEqual(keys.map((k) => `b${k.slice(1)}`));
    });
  });

  it('refuses a second open of the same directory with a clear StorageUnavailableError', async () => {
    const directory = await freshDirectory();
    const first = await openLevelStore(directory);
    try {
      const error = await openLevelStore(directory).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(StorageUnavailableError);
      expect((error as Error).message).toMatch(/another process/);
    } finally {
      await first.close();
    }
  });

  it('close waits for a write under way, and every call after close is refused', async () => {
    const directory = await freshDirectory();
    const store = await openLevelStore(directory);
    const writing = appendMain(store, 1, 40);
    await store.close();
    await writing;
    await expect(store.load()).rejects.toThrow(/closed/);
    await expect(store.savePool([])).rejects.toThrow(/closed/);
    // The write that was under way is on disk.
    const loaded = await withStore(directory, (again) => again.load());
    expect(loaded.head?.height).toBe(40);
  });

  it('refuses a database written by a newer layout and leaves it as it was', async () => {
    const directory = await storedChain(3);
    const { serialize } = await import('node:v8');
    await withRaw(directory, (db) => db.put('z:schema', serialize({ version: LEVEL_SCHEMA_VERSION + 1 })));
    await expect(openLevelStore(directory)).rejects.toThrow(/newer version/);
    await withRaw(directory, async (db) => {
      expect(await db.keys({ gte: 'b:', lt: 'b;' }).all()).toHaveLength(3);
    });
  });

  it('a layout-1 database gains the block aggregates, built from its stored blocks', async () => {
    const directory = await storedChain(12);
    const { serialize } = await import('node:v8');
    await withRaw(directory, async (db) => {
      for (const stored of await db.keys({ gte: 'g:', lt: 'g;' }).all()) await db.del(stored);
      await db.put('z:schema', serialize({ version: 1 }));
    });
    const read = await withStore(directory, (store) => store.readBlockAggregates(1, 12));
    // The stakes replayed from the blocks are the node's own.
    expect(read).toEqual({ aggregates: writeOf(mainChain(), 1, 12).aggregates, problem: null });
    const loaded = await withStore(directory, (store) => store.load());
    expect(loaded.blocks).toHaveLength(12);
    expect(loaded.notices).toEqual([]);
  });

  it('data without a layout record: the chain is cleared with a notice, the wallet kept', async () => {
    const directory = await storedChain(5);
    await withStore(directory, (store) => store.saveWallet(sampleWallet('erin')));
    await withRaw(directory, (db) => db.del('z:schema'));
    const loaded = await withStore(directory, (store) => store.load());
    expect(loaded).toMatchObject({ head: null, blocks: [], wallet: sampleWallet('erin') });
    expect(loaded.notices).toEqual([expect.stringMatching(/without a layout record/)]);
  });

  it('keeps a WebCrypto private key, non-extractable ones too, and it still signs', async () => {
    const directory = await freshDirectory();
    const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    const pair = await webcrypto.subtle.generateKey(
      { ...algorithm, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) },
      false,
      ['sign', 'verify'],
    );
    await withStore(directory, (store) =>
      store.saveWallet({ publicKeyPem: 'PEM', privateKey: pair.privateKey, extractable: false }),
    );
    const { wallet } = await withStore(directory, (store) => store.load());
    const key = wallet?.privateKey as CryptoKey;
    expect(key).toBeInstanceOf(CryptoKey);
    expect({ type: key.type, extractable: key.extractable, usages: key.usages }).toEqual({
      type: 'private',
      extractable: false,
      usages: ['sign'],
    });
    const message = new TextEncoder().encode('tabchain');
    const signature = await webcrypto.subtle.sign(algorithm, key, message);
    expect(await webcrypto.subtle.verify(algorithm, pair.publicKey, signature, message)).toBe(true);
  });
});

describe('LevelDB store: records read back are decoded, a damaged tail is cut', () => {
  it('a damaged block cuts the chain before it, removes the tail with its index, and says so', async () => {
    const directory = await storedChain(20);
    await withRaw(directory, (db) => db.put(`b:${pad(15)}`, new Uint8Array([0xff, 0x0f, 1, 2, 3])));
    const loaded = await withStore(directory, (store) => store.load());
    expect(loaded).toMatchObject({ ...expectedChain(heights(mainChain(), 1, 14)), accounts: null });
    expect(loaded.notices).toEqual([expect.stringMatching(/kept blocks 1–14 and removed 6 blocks/)]);
    await withStore(directory, async (store) => {
      // The cut is on disk: the next load is clean, and the index has lost the cut blocks' ids.
      const again = await store.load();
      expect(again.notices).toEqual([expect.stringMatching(/does not match the stored chain/)]);
      expect(await indexOf(store)).toEqual(expectedIndex(heights(mainChain(), 1, 14)));
      const cutTx = heights(mainChain(), 15, 20).flatMap((s) => s.block.transactions)[0];
      if (!cutTx) throw new Error('blocks 15-20 carry no transaction');
      expect(await store.readTransactionHeight(cutTx.id)).toBeUndefined();
      // It continues from the cut.
      await appendMain(store, 15, 20);
      expect(await store.load()).toMatchObject(expectedChain(heights(mainChain(), 1, 20)));
    });
  });

  it('a damaged account record drops the accounts (the node replays) and keeps the chain', async () => {
    const directory = await storedChain(10);
    await withRaw(directory, async (db) => {
      const [first] = await db.keys({ gte: 'a:', lt: 'a;', limit: 1 }).all();
      if (!first) throw new Error('no account stored');
      const { serialize } = await import('node:v8');
      await db.put(first, serialize({ publicKey: 'x', balance: 'lots' }));
    });
    const loaded = await withStore(directory, (store) => store.load());
    expect(loaded).toMatchObject({ ...expectedChain(heights(mainChain(), 1, 10)), accounts: null });
    expect(loaded.notices).toEqual([expect.stringMatching(/account state was damaged/)]);
  });

  it('a damaged pool entry keeps the entries before it; a damaged wallet is ignored; both are reported', async () => {
    const directory = await freshDirectory();
    const pool = samplePool(3);
    await withStore(directory, async (store) => {
      await store.savePool(pool);
      await store.saveWallet(sampleWallet('frank'));
    });
    await withRaw(directory, async (db) => {
      const { serialize } = await import('node:v8');
      await db.put('z:pool', serialize([...pool.slice(0, 2), { transaction: 'junk', receivedAt: 1 }]));
      await db.put('z:wallet', new Uint8Array([1, 2, 3]));
    });
    const loaded = await withStore(directory, (store) => store.load());
    expect(loaded.pool).toEqual(pool.slice(0, 2));
    expect(loaded.wallet).toBeNull();
    expect(loaded.notices).toEqual([
      expect.stringMatching(/pool entry 2 is damaged.*kept 2 pending transactions/),
      expect.stringMatching(/wallet record is damaged/),
    ]);
  });

  it('the head state survives reopening and matches the chain', async () => {
    const directory = await storedChain(40);
    const loaded = await withStore(directory, (store) => store.load());
    expect(await loadedHeadState(loaded)).toEqual(plainState(stateAt(40)));
  });
});
