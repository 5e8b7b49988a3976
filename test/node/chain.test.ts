import { describe, expect, it } from 'vitest';
import { runLotteryAtOnce } from '../../src/core/lottery';
import type { ChainSource } from '../../src/node/chain';
import { ChainView } from '../../src/node/chain';
import {
  CHECKPOINT_EVERY,
  checkpointOf,
  GuardedStore,
  RECENT_BLOCKS,
  restoreChain,
} from '../../src/node/persistence';
import type { Store } from '../../src/ports/store';
import { createMemoryStore } from '../../src/storage/memory';
import { VECTOR_GENESIS_KEY } from '../helpers/vectors';
import {
  type ChainFixture,
  fixtureState,
  forkChain,
  heights,
  mainChain,
  plainState,
  stateAt,
  writeOf,
} from '../storage/store-compliance';

const config = () => ({ genesisPublicKey: VECTOR_GENESIS_KEY() });
const genesisHash = () => new ChainView(config()).headHash;

/** A chain view holding main-chain blocks 1..`to`, appended one by one. */
function appended(to: number): ChainView {
  const chain = new ChainView(config());
  for (const stored of heights(mainChain(), 1, to))
    chain.append(stored.block, stored.hash, stateAt(stored.height));
  return chain;
}

/** A state as comparable data, transaction ids included. */
const full = (state: Parameters<typeof plainState>[0]) => ({
  ...plainState(state),
  txIds: [...state.txIds].sort(),
});

/** A source that fails the test if it is used (everything should be held). */
const noSource: ChainSource = {
  readBlocks: () => Promise.reject(new Error('read from the store')),
  readTransactionHeight: () => Promise.reject(new Error('read from the store')),
  readTransactionIds: () => Promise.reject(new Error('read from the store')),
  readCheckpoint: () => Promise.reject(new Error('read from the store')),
  readChainIndex: () => Promise.reject(new Error('read from the store')),
};

/** `noSource`, but the chain index (every hash and id, which a restored view loads) comes from `store`. */
const indexFrom = (store: Store): ChainSource => ({
  ...noSource,
  readChainIndex: (to) => store.readChainIndex(to),
});

/** A store holding main-chain blocks 1..40 with checkpoints at 10, 20, 30, and a view restored from it. */
async function restoredFrom(
  recentBlocks: number,
): Promise<{ chain: ChainView; store: Store; reads: number[][] }> {
  const store = createMemoryStore();
  await store.writeChain({
    ...writeOf(mainChain(), 1, 40),
    checkpoints: [10, 20, 30].map((h) => checkpointOf(stateAt(h))),
  });
  const reads: number[][] = [];
  const guarded = new GuardedStore(store, (error) => {
    throw error;
  });
  const source = guarded.source(() => {});
  const counted: ChainSource = {
    ...source,
    readBlocks: (from, to) => {
      reads.push([from, to]);
      return source.readBlocks(from, to);
    },
  };
  const chain = new ChainView(config());
  expect(await restoreChain(chain, await store.load({ recentBlocks }), counted, runLotteryAtOnce)).toBeNull();
  expect(await chain.loadIndex()).toBeNull();
  return { chain, store, reads };
}

