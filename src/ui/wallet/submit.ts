import type { TransactionDraft } from '../../core/transaction';
import type { Transaction } from '../../core/types';
import type { KeyPair } from '../../crypto/types';
import type { NodeSnapshot } from '../../node/node';
import { signTransaction } from '../../node/wallet';
import { type Decoded, errorMessage } from '../decoders';
import type { AppServices } from '../services';

/** What an account can spend now: its balance less what its pooled transactions already spend. */
export function spendable(
  snapshot: NodeSnapshot,
  publicKeyPem: string,
): { balance: number; pending: number; available: number } {
  const balance = snapshot.state.balances.get(publicKeyPem, 0);
  let pending = 0;
  for (const { transaction } of snapshot.pool) {
    if (transaction.senderPublicKey === publicKeyPem && transaction.type !== 'EXCHANGE')
      pending += transaction.amount;
  }
  return { balance, pending, available: Math.max(0, balance - pending) };
}

/**
 * Signs a transaction with `keyPair` and submits it to the node, which decodes it like any
 * peer's (one decoder for every input) and validates it (signature, rules, quota).
 */
export async function signAndSubmit(
  services: Pick<AppServices, 'crypto' | 'node' | 'now'>,
  keyPair: KeyPair,
  draft: Omit<TransactionDraft, 'senderPublicKey'>,
): Promise<Decoded<Transaction>> {
  let transaction: Transaction;
  try {
    transaction = await signTransaction(services.crypto, keyPair, draft, services.now());
  } catch (error) {
    return { ok: false, error: `Signing failed: ${errorMessage(error)}.` };
  }
  let result: Awaited<ReturnType<AppServices['node']['submitTransaction']>>;
  try {
    result = await services.node.submitTransaction(transaction);
  } catch (error) {
    return { ok: false, error: `The node could not take the transaction: ${errorMessage(error)}.` };
  }
  if (!result.ok)
    return {
      ok: false,
      error: `The node refused the transaction: ${result.error.message} (${result.error.code}).`,
    };
  return { ok: true, value: transaction };
}
