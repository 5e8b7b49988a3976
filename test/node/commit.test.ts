import { Set as ImmutableSet } from 'immutable';
import { describe, expect, it } from 'vitest';
import {
  type Block,
  blockHash,
  type ChainState,
  createBlock,
  genesisState,
  type Transaction,
} from '../../src/core';
import { ChainView } from '../../src/node/chain';
import { applyCommit, type CommitInput, planCommit } from '../../src/node/commit';
import { EquivocationLog } from '../../src/node/equivocations';
import { TransactionPool } from '../../src/node/pool';

/*
 * The commit path on its own: what a commit plans (append or reorg, the pool's changes, the
 * equivocations a reorg reveals) and what applying the plan does to the chain, pool and log.
 * Blocks are linked but unsigned: validation happened before a commit, and is not its concern.
 */

const CONFIG = { genesisPublicKey: 'genesis-key' };
const GENESIS = genesisState(CONFIG);

const tx = (n: number): Transaction => ({
  senderPublicKey: 'sender',
  receiverPublicKey: 'receiver',
  amount: 1,
  type: 'TRANSFER',
  id: n.toString(16).padStart(32, '0'),
  timestamp: n,
  signature: 'ab',
});

let signed = 0;

/** Blocks on `parent` (with its state), each `[forger, transactions]`, with the state after each. */
function extend(parent: ChainState, specs: readonly [string, Transaction[]][]): CommitInput {
  const blocks: Block[] = [];
  const states: ChainState[] = [];
  let state = parent;
  for (const [forger, transactions] of specs) {
    const block = {
      ...createBlock(transactions, state.headHash, forger, state.height + 1, state.height + 1),
      signature: `${forger}-sig-${signed++}`,
    };
    state = {
      ...state,
      height: block.blockCount,
      headHash: blockHash(block),
      txIds: state.txIds.union(transactions.map((t) => t.id)),
    };
    blocks.push(block);
    states.push(state);
  }
  return { forkHeight: parent.height, blocks, states };
}

/** A chain view holding `input`'s blocks. */
function chainWith(input: CommitInput): ChainView {
  const chain = new ChainView(CONFIG);
  input.blocks.forEach((block, i) => {
    const state = input.states[i] as ChainState;
    chain.append(block, state.headHash, state);
  });
  return chain;
}

const parts = (chain: ChainView, pool = new TransactionPool(100, 60_000), log = new EquivocationLog()) => ({
  chain,
  pool,
  equivocations: log,
});

