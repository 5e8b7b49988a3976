/**
 * The one compliance suite of the `Store` port: every implementation (IndexedDB, in-memory) runs
 * it, so they cannot drift apart. Chains are real: the blocks of test/vectors/chain-long.json,
 * hashed with the core's `blockHash`, with states from the core's `applyBlock`; the writes are
 * the node's own (`chainWriteOf`), so what is tested is what a node writes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Set as ImmutableSet } from 'immutable';
import { describe, expect, it } from 'vitest';
import {
  applyBlock,
  type Block,
  blockHash,
  type ChainState,
  createBlock,
  genesisState,
  nextForgerOf,
} from '../../src/core';
import { runLotteryAtOnce } from '../../src/core/lottery';
import { createForgeProvider } from '../../src/crypto/forge';
import { accountRecords, chainWriteOf, checkpointOf, stateOfAccounts } from '../../src/node/persistence';
import {
  type AccountTxRecord,
  accountTxRecords,
  type ChainIndex,
  type ChainWrite,
  type CheckpointRecord,
  type Store,
  type StoredBlock,
  type StoredNode,
  type StoredPoolEntry,
  type WalletRecord,
} from '../../src/ports/store';
import { StoreWriteError } from '../../src/storage/write-checks';
import { type ChainVector, readVector, VECTOR_GENESIS_KEY } from '../helpers/vectors';

/** A chain as a store holds it: `blocks[i]` is height `first + i`, `states[i]` the state after it. */
export interface ChainFixture {
  readonly first: number;
  readonly blocks: readonly StoredBlock[];
  readonly states: readonly ChainState[];
}

/** Applies `blocks` from `state` (failing loudly: fixtures must be valid chains), hashing each. */
function extend(state: ChainState, blocks: readonly Block[]): ChainFixture {
  const stored: StoredBlock[] = [];
  const states: ChainState[] = [];
  let current = state;
  for (const block of blocks) {
    const next = applyBlock(current, block);
    if (!next.ok) throw new Error(`fixture block ${block.blockCount} is invalid: ${next.error.message}`);
    current = next.value;
    stored.push({ height: block.blockCount, hash: blockHash(block), block });
    states.push(current);
  }
  return { first: state.height + 1, blocks: stored, states };
}

let cached: ChainFixture | undefined;

/** The genesis state of the vectors' network. */
export function genesis(): ChainState {
  return genesisState({ genesisPublicKey: VECTOR_GENESIS_KEY() });
}

/** The 40 blocks of chain-long.json with their hashes and states. */
export function mainChain(): ChainFixture {
  if (!cached) {
    const { chain } = readVector<ChainVector>('chain-long.json');
    cached = extend(genesis(), (chain.blocks as Block[]).slice(1));
  }
  return cached;
}

/** The main chain's state after `height` (0: genesis). */
export function stateAt(height: number): ChainState {
  if (height === 0) return genesis();
  const state = mainChain().states[height - 1];
  if (!state) throw new Error(`no main-chain state at ${height}`);
  return state;
}

/**
 * A competing branch: `length` blocks after height `forkAfter` of the main chain, each forged by
 * its height's lottery winner (a branch of `from`, the main chain by default); the first `withTransactions` carry the main chain's next blocks'
 * transactions (so a reorg moves accounts both ways), the rest are empty.
 */
export function forkChain(
  forkAfter: number,
  length: number,
  withTransactions = 0,
  from: ChainFixture = mainChain(),
): ChainFixture {
  const base = fixtureState(from, forkAfter);
  const blocks: Block[] = [];
  let state = base;
  for (let i = 1; i <= length; i++) {
    const body =
      i <= withTransactions
        ? (heights(mainChain(), forkAfter + i, forkAfter + i)[0]?.block.transactions ?? [])
        : [];
    const block = createBlock(
      [...body],
      state.headHash,
      nextForgerOf(state),
      forkAfter + i,
      2_000_000_000 + i,
    );
    const next = applyBlock(state, block);
    if (!next.ok) throw new Error(next.error.message);
    blocks.push(block);
    state = next.value;
  }
  return extend(base, blocks);
}

let cachedLong: ChainFixture | undefined;

/** 560 empty blocks after main-chain block 40 (to height 600: two whole chunks of 256 and more). */
export function longChain(): ChainFixture {
  cachedLong ??= forkChain(40, 560);
  return cachedLong;
}

/** Blocks `from..to` (heights, inclusive) of a fixture. */
export function heights(fixture: ChainFixture, from: number, to: number): StoredBlock[] {
  return fixture.blocks.slice(from - fixture.first, to - fixture.first + 1);
}

/** A fixture's state after `height`. */
export function fixtureState(fixture: ChainFixture, height: number): ChainState {
  if (height === fixture.first - 1) return height === 0 ? genesis() : stateAt(height);
  const state = fixture.states[height - fixture.first];
  if (!state) throw new Error(`no fixture state at ${height}`);
  return state;
}

