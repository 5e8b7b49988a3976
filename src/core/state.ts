import { Map as ImmutableMap, Set as ImmutableSet, OrderedMap } from 'immutable';
import { blockHash, GENESIS_BLOCK } from './block';
import { maxTotalStakeOf, profileOf } from './config';
import { type ChainError, txError } from './errors';
import { runLottery, type StakeEntry } from './lottery';
import {
  checkResilientBlock,
  genesisResilientHead,
  nextResilientHead,
  type ResilientHead,
} from './resilient/head';
import { err, ok, type Result } from './result';
import type { Block, GenesisConfig, Transaction } from './types';

export { DEFAULT_MAX_TOTAL_STAKE, maxTotalStakeOf, profileOf } from './config';

/**
 * The account model after some block: balances, stakes, and the index of every transaction id
 * in the chain. Persistent (structurally shared) maps, so `applyBlock` returns a new state in
 * O(transactions in the block) without copying the chain's history, and old states stay valid
 * for reorgs.
 */
export interface ChainState {
  /** `blockCount` of the head block. */
  readonly height: number;
  /** Hash of the head block's payload: the next block's `lastHash` and the lottery seed. */
  readonly headHash: string;
  /** Coins per account; the exchange may be negative, no other account can be. */
  readonly balances: ImmutableMap<string, number>;
  /** Stake per account in the order each first staked (genesis first): the lottery's order. */
  readonly stakes: OrderedMap<string, number>;
  /** Every transaction id in the chain: replay checks look here, not through the blocks. */
  readonly txIds: ImmutableSet<string>;
  /** The network's cap on the total stake (`GenesisConfig.maxTotalStake`), carried by every state. */
  readonly maxTotalStake: number;
  /**
   * Who must forge the block after the head: the lottery over `stakes` seeded by `headHash`,
   * drawn once when the state was made and kept with it (one hash per staked coin, so never
   * drawn again per snapshot or per message). On the `resilient` profile: rank 0 of the ranking.
   */
  readonly nextForger: string;
  /**
   * Present exactly on a `resilient` network (docs/consensus-resilient.md): the seed, the head's
   * time, the delayed stakes and the ranking for the next block. Absent on `reference`.
   */
  readonly resilient?: ResilientHead;
}

/** The state of a chain that holds only the genesis block: the genesis staker holds stake 1. */
export function genesisState(config: GenesisConfig): ChainState {
  const headHash = blockHash(GENESIS_BLOCK);
  const stakes = OrderedMap([[config.genesisPublicKey, 1]]);
  const base = {
    height: 0,
    headHash,
    balances: ImmutableMap<string, number>(),
    stakes,
    txIds: ImmutableSet<string>(),
    maxTotalStake: maxTotalStakeOf(config),
  };
  if (profileOf(config) === 'reference') return { ...base, nextForger: drawNextForger(stakes, headHash) };
  const resilient = genesisResilientHead(config, stakes);
  return { ...base, nextForger: resilient.ranking[0] ?? '', resilient };
}

/** The stakers as ordered `[publicKey, stake]` pairs, for the lottery. */
export function stakeEntries(state: Pick<ChainState, 'stakes'>): StakeEntry[] {
  return [...state.stakes.entries()];
}

/**
 * The lottery's winner over `stakes` for `seed`, drawn at once. The genesis staker always
 * holds a lot, so a chain's lottery always has a winner. Edges that must not block use a
 * `LotteryRunner` instead (see `validateBlock`).
 */
export function drawNextForger(stakes: ChainState['stakes'], seed: string): string {
  return runLottery(stakes.entries(), seed)?.forger ?? '';
}

/** Who must forge the block after the head (the reference's `Blockchain.nextForger`): kept in the state. */
export function nextForgerOf(state: ChainState): string {
  return state.nextForger;
}

/**
 * The state after a block, from what its rules produced, its hash and the next forger (drawn
 * by the caller, at once or in slices). The one way to make a state other than genesis.
 */
export function stateAfter(
  applied: AppliedBlock,
  height: number,
  headHash: string,
  nextForger: string,
): ChainState {
  return { height, headHash, ...applied, nextForger };
}

/**
 * The next forger a state after `applied` needs drawn by a lottery, or null when its profile
 * names it already (`resilient`: rank 0 of the ranking, made with the rules).
 */
export function rankedNextForger(applied: AppliedBlock): string | null {
  return applied.resilient ? (applied.resilient.ranking[0] ?? '') : null;
}

/** A balance, zero for an account the chain has never seen. */
export function balanceOf(state: ChainState, publicKey: string): number {
  return state.balances.get(publicKey, 0);
}

/** A stake, zero for an account that never staked. */
export function stakeOf(state: ChainState, publicKey: string): number {
  return state.stakes.get(publicKey, 0);
}

