import { blockSigningBytes, createBlock, withBlockSignature } from '../core/block';
import { applyTransactions, type ChainState } from '../core/state';
import { transactionTimestamp } from '../core/transaction';
import type { Block, Transaction } from '../core/types';
import type { CryptoProvider, KeyPair } from '../crypto/types';
import type { PoolEntry } from './pool';

/** The pooled transactions a block on `state` takes, in pool order, `max` at most. */
export function chooseTransactions(
  state: ChainState,
  pool: readonly PoolEntry[],
  max: number,
): Transaction[] {
  const chosen: Transaction[] = [];
  let running: Pick<ChainState, 'balances' | 'stakes' | 'txIds'> = state;
  for (const { transaction } of pool) {
    if (chosen.length >= max) break;
    // Take each transaction the state so far covers; leave the rest pooled for later.
    const applied = applyTransactions({ ...state, ...running }, [transaction]);
    if (!applied.ok) continue;
    running = applied.value;
    chosen.push(transaction);
  }
  return chosen;
}

/** The block on `state` that carries `transactions`, forged by `wallet` at time `now` (ms). */
export async function forgeBlock(
  state: ChainState,
  transactions: readonly Transaction[],
  wallet: KeyPair,
  crypto: CryptoProvider,
  now: number,
): Promise<Block> {
  const unsigned = createBlock(
    transactions,
    state.headHash,
    wallet.publicKeyPem,
    state.height + 1,
    transactionTimestamp(now),
  );
  return withBlockSignature(unsigned, await crypto.sign(wallet, blockSigningBytes(unsigned)));
}