/**
 * The node's write for blocks `from..to` of `fixture` over a stored chain whose tip is
 * `storedTip` (blocks above `from - 1` are orphaned: taken from `previous`).
 */
export function writeOf(
  fixture: ChainFixture,
  from: number,
  to: number,
  previous: { fixture: ChainFixture; tip: number } | null = null,
): ChainWrite {
  const blocks = heights(fixture, from, to);
  const orphaned = previous ? heights(previous.fixture, from, previous.tip).map((s) => s.block) : [];
  return chainWriteOf({
    forkHeight: from - 1,
    orphaned,
    blocks: blocks.map((s) => s.block),
    states: blocks.map((s) => fixtureState(fixture, s.height)),
    head: fixtureState(fixture, to < from ? from - 1 : to),
  });
}

/** Writes main-chain blocks 1..`height` in one append. */
export async function appendMain(store: Store, from: number, to: number): Promise<void> {
  await store.writeChain(writeOf(mainChain(), from, to));
}

/** A structured-clone copy with `field` replaced, for building bad inputs from good ones. */
function withField<T extends object>(value: T, field: string, replacement: unknown): T {
  return { ...structuredClone(value), [field]: replacement };
}

/** A pool of `n` real transactions from the main chain. */
export function samplePool(n: number): StoredPoolEntry[] {
  const txs = mainChain().blocks.flatMap((stored) => stored.block.transactions);
  // A copy: tests scribble on what they write, and the fixture is shared.
  return structuredClone(txs.slice(0, n)).map((transaction, i) => ({
    transaction,
    receivedAt: 1_700_000_000_000 + i,
  }));
}

/** A wallet record whose private key is a plain object (fake-indexeddb cannot be trusted with every host object). */
export function sampleWallet(label: string): WalletRecord {
  return {
    publicKeyPem: `-----BEGIN PUBLIC KEY-----\n${label}\n-----END PUBLIC KEY-----`,
    // Plain data: under jsdom, structuredClone returns typed arrays of another realm than the test's.
    privateKey: { kind: 'test-key', label, parts: [1, 2, 3] },
    extractable: false,
  };
}

/** Changes every object and array reachable from `value` in place (to prove stored data is a copy). */
function scribble(value: unknown): void {
  if (Array.isArray(value)) {
    for (const item of value) scribble(item);
    value.push('scribbled');
  } else if (typeof value === 'object' && value !== null) {
    for (const item of Object.values(value)) scribble(item);
    (value as Record<string, unknown>).scribbled = true;
  }
}

/** The head state a load describes (from its account records), as comparable plain data. */
export async function loadedHeadState(loaded: StoredNode): Promise<{
  height: number;
  hash: string;
  balances: unknown;
  stakes: unknown;
}> {
  if (!loaded.accounts) throw new Error('the load has no accounts');
  const head = loaded.head ?? { height: 0, hash: genesis().headHash };
  const state = await stateOfAccounts(genesis(), head, loaded.accounts, ImmutableSet(), runLotteryAtOnce);
  return plainState(state);
}

/** A state as comparable data: balances sorted by key, stakes in lottery order. */
export function plainState(state: ChainState): {
  height: number;
  hash: string;
  balances: unknown;
  stakes: unknown;
} {
  return {
    height: state.height,
    hash: state.headHash,
    balances: [...state.balances.entries()].sort(([a], [b]) => (a < b ? -1 : 1)),
    stakes: [...state.stakes.entries()],
  };
}

/** What a chain of `fixture` blocks up to `tip` loads as, with every block loaded (no checkpoint base). */
export function expectedChain(
  blocks: readonly StoredBlock[],
  base: CheckpointRecord | null = null,
): Pick<StoredNode, 'head' | 'base' | 'blocks'> {
  const last = blocks[blocks.length - 1];
  return {
    head: last ? { height: last.height, hash: last.hash } : null,
    base,
    blocks: blocks.slice(base?.height ?? 0),
  };
}

/** The chain index of a store holding `blocks`: every hash, every id (sorted), no problem. */
export function expectedIndex(blocks: readonly StoredBlock[]): ChainIndex {
  return {
    hashes: blocks.map((s) => s.hash),
    txIds: blocks.flatMap((s) => s.block.transactions.map((tx) => tx.id)).sort(),
    problem: null,
  };
}

/** The store's chain index up to `to` (its whole chain by default), ids sorted. */
export async function indexOf(store: Store, to = Number.MAX_SAFE_INTEGER): Promise<ChainIndex> {
  const index = await store.readChainIndex(to);
  return { ...index, txIds: [...index.txIds].sort() };
}

