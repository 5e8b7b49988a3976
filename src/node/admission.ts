import { decodeTransaction } from '../core/decode';
import type { ChainError } from '../core/errors';
import { HASH_PATTERN, MAX_SIGNATURE_CHARS } from '../core/limits';
import { err, ok, type Result } from '../core/result';
import { type ChainState, checkTransactionRules } from '../core/state';
import type { SignatureVerifier, Transaction } from '../core/types';
import { type VerifiedSignatures, verifyTransactionSignature } from '../core/validate';
import type { PoolSource, TransactionPool } from './pool';

/*
 * What a transaction must pass to enter the pool, the same for one typed into this tab's form
 * and one a peer relayed: the core's decoder (shape and caps), not already known, the stateless
 * rules, room for its sender, its signature, and then the pool's coverage and eviction rules.
 * The balance is not a reason to refuse: a transaction the head cannot cover yet waits in the
 * pool, uncovered and not gossiped, until a block covers it or it expires.
 */

/** Why a transaction was not taken into the pool. */
export type SubmitError =
  | ChainError
  | {
      readonly code: 'POOL_FULL' | 'SENDER_QUOTA' | 'DUPLICATE_TX' | 'NOT_RUNNING';
      readonly message: string;
    };

/** The outcome of submitting a transaction. */
export type SubmitResult = { readonly ok: true } | { readonly ok: false; readonly error: SubmitError };

/** What admission found: the pooled transaction and whether the head covers it, or why not. */
export type Admission = Result<
  { readonly transaction: Transaction; readonly covered: boolean },
  {
    readonly error: SubmitError;
    /** A peer that sent this broke the protocol (malformed, a broken rule, a bad signature). */
    readonly peerAtFault: boolean;
  }
>;

/** What admission reads and writes. */
export interface AdmissionContext {
  /** The head state: replays are checked against its transaction ids. */
  readonly state: Pick<ChainState, 'txIds'>;
  readonly pool: TransactionPool;
  readonly verifier: SignatureVerifier;
  readonly verified: VerifiedSignatures;
  /** The time now (ms): the pool entry's arrival. */
  readonly now: number;
}

/** Score points a peer loses per transaction it relayed that left the pool never covered. */
export const NEVER_COVERED_PENALTY = 2;

const refused = (error: SubmitError, peerAtFault: boolean): Admission => err({ error, peerAtFault });

/**
 * Decodes `input` (untrusted: a form's value or a peer's message field) and pools it if it
 * passes every check. Cheap checks run first; the RSA verification only for a transaction the
 * pool has room for.
 */
export async function admitTransaction(
  input: unknown,
  source: PoolSource,
  context: AdmissionContext,
): Promise<Admission> {
  const decoded = decodeTransaction(input);
  if (!decoded.ok) return refused(decoded.error, true);
  const tx = decoded.value;
  const { pool } = context;
  if (pool.has(tx.id) || context.state.txIds.has(tx.id)) {
    return refused({ code: 'DUPLICATE_TX', message: `transaction ${tx.id} is already known` }, false);
  }
  const ruleError = checkTransactionRules(tx);
  if (ruleError) return refused(ruleError, true);
  if (!pool.hasRoomFor(tx.senderPublicKey)) return refused(senderQuota(tx), false);
  if (!(await verifyTransactionSignature(tx, context.verifier, context.verified))) {
    return refused(
      {
        code: 'BAD_TX_SIGNATURE',
        txIndex: 0,
        txId: tx.id,
        message: `transaction ${tx.id}: signature does not verify`,
      },
      true,
    );
  }
  switch (pool.add(tx, context.now, source)) {
    case 'added':
      return ok({ transaction: tx, covered: pool.isCovered(tx.id) });
    case 'duplicate':
      return refused({ code: 'DUPLICATE_TX', message: `transaction ${tx.id} is already pooled` }, false);
    case 'sender-full':
      return refused(senderQuota(tx), false);
    case 'full':
      return refused({ code: 'POOL_FULL', message: 'the transaction pool is full' }, false);
  }
}

function senderQuota(tx: Transaction): SubmitError {
  return {
    code: 'SENDER_QUOTA',
    message: `transaction ${tx.id}: its sender already has as many pending transactions as the pool holds per sender`,
  };
}

/**
 * The identity of a gossiped block read from the raw message, before it is decoded: its height,
 * its parent and its forger's signature. Null when those fields are missing or out of shape
 * (the decoder then says why). The signature is deterministic over the payload, so with the
 * parent it names the block; a decoy that copies all three but changes anything else fails
 * validation and is never marked seen, so it cannot shadow the real block.
 */
export function blockSeenKey(raw: unknown): string | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const { blockCount, lastHash, signature } = raw as Record<string, unknown>;
  if (typeof blockCount !== 'number' || !Number.isSafeInteger(blockCount)) return null;
  if (typeof lastHash !== 'string' || !(lastHash === 'genesisHash' || HASH_PATTERN.test(lastHash)))
    return null;
  if (typeof signature !== 'string' || signature.length > MAX_SIGNATURE_CHARS) return null;
  return `${blockCount}:${lastHash}:${signature}`;
}