/** The known transaction types, for membership tests. */
const KNOWN_TYPES: ReadonlySet<string> = new Set(['TRANSFER', 'EXCHANGE', 'STAKE']);

/**
 * Checks one transaction's stateless rules: known type, positive whole amount, `STAKE` only to
 * oneself. The reference checks none of these (the vectors mark them `seedAccepts`).
 */
export function checkTransactionRules(tx: Transaction, txIndex = 0): ChainError | null {
  if (!KNOWN_TYPES.has(tx.type)) {
    return txError(
      'UNKNOWN_TX_TYPE',
      txIndex,
      tx.id,
      `transaction ${tx.id}: unknown type ${JSON.stringify(tx.type)}`,
    );
  }
  if (!Number.isSafeInteger(tx.amount) || tx.amount <= 0) {
    // Any amount from 1 to 2^53-1 is exact; sums are bounded in `applyTransactions`.
    return txError(
      'BAD_AMOUNT',
      txIndex,
      tx.id,
      `transaction ${tx.id}: amount ${tx.amount} is not a positive whole number`,
    );
  }
  if (tx.type === 'STAKE' && tx.receiverPublicKey !== tx.senderPublicKey) {
    return txError(
      'STAKE_NOT_TO_SELF',
      txIndex,
      tx.id,
      `transaction ${tx.id}: a STAKE must go to its own sender`,
    );
  }
  return null;
}

const MAX = Number.MAX_SAFE_INTEGER;

/**
 * Applies `transactions` in order to balances and stakes (the reference's `executeTransaction`),
 * checking every rule against the running state, so two transfers that are each covered alone
 * but not together fail at the second (the reference checked each against the block's start).
 *
 * Every value stays exact: a balance never passes 2^53-1 and the exchange's never falls below
 * -(2^53-1) (`BALANCE_OUT_OF_RANGE`), and the total stake never passes the network's cap
 * (`STAKE_CAP_EXCEEDED`), which is itself at most 2^53-1. Each bound is compared before the sum
 * is taken (`balance > MAX - amount`), so no intermediate is ever rounded either.
 */
export function applyTransactions(
  state: Pick<ChainState, 'balances' | 'stakes' | 'txIds' | 'maxTotalStake'>,
  transactions: readonly Transaction[],
): Result<AppliedBlock, ChainError> {
  // Running balances and stakes in plain maps (a block touches few accounts many times), written
  // back to the persistent maps once at the end.
  const balances = new Map<string, number>();
  const stakes = new Map<string, number>();
  const balance = (key: string): number => balances.get(key) ?? state.balances.get(key, 0);
  let totalStake: number | null = null; // summed at the block's first STAKE
  const seenInBlock = new Set<string>();
  for (const [index, tx] of transactions.entries()) {
    const ruleError = checkTransactionRules(tx, index);
    if (ruleError) return err(ruleError);
    if (seenInBlock.has(tx.id)) {
      return err(txError('DUPLICATE_TX', index, tx.id, `transaction ${tx.id} appears twice in the block`));
    }
    if (state.txIds.has(tx.id)) {
      return err(txError('REPLAYED_TX', index, tx.id, `transaction ${tx.id} is already in the chain`));
    }
    seenInBlock.add(tx.id);
    const senderBalance = balance(tx.senderPublicKey);
    // EXCHANGE is exempt, as in the reference's `transactionCovered`: the exchange sells coins.
    if (tx.type !== 'EXCHANGE' && senderBalance < tx.amount) {
      return err(
        txError(
          'INSUFFICIENT_BALANCE',
          index,
          tx.id,
          `transaction ${tx.id}: sender holds ${senderBalance}, needs ${tx.amount}`,
        ),
      );
    }
    // Only the exchange can go negative; its debt is bounded as the balances are. A transfer
    // to oneself leaves the balance as it was.
    const selfMove = tx.type !== 'STAKE' && tx.receiverPublicKey === tx.senderPublicKey;
    if (!selfMove && senderBalance < -MAX + tx.amount) {
      return err(
        txError(
          'BALANCE_OUT_OF_RANGE',
          index,
          tx.id,
          `transaction ${tx.id}: the sender's balance would fall below -(2^53-1)`,
        ),
      );
    }
    if (tx.type === 'STAKE') {
      totalStake ??= sumStakes(state.stakes);
      if (totalStake > state.maxTotalStake - tx.amount) {
        return err(
          txError(
            'STAKE_CAP_EXCEEDED',
            index,
            tx.id,
            `transaction ${tx.id}: the total stake would pass this network's cap of ${state.maxTotalStake} coins`,
          ),
        );
      }
      totalStake += tx.amount;
      const stake = stakes.get(tx.senderPublicKey) ?? state.stakes.get(tx.senderPublicKey, 0);
      balances.set(tx.senderPublicKey, senderBalance - tx.amount);
      stakes.set(tx.senderPublicKey, stake + tx.amount);
    } else if (!selfMove) {
      const receiverBalance = balance(tx.receiverPublicKey);
      if (receiverBalance > MAX - tx.amount) {
        return err(
          txError(
            'BALANCE_OUT_OF_RANGE',
            index,
            tx.id,
            `transaction ${tx.id}: the receiver's balance would pass 2^53-1`,
          ),
        );
      }
      balances.set(tx.senderPublicKey, senderBalance - tx.amount);
      balances.set(tx.receiverPublicKey, receiverBalance + tx.amount);
    }
  }
  return ok({
    balances: balances.size === 0 ? state.balances : state.balances.merge(balances),
    // OrderedMap.merge keeps existing stakers in place and appends new ones in first-stake order.
    stakes: stakes.size === 0 ? state.stakes : state.stakes.merge(stakes),
    txIds: seenInBlock.size === 0 ? state.txIds : state.txIds.union(seenInBlock),
    maxTotalStake: state.maxTotalStake,
  });
}

