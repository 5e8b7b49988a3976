import { z } from 'zod';
import type { ChainError } from './errors';
import {
  HASH_PATTERN,
  MAX_PUBLIC_KEY_CHARS,
  MAX_SIGNATURE_CHARS,
  MAX_TRANSACTIONS_PER_BLOCK,
  MAX_TYPE_CHARS,
  PUBLIC_KEY_PATTERN,
  TRANSACTION_ID_PATTERN,
} from './limits';
import { err, ok, type Result } from './result';
import type { Block, Transaction } from './types';

/**
 * The one gate for untrusted blocks and transactions (peer messages, imported files): a schema
 * with size and count caps. It checks shape only; the rules (amounts, types, balances,
 * signatures) are the validator's, so that a chain with a bad amount is rejected at exactly
 * that block with that rule's code. It never throws and builds plain objects in the reference's
 * field order from known fields only, never from type tags.
 */

/**
 * Public keys recur in every transaction and block. Once a key string has passed the pattern,
 * its first copy is kept (bounded) and every later decoded copy is replaced by it: the pattern
 * runs a few times per sync instead of 20,000, and the engine hashes one string once for all
 * the maps keyed by accounts (balances, key caches) instead of every copy afresh.
 */
const knownKeys = new Map<string, string>();
function isPublicKeyShape(value: string): boolean {
  if (knownKeys.has(value)) return true;
  if (!PUBLIC_KEY_PATTERN.test(value)) return false;
  if (knownKeys.size >= 4096) knownKeys.clear();
  knownKeys.set(value, value);
  return true;
}
/** The kept copy of a key string that passed `isPublicKeyShape`. */
const internKey = (value: string): string => knownKeys.get(value) ?? value;

const HEX_DIGITS = /^[0-9a-f]+$/;

const publicKey = z
  .string()
  .max(MAX_PUBLIC_KEY_CHARS)
  .refine(isPublicKeyShape, 'not a canonical SPKI PEM public key');
// SIGNATURE_PATTERN's set (whole bytes of lower-case hex), checked without its backtracking group.
const signature = z
  .string()
  .max(MAX_SIGNATURE_CHARS)
  .refine((value) => value.length % 2 === 0 && HEX_DIGITS.test(value), 'not lower-case hex');
const timestamp = z.number().finite().nonnegative();

const transactionSchema = z.strictObject({
  senderPublicKey: publicKey,
  receiverPublicKey: publicKey,
  // Any finite number: positivity and wholeness are rules (BAD_AMOUNT), checked in order.
  amount: z.number().finite(),
  type: z.string().max(MAX_TYPE_CHARS),
  id: z.string().regex(TRANSACTION_ID_PATTERN, 'not 32 lower-case hex digits'),
  timestamp,
  signature,
});

const blockSchema = z.strictObject({
  blockCount: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  lastHash: z.union([z.literal('genesisHash'), z.string().regex(HASH_PATTERN, 'not a SHA-256 hex digest')]),
  signature: z.union([z.literal(''), signature]),
  forger: z.union([z.literal('genesis'), publicKey]),
  timestamp,
  transactions: z.array(z.unknown()).max(MAX_TRANSACTIONS_PER_BLOCK),
});

const chainSchema = z.object({ blocks: z.array(z.unknown()) });

function malformed(what: string, error: z.ZodError, prefix = ''): ChainError {
  const issue = error.issues[0];
  const path = prefix + (issue?.path.map(String).join('.') ?? '');
  return {
    code: 'MALFORMED',
    path,
    message: `${what}: ${path === '' ? '' : `${path}: `}${issue?.message ?? 'invalid'}`,
  };
}

/** Copies a checked transaction into a fresh object in the reference's field order. */
export function transactionFromJSON(value: z.infer<typeof transactionSchema>): Transaction {
  return {
    senderPublicKey: internKey(value.senderPublicKey),
    receiverPublicKey: internKey(value.receiverPublicKey),
    amount: value.amount,
    type: value.type,
    id: value.id,
    timestamp: value.timestamp,
    signature: value.signature,
  };
}

/** Decodes an untrusted transaction. */
export function decodeTransaction(value: unknown): Result<Transaction, ChainError> {
  const parsed = transactionSchema.safeParse(value);
  if (!parsed.success) return err(malformed('malformed transaction', parsed.error));
  return ok(transactionFromJSON(parsed.data));
}

/** Decodes an untrusted block, transactions included. */
export function decodeBlock(value: unknown): Result<Block, ChainError> {
  const parsed = blockSchema.safeParse(value);
  if (!parsed.success) return err(malformed('malformed block', parsed.error));
  const transactions: Transaction[] = [];
  for (const [index, raw] of parsed.data.transactions.entries()) {
    const tx = transactionSchema.safeParse(raw);
    if (!tx.success) return err(malformed('malformed block', tx.error, `transactions.${index}.`));
    transactions.push(transactionFromJSON(tx.data));
  }
  const b = parsed.data;
  return ok({
    blockCount: b.blockCount,
    lastHash: b.lastHash,
    signature: b.signature,
    forger: b.forger === 'genesis' ? b.forger : internKey(b.forger),
    timestamp: b.timestamp,
    transactions,
  });
}

/**
 * Decodes the outer shape of a chain file, `{"blocks": [...]}`, leaving each block to
 * `decodeBlock` so that one malformed block invalidates the chain from that block on only.
 */
export function decodeChainEnvelope(value: unknown): Result<readonly unknown[], string> {
  const parsed = chainSchema.safeParse(value);
  if (!parsed.success)
    return err('expected a JSON object {"blocks": [...]} as served by the reference at GET /blockchain');
  return ok(parsed.data.blocks);
}