describe('the commit path', () => {
  it('appends blocks on the head and takes their transactions out of the pool', () => {
    const ours = extend(GENESIS, [['a', [tx(1)]]]);
    const chain = chainWith(ours);
    const pool = new TransactionPool(100, 60_000);
    for (const n of [2, 3, 4]) pool.add(tx(n), 0);
    const next = extend(chain.headState, [
      ['a', [tx(2)]],
      ['b', [tx(3)]],
    ]);
    const plan = planCommit(chain, next);
    expect(plan).toMatchObject({ forkHeight: 1, orphaned: [], returned: [], equivocations: [] });
    expect(plan?.included).toEqual([tx(2).id, tx(3).id]);
    if (!plan) return;
    const outcome = applyCommit(plan, parts(chain, pool), 5);
    expect(outcome).toEqual({ returnedToPool: 0, recorded: [] });
    expect(chain.height).toBe(3);
    expect(chain.headHash).toBe(next.states[1]?.headHash);
    expect(chain.transactionHeight(tx(3).id)).toBe(3);
    expect(pool.list().map((e) => e.transaction.id)).toEqual([tx(4).id]);
  });

  it('reorgs: orphaned transactions go back to the pool unless the new chain holds them', () => {
    // Ours: 1 (shared), then 2 and 3 by forgers b and c. Theirs forks after 1: 2', 3', 4'.
    const shared = extend(GENESIS, [['a', [tx(1)]]]);
    const oursTail = extend(shared.states[0] as ChainState, [
      ['b', [tx(2), tx(3)]],
      ['c', [tx(4)]],
    ]);
    const chain = chainWith({
      forkHeight: 0,
      blocks: [...shared.blocks, ...oursTail.blocks],
      states: [...shared.states, ...oursTail.states],
    });
    const pool = new TransactionPool(100, 60_000);
    pool.add(tx(5), 0); // pending, and carried by their chain
    const theirs = extend(shared.states[0] as ChainState, [
      ['x', [tx(3)]],
      ['y', [tx(5)]],
      ['z', []],
    ]);
    const plan = planCommit(chain, theirs);
    if (!plan) throw new Error('expected a plan');
    expect(plan.forkHeight).toBe(1);
    expect(plan.orphaned).toEqual(oursTail.blocks);
    expect(plan.returned.map((t) => t.id)).toEqual([tx(2).id, tx(4).id]);
    expect(plan.equivocations).toEqual([]); // other forgers: a fork, not an equivocation
    const outcome = applyCommit(plan, parts(chain, pool), 7);
    expect(outcome.returnedToPool).toBe(2);
    expect(chain.height).toBe(4);
    expect(chain.hashAt(2)).toBe(theirs.states[0]?.headHash);
    expect(chain.transactionHeight(tx(4).id)).toBeUndefined();
    expect(chain.transactionHeight(tx(3).id)).toBe(2);
    expect(pool.list().map((e) => [e.transaction.id, e.receivedAt])).toEqual([
      [tx(2).id, 7],
      [tx(4).id, 7],
    ]);
  });

  it('switches to a branch of equal length only when the fork choice prefers it', () => {
    const base = extend(GENESIS, [['a', []]]);
    const chain = chainWith(base);
    const parent = base.states[0] as ChainState;
    // Two blocks by one forger at height 2 (one key forging twice): the smaller hash wins.
    const [low, high] = [extend(parent, [['k', [tx(1)]]]), extend(parent, [['k', [tx(2)]]])].sort((x, y) =>
      (x.states[0]?.headHash ?? '') < (y.states[0]?.headHash ?? '') ? -1 : 1,
    ) as [CommitInput, CommitInput];
    chain.append(high.blocks[0] as Block, high.states[0]?.headHash as string, high.states[0] as ChainState);
    const plan = planCommit(chain, low);
    if (!plan) throw new Error('expected a plan');
    expect(plan.orphaned).toEqual(high.blocks);
    expect(plan.equivocations).toEqual([{ otherBlock: high.blocks[0], keptHash: low.states[0]?.headHash }]);
    applyCommit(plan, parts(chain), 1);
    expect(chain.headHash).toBe(low.states[0]?.headHash);
    // Back to the larger hash at the same height: refused, nothing changes.
    expect(planCommit(chain, high)).toBeNull();
    // A shorter branch is refused too.
    const longer = extend(low.states[0] as ChainState, [['a', []]]);
    applyCommit(planCommit(chain, longer) as NonNullable<ReturnType<typeof planCommit>>, parts(chain), 2);
    expect(planCommit(chain, high)).toBeNull();
    expect(chain.height).toBe(3);
  });

  it('records a replaced block by the same forger as an equivocation, once', () => {
    const ours = extend(GENESIS, [
      ['a', [tx(1)]],
      ['b', [tx(2)]],
    ]);
    const chain = chainWith(ours);
    // Forger b signs another block at height 2, and a longer chain builds on it.
    const theirs = extend(ours.states[0] as ChainState, [
      ['b', [tx(3)]],
      ['c', []],
    ]);
    const plan = planCommit(chain, theirs);
    if (!plan) throw new Error('expected a plan');
    expect(plan.equivocations).toEqual([
      { otherBlock: ours.blocks[1], keptHash: theirs.states[0]?.headHash },
    ]);
    const log = new EquivocationLog();
    const outcome = applyCommit(plan, parts(chain, undefined, log), 9);
    expect(outcome.recorded).toEqual(plan.equivocations);
    expect(log.list()).toEqual([
      { forger: 'b', height: 2, keptHash: theirs.states[0]?.headHash, otherBlock: ours.blocks[1], seenAt: 9 },
    ]);
    expect(log.record(ours.blocks[1] as Block, 'other', 10)).toBe(false);
  });

  it('skips the blocks it already holds: a chain that only extends ours is an append', () => {
    const ours = extend(GENESIS, [
      ['a', [tx(1)]],
      ['b', [tx(2)]],
    ]);
    const chain = chainWith(ours);
    const more = extend(ours.states[1] as ChainState, [['c', [tx(3)]]]);
    const whole: CommitInput = {
      forkHeight: 0,
      blocks: [...ours.blocks, ...more.blocks],
      states: [...ours.states, ...more.states],
    };
    const plan = planCommit(chain, whole);
    expect(plan).toMatchObject({ forkHeight: 2, blocks: more.blocks, orphaned: [], returned: [] });
    expect(planCommit(chain, ours)).toBeNull();
    // Blocks that do not follow our block at the fork point are refused outright.
    expect(() => planCommit(chain, { ...more, forkHeight: 1 })).toThrow(/do not follow our block 1/);
    expect(planCommit(chain, { forkHeight: 0, blocks: ours.blocks, states: ours.states })).toBeNull();
  });

  it('returns orphaned transactions only while the pool has room', () => {
    const ours = extend(GENESIS, [['a', [tx(1), tx(2), tx(3)]]]);
    const chain = chainWith(ours);
    const pool = new TransactionPool(2, 60_000);
    pool.add(tx(9), 0);
    const theirs = extend(GENESIS, [
      ['b', []],
      ['c', []],
    ]);
    const plan = planCommit(chain, theirs);
    if (!plan) throw new Error('expected a plan');
    expect(plan.returned).toHaveLength(3);
    expect(applyCommit(plan, parts(chain, pool), 1).returnedToPool).toBe(1);
    expect(pool.size).toBe(2);
    expect(ImmutableSet(pool.list().map((e) => e.transaction.id)).has(tx(1).id)).toBe(true);
  });
});
