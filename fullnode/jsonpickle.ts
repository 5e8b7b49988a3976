import { z } from 'zod';
import { decodeTransaction } from '../src/core/decode';
import { parseJson } from '../src/core/json';
import { MAX_PUBLIC_KEY_CHARS, MAX_SIGNATURE_CHARS } from '../src/core/limits';
import { err, type Result } from '../src/core/result';
import type { Transaction } from '../src/core/types';

/*
 * The body of the reference's `POST /transaction`, as its `Interaction.py` sends it:
 * `{"transaction": "<jsonpickle text>"}`, where the text is `jsonpickle.encode(transaction)`:
 * `{"py/object": "Transaction.Transaction", "senderPublicKey": …, …, "signature": …}`.
 *
 * The reference hands that text to `jsonpickle.decode`, which builds whatever class the tag
 * names. Here the tag is only compared with the one class the reference ever sends, and the
 * fields go through the core's own transaction decoder: nothing is built from a tag. Both
 * texts are read by the project's lossless JSON parser, so a whole-number float timestamp
 * (`1795670516.0`) keeps its spelling and the transaction's signature still verifies.
 */

/** The `py/object` tag of the reference's `Transaction` class (module `Transaction`, class `Transaction`). */
export const REFERENCE_TRANSACTION_TAG = 'Transaction.Transaction';

/**
 * The longest jsonpickle text taken: two 4096-bit keys, a 4096-bit signature and the other
 * fields fit with room to spare (a 2048-bit transaction is about 1,600 characters).
 */
export const MAX_JSONPICKLE_CHARS = 2 * MAX_PUBLIC_KEY_CHARS + MAX_SIGNATURE_CHARS + 1024;

/**
 * The longest request body taken (bytes of UTF-8, or characters of the decoded text): the
 * jsonpickle text escaped once more inside the outer JSON (each `"` and `\n` gains a backslash).
 */
export const MAX_TRANSACTION_BODY_BYTES = 2 * MAX_JSONPICKLE_CHARS + 64;

/** Why a `POST /transaction` body was refused, before the node saw it. */
export interface TransactionBodyError {
  readonly code:
    | 'BODY_TOO_LARGE'
    | 'NOT_JSON'
    | 'MISSING_TRANSACTION'
    | 'BAD_BODY'
    | 'NOT_JSONPICKLE'
    | 'WRONG_PY_OBJECT'
    | 'BAD_FIELDS'
    | 'MALFORMED';
  readonly message: string;
}

/** The reference's answer to a body without a transaction (`NodeAPI.transaction`), word for word. */
export const MISSING_TRANSACTION_MESSAGE = 'Missing transaction value';

/** The outer body: exactly one key, `transaction`, holding text. */
const bodySchema = z.strictObject({
  transaction: z.string().max(MAX_JSONPICKLE_CHARS),
});

/**
 * The jsonpickle object: the reference's class tag and exactly the reference's seven fields.
 * The fields' shapes are the core decoder's to check; here only that each is present.
 */
const present = z.unknown(); // required: zod 4 refuses a missing key here
const jsonpickleSchema = z.strictObject({
  'py/object': z.literal(REFERENCE_TRANSACTION_TAG),
  senderPublicKey: present,
  receiverPublicKey: present,
  amount: present,
  type: present,
  id: present,
  timestamp: present,
  signature: present,
});

const refused = (code: TransactionBodyError['code'], message: string) => err({ code, message });

/** A hostile string shown in a message: quoted, and cut short. */
function quoted(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
}

/** True for a plain JSON object (not an array, not null). */
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Names the keys of `value` that are not among `allowed`, for a message. */
function extraKeys(value: Record<string, unknown>, allowed: readonly string[]): string {
  return Object.keys(value)
    .filter((key) => !allowed.includes(key))
    .slice(0, 5)
    .map(quoted)
    .join(', ');
}

const FIELDS = Object.keys(jsonpickleSchema.shape);

/**
 * Decodes the jsonpickle text of one reference `Transaction` into a `Transaction` (shape and
 * caps only: the node checks rules and the signature). Never throws.
 */
export function decodeJsonpickleTransaction(text: string): Result<Transaction, TransactionBodyError> {
  if (text.length > MAX_JSONPICKLE_CHARS)
    return refused('BODY_TOO_LARGE', `the jsonpickle text exceeds ${MAX_JSONPICKLE_CHARS} characters`);
  const parsed = parseJson(text);
  if (!parsed.ok) return refused('NOT_JSONPICKLE', `the "transaction" value is not JSON: ${parsed.error}`);
  const value = parsed.value;
  if (!isObject(value))
    return refused('NOT_JSONPICKLE', 'the "transaction" value must be the jsonpickle text of an object');
  const tag = value['py/object'];
  if (tag !== REFERENCE_TRANSACTION_TAG) {
    return refused(
      'WRONG_PY_OBJECT',
      typeof tag === 'string'
        ? `"py/object" must be ${quoted(REFERENCE_TRANSACTION_TAG)} (the reference's Transaction class), not ${quoted(tag)}`
        : `the jsonpickle object must carry "py/object": ${quoted(REFERENCE_TRANSACTION_TAG)}`,
    );
  }
  const checked = jsonpickleSchema.safeParse(value);
  if (!checked.success) {
    const extra = extraKeys(value, FIELDS);
    const missing = FIELDS.filter((field) => !(field in value));
    return refused(
      'BAD_FIELDS',
      extra !== ''
        ? `the jsonpickle object has fields the reference's Transaction does not: ${extra}`
        : `the jsonpickle object lacks ${missing.map(quoted).join(', ')}`,
    );
  }
  const { 'py/object': _tag, ...fields } = checked.data;
  const decoded = decodeTransaction(fields);
  if (!decoded.ok) return refused('MALFORMED', decoded.error.message);
  return decoded;
}

/**
 * Decodes a `POST /transaction` body (the request's text) into one transaction: the outer JSON
 * `{"transaction": "<jsonpickle text>"}`, then the jsonpickle text. Never throws.
 */
export function decodeTransactionBody(body: string): Result<Transaction, TransactionBodyError> {
  if (body.length > MAX_TRANSACTION_BODY_BYTES)
    return refused('BODY_TOO_LARGE', `the body exceeds ${MAX_TRANSACTION_BODY_BYTES} bytes`);
  const parsed = parseJson(body);
  if (!parsed.ok) return refused('NOT_JSON', `the body is not JSON: ${parsed.error}`);
  const value = parsed.value;
  if (!isObject(value))
    return refused('BAD_BODY', 'the body must be a JSON object {"transaction": "<jsonpickle text>"}');
  if (!('transaction' in value)) return refused('MISSING_TRANSACTION', MISSING_TRANSACTION_MESSAGE);
  const checked = bodySchema.safeParse(value);
  if (!checked.success) {
    const extra = extraKeys(value, ['transaction']);
    if (extra !== '') return refused('BAD_BODY', `the body has keys besides "transaction": ${extra}`);
    return refused(
      typeof value.transaction === 'string' ? 'BODY_TOO_LARGE' : 'BAD_BODY',
      typeof value.transaction === 'string'
        ? `the jsonpickle text exceeds ${MAX_JSONPICKLE_CHARS} characters`
        : 'the "transaction" value must be a string: the jsonpickle text of a transaction',
    );
  }
  return decodeJsonpickleTransaction(checked.data.transaction);
}
