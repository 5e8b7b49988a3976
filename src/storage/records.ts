import { z } from 'zod';
import { decodeBlock, decodeTransaction } from '../core/decode';
import { HASH_PATTERN, MAX_PUBLIC_KEY_CHARS, TRANSACTION_ID_PATTERN } from '../core/limits';
import { err, ok, type Result } from '../core/result';
import {
  type AccountRecord,
  type AccountTxRecord,
  type BlockAggregate,
  type CheckpointRecord,
  type HeadPointer,
  MAX_MY_TRANSACTIONS,
  type MyTransactionRecord,
  type StoredBlock,
  type StoredPoolEntry,
  type WalletRecord,
} from '../ports/store';

/*
 * The one decoder for records read back from storage: another tab, an older version, a disk
 * error or a user with DevTools may have written anything. Each record goes through a schema with
 * caps (blocks and transactions through the core's own decoders), and a damaged one is reported
 * as `CORRUPT_RECORD` with a message for the user; the store then keeps the valid prefix.
 */

/** Why a stored record was not used. */
export interface StorageRecordError {
  readonly code: 'CORRUPT_RECORD';
  readonly message: string;
}

/** Caps on what a node stores (anything larger was not written by us). */
export const MAX_STORED_ACCOUNTS = 1_000_000;
export const MAX_STORED_POOL = 100_000;
const MAX_PEM_CHARS = 16_384;
/** Ids in one chunk record: 256 blocks of at most 4,096 transactions. */
const MAX_STORED_CHUNK_IDS = 256 * 4096;

const hash = z.string().regex(HASH_PATTERN);
const height = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const publicKey = z.string().min(1).max(MAX_PUBLIC_KEY_CHARS);
/** Balances may be negative (the exchange's); every amount is a safe whole number. */
const amount = z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER);

const headSchema = z.strictObject({ height, hash });
const accountSchema = z
  .strictObject({
    publicKey,
    balance: amount.nullable(),
    stake: amount.positive().nullable(),
    stakeOrder: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullable(),
  })
  .refine((a) => (a.stake === null) === (a.stakeOrder === null), 'stake and stakeOrder disagree')
  .refine((a) => a.balance !== null || a.stake !== null, 'an account with no balance and no stake');
const pairs = z.array(z.tuple([publicKey, amount])).max(MAX_STORED_ACCOUNTS);
const checkpointSchema = z.strictObject({ height, hash, balances: pairs, stakes: pairs });
const storedBlockSchema = z.strictObject({ height: height.min(1), hash, block: z.unknown() });
const poolEntrySchema = z.strictObject({
  transaction: z.unknown(),
  receivedAt: z.number().finite().nonnegative(),
});
const poolSchema = z.array(z.unknown()).max(MAX_STORED_POOL);
/** Longest PKCS#8 DER accepted (an RSA-16384 key is about 9.4 kB). */
const MAX_PKCS8_BYTES = 16_384;
/** A byte array from any realm (IndexedDB's clone, a worker's, jsdom's), as `isByteArray` in src/crypto. */
const byteArray = z.custom<Uint8Array>(
  (value) => ArrayBuffer.isView(value) && Object.prototype.toString.call(value) === '[object Uint8Array]',
  'not bytes',
);
/**
 * The node-forge fallback's key (`ForgePrivateKey` in src/crypto/forge.ts): its PKCS#8 DER, kept
 * as readable bytes because a page without WebCrypto has no opaque key to store. The provider
 * parses the bytes, and checks them against `publicKeyPem`, before it signs with them.
 */
const pkcs8KeySchema = z.strictObject({
  format: z.literal('pkcs8'),
  der: byteArray.refine(
    (der) => der.length > 0 && der.length <= MAX_PKCS8_BYTES,
    'key bytes empty or too long',
  ),
});
const walletSchema = z.strictObject({
  publicKeyPem: z.string().min(1).max(MAX_PEM_CHARS),
  privateKey: z.union([
    pkcs8KeySchema,
    // A CryptoKey (or, in tests, plain data): whatever structured clone gave back, but something,
    // and not a PKCS#8 record that failed the schema above.
    z.custom<object>(
      (value) => typeof value === 'object' && value !== null && !('format' in value),
      'no private key',
    ),
  ]),
  extractable: z.boolean(),
});
const txIdSchema = z.string().regex(TRANSACTION_ID_PATTERN);

function corrupt(what: string, error: z.ZodError | string): { ok: false; error: StorageRecordError } {
  const reason =
    typeof error === 'string'
      ? error
      : (() => {
          const issue = error.issues[0];
          const path = issue?.path.map(String).join('.') ?? '';
          return `${path === '' ? '' : `${path}: `}${issue?.message ?? 'invalid'}`;
        })();
  return err({ code: 'CORRUPT_RECORD', message: `${what} is damaged (${reason})` });
}

