import type { ChainError } from '../core/errors';
import type { ChainState } from '../core/state';
import type { Transaction } from '../core/types';
import type { PoolEntry } from './pool';

/**
 * Why the head cannot cover a locally submitted transaction once the sender's pending ones
 * are paid, or null if it can. A pool would hold such a transaction until it became valid; a
 * local sender is told at once instead. EXCHANGE is exempt, as in the consensus rules: the
 * exchange sells coins.
 */
export function localBalanceError(
  state: ChainState,
  pool: readonly PoolEntry[],
  transaction: Transaction,
): ChainError | null {
  if (transaction.type === 'EXCHANGE') return null;
  const balance = state.balances.get(transaction.senderPublicKey, 0);
  const pendingSpend = pool
    .filter(
      (e) =>
        e.transaction.senderPublicKey === transaction.senderPublicKey && e.transaction.type !== 'EXCHANGE',
    )
    .reduce((sum, e) => sum + e.transaction.amount, 0);
  if (balance - pendingSpend >= transaction.amount) return null;
  return {
    code: 'INSUFFICIENT_BALANCE',
    txIndex: 0,
    txId: transaction.id,
    message: `the sender holds ${balance - pendingSpend} (after pending transactions), needs ${transaction.amount}`,
  };
}