describe('ChainView', () => {
  it('append: heights, hashes, blocks, transactions and states', () => {
    const chain = appended(12);
    expect(chain.height).toBe(12);
    expect(chain.headHash).toBe(stateAt(12).headHash);
    expect(chain.head).toEqual(heights(mainChain(), 12, 12)[0]?.block);
    expect(chain.hashAt(5)).toBe(stateAt(5).headHash);
    expect(chain.heightOf(stateAt(5).headHash)).toBe(5);
    expect(chain.range(0, 3)).toHaveLength(4);
    expect(chain.range(3, 100).map((b) => b.blockCount)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const [tx] = heights(mainChain(), 4, 4)[0]?.block.transactions ?? [];
    if (!tx) throw new Error('block 4 has no transaction');
    expect(chain.findTransaction(tx.id)).toEqual({ transaction: tx, height: 4 });
    expect(full(chain.headState)).toEqual(full(stateAt(12)));
    expect(full(chain.stateAt(7))).toEqual(full(stateAt(7)));
  });

  it('truncate removes the blocks above a height, their hashes, transactions and states', () => {
    const chain = appended(12);
    const removed = chain.truncate(8);
    expect(removed.map((b) => b.blockCount)).toEqual([9, 10, 11, 12]);
    expect(chain.height).toBe(8);
    expect(chain.heightOf(stateAt(10).headHash)).toBeUndefined();
    const [tx] = heights(mainChain(), 10, 10)[0]?.block.transactions ?? [];
    expect(chain.findTransaction(tx?.id ?? '')).toBeUndefined();
    expect(full(chain.headState)).toEqual(full(stateAt(8)));
    // And grows again on another branch.
    const fork = forkChain(8, 3, 1);
    for (const stored of fork.blocks)
      chain.append(stored.block, stored.hash, fixtureState(fork, stored.height));
    expect(full(chain.headState)).toEqual(full(fixtureState(fork, 11)));
  });

  it('a view that holds every block never reads the store', async () => {
    const chain = appended(40);
    expect((await chain.readRange(0, 40)).length).toBe(41);
    expect(await chain.readBlock(3)).toEqual({
      block: heights(mainChain(), 3, 3)[0]?.block,
      hash: stateAt(3).headHash,
    });
    expect(full(await chain.readStateAt(17))).toEqual(full(stateAt(17)));
  });

  it('replays older states from held blocks (stateAt), transaction ids included', async () => {
    const store = mainChain();
    const chain = new ChainView(config());
    // Restored with no head state: the head and every state in between come from a replay.
    chain.restore({
      baseHash: genesisHash(),
      baseHeight: 0,
      blocks: store.blocks,
      base: null,
      head: null,
      source: {
        ...noSource,
        readChainIndex: async () => ({
          hashes: store.blocks.map((s) => s.hash),
          txIds: store.blocks.flatMap((s) => s.block.transactions.map((tx) => tx.id)),
          problem: null,
        }),
      },
    });
    await chain.loadIndex();
    for (const height of [40, 1, 23, 39]) expect(full(chain.stateAt(height))).toEqual(full(stateAt(height)));
  });

  it('restored from a store: holds the recent blocks, knows every hash and id, reads older blocks on demand', async () => {
    const { chain, reads } = await restoredFrom(5);
    // The base is the checkpoint at 30: blocks 31..40 are held.
    expect(chain.height).toBe(40);
    expect(chain.lowestHeld).toBe(31);
    expect(chain.blockAt(30)).toBeUndefined();
    expect(chain.blockAt(31)).toEqual(heights(mainChain(), 31, 31)[0]?.block);
    expect(chain.hashAt(3)).toBe(stateAt(3).headHash);
    expect(chain.heightOf(stateAt(3).headHash)).toBe(3);
    expect(full(chain.headState)).toEqual(full(stateAt(40)));
    expect(full(chain.stateAt(35))).toEqual(full(stateAt(35)));
    expect(() => chain.stateAt(25)).toThrow(/readStateAt/);
    expect(reads).toEqual([]);
    // Reads reach the store for the part that is not held, and only for it.
    expect(await chain.readRange(0, 40)).toEqual([
      expect.objectContaining({ blockCount: 0 }),
      ...heights(mainChain(), 1, 40).map((s) => s.block),
    ]);
    expect(reads).toEqual([[1, 30]]);
    expect(await chain.readRange(33, 36)).toEqual(heights(mainChain(), 33, 36).map((s) => s.block));
    expect(reads).toHaveLength(1);
    expect(await chain.readBlock(12)).toEqual({
      block: heights(mainChain(), 12, 12)[0]?.block,
      hash: stateAt(12).headHash,
    });
    const [tx] = heights(mainChain(), 6, 6)[0]?.block.transactions ?? [];
    if (!tx) throw new Error('block 6 has no transaction');
    expect(chain.findTransaction(tx.id)).toBeUndefined();
    expect(await chain.readTransaction(tx.id)).toEqual({ transaction: tx, height: 6 });
    // Older states: a checkpoint, the ids of later blocks (keys only), and a replay.
    for (const height of [25, 20, 3, 0])
      expect(full(await chain.readStateAt(height))).toEqual(full(stateAt(height)));
  });

  it('restored, it is usable before the old hashes and ids are loaded; it accepts no block until they are', async () => {
    const store = createMemoryStore();
    await store.writeChain({ ...writeOf(mainChain(), 1, 40), checkpoints: [checkpointOf(stateAt(30))] });
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const source: ChainSource = {
      ...new GuardedStore(store, (error) => {
        throw error;
      }).source(() => {}),
      readChainIndex: async (to) => {
        await gate;
        return store.readChainIndex(to);
      },
    };
    const chain = new ChainView(config());
    await restoreChain(chain, await store.load({ recentBlocks: 5 }), source, runLotteryAtOnce);
    // Interactive: the head, its balances and the held blocks.
    expect(chain.complete).toBe(false);
    expect(plainState(chain.headState)).toEqual(plainState(stateAt(40)));
    expect(chain.hashAt(35)).toBe(stateAt(35).headHash);
    expect(chain.hashAt(30)).toBe(stateAt(30).headHash);
    // Not yet: old hashes, old ids (the head's replay check would miss block 3's transaction).
    const [oldTx] = heights(mainChain(), 3, 3)[0]?.block.transactions ?? [];
    if (!oldTx) throw new Error('block 3 has no transaction');
    expect(chain.hashAt(3)).toBeUndefined();
    expect(chain.heightOf(stateAt(3).headHash)).toBeUndefined();
    expect(chain.headState.txIds.has(oldTx.id)).toBe(false);
    // So no block may be appended, and the reads that need the index wait for it.
    const next = forkChain(40, 1, 7);
    const [block41] = next.blocks;
    if (!block41) throw new Error('no block 41');
    expect(() => chain.append(block41.block, block41.hash, fixtureState(next, 41))).toThrow(/transaction id/);
    let readDone = false;
    const read = chain.readTransaction(oldTx.id).then((found) => {
      readDone = true;
      return found;
    });
    const loading = chain.loadIndex();
    await Promise.resolve();
    expect(readDone).toBe(false);
    release();
    expect(await loading).toBeNull();
    expect(chain.complete).toBe(true);
    expect(await read).toEqual({ transaction: oldTx, height: 3 });
    // Now: every old hash and height, every id in the head, base and replayed states.
    for (const height of [1, 3, 29, 30, 31, 40]) {
      expect(chain.hashAt(height)).toBe(stateAt(height).headHash);
      expect(chain.heightOf(stateAt(height).headHash)).toBe(height);
    }
    expect(full(chain.headState)).toEqual(full(stateAt(40)));
    expect(full(chain.stateAt(30))).toEqual(full(stateAt(30)));
    expect(full(chain.stateAt(36))).toEqual(full(stateAt(36)));
    chain.append(block41.block, block41.hash, fixtureState(next, 41));
    expect(chain.height).toBe(41);
  });

  it('restored, a failed index read sends it back to genesis (it cannot check replays), with a notice', async () => {
    const store = createMemoryStore();
    await store.writeChain({ ...writeOf(mainChain(), 1, 40), checkpoints: [checkpointOf(stateAt(30))] });
    const chain = new ChainView(config());
    const source: ChainSource = { ...indexFrom(store), readChainIndex: async () => null };
    await restoreChain(chain, await store.load({ recentBlocks: 5 }), source, runLotteryAtOnce);
    expect(await chain.loadIndex()).toMatch(/could not be read.*syncs from its peers/);
    expect(chain.height).toBe(0);
    expect(full(chain.headState)).toEqual(full(stateAt(0)));
    // And grows again from there.
    for (const stored of heights(mainChain(), 1, 3))
      chain.append(stored.block, stored.hash, stateAt(stored.height));
    expect(full(chain.headState)).toEqual(full(stateAt(3)));
  });

  it('a reorg below the held window: truncate, append the branch, and every state is right', async () => {
    const { chain } = await restoredFrom(5);
    await chain.readStateAt(22); // what a sync does to validate a branch from height 22
    const removed = chain.truncate(22);
    // Only held blocks can be returned; the rest were never in memory.
    expect(removed.map((b) => b.blockCount)).toEqual([31, 32, 33, 34, 35, 36, 37, 38, 39, 40]);
    const fork: ChainFixture = forkChain(22, 20, 4);
    for (const stored of fork.blocks)
      chain.append(stored.block, stored.hash, fixtureState(fork, stored.height));
    expect(chain.height).toBe(42);
    expect(full(chain.headState)).toEqual(full(fixtureState(fork, 42)));
    expect(full(chain.stateAt(30))).toEqual(full(fixtureState(fork, 30)));
    expect((await chain.readRange(20, 25)).map((b) => b.lastHash)).toEqual([
      stateAt(19).headHash,
      stateAt(20).headHash,
      stateAt(21).headHash,
      stateAt(22).headHash,
      fixtureState(fork, 23).headHash,
      fixtureState(fork, 24).headHash,
    ]);
  });

  it('restoring a store whose accounts are gone replays them and asks for the repair write', async () => {
    const store = createMemoryStore();
    await store.writeChain(writeOf(mainChain(), 1, 40));
    const loaded = { ...(await store.load()), accounts: null };
    const chain = new ChainView(config());
    const repair = await restoreChain(chain, loaded, indexFrom(store), runLotteryAtOnce);
    await chain.loadIndex();
    expect(full(chain.headState)).toEqual(full(stateAt(40)));
    expect(repair).toMatchObject({ fromHeight: 41, blocks: [], resetAccounts: true, checkpoints: [] });
    await store.writeChain(repair as NonNullable<typeof repair>);
    const again = new ChainView(config());
    expect(await restoreChain(again, await store.load(), indexFrom(store), runLotteryAtOnce)).toBeNull();
    await again.loadIndex();
    expect(full(again.headState)).toEqual(full(stateAt(40)));
  });

  it(`restoring a long chain with no checkpoint (a migrated one) writes the missing checkpoints (every ${CHECKPOINT_EVERY})`, async () => {
    const long = forkChain(40, 400);
    const store = createMemoryStore();
    await store.writeChain({ ...writeOf(mainChain(), 1, 40), checkpoints: [] });
    await store.writeChain({ ...writeOf(long, 41, 440), checkpoints: [] });
    const first = await store.load({ recentBlocks: RECENT_BLOCKS });
    expect(first.base).toBeNull();
    expect(first.blocks).toHaveLength(440);
    const chain = new ChainView(config());
    const repair = await restoreChain(chain, first, indexFrom(store), runLotteryAtOnce);
    expect(repair?.checkpoints.map((c) => c.height)).toEqual([256]);
    expect(repair?.resetAccounts).toBe(false);
    await store.writeChain(repair as NonNullable<typeof repair>);
    // The next reload reads only from the checkpoint on.
    const second = await store.load({ recentBlocks: RECENT_BLOCKS });
    expect(second.base?.height).toBe(256);
    expect(second.blocks).toHaveLength(440 - 256);
    const again = new ChainView(config());
    expect(await restoreChain(again, second, indexFrom(store), runLotteryAtOnce)).toBeNull();
    await again.loadIndex();
    expect(full(again.headState)).toEqual(full(fixtureState(long, 440)));
    expect(full(again.stateAt(300))).toEqual(full(fixtureState(long, 300)));
  });
});
