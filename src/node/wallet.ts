import { bytesToHex } from '@noble/hashes/utils.js';
import {
  createTransaction,
  type TransactionDraft,
  transactionSigningBytes,
  transactionTimestamp,
  withTransactionSignature,
} from '../core/transaction';
import type { Transaction } from '../core/types';
import type { CryptoProvider, KeyPair } from '../crypto/types';

/** Where a transaction's id comes from: 16 random bytes (the reference uses `uuid1().hex`). */
export type RandomBytes = (length: number) => Uint8Array;

/** Random bytes from the platform's CSPRNG. */
export const platformRandomBytes: RandomBytes = (length) =>
  globalThis.crypto.getRandomValues(new Uint8Array(length));

/**
 * Builds and signs a transaction from `keyPair`: 32-hex-digit id, timestamp in seconds (never
 * a whole number, see `transactionTimestamp`), RSASSA-PKCS1-v1_5 signature over its payload.
 */
export async function signTransaction(
  crypto: CryptoProvider,
  keyPair: KeyPair,
  draft: Omit<TransactionDraft, 'senderPublicKey'>,
  nowMs: number,
  randomBytes: RandomBytes = platformRandomBytes,
): Promise<Transaction> {
  const unsigned = createTransaction(
    { ...draft, senderPublicKey: keyPair.publicKeyPem },
    bytesToHex(randomBytes(16)),
    transactionTimestamp(nowMs),
  );
  const signature = await crypto.sign(keyPair, transactionSigningBytes(unsigned));
  return withTransactionSignature(unsigned, signature);
}
