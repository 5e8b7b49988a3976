/**
 * How the UI reads the chain beyond the snapshot: never while rendering. A component asks a
 * question (`useChainRead`); the hook answers it after the render, through the node's
 * asynchronous reads (which may reach storage), for the snapshot the render saw, and asks again
 * whenever the head changes. An answer carries the chain point it was read at, and a component
 * renders everything it shows from that one answer, so no render mixes two chain states.
 */
import { useEffect, useState } from 'react';
import type { LotteryResult, StakeEntry } from '../core/lottery';
import { type BlockTurnReading, type ResilientHead, readBlockTurn } from '../core/resilient';
import { stakeEntries } from '../core/state';
import type { Block, Transaction } from '../core/types';
import type { LotteryReading, NodeSnapshot } from '../node/node';
import type { AccountTxRecord, HistoryCursor } from '../ports/store';
import type { NodeApi } from './app-services';
import { errorMessage } from './decoders';
import { memoPerObject, pooledIds } from './selectors';
import { useNode, useSnapshot } from './services';

/** Where on the chain an answer was read: the snapshot's head then. */
export interface ChainPoint {
  readonly height: number;
  readonly headHash: string;
}

/** The answer to one question about the chain. */
export type ChainRead<T> =
  | { readonly status: 'loading' }
  | { readonly status: 'failed'; readonly message: string }
  | {
      readonly status: 'ready';
      readonly value: T;
      /** The head the answer was read at; everything in `value` belongs to it. */
      readonly at: ChainPoint;
      /** The head has moved since: a fresh answer is on its way (this one is shown meanwhile). */
      readonly stale: boolean;
    };

interface Answer<T> {
  readonly question: string;
  readonly at: ChainPoint;
  readonly outcome:
    | { readonly ok: true; readonly value: T }
    | { readonly ok: false; readonly message: string };
}

/**
 * Answers `question` with `load`, run after the render for the snapshot that render saw, and again
 * whenever the head or the question changes. `question` must name everything `load` depends on
 * besides the head (a height, an id…): an answer to another question is never shown, while an
 * answer to the same question at an older head is shown, marked stale, until the new one comes.
 */
export function useChainRead<T>(
  question: string,
  load: (node: NodeApi, snapshot: NodeSnapshot) => Promise<T>,
): ChainRead<T> {
  const node = useNode();
  const snapshot = useSnapshot();
  const [answer, setAnswer] = useState<Answer<T> | null>(null);
  const headHash = snapshot.headHash;
  // biome-ignore lint/correctness/useExhaustiveDependencies: `question` and the head stand for `load` and the snapshot it reads
  useEffect(() => {
    let current = true;
    const at = { height: snapshot.height, headHash: snapshot.headHash };
    load(node, snapshot).then(
      (value) => {
        if (current) setAnswer({ question, at, outcome: { ok: true, value } });
      },
      (error: unknown) => {
        if (current) setAnswer({ question, at, outcome: { ok: false, message: errorMessage(error) } });
      },
    );
    return () => {
      current = false;
    };
  }, [node, question, headHash]);
  if (answer === null || answer.question !== question) return { status: 'loading' };
  if (!answer.outcome.ok) return { status: 'failed', message: answer.outcome.message };
  return {
    status: 'ready',
    value: answer.outcome.value,
    at: answer.at,
    stale: answer.at.headHash !== headHash,
  };
}

// ------------------------------------------------------------------ blocks

/** A block with its hash. */
export interface HashedBlock {
  readonly block: Block;
  readonly hash: string;
}

/** The newest `count` blocks at the snapshot's head, newest first, with their hashes. */
export async function loadLatestBlocks(
  node: Pick<NodeApi, 'readBlocks' | 'readBlock'>,
  snapshot: Pick<NodeSnapshot, 'height' | 'headHash' | 'head'>,
  count: number,
): Promise<readonly HashedBlock[]> {
  const from = Math.max(0, snapshot.height - count + 1);
  const blocks = await node.readBlocks(from, snapshot.height);
  const newest = blocks.at(-1);
  // Each block's hash is its successor's `lastHash`; the newest one's is the head's, unless the
  // chain moved on (a reorg) between the snapshot and the read.
  const newestHash =
    newest === undefined
      ? undefined
      : newest.signature === snapshot.head.signature && newest.blockCount === snapshot.height
        ? snapshot.headHash
        : (await node.readBlock(newest.blockCount))?.hash;
  return blocks.map((block, i) => ({ block, hash: blocks[i + 1]?.lastHash ?? newestHash ?? '' })).reverse();
}

/**
 * On a `resilient` network, each block's rank and why its forger was allowed, read against its
 * parent's state (which the node keeps for recent blocks); by height. Empty on `reference`.
 */
export async function loadBlockTurns(
  node: Pick<NodeApi, 'readLottery'>,
  snapshot: Pick<NodeSnapshot, 'state'>,
  blocks: readonly HashedBlock[],
): Promise<ReadonlyMap<number, BlockTurnReading | null>> {
  if (!snapshot.state.resilient) return new Map();
  const turns = await Promise.all(
    blocks
      .filter(({ block }) => block.blockCount > 0)
      .map(async ({ block }): Promise<[number, BlockTurnReading | null]> => {
        const parent = (await node.readLottery(block.blockCount - 1)).state.resilient;
        return [block.blockCount, parent ? readBlockTurn(parent, block) : null];
      }),
  );
  return new Map(turns);
}

/** The block at `height`, if the chain holds one. */
export function useBlock(height: number): ChainRead<HashedBlock | undefined> {
  return useChainRead(`block:${height}`, async (node, snapshot) =>
    height > snapshot.height ? undefined : node.readBlock(height),
  );
}

