/**
 * The one compliance suite of the `Store` port: every implementation (IndexedDB, in-memory) runs
 * it, so they cannot drift apart. Chains are real: the blocks of test/vectors/chain-long.json,
 * hashed with the core's `blockHash`, with head states from the core's `applyBlock`.
 */
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
import type {
  HeadRecord,
  Store,
  StoredBlock,
  StoredNode,
  StoredPoolEntry,
  WalletRecord,
} from '../../src/ports/store';
import { StoreWriteError } from '../../src/storage/write-checks';
import { type ChainVector, readVector, VECTOR_GENESIS_KEY } from '../helpers/vectors';

/** A chain as a store holds it: `blocks[i]` is height i + 1, `heads[h]` the state after height h. */
export interface ChainFixture {
  readonly blocks: readonly StoredBlock[];
  readonly heads: readonly HeadRecord[];
}

/** The head record of a core state. */
export function headRecordOf(state: ChainState): HeadRecord {
  return {
    height: state.height,
    hash: state.headHash,
    balances: [...state.balances.entries()],
    stakes: [...state.stakes.entries()],
  };
}

/** Applies `blocks` from `state` (failing loudly: fixtures must be valid chains), hashing each. */
function extend(
  state: ChainState,
  blocks: readonly Block[],
): { stored: StoredBlock[]; states: ChainState[] } {
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
  return { stored, states };
}

let cached: { main: ChainFixture; states: ChainState[] } | undefined;

/** The 40 blocks of chain-long.json with their hashes and head states (`heads[0]` is genesis). */
export function mainChain(): ChainFixture {
  if (!cached) {
    const { chain } = readVector<ChainVector>('chain-long.json');
    const genesis = genesisState({ genesisPublicKey: VECTOR_GENESIS_KEY() });
    const { stored, states } = extend(genesis, (chain.blocks as Block[]).slice(1));
    cached = {
      main: { blocks: stored, heads: [genesis, ...states].map(headRecordOf) },
      states: [genesis, ...states],
    };
  }
  return cached.main;
}

/**
 * A competing branch: `length` empty blocks forged by each height's lottery winner after height
 * `forkAfter` of the main chain, so it is valid, links by real hashes, and differs from the main
 * chain from height `forkAfter + 1` on.
 */
export function forkChain(forkAfter: number, length: number): ChainFixture {
  mainChain();
  const base = cached?.states[forkAfter];
  if (!base) throw new Error(`no main-chain state at height ${forkAfter}`);
  const blocks: Block[] = [];
  let state = base;
  for (let i = 1; i <= length; i++) {
    const block = createBlock([], state.headHash, nextForgerOf(state), forkAfter + i, 2_000_000_000 + i);
    const next = applyBlock(state, block);
    if (!next.ok) throw new Error(next.error.message);
    blocks.push(block);
    state = next.value;
  }
  const { stored, states } = extend(base, blocks);
  return { blocks: stored, heads: [headRecordOf(base), ...states.map(headRecordOf)] };
}

/** Blocks `from..to` (heights, inclusive) of a fixture whose first block is height `first`. */
export function heights(fixture: ChainFixture, from: number, to: number, first = 1): StoredBlock[] {
  return fixture.blocks.slice(from - first, to - first + 1);
}