/** A `blocks` record at `expectedHeight`. */
export function decodeStoredBlock(
  value: unknown,
  expectedHeight: number,
): Result<StoredBlock, StorageRecordError> {
  const what = `block ${expectedHeight}'s record`;
  const parsed = storedBlockSchema.safeParse(value);
  if (!parsed.success) return corrupt(what, parsed.error);
  if (parsed.data.height !== expectedHeight) return corrupt(what, `it is for height ${parsed.data.height}`);
  const block = decodeBlock(parsed.data.block);
  if (!block.ok) return corrupt(what, block.error.message);
  if (block.value.blockCount !== expectedHeight) {
    return corrupt(what, `its blockCount is ${block.value.blockCount}`);
  }
  return ok({ height: parsed.data.height, hash: parsed.data.hash, block: block.value });
}

/** A `hashes` record (block `height`'s hash). */
export function decodeStoredHash(value: unknown, atHeight: number): Result<string, StorageRecordError> {
  const parsed = hash.safeParse(value);
  return parsed.success ? ok(parsed.data) : corrupt(`block ${atHeight}'s stored hash`, parsed.error);
}

/** A `txIndex` key. */
export function decodeStoredTxId(value: unknown): Result<string, StorageRecordError> {
  const parsed = txIdSchema.safeParse(value);
  return parsed.success ? ok(parsed.data) : corrupt('a transaction index key', parsed.error);
}

/** The `meta` `head` record. */
export function decodeHeadPointer(value: unknown): Result<HeadPointer, StorageRecordError> {
  const parsed = headSchema.safeParse(value);
  return parsed.success ? ok(parsed.data) : corrupt('the saved head record', parsed.error);
}

/** An `accounts` record. */
export function decodeAccount(value: unknown): Result<AccountRecord, StorageRecordError> {
  const parsed = accountSchema.safeParse(value);
  return parsed.success ? ok(parsed.data) : corrupt('an account record', parsed.error);
}

/** A `checkpoints` record (also the head record of layout version 1, which had this shape). */
export function decodeCheckpoint(value: unknown): Result<CheckpointRecord, StorageRecordError> {
  const parsed = checkpointSchema.safeParse(value);
  return parsed.success ? ok(parsed.data) : corrupt('a checkpoint record', parsed.error);
}

/**
 * The `meta` `pool` record: every entry decoded (transactions through the core's decoder). A
 * damaged entry ends the list: the entries before it are kept, with the error to report.
 */
export function decodePool(value: unknown): {
  readonly entries: StoredPoolEntry[];
  readonly error: StorageRecordError | null;
} {
  const list = poolSchema.safeParse(value);
  if (!list.success) return { entries: [], error: corrupt('the saved transaction pool', list.error).error };
  const entries: StoredPoolEntry[] = [];
  for (const [index, raw] of list.data.entries()) {
    const entry = poolEntrySchema.safeParse(raw);
    if (!entry.success) return { entries, error: corrupt(`pool entry ${index}`, entry.error).error };
    const transaction = decodeTransaction(entry.data.transaction);
    if (!transaction.ok) {
      return { entries, error: corrupt(`pool entry ${index}`, transaction.error.message).error };
    }
    entries.push({ transaction: transaction.value, receivedAt: entry.data.receivedAt });
  }
  return { entries, error: null };
}

/** The `meta` `wallet` record. */
export function decodeWallet(value: unknown): Result<WalletRecord, StorageRecordError> {
  const parsed = walletSchema.safeParse(value);
  return parsed.success
    ? ok({
        publicKeyPem: parsed.data.publicKeyPem,
        privateKey: parsed.data.privateKey,
        extractable: parsed.data.extractable,
      })
    : corrupt('the saved wallet record', parsed.error);
}

const txIndexEntrySchema = z.strictObject({ id: txIdSchema, height: height.min(1) });

/** A `txIndex` record. */
export function decodeTxIndexEntry(
  value: unknown,
): Result<{ id: string; height: number }, StorageRecordError> {
  const parsed = txIndexEntrySchema.safeParse(value);
  return parsed.success ? ok(parsed.data) : corrupt('a transaction index record', parsed.error);
}

const chunkSchema = z.strictObject({
  index: z.number().int().min(0),
  hashes: z.array(hash),
  txIds: z.array(txIdSchema).max(MAX_STORED_CHUNK_IDS),
});

/** A `chunks` record, which must be chunk `index` and hold `size` hashes. */
export function decodeChunk(
  value: unknown,
  index: number,
  size: number,
): Result<{ index: number; hashes: string[]; txIds: string[] }, StorageRecordError> {
  const parsed = chunkSchema.safeParse(value);
  if (!parsed.success) return corrupt(`chunk ${index}`, parsed.error);
  if (parsed.data.index !== index || parsed.data.hashes.length !== size) {
    return corrupt(
      `chunk ${index}`,
      `it is chunk ${parsed.data.index} of ${parsed.data.hashes.length} hashes`,
    );
  }
  return ok(parsed.data);
}