// ------------------------------------------------------------------ transactions

/** Where a transaction is: in a block, pending in the pool, or neither. */
export type TransactionPlace =
  | { readonly status: 'landed'; readonly height: number; readonly transaction: Transaction }
  | { readonly status: 'pending'; readonly transaction: Transaction }
  | { readonly status: 'unknown' };

/** Where each of `ids` is at the snapshot: pooled ones from the snapshot, the rest read from the chain. */
export async function loadPlaces(
  node: Pick<NodeApi, 'readTransaction'>,
  snapshot: Pick<NodeSnapshot, 'pool'>,
  ids: readonly string[],
): Promise<ReadonlyMap<string, TransactionPlace>> {
  const pooled = new Map(snapshot.pool.map((entry) => [entry.transaction.id, entry.transaction]));
  const places = await Promise.all(
    ids.map(async (id): Promise<[string, TransactionPlace]> => {
      const transaction = pooled.get(id);
      if (transaction) return [id, { status: 'pending', transaction }];
      const found = await node.readTransaction(id);
      return [id, found ? { status: 'landed', ...found } : { status: 'unknown' }];
    }),
  );
  return new Map(places);
}

/**
 * Where each of `ids` is, asked again when the head moves or one of them enters or leaves the
 * pool (an expired transaction leaves it without a new block).
 */
export function useTransactionPlaces(
  ids: readonly string[],
): ChainRead<ReadonlyMap<string, TransactionPlace>> {
  const pooled = pooledIds(useSnapshot());
  const question = `places:${ids.map((id) => `${id}${pooled.has(id) ? '+' : '-'}`).join(',')}`;
  return useChainRead(question, (node, snapshot) => loadPlaces(node, snapshot, ids));
}

// ------------------------------------------------------------------ accounts

/** History rows an account page reads per page. */
export const HISTORY_LIMIT = 200;

/** Blocks over which an account page counts the blocks it forged (the newest ones). */
export const FORGED_WINDOW = 256;

/** An account at one chain point: its balance and stake, and the newest page of its history. */
export interface AccountView {
  readonly balance: number;
  readonly stake: number;
  /** The chain's state holds the account. */
  readonly seen: boolean;
  /** Blocks it forged among the newest `FORGED_WINDOW`. */
  readonly forged: number;
  /** The newest `HISTORY_LIMIT` lines at most, newest first, from the node's history index. */
  readonly history: readonly AccountTxRecord[];
  /** Older lines exist (read them with `loadOlderHistory`). */
  readonly truncated: boolean;
}

/** Reads one page of `pem`'s history before `before`: the lines, and whether older ones exist. */
export async function loadHistoryPage(
  node: Pick<NodeApi, 'readAccountHistory'>,
  pem: string,
  before?: HistoryCursor,
): Promise<{ readonly lines: readonly AccountTxRecord[]; readonly more: boolean }> {
  const lines = await node.readAccountHistory(pem, {
    limit: HISTORY_LIMIT + 1,
    ...(before ? { before } : {}),
  });
  return { lines: lines.slice(0, HISTORY_LIMIT), more: lines.length > HISTORY_LIMIT };
}

/**
 * `pem`'s account at the head: balance and stake from the snapshot, the newest page of history
 * from the node's index (never a scan of the chain), forged blocks among the newest ones.
 */
export function useAccount(pem: string): ChainRead<AccountView> {
  return useChainRead(`account:${pem}`, async (node, snapshot) => {
    const [page, recent] = await Promise.all([
      loadHistoryPage(node, pem),
      node.readBlocks(Math.max(1, snapshot.height - FORGED_WINDOW + 1), snapshot.height),
    ]);
    const { state } = snapshot;
    return {
      balance: state.balances.get(pem, 0),
      stake: state.stakes.get(pem, 0),
      seen: state.balances.has(pem) || state.stakes.has(pem),
      forged: recent.filter((block) => block.blockCount > 0 && block.forger === pem).length,
      history: page.lines,
      truncated: page.more,
    };
  });
}

// ------------------------------------------------------------------ the lottery

/** A lottery as the explorer shows it: the result and the stakes it was drawn over. */
export interface LotteryView {
  readonly result: LotteryResult | null;
  /**
   * On a `resilient` network, the parent's head: the seed, the ranking the block was drawn from
   * and its delayed stakes (the lottery result is then null). Null on `reference`.
   */
  readonly resilient: ResilientHead | null;
  /** The seed: the hash of the block the lottery followed. */
  readonly seed: string;
  readonly stakers: readonly StakeEntry[];
  readonly totalStake: number;
}

/**
 * The explorer's view of a lottery the node drew over `state` (the node draws it once per state,
 * through its sliced runner). Memoised per state: the stakers list is built once.
 */
export const lotteryView = memoPerObject((reading: LotteryReading): LotteryView => {
  const stakers = stakeEntries(reading.state);
  return {
    result: reading.result,
    resilient: reading.state.resilient ?? null,
    seed: reading.state.headHash,
    stakers,
    totalStake: stakers.reduce((sum, [, stake]) => sum + stake, 0),
  };
});

/**
 * The lottery that chose block `height`'s forger: drawn over the state after block `height - 1`,
 * by the node (off the render path, in slices in a page; the state may come from storage).
 */
export function useBlockLottery(height: number): ChainRead<LotteryView> {
  return useChainRead(`lottery:${height}`, async (node) => lotteryView(await node.readLottery(height - 1)));
}