/** Expects the store to hold `blocks` (all loaded) with the head state `state`. */
async function expectChain(
  store: Store,
  blocks: readonly StoredBlock[],
  state: ChainState,
): Promise<StoredNode> {
  const loaded = await store.load();
  expect({ ...loaded, accounts: null, pool: [], wallet: null, notices: [] }).toEqual({
    ...expectedChain(blocks),
    accounts: null,
    pool: [],
    wallet: null,
    notices: [],
  });
  expect(await loadedHeadState(loaded)).toEqual(plainState(state));
  expect(await indexOf(store)).toEqual(expectedIndex(blocks));
  return loaded;
}

/** Expects `write` to reject with a `StoreWriteError` of `code` and the store to be unchanged. */
async function expectRefused(store: Store, code: string, write: () => Promise<void>): Promise<void> {
  const before = await store.load();
  const error = await write().then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StoreWriteError);
  expect((error as StoreWriteError).code).toBe(code);
  expect(await store.load()).toEqual(before);
}

/**
 * Registers the compliance tests for a `Store` implementation. `makeStore` returns a new, empty
 * store each call; `reopen`, where the store persists, closes it and opens the same data again.
 */
export function storeCompliance(
  name: string,
  makeStore: () => Promise<Store>,
  reopen?: (store: Store) => Promise<Store>,
  /** Where records persist: closes `store`, damages block `height`'s aggregate record(s), reopens. */
  damageAggregate?: (store: Store, height: number) => Promise<Store>,
): void {
  describe(`Store compliance: ${name}`, () => {
    const withStore = (fn: (store: Store) => Promise<void>) => async () => {
      const store = await makeStore();
      try {
        await fn(store);
      } finally {
        await store.close();
      }
    };
    const main = mainChain;

    it(
      'an empty store loads genesis alone, with no pool, wallet or notices',
      withStore(async (store) => {
        expect(await store.load()).toEqual({
          head: null,
          base: null,
          blocks: [],
          accounts: [],
          pool: [],
          wallet: null,
          notices: [],
        });
      }),
    );

    it(
      'a write then load returns the blocks, hashes, ids, head state, pool and wallet',
      withStore(async (store) => {
        const pool = samplePool(3);
        const wallet = sampleWallet('alice');
        await appendMain(store, 1, 40);
        await store.savePool(pool);
        await store.saveWallet(wallet);
        const loaded = await store.load();
        expect(loaded).toMatchObject({ ...expectedChain(heights(main(), 1, 40)), pool, wallet, notices: [] });
        expect(await loadedHeadState(loaded)).toEqual(plainState(stateAt(40)));
        // What grows with the chain comes apart from the load: every hash and id up to a height.
        expect(await indexOf(store)).toEqual(expectedIndex(heights(main(), 1, 40)));
        expect(await indexOf(store, 17)).toEqual(expectedIndex(heights(main(), 1, 17)));
        expect(await indexOf(store, 0)).toEqual(expectedIndex([]));
      }),
    );

    it(
      'each write stores only the accounts its blocks touched, and they add up to the head state',
      withStore(async (store) => {
        for (const [from, to] of [
          [1, 1],
          [2, 25],
          [26, 40],
        ] as const) {
          const write = writeOf(main(), from, to);
          const touched = new Set(
            heights(main(), from, to).flatMap((s) =>
              s.block.transactions.flatMap((tx) => [tx.senderPublicKey, tx.receiverPublicKey]),
            ),
          );
          expect(new Set(write.accounts.map((a) => a.publicKey))).toEqual(touched);
          expect(write.resetAccounts).toBe(false);
          await store.writeChain(write);
          await expectChain(store, heights(main(), 1, to), stateAt(to));
        }
        // A write with no account records leaves the stored accounts as they were.
        const before = (await store.load()).accounts;
        await store.writeChain({ ...writeOf(main(), 41, 40), accounts: [] });
        expect((await store.load()).accounts).toEqual(before);
      }),
    );

    it(
      'a write with no blocks may reset the accounts to a whole state',
      withStore(async (store) => {
        await appendMain(store, 1, 10);
        const state = stateAt(10);
        const all = accountRecords(state, new Set([...state.balances.keys(), ...state.stakes.keys()]));
        await store.writeChain({ ...writeOf(main(), 11, 10), accounts: all, resetAccounts: true });
        const loaded = await expectChain(store, heights(main(), 1, 10), state);
        expect(loaded.accounts).toHaveLength(all.length);
        await expectRefused(store, 'BAD_HEAD', () =>
          store.writeChain({ ...writeOf(main(), 11, 10), head: { height: 9, hash: stateAt(9).headHash } }),
        );
      }),
    );

    it(
      'a write that does not start at the stored height + 1 (or below) is refused and changes nothing',
      withStore(async (store) => {
        await expectRefused(store, 'BAD_FROM_HEIGHT', () => store.writeChain(writeOf(main(), 2, 3)));
        await appendMain(store, 1, 10);
        await expectRefused(store, 'BAD_FROM_HEIGHT', () => store.writeChain(writeOf(main(), 12, 12)));
        const eleven = heights(main(), 11, 11)[0] as StoredBlock;
        await expectRefused(store, 'BAD_HEIGHT', () =>
          store.writeChain({ ...writeOf(main(), 11, 11), blocks: [withField(eleven, 'height', 12)] }),
        );
        // A batch that skips a height halfway writes none of it.
        const skipping = [...heights(main(), 11, 12), ...heights(main(), 14, 14)];
        await expectRefused(store, 'BAD_HEIGHT', () =>
          store.writeChain({ ...writeOf(main(), 11, 14), blocks: skipping }),
        );
        for (const fromHeight of [0, -1, 12, 1.5, Number.NaN]) {
          await expectRefused(store, 'BAD_FROM_HEIGHT', () =>
            store.writeChain({ ...writeOf(main(), 11, 11), fromHeight }),
          );
        }
      }),
    );

    it(
      'a write whose lastHash does not link, or whose head is not its tip, is refused and changes nothing',
      withStore(async (store) => {
        await appendMain(store, 1, 10);
        const eleven = heights(main(), 11, 11)[0] as StoredBlock;
        const unlinked = withField(eleven, 'block', { ...eleven.block, lastHash: '00'.repeat(32) });
        await expectRefused(store, 'BAD_LINK', () =>
          store.writeChain({ ...writeOf(main(), 11, 11), blocks: [unlinked] }),
        );
        const [b11, b12, b13] = heights(main(), 11, 13) as [StoredBlock, StoredBlock, StoredBlock];
        const broken = withField(b13, 'block', { ...b13.block, lastHash: b11.hash });
        await expectRefused(store, 'BAD_LINK', () =>
          store.writeChain({ ...writeOf(main(), 11, 13), blocks: [b11, b12, broken] }),
        );
        // A block of a competing branch does not link at the main chain's height 10 either.
        await expectRefused(store, 'BAD_LINK', () => store.writeChain(writeOf(forkChain(9, 3), 11, 11)));
        await expectRefused(store, 'BAD_HEAD', () =>
          store.writeChain({ ...writeOf(main(), 11, 12), head: { height: 11, hash: b11.hash } }),
        );
      }),
    );

    it(
      'a reorg deletes the tail, writes the branch and restores the accounts exactly, in one write',
      withStore(async (store) => {
        await appendMain(store, 1, 40);
        // The branch carries blocks 31..33's transactions, then empty blocks: accounts move back.
        const fork = forkChain(30, 14, 3);
        const toFork = writeOf(fork, 31, 44, { fixture: main(), tip: 40 });
        await store.writeChain(toFork);
        await expectChain(store, [...heights(main(), 1, 30), ...fork.blocks], fixtureState(fork, 44));
        // And back: the main chain's tail replaces the branch.
        await store.writeChain(writeOf(main(), 31, 40, { fixture: fork, tip: 44 }));
        await expectChain(store, heights(main(), 1, 40), stateAt(40));
        // A reorg whose orphaned blocks are not all known rewrites every account.
        const deep = { ...writeOf(forkChain(20, 21), 21, 41, { fixture: main(), tip: 40 }) };
        const partial = chainWriteOf({
          forkHeight: 20,
          orphaned: heights(main(), 35, 40).map((s) => s.block),
          blocks: forkChain(20, 21).blocks.map((s) => s.block),
          states: forkChain(20, 21).states,
          head: fixtureState(forkChain(20, 21), 41),
        });
        expect(partial.resetAccounts).toBe(true);
        expect(deep.resetAccounts).toBe(false);
        await store.writeChain(partial);
        await expectChain(
          store,
          [...heights(main(), 1, 20), ...forkChain(20, 21).blocks],
          fixtureState(forkChain(20, 21), 41),
        );
      }),
    );

    it(
      'a write from height 1 with no blocks returns to genesis',
      withStore(async (store) => {
        await appendMain(store, 1, 5);
        await store.writeChain(writeOf(main(), 4, 3, { fixture: main(), tip: 5 }));
        await expectChain(store, heights(main(), 1, 3), stateAt(3));
        await store.writeChain(writeOf(main(), 1, 0, { fixture: main(), tip: 3 }));
        await expectChain(store, [], genesis());
        await appendMain(store, 1, 2);
        await expectChain(store, heights(main(), 1, 2), stateAt(2));
      }),
    );

    it(
      'checkpoints: kept where written, chosen as the load base, cut by a reorg, checked on write',
      withStore(async (store) => {
        const checkpoints = [10, 20, 30].map((h) => checkpointOf(stateAt(h)));
        await store.writeChain({ ...writeOf(main(), 1, 40), checkpoints });
        // The base is the newest checkpoint at least `recentBlocks` below the tip.
        const recent5 = await store.load({ recentBlocks: 5 });
        expect(recent5).toMatchObject(expectedChain(heights(main(), 1, 40), checkpoints[2]));
        expect(recent5.blocks.map((s) => s.height)).toEqual(heights(main(), 31, 40).map((s) => s.height));
        // The index still has every hash and id, those below the base too.
        expect(await indexOf(store)).toEqual(expectedIndex(heights(main(), 1, 40)));
        expect((await store.load({ recentBlocks: 15 })).base).toEqual(checkpoints[1]);
        expect((await store.load({ recentBlocks: 40 })).base).toBeNull();
        expect(await store.readCheckpoint(25)).toEqual(checkpoints[1]);
        expect(await store.readCheckpoint(30)).toEqual(checkpoints[2]);
        expect(await store.readCheckpoint(9)).toBeNull();
        // A reorg from 21 removes the checkpoint at 30 with the blocks.
        await store.writeChain(writeOf(forkChain(20, 22), 21, 42, { fixture: main(), tip: 40 }));
        expect(await store.readCheckpoint(40)).toEqual(checkpoints[1]);
        // A checkpoint must be for a block of the chain after the write.
        await expectRefused(store, 'BAD_CHECKPOINT', () =>
          store.writeChain({
            ...writeOf(forkChain(20, 22), 43, 42),
            checkpoints: [checkpointOf(stateAt(30))],
          }),
        );
        await expectRefused(store, 'BAD_CHECKPOINT', () =>
          store.writeChain({
            ...writeOf(forkChain(20, 22), 43, 42),
            checkpoints: [{ ...checkpointOf(fixtureState(forkChain(20, 22), 42)), height: 43 }],
          }),
        );
        // Backfilling a checkpoint below the tip, as a node does after a migration.
        const at15 = checkpointOf(stateAt(15));
        await store.writeChain({ ...writeOf(forkChain(20, 22), 43, 42), checkpoints: [at15] });
        expect(await store.readCheckpoint(19)).toEqual(at15);
      }),
    );

    it(
      'lazy reads: block ranges (clamped), a transaction height, the ids of a range',
      withStore(async (store) => {
        expect(await store.readBlocks(1, 10)).toEqual({ blocks: [], problem: null });
        await appendMain(store, 1, 40);
        expect(await store.readBlocks(5, 12)).toEqual({ blocks: heights(main(), 5, 12), problem: null });
        expect(await store.readBlocks(-3, 2)).toEqual({ blocks: heights(main(), 1, 2), problem: null });
        expect(await store.readBlocks(39, 100)).toEqual({ blocks: heights(main(), 39, 40), problem: null });
        expect(await store.readBlocks(12, 5)).toEqual({ blocks: [], problem: null });
        const [tx] = heights(main(), 7, 7)[0]?.block.transactions ?? [];
        if (!tx) throw new Error('block 7 has no transaction');
        expect(await store.readTransactionHeight(tx.id)).toBe(7);
        expect(await store.readTransactionHeight('0'.repeat(32))).toBeUndefined();
        const ids = (from: number, to: number) =>
          heights(main(), from, to).flatMap((s) => s.block.transactions.map((t) => t.id).sort());
        expect(await store.readTransactionIds(3, 6)).toEqual(ids(3, 6));
        expect(await store.readTransactionIds(6, 3)).toEqual([]);
        // After a reorg the orphaned transactions are gone from the index.
        await store.writeChain(writeOf(main(), 7, 6, { fixture: main(), tip: 40 }));
        expect(await store.readTransactionHeight(tx.id)).toBeUndefined();
        expect(await store.readBlocks(1, 40)).toEqual({ blocks: heights(main(), 1, 6), problem: null });
      }),
    );

    it(
      'a write that fails midway (a value that cannot be cloned) changes nothing',
      withStore(async (store) => {
        await appendMain(store, 1, 10);
        const [b11, b12, b13] = heights(main(), 11, 13) as [StoredBlock, StoredBlock, StoredBlock];
        // Block 12 carries a function: structured clone refuses it after block 11 was queued.
        const uncloneable = {
          ...b12,
          block: { ...b12.block, signature: () => 'not data' },
        } as unknown as StoredBlock;
        const before = await store.load();
        await expect(
          store.writeChain({ ...writeOf(main(), 11, 13), blocks: [b11, uncloneable, b13] }),
        ).rejects.toThrow();
        expect(await store.load()).toEqual(before);
        // A reorg that fails midway keeps the old tail.
        const fork = forkChain(5, 3);
        const write = writeOf(fork, 6, 8, { fixture: main(), tip: 10 });
        const badFork = [
          write.blocks[0],
          { ...write.blocks[1], block: { ...(write.blocks[1] as StoredBlock).block, forger: () => 'x' } },
          write.blocks[2],
        ] as unknown as StoredBlock[];
        await expect(store.writeChain({ ...write, blocks: badFork })).rejects.toThrow();
        expect(await store.load()).toEqual(before);
        // The store still takes good writes afterwards.
        await appendMain(store, 11, 13);
        expect((await store.load()).head?.height).toBe(13);
        expect((await store.readChainIndex(20)).hashes).toHaveLength(13);
      }),
    );

    it(
      'the pool is saved, replaced and emptied',
      withStore(async (store) => {
        const pool = samplePool(4);
        await store.savePool(pool);
        expect((await store.load()).pool).toEqual(pool);
        await store.savePool(pool.slice(2));
        expect((await store.load()).pool).toEqual(pool.slice(2));
        await store.savePool([]);
        expect((await store.load()).pool).toEqual([]);
      }),
    );

    it(
      'the wallet is saved, replaced and forgotten, independently of the chain',
      withStore(async (store) => {
        await store.saveWallet(sampleWallet('alice'));
        await appendMain(store, 1, 3);
        expect((await store.load()).wallet).toEqual(sampleWallet('alice'));
        await store.saveWallet({ ...sampleWallet('bob'), extractable: true });
        expect((await store.load()).wallet).toEqual({ ...sampleWallet('bob'), extractable: true });
        await store.saveWallet(null);
        expect((await store.load()).wallet).toBeNull();
        await expectChain(store, heights(main(), 1, 3), stateAt(3));
      }),
    );

    it('a node-forge wallet (its PKCS#8 bytes) is kept, and the restored key still signs for its account', async () => {
      // The fallback for pages without WebCrypto: its key handle is plain bytes, so it survives
      // structured clone (IndexedDB), v8 serialization (LevelDB) and a reopen.
      const forge = createForgeProvider();
      const pem = readFileSync(join(import.meta.dirname, '../../public/keys/stakerPrivateKey.pem'), 'utf8');
      const keyPair = await forge.importPrivateKeyPem(pem, { extractable: false });
      let store = await makeStore();
      try {
        await store.saveWallet({ ...keyPair });
        if (reopen) store = await reopen(store);
        const wallet = (await store.load()).wallet;
        expect(wallet).toMatchObject({ publicKeyPem: keyPair.publicKeyPem, extractable: false });
        expect(wallet?.privateKey).toMatchObject({ format: 'pkcs8' });
        // A fresh provider, as after a reload: it parses the stored bytes.
        const reloaded = createForgeProvider();
        const restored = { ...(wallet as WalletRecord) };
        const message = new TextEncoder().encode('signed after a reload');
        const signature = await reloaded.sign(restored, message);
        expect(signature).toBe(await forge.sign(keyPair, message));
        expect(await reloaded.verify(keyPair.publicKeyPem, message, signature)).toBe(true);
        // Stored non-extractable: export stays refused, as before the reload.
        await expect(reloaded.exportPrivateKeyPem(restored)).rejects.toThrow(/not extractable/);
      } finally {
        await store.close();
      }
    });

    it(
      'values read back and values written are copies: mutating them changes nothing stored',
      withStore(async (store) => {
        const write = structuredClone(writeOf(main(), 1, 12));
        const pool = samplePool(2);
        const wallet = sampleWallet('carol');
        await store.writeChain(write);
        await store.savePool(pool);
        await store.saveWallet(wallet);
        const want = await store.load();
        scribble(write);
        scribble(pool);
        scribble(wallet);
        expect(await store.load()).toEqual(want);
        scribble(await store.load());
        scribble(await store.readBlocks(1, 12));
        expect(await store.load()).toEqual(want);
      }),
    );

    /** Every history line of `publicKey` over `blocks`, newest first, computed here from the blocks. */
    const linesOf = (blocks: readonly StoredBlock[], publicKey: string): AccountTxRecord[] =>
      accountTxRecords(blocks)
        .filter((line) => line.publicKey === publicKey)
        .sort((a, b) => b.height - a.height || b.txIndex - a.txIndex);
    /** The key that appears in the most main-chain transactions. */
    const busiestKey = (): string => {
      const counts = new Map<string, number>();
      for (const line of accountTxRecords(main().blocks))
        counts.set(line.publicKey, (counts.get(line.publicKey) ?? 0) + 1);
      return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
    };
    /** Reads the whole history of `publicKey` in pages of `size`. */
    const allPages = async (store: Store, publicKey: string, size: number): Promise<AccountTxRecord[][]> => {
      const pages: AccountTxRecord[][] = [];
      let before: { height: number; txIndex: number } | undefined;
      for (;;) {
        const page = await store.readAccountHistory(publicKey, {
          limit: size,
          ...(before ? { before } : {}),
        });
        if (page.length === 0) return pages;
        pages.push([...page]);
        const last = page[page.length - 1] as AccountTxRecord;
        before = { height: last.height, txIndex: last.txIndex };
      }
    };

    it(
      'account history: an append adds each transaction to its sender and receiver, newest first',
      withStore(async (store) => {
        const key = busiestKey();
        expect(await store.readAccountHistory(key, { limit: 10 })).toEqual([]);
        await appendMain(store, 1, 20);
        await appendMain(store, 21, 40);
        const want = linesOf(main().blocks, key);
        expect(want.length).toBeGreaterThan(3);
        expect(await store.readAccountHistory(key, { limit: 1000 })).toEqual(want);
        const tx = main()
          .blocks.flatMap((s) => s.block.transactions)
          .find((t) => t.senderPublicKey !== t.receiverPublicKey);
        if (!tx) throw new Error('the fixture has no transfer between two accounts');
        const sent = await store.readAccountHistory(tx.senderPublicKey, { limit: 1000 });
        const received = await store.readAccountHistory(tx.receiverPublicKey, { limit: 1000 });
        expect(sent).toContainEqual(
          expect.objectContaining({
            id: tx.id,
            direction: 'out',
            counterparty: tx.receiverPublicKey,
            amount: tx.amount,
          }),
        );
        expect(received).toContainEqual(
          expect.objectContaining({ id: tx.id, direction: 'in', counterparty: tx.senderPublicKey }),
        );
        expect(await store.readAccountHistory('nobody', { limit: 10 })).toEqual([]);
      }),
    );

    it(
      'account history pages: each page continues strictly before the last line of the previous one',
      withStore(async (store) => {
        const key = busiestKey();
        await appendMain(store, 1, 40);
        const want = linesOf(main().blocks, key);
        const pages = await allPages(store, key, 3);
        expect(pages.every((page) => page.length <= 3)).toBe(true);
        expect(pages.length).toBe(Math.ceil(want.length / 3));
        expect(pages.flat()).toEqual(want);
        expect(await store.readAccountHistory(key, { limit: 0 })).toEqual([]);
      }),
    );

    it(
      "account history after a reorg: the cut blocks' lines go, the new branch's come, and back again",
      withStore(async (store) => {
        await appendMain(store, 1, 30);
        // The fork carries the main chain's blocks 21-22 transactions and then empty blocks.
        const fork = forkChain(20, 4, 2);
        await store.writeChain(writeOf(fork, 21, 24, { fixture: main(), tip: 30 }));
        const onFork = [...heights(main(), 1, 20), ...fork.blocks];
        const keys = new Set(accountTxRecords(main().blocks).map((line) => line.publicKey));
        for (const key of keys) {
          expect(await store.readAccountHistory(key, { limit: 1000 })).toEqual(linesOf(onFork, key));
        }
        const cut = heights(main(), 23, 30).flatMap((s) => s.block.transactions.map((t) => t.id));
        expect(cut.length).toBeGreaterThan(0);
        const listed = (
          await Promise.all([...keys].map((key) => store.readAccountHistory(key, { limit: 1000 })))
        ).flat();
        expect(listed.filter((line) => cut.includes(line.id))).toEqual([]);
        await store.writeChain(writeOf(main(), 21, 40, { fixture: fork, tip: 24 }));
        for (const key of keys) {
          expect(await store.readAccountHistory(key, { limit: 1000 })).toEqual(linesOf(main().blocks, key));
        }
      }),
    );

    it(
      'my transactions: saved, read back in order, replaced by the next save',
      withStore(async (store) => {
        expect(await store.readMyTransactions()).toEqual([]);
        const mine = samplePool(3).map(({ transaction }, i) => ({
          id: transaction.id,
          type: transaction.type as 'TRANSFER',
          amount: transaction.amount,
          receiverPublicKey: transaction.receiverPublicKey,
          sentAt: 1_700_000_000_000 + i,
          transaction,
        }));
        await store.saveMyTransactions(mine);
        expect(await store.readMyTransactions()).toEqual(mine);
        await store.saveMyTransactions(mine.slice(1));
        expect(await store.readMyTransactions()).toEqual(mine.slice(1));
      }),
    );

    it(
      'block aggregates: one per block, from the blocks and states written; an append adds, a reorg cuts',
      withStore(async (store) => {
        await appendMain(store, 1, 30);
        const aggregatesOf = (fixture: ChainFixture, from: number, to: number) =>
          writeOf(fixture, from, to).aggregates;
        const want = aggregatesOf(main(), 1, 30);
        expect(want.map((a) => a.height)).toEqual(heights(main(), 1, 30).map((s) => s.height));
        // What each aggregate says is the block's and the state's after it.
        for (const [i, aggregate] of want.entries()) {
          const { block } = heights(main(), i + 1, i + 1)[0] as StoredBlock;
          const stakers = block.transactions
            .filter((tx) => tx.type === 'STAKE')
            .map((tx) => tx.senderPublicKey);
          expect(aggregate).toMatchObject({ txCount: block.transactions.length, forger: block.forger });
          expect(aggregate.stakeChanges).toEqual(
            [...new Set(stakers)].map((key) => [key, stateAt(i + 1).stakes.get(key)]),
          );
          expect(aggregate.propagationMs).toBeNull();
        }
        expect(want.some((a) => a.stakeChanges.length > 0)).toBe(true);
        expect(await store.readBlockAggregates(1, 30)).toEqual({ aggregates: want, problem: null });
        expect(await store.readBlockAggregates(5, 7)).toEqual({
          aggregates: want.slice(4, 7),
          problem: null,
        });
        // Clamped to 1..tip.
        expect(await store.readBlockAggregates(-3, 99)).toEqual({ aggregates: want, problem: null });
        expect(await store.readBlockAggregates(31, 40)).toEqual({ aggregates: [], problem: null });
        await appendMain(store, 31, 40);
        expect((await store.readBlockAggregates(1, 40)).aggregates).toEqual(aggregatesOf(main(), 1, 40));
        // A reorg at 21 cuts 21..40 and writes the branch's.
        const fork = forkChain(20, 4, 2);
        await store.writeChain(writeOf(fork, 21, 24, { fixture: main(), tip: 40 }));
        expect(await store.readBlockAggregates(1, 40)).toEqual({
          aggregates: [...aggregatesOf(main(), 1, 20), ...aggregatesOf(fork, 21, 24)],
          problem: null,
        });
      }),
    );

    it(
      'block aggregates across whole chunks of 256 blocks, cut by a reorg inside a chunk',
      withStore(async (store) => {
        const long = longChain();
        await appendMain(store, 1, 40);
        await store.writeChain(writeOf(long, 41, 300));
        await store.writeChain(writeOf(long, 301, 600));
        const all = [...writeOf(main(), 1, 40).aggregates, ...writeOf(long, 41, 600).aggregates];
        expect(await store.readBlockAggregates(1, 600)).toEqual({ aggregates: all, problem: null });
        expect((await store.readBlockAggregates(250, 520)).aggregates).toEqual(all.slice(249, 520));
        // A reorg inside the second chunk (257..512): the chunk goes, the aggregates below stay.
        const branch = forkChain(400, 3, 0, long);
        await store.writeChain(writeOf(branch, 401, 403, { fixture: long, tip: 600 }));
        expect(await store.readBlockAggregates(1, 600)).toEqual({
          aggregates: [...all.slice(0, 400), ...writeOf(branch, 401, 403).aggregates],
          problem: null,
        });
      }),
    );

    it(
      'a write whose aggregates are not one per block is refused and changes nothing',
      withStore(async (store) => {
        await appendMain(store, 1, 10);
        const write = writeOf(main(), 11, 12);
        for (const aggregates of [[], write.aggregates.slice(0, 1), [...write.aggregates].reverse()]) {
          await expect(store.writeChain({ ...write, aggregates })).rejects.toMatchObject({
            code: 'BAD_AGGREGATE',
          });
        }
        expect((await store.readBlockAggregates(1, 20)).aggregates).toEqual(
          writeOf(main(), 1, 10).aggregates,
        );
      }),
    );

    if (damageAggregate) {
      it('a damaged aggregate record is reported, with the aggregates before it', async () => {
        let store = await makeStore();
        try {
          await appendMain(store, 1, 30);
          store = await damageAggregate(store, 12);
          const read = await store.readBlockAggregates(1, 30);
          expect(read.aggregates).toEqual(writeOf(main(), 1, 11).aggregates);
          expect(read.problem).toMatch(/aggregates from block 12.*damaged/);
          // The chain itself is untouched: the aggregates are a view of it.
          expect((await store.load()).blocks).toHaveLength(30);
        } finally {
          await store.close();
        }
      });
    }

    if (reopen) {
      it('closing and opening again keeps everything', async () => {
        let store = await makeStore();
        try {
          await appendMain(store, 1, 30);
          const fork = forkChain(20, 4, 2);
          await store.writeChain(writeOf(fork, 21, 24, { fixture: main(), tip: 30 }));
          await store.savePool(samplePool(5));
          await store.saveWallet(sampleWallet('dave'));
          const key = busiestKey();
          const history = await store.readAccountHistory(key, { limit: 1000 });
          expect(history.length).toBeGreaterThan(0);
          const want = await store.load();
          expect(await loadedHeadState(want)).toEqual(plainState(fixtureState(fork, 24)));
          const aggregates = await store.readBlockAggregates(1, 30);
          expect(aggregates.aggregates).toHaveLength(24);
          store = await reopen(store);
          expect(await store.load()).toEqual(want);
          expect(await store.readAccountHistory(key, { limit: 1000 })).toEqual(history);
          expect(await store.readBlockAggregates(1, 30)).toEqual(aggregates);
          // The reopened store continues the stored chain.
          await store.writeChain(writeOf(main(), 21, 40, { fixture: fork, tip: 24 }));
          store = await reopen(store);
          await expectChain(store, heights(main(), 1, 40), stateAt(40));
        } finally {
          await store.close();
        }
      });
    }
  });
}