const accountTxSchema = z.strictObject({
  publicKey,
  height: height.min(1),
  txIndex: z.number().int().min(0).max(MAX_STORED_CHUNK_IDS),
  id: txIdSchema,
  type: z.string().min(1).max(16),
  amount,
  direction: z.enum(['in', 'out']),
  counterparty: publicKey,
});

/** An `accountTx` record. */
export function decodeAccountTx(value: unknown): Result<AccountTxRecord, StorageRecordError> {
  const parsed = accountTxSchema.safeParse(value);
  return parsed.success ? ok(parsed.data) : corrupt('an account history record', parsed.error);
}

const myTransactionSchema = z.strictObject({
  id: txIdSchema,
  type: z.enum(['TRANSFER', 'EXCHANGE', 'STAKE']),
  amount,
  receiverPublicKey: publicKey,
  sentAt: z.number().finite().nonnegative(),
  transaction: z.unknown(),
  note: z.enum(['returned', 'expired', 'evicted']).optional(),
});

/**
 * The `meta` `mine` record: each entry decoded (its transaction through the core's decoder, and
 * it must be the entry's). A damaged entry ends the list: the ones before it are kept.
 */
export function decodeMyTransactions(value: unknown): {
  readonly entries: MyTransactionRecord[];
  readonly error: StorageRecordError | null;
} {
  const list = z.array(z.unknown()).max(MAX_MY_TRANSACTIONS).safeParse(value);
  if (!list.success) return { entries: [], error: corrupt('the saved "my transactions"', list.error).error };
  const entries: MyTransactionRecord[] = [];
  for (const [index, raw] of list.data.entries()) {
    const what = `"my transactions" entry ${index}`;
    const entry = myTransactionSchema.safeParse(raw);
    if (!entry.success) return { entries, error: corrupt(what, entry.error).error };
    const transaction = decodeTransaction(entry.data.transaction);
    if (!transaction.ok) return { entries, error: corrupt(what, transaction.error.message).error };
    if (transaction.value.id !== entry.data.id) {
      return { entries, error: corrupt(what, 'its transaction has another id').error };
    }
    const { note, ...fields } = entry.data;
    entries.push({ ...fields, transaction: transaction.value, ...(note ? { note } : {}) });
  }
  return { entries, error: null };
}

/** The longest propagation time a record may hold: a day (a block slower than that was not measured). */
const MAX_PROPAGATION_MS = 86_400_000;
/** Stake changes in one block at most: one per transaction. */
const MAX_STAKE_CHANGES = 4096;

const aggregateSchema = z.strictObject({
  height: height.min(1),
  timestamp: z.number().finite(),
  txCount: z.number().int().min(0).max(MAX_STAKE_CHANGES),
  forger: publicKey,
  stakeChanges: z.array(z.tuple([publicKey, amount.positive()])).max(MAX_STAKE_CHANGES),
  propagationMs: z.number().finite().min(0).max(MAX_PROPAGATION_MS).nullable(),
});

/** An `aggregates` record, which must be block `expectedHeight`'s. */
export function decodeBlockAggregate(
  value: unknown,
  expectedHeight: number,
): Result<BlockAggregate, StorageRecordError> {
  const what = `block ${expectedHeight}'s aggregate record`;
  const parsed = aggregateSchema.safeParse(value);
  if (!parsed.success) return corrupt(what, parsed.error);
  if (parsed.data.height !== expectedHeight) return corrupt(what, `it is for height ${parsed.data.height}`);
  return ok(parsed.data);
}

const aggregateChunkSchema = z.strictObject({
  index: z.number().int().min(0),
  aggregates: z.array(z.unknown()).max(256),
});

/** An `aggregateChunks` record: chunk `index` of `size` aggregates, heights `index * size + 1`.. in order. */
export function decodeAggregateChunk(
  value: unknown,
  index: number,
  size: number,
): Result<BlockAggregate[], StorageRecordError> {
  const parsed = aggregateChunkSchema.safeParse(value);
  if (!parsed.success) return corrupt(`aggregate chunk ${index}`, parsed.error);
  if (parsed.data.index !== index || parsed.data.aggregates.length !== size) {
    return corrupt(
      `aggregate chunk ${index}`,
      `it is chunk ${parsed.data.index} of ${parsed.data.aggregates.length} aggregates`,
    );
  }
  const aggregates: BlockAggregate[] = [];
  for (const [offset, raw] of parsed.data.aggregates.entries()) {
    const aggregate = decodeBlockAggregate(raw, index * size + offset + 1);
    if (!aggregate.ok) return aggregate;
    aggregates.push(aggregate.value);
  }
  return ok(aggregates);
}