/** The sum of every stake: exact, since each stake and the sum stay within the cap. */
function sumStakes(stakes: ChainState['stakes']): number {
  let total = 0;
  for (const stake of stakes.values()) total += stake;
  return total;
}

/**
 * Balances, stakes, ids and the cap after a block, and on `resilient` the profile's head after
 * it; the caller adds `height`, `headHash` and `nextForger`.
 */
export type AppliedBlock = Pick<ChainState, 'balances' | 'stakes' | 'txIds' | 'maxTotalStake' | 'resilient'>;

/**
 * Every rule of a block except its signatures and its own hash: `blockCount` and `lastHash`
 * link to the head, the forger may forge it, and the transactions apply in order. On
 * `reference` the forger must have won the lottery and the block carries no seed signature; on
 * `resilient` the forger must be ranked and its timestamp in its turn (`checkResilientBlock`),
 * checked against the receiver's clock `now` (whole seconds) when given.
 */
export function applyBlockRules(
  state: ChainState,
  block: Block,
  now?: number,
): Result<AppliedBlock, ChainError> {
  if (block.blockCount !== state.height + 1) {
    return err({
      code: 'BAD_BLOCK_COUNT',
      expected: state.height + 1,
      actual: block.blockCount,
      message: `blockCount is ${block.blockCount}, expected ${state.height + 1}`,
    });
  }
  if (block.lastHash !== state.headHash) {
    return err({
      code: 'BAD_LAST_HASH',
      expected: state.headHash,
      actual: block.lastHash,
      message: `lastHash ${block.lastHash.slice(0, 12)}… does not link to the previous block ${state.headHash.slice(0, 12)}…`,
    });
  }
  if (state.resilient) {
    const turn = checkResilientBlock(state.resilient, block, now);
    if (!turn.ok) return turn;
    const applied = applyTransactions(state, block.transactions);
    if (!applied.ok) return applied;
    return ok({
      ...applied.value,
      resilient: nextResilientHead(state.resilient, block, applied.value.stakes),
    });
  }
  if (block.seedSignature !== undefined)
    return err({
      code: 'MALFORMED',
      path: 'seedSignature',
      message: 'malformed block: seedSignature: a reference-profile block carries no seed signature',
    });
  const expectedForger = state.nextForger;
  if (block.forger !== expectedForger) {
    return err({
      code: 'WRONG_FORGER',
      expected: expectedForger,
      actual: block.forger,
      message: 'the block was forged by a key that did not win the lottery',
    });
  }
  return applyTransactions(state, block.transactions);
}

/**
 * The state transition: checks everything about `block` except signatures (which need async
 * crypto: see `validateBlock`) and returns the state after it, or the first broken rule.
 * Pure: `state` is never changed.
 */
export function applyBlock(state: ChainState, block: Block, now?: number): Result<ChainState, ChainError> {
  const applied = applyBlockRules(state, block, now);
  if (!applied.ok) return applied;
  const headHash = blockHash(block);
  const nextForger = rankedNextForger(applied.value) ?? drawNextForger(applied.value.stakes, headHash);
  return ok(stateAfter(applied.value, block.blockCount, headHash, nextForger));
}

/** Balances and stakes as plain JSON (public key → amount); zero balances are left out. */
export function stateToJSON(state: ChainState): {
  balances: Record<string, number>;
  stakes: Record<string, number>;
} {
  const balances: Record<string, number> = {};
  for (const [key, amount] of state.balances) if (amount !== 0) balances[key] = amount;
  return { balances, stakes: Object.fromEntries(state.stakes) };
}
