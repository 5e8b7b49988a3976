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
import type { Block, Timestamp, Transaction } from './types';

/**
 * The one gate for untrusted blocks and transactions (peer messages, imported files): a schema
 * with size and count caps. It checks shape only; the rules (amounts, types, balances,
 * signatures) are the validator's, so that a chain with a bad amount is rejected at exactly
 * that block with that rule's code. It never throws and builds plain objects in the reference's
 * field order from known fields only, never from type tags.
 */

/**
 * Remembers key strings that passed the public-key pattern, each mapped to its first copy.
 * Public keys recur in every transaction and block: with one of these passed in (one per
 * chain or sync reply), the pattern runs once per key instead of 20,000 times, and the maps
 * keyed by accounts hash one string instead of every copy. The caller owns it; the core keeps
 * no state between calls.
 */
export type KeyInterner = Map<string, string>;

/** Keys one interner remembers; past this it stops adding (the pattern still runs). */
const MAX_INTERNED_KEYS = 4096;

/** Creates an empty interner. */
export const createKeyInterner = (): KeyInterner => new Map();

/** True when `value` has the shape of a canonical SPKI PEM (consulting and filling `interner`). */
function isPublicKeyShape(value: string, interner: KeyInterner | undefined): boolean {
  if (interner?.has(value)) return true;
  if (!PUBLIC_KEY_PATTERN.test(value)) return false;
  if (interner && interner.size < MAX_INTERNED_KEYS) interner.set(value, value);
  return true;
}

/** A key field: its pattern is checked after the schema, with the caller's interner. */
const publicKey = z.string().max(MAX_PUBLIC_KEY_CHARS);
const KEY_SHAPE_MESSAGE = 'not a canonical SPKI PEM public key';

const HEX_DIGITS = /^[0-9a-f]+$/;

// SIGNATURE_PATTERN's set (whole bytes of lower-case hex), checked without its backtracking group.
const signature = z
  .string()
  .max(MAX_SIGNATURE_CHARS)
  .refine((value) => value.length % 2 === 0 && HEX_DIGITS.test(value), 'not lower-case hex');
const NOT_A_NUMBER =
  'expected a number (integers beyond 2^53-1 are refused, and so is a float that is a whole number here)';
/**
 * A timestamp: a non-negative number, or a whole-number float from the reference (`WholeFloat`,
 * made by `parseJson`), kept as such so that it hashes as `1795670516.0`.
 */
const timestamp = z.union(
  [
    z.number().finite().nonnegative(),
    z.strictObject({
      wholeFloat: z
        .number()
        .finite()
        .nonnegative()
        .refine(Number.isInteger, 'a whole-number float must be whole'),
    }),
  ],
  { error: 'expected a non-negative number (integers beyond 2^53-1 are refused)' },
);

const transactionSchema = z.strictObject({
  senderPublicKey: publicKey,
  receiverPublicKey: publicKey,
  // Any finite number: positivity and wholeness are rules (BAD_AMOUNT), checked in order.
  amount: z.number({ error: NOT_A_NUMBER }).finite(),
  type: z.string().max(MAX_TYPE_CHARS),
  id: z.string().regex(TRANSACTION_ID_PATTERN, 'not 32 lower-case hex digits'),
  timestamp,
  signature,
});

const blockSchema = z.strictObject({
  blockCount: z.number({ error: NOT_A_NUMBER }).int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  lastHash: z.union([z.literal('genesisHash'), z.string().regex(HASH_PATTERN, 'not a SHA-256 hex digest')]),
  signature: z.union([z.literal(''), signature]),
  forger: z.union([z.literal('genesis'), publicKey]),
  timestamp,
  transactions: z.array(z.unknown()).max(MAX_TRANSACTIONS_PER_BLOCK),
  // Resilient profile only; whether a block must or must not carry it is a rule of its profile.
  seedSignature: signature.optional(),
});

type TransactionShape = z.infer<typeof transactionSchema>;

const chainSchema = z.object({ blocks: z.array(z.unknown()) });

function malformed(what: string, error: z.ZodError, prefix = ''): ChainError {
  const issue = error.issues[0];
  return malformedAt(what, prefix + (issue?.path.map(String).join('.') ?? ''), issue?.message);
}

function malformedAt(what: string, path: string, message = 'invalid'): ChainError {
  return { code: 'MALFORMED', path, message: `${what}: ${path === '' ? '' : `${path}: `}${message}` };
}

/** The first key field of `tx` that is not a canonical SPKI PEM's shape, or null. */
function badKeyField(tx: TransactionShape, interner: KeyInterner | undefined): string | null {
  if (!isPublicKeyShape(tx.senderPublicKey, interner)) return 'senderPublicKey';
  if (!isPublicKeyShape(tx.receiverPublicKey, interner)) return 'receiverPublicKey';
  return null;
}

/** Copies a checked transaction into a fresh object in the reference's field order. */
function transactionFromJSON(value: TransactionShape, interner: KeyInterner | undefined): Transaction {
  const intern = (key: string): string => interner?.get(key) ?? key;
  return {
    senderPublicKey: intern(value.senderPublicKey),
    receiverPublicKey: intern(value.receiverPublicKey),
    amount: value.amount,
    type: value.type,
    id: value.id,
    timestamp: copyTimestamp(value.timestamp),
    signature: value.signature,
  };
}

/** A fresh copy of a decoded timestamp, so the decoded value shares nothing with the input. */
const copyTimestamp = (value: Timestamp): Timestamp =>
  typeof value === 'number' ? value : { wholeFloat: value.wholeFloat };

/** Decodes an untrusted transaction. `interner`, if given, remembers checked keys (see `KeyInterner`). */
export function decodeTransaction(value: unknown, interner?: KeyInterner): Result<Transaction, ChainError> {
  const parsed = transactionSchema.safeParse(value);
  if (!parsed.success) return err(malformed('malformed transaction', parsed.error));
  const badKey = badKeyField(parsed.data, interner);
  if (badKey) return err(malformedAt('malformed transaction', badKey, KEY_SHAPE_MESSAGE));
  return ok(transactionFromJSON(parsed.data, interner));
}

/** Decodes an untrusted block, transactions included. `interner` as for `decodeTransaction`. */
export function decodeBlock(value: unknown, interner?: KeyInterner): Result<Block, ChainError> {
  const parsed = blockSchema.safeParse(value);
  if (!parsed.success) return err(malformed('malformed block', parsed.error));
  const b = parsed.data;
  if (b.forger !== 'genesis' && !isPublicKeyShape(b.forger, interner))
    return err(malformedAt('malformed block', 'forger', KEY_SHAPE_MESSAGE));
  const transactions: Transaction[] = [];
  for (const [index, raw] of b.transactions.entries()) {
    const tx = transactionSchema.safeParse(raw);
    if (!tx.success) return err(malformed('malformed block', tx.error, `transactions.${index}.`));
    const badKey = badKeyField(tx.data, interner);
    if (badKey)
      return err(malformedAt('malformed block', `transactions.${index}.${badKey}`, KEY_SHAPE_MESSAGE));
    transactions.push(transactionFromJSON(tx.data, interner));
  }
  const block: Block = {
    blockCount: b.blockCount,
    lastHash: b.lastHash,
    signature: b.signature,
    forger: b.forger === 'genesis' ? b.forger : (interner?.get(b.forger) ?? b.forger),
    timestamp: copyTimestamp(b.timestamp),
    transactions,
  };
  return ok(b.seedSignature === undefined ? block : { ...block, seedSignature: b.seedSignature });
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