/** The main chain's head record at `height`. */
export function headAt(height: number): HeadRecord {
  const head = mainChain().heads[height];
  if (!head) throw new Error(`no head at ${height}`);
  return head;
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

/** What `load` should return, notices aside. */
function expected(
  blocks: readonly StoredBlock[],
  head: HeadRecord | null,
  pool: readonly StoredPoolEntry[] = [],
  wallet: WalletRecord | null = null,
): Omit<StoredNode, 'notices'> {
  return { blocks, head, pool, wallet };
}

/** `load` without its notices, which the checks compare separately. */
async function contents(store: Store): Promise<Omit<StoredNode, 'notices'>> {
  const { notices: _notices, ...rest } = await store.load();
  return rest;
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

    it(
      'an empty store loads genesis alone, with no pool, wallet or notices',
      withStore(async (store) => {
        expect(await store.load()).toEqual({ blocks: [], head: null, pool: [], wallet: null, notices: [] });
      }),
    );

    it(
      'append then load returns the same blocks, head, pool and wallet',
      withStore(async (store) => {
        const blocks = heights(mainChain(), 1, 40);
        const pool = samplePool(3);
        const wallet = sampleWallet('alice');
        await store.appendBlocks(blocks, headAt(40));
        await store.savePool(pool);
        await store.saveWallet(wallet);
        const loaded = await store.load();
        expect(loaded).toEqual({ blocks, head: headAt(40), pool, wallet, notices: [] });
        expect(loaded.blocks.map((b) => b.hash)).toEqual(
          mainChain()
            .heads.slice(1)
            .map((h) => h.hash),
        );
      }),
    );

    it(
      'appends continue the chain across calls',
      withStore(async (store) => {
        await store.appendBlocks(heights(mainChain(), 1, 1), headAt(1));
        await store.appendBlocks(heights(mainChain(), 2, 25), headAt(25));
        await store.appendBlocks(heights(mainChain(), 26, 40), headAt(40));
        expect(await contents(store)).toEqual(expected(heights(mainChain(), 1, 40), headAt(40)));
      }),
    );

    it(
      'an append with no blocks saves the head state for the stored tip (after a replay)',
      withStore(async (store) => {
        await store.appendBlocks(heights(mainChain(), 1, 10), headAt(10));
        await store.appendBlocks([], headAt(10));
        expect(await contents(store)).toEqual(expected(heights(mainChain(), 1, 10), headAt(10)));
        await expectRefused(store, 'BAD_HEAD', () => store.appendBlocks([], headAt(9)));
      }),
    );

    it(
      'an append that does not start at the stored height + 1 is refused and changes nothing',
      withStore(async (store) => {
        await expectRefused(store, 'BAD_HEIGHT', () =>
          store.appendBlocks(heights(mainChain(), 2, 3), headAt(3)),
        );
        await store.appendBlocks(heights(mainChain(), 1, 10), headAt(10));
        // A gap, a repeat, and a block whose blockCount disagrees with its height.
        await expectRefused(store, 'BAD_HEIGHT', () =>
          store.appendBlocks(heights(mainChain(), 12, 12), headAt(12)),
        );
        await expectRefused(store, 'BAD_HEIGHT', () =>
          store.appendBlocks(heights(mainChain(), 10, 11), headAt(11)),
        );
        const eleven = heights(mainChain(), 11, 11)[0] as StoredBlock;
        await expectRefused(store, 'BAD_HEIGHT', () =>
          store.appendBlocks([withField(eleven, 'height', 12)], headAt(11)),
        );
        // A batch that skips a height halfway writes none of it.
        const skipping = [...heights(mainChain(), 11, 12), ...heights(mainChain(), 14, 14)];
        await expectRefused(store, 'BAD_HEIGHT', () => store.appendBlocks(skipping, headAt(14)));
      }),
    );

    it(
      'an append whose lastHash does not link to the stored hash is refused and changes nothing',
      withStore(async (store) => {
        await store.appendBlocks(heights(mainChain(), 1, 10), headAt(10));
        const eleven = heights(mainChain(), 11, 11)[0] as StoredBlock;
        const unlinked = withField(eleven, 'block', { ...eleven.block, lastHash: '00'.repeat(32) });
        await expectRefused(store, 'BAD_LINK', () => store.appendBlocks([unlinked], headAt(11)));
        // The break is in the batch's third block: the first two are not written either.
        const [b11, b12, b13] = heights(mainChain(), 11, 13) as [StoredBlock, StoredBlock, StoredBlock];
        const broken = withField(b13, 'block', { ...b13.block, lastHash: b11.hash });
        await expectRefused(store, 'BAD_LINK', () => store.appendBlocks([b11, b12, broken], headAt(13)));
        // A block from the competing branch does not link to the main chain either.
        const fork = forkChain(9, 3);
        await expectRefused(store, 'BAD_LINK', () =>
          store.appendBlocks(heights(fork, 11, 11, 10), fork.heads[2] as HeadRecord),
        );
      }),
    );

    it(
      'an append whose head state is not for the new tip is refused and changes nothing',
      withStore(async (store) => {
        await store.appendBlocks(heights(mainChain(), 1, 10), headAt(10));
        await expectRefused(store, 'BAD_HEAD', () =>
          store.appendBlocks(heights(mainChain(), 11, 12), headAt(11)),
        );
        await expectRefused(store, 'BAD_HEAD', () =>
          store.appendBlocks(heights(mainChain(), 11, 12), { ...headAt(12), hash: headAt(11).hash }),
        );
      }),
    );

    it(
      'replaceBlocks (a reorg) deletes the tail and appends the branch in one write',
      withStore(async (store) => {
        await store.appendBlocks(heights(mainChain(), 1, 40), headAt(40));
        const fork = forkChain(30, 14);
        const forkHead = fork.heads[14] as HeadRecord;
        await store.replaceBlocks(31, fork.blocks, forkHead);
        const afterReorg = [...heights(mainChain(), 1, 30), ...fork.blocks];
        expect(await contents(store)).toEqual(expected(afterReorg, forkHead));
        // And back: the main chain's tail replaces the branch.
        await store.replaceBlocks(31, heights(mainChain(), 31, 40), headAt(40));
        expect(await contents(store)).toEqual(expected(heights(mainChain(), 1, 40), headAt(40)));
        // Appending after a reorg continues from the new tip.
        await store.replaceBlocks(
          35,
          heights(forkChain(34, 2), 35, 35, 35),
          forkChain(34, 2).heads[1] as HeadRecord,
        );
        await store.appendBlocks(
          heights(forkChain(34, 2), 36, 36, 35),
          forkChain(34, 2).heads[2] as HeadRecord,
        );
        expect((await store.load()).head).toEqual(forkChain(34, 2).heads[2]);
        expect((await store.load()).blocks).toHaveLength(36);
      }),
    );

    it(
      'replaceBlocks at the tip + 1 appends, and from height 1 with no blocks returns to genesis',
      withStore(async (store) => {
        await store.appendBlocks(heights(mainChain(), 1, 5), headAt(5));
        await store.replaceBlocks(6, heights(mainChain(), 6, 8), headAt(8));
        expect(await contents(store)).toEqual(expected(heights(mainChain(), 1, 8), headAt(8)));
        await store.replaceBlocks(4, [], headAt(3));
        expect(await contents(store)).toEqual(expected(heights(mainChain(), 1, 3), headAt(3)));
        await store.replaceBlocks(1, [], headAt(0));
        expect(await contents(store)).toEqual(expected([], null));
        await store.appendBlocks(heights(mainChain(), 1, 2), headAt(2));
        expect(await contents(store)).toEqual(expected(heights(mainChain(), 1, 2), headAt(2)));
      }),
    );

    it(
      'replaceBlocks outside 1..tip + 1, or not linking at the cut, is refused and deletes nothing',
      withStore(async (store) => {
        await store.appendBlocks(heights(mainChain(), 1, 20), headAt(20));
        for (const fromHeight of [0, -1, 22, 1.5, Number.NaN]) {
          await expectRefused(store, 'BAD_FROM_HEIGHT', () =>
            store.replaceBlocks(fromHeight, heights(mainChain(), 21, 21), headAt(21)),
          );
        }
        const fork = forkChain(15, 5);
        // The branch starts after 15, so it does not link at a cut at 12 (it would at 16).
        await expectRefused(store, 'BAD_HEIGHT', () =>
          store.replaceBlocks(12, fork.blocks, fork.heads[5] as HeadRecord),
        );
        await expectRefused(store, 'BAD_LINK', () =>
          store.replaceBlocks(
            16,
            [
              withField(fork.blocks[0] as StoredBlock, 'block', {
                ...(fork.blocks[0] as StoredBlock).block,
                lastHash: 'x',
              }),
            ],
            fork.heads[1] as HeadRecord,
          ),
        );
        await expectRefused(store, 'BAD_HEAD', () => store.replaceBlocks(16, fork.blocks, headAt(20)));
      }),
    );

    it(
      'a write that fails midway (a value that cannot be cloned) changes nothing',
      withStore(async (store) => {
        await store.appendBlocks(heights(mainChain(), 1, 10), headAt(10));
        const [b11, b12, b13] = heights(mainChain(), 11, 13) as [StoredBlock, StoredBlock, StoredBlock];
        // Block 12 carries a function: structured clone refuses it after block 11 was queued.
        const uncloneable = {
          ...b12,
          block: { ...b12.block, signature: () => 'not data' },
        } as unknown as StoredBlock;
        const before = await store.load();
        await expect(store.appendBlocks([b11, uncloneable, b13], headAt(13))).rejects.toThrow();
        expect(await store.load()).toEqual(before);
        // A reorg that fails midway keeps the old tail.
        const fork = forkChain(5, 3);
        const badFork = [
          fork.blocks[0],
          { ...fork.blocks[1], block: { ...(fork.blocks[1] as StoredBlock).block, forger: () => 'x' } },
          fork.blocks[2],
        ] as unknown as StoredBlock[];
        await expect(store.replaceBlocks(6, badFork, fork.heads[3] as HeadRecord)).rejects.toThrow();
        expect(await store.load()).toEqual(before);
        // The store still takes good writes afterwards.
        await store.appendBlocks([b11, b12, b13], headAt(13));
        expect((await store.load()).blocks).toHaveLength(13);
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
        await store.appendBlocks(heights(mainChain(), 1, 3), headAt(3));
        expect((await store.load()).wallet).toEqual(sampleWallet('alice'));
        await store.saveWallet({ ...sampleWallet('bob'), extractable: true });
        expect((await store.load()).wallet).toEqual({ ...sampleWallet('bob'), extractable: true });
        await store.saveWallet(null);
        expect(await contents(store)).toEqual(expected(heights(mainChain(), 1, 3), headAt(3)));
      }),
    );

    it(
      'values read back and values written are copies: mutating them changes nothing stored',
      withStore(async (store) => {
        const blocks = structuredClone(heights(mainChain(), 1, 12));
        const head = structuredClone(headAt(12));
        const pool = samplePool(2);
        const wallet = sampleWallet('carol');
        await store.appendBlocks(blocks, head);
        await store.savePool(pool);
        await store.saveWallet(wallet);
        const want = expected(heights(mainChain(), 1, 12), headAt(12), samplePool(2), sampleWallet('carol'));
        scribble(blocks);
        scribble(head);
        scribble(pool);
        scribble(wallet);
        expect(await contents(store)).toEqual(want);
        scribble(await store.load());
        expect(await contents(store)).toEqual(want);
      }),
    );

    if (reopen) {
      it('closing and opening again keeps everything', async () => {
        let store = await makeStore();
        try {
          await store.appendBlocks(heights(mainChain(), 1, 30), headAt(30));
          await store.replaceBlocks(21, forkChain(20, 4).blocks, forkChain(20, 4).heads[4] as HeadRecord);
          await store.savePool(samplePool(5));
          await store.saveWallet(sampleWallet('dave'));
          const want = expected(
            [...heights(mainChain(), 1, 20), ...forkChain(20, 4).blocks],
            forkChain(20, 4).heads[4] as HeadRecord,
            samplePool(5),
            sampleWallet('dave'),
          );
          expect(await contents(store)).toEqual(want);
          store = await reopen(store);
          expect(await store.load()).toEqual({ ...want, notices: [] });
          // The reopened store continues the stored chain.
          await store.replaceBlocks(21, heights(mainChain(), 21, 40), headAt(40));
          store = await reopen(store);
          expect(await contents(store)).toEqual(
            expected(heights(mainChain(), 1, 40), headAt(40), samplePool(5), sampleWallet('dave')),
          );
        } finally {
          await store.close();
        }
      });
    }
  });
}
