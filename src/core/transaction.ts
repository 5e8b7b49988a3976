import { writeTransactionPayload } from './signing-bytes';
import type { Timestamp, Transaction, TransactionType } from './types';

/** The fields a sender chooses; `id`, `timestamp` and `signature` are added by `createTransaction`. */
export interface TransactionDraft {
  readonly senderPublicKey: string;
  readonly receiverPublicKey: string;
  readonly amount: number;
  readonly type: TransactionType;
}

/**
 * Builds an unsigned transaction with the reference's field order. `id` is 32 lower-case hex
 * digits (the reference uses `uuid.uuid1().hex`); `timestamp` is seconds as a float. Both come
 * from the caller, because the core has no clock and no randomness.
 */
export function createTransaction(draft: TransactionDraft, id: string, timestamp: Timestamp): Transaction {
  return {
    senderPublicKey: draft.senderPublicKey,
    receiverPublicKey: draft.receiverPublicKey,
    amount: draft.amount,
    type: draft.type,
    id,
    timestamp,
    signature: '',
  };
}

/** The object that is hashed and signed: the transaction with `signature: ""` (reference `payload()`). */
export function transactionPayload(tx: Transaction): Transaction {
  return {
    senderPublicKey: tx.senderPublicKey,
    receiverPublicKey: tx.receiverPublicKey,
    amount: tx.amount,
    type: tx.type,
    id: tx.id,
    timestamp: tx.timestamp,
    signature: '',
  };
}

/** The bytes the sender signs: UTF-8 of the payload's canonical JSON. */
export function transactionSigningBytes(tx: Transaction): Uint8Array {
  return writeTransactionPayload(tx);
}

/** Returns `tx` with `signature` set, keeping field order. */
export function withTransactionSignature(tx: Transaction, signature: string): Transaction {
  return { ...transactionPayload(tx), signature };
}

/**
 * A timestamp in seconds for a transaction this project creates: a plain number that is never
 * whole, so it stays a float through any JSON tool (Python writes a whole float as `1.0`, and
 * most JavaScript parsers would read that back as the int `1`).
 */
export function transactionTimestamp(epochMilliseconds: number): number {
  const seconds = Math.round(epochMilliseconds * 1000) / 1e6;
  return Number.isInteger(seconds) ? seconds + 0.000001 : seconds;
}

/** A timestamp's value in seconds, whether it is a number or a whole-number float. */
export function timestampSeconds(timestamp: Timestamp): number {
  return typeof timestamp === 'number' ? timestamp : timestamp.wholeFloat;
}
