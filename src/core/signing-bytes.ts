import { pythonNumber, pythonString, pythonTimestamp } from './canonical-json';
import type { Block, Timestamp, Transaction } from './types';

/**
 * The signed bytes of transactions and blocks, written straight into byte arrays: the UTF-8 of
 * `canonicalJson(transactionPayload(tx))` and `canonicalJson(blockPayload(block))`, byte for
 * byte (a property test holds them equal), without building those strings and encoding them.
 * A block of 1,000 transfers is 1.3 MB of JSON; in Chromium, building and encoding it was 42%
 * of validating the block.
 *
 * Canonical JSON is ASCII (Python's `ensure_ascii`), so each character is one byte. Keys recur
 * (every transaction carries two) and are encoded once per caller-owned `KeyBytes`; the short
 * fields (hex ids and signatures, numbers) are copied character by character, and only a string
 * that is not plain printable ASCII goes through `pythonString` for its escapes.
 */

/**
 * Remembers the canonical JSON bytes (quotes included) of strings that recur, i.e. public keys.
 * The caller owns it (one per block, chain or sync reply), so the core keeps no state between
 * calls; past `MAX_KEY_BYTES` entries it stops adding.
 */
export type KeyBytes = Map<string, Uint8Array>;

/** Entries one `KeyBytes` remembers: as many keys as one interner (see `KeyInterner`). */
const MAX_KEY_BYTES = 4096;

/** Creates an empty `KeyBytes`. */
export const createKeyBytes = (): KeyBytes => new Map();

/** The bytes of an ASCII constant (module constants: written once, only ever read). */
function asciiConstant(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

const TX_SENDER = asciiConstant('{"senderPublicKey": ');
const TX_RECEIVER = asciiConstant(', "receiverPublicKey": ');
const TX_AMOUNT = asciiConstant(', "amount": ');
const TX_TYPE = asciiConstant(', "type": ');
const TX_ID = asciiConstant(', "id": ');
const TX_TIMESTAMP = asciiConstant(', "timestamp": ');
/** The payload's last field; the signed form ends in the signature's string and `}` instead. */
const TX_SIGNATURE = asciiConstant(', "signature": ');
const EMPTY_STRING_CLOSE = asciiConstant('""}');
const BLOCK_COUNT = asciiConstant('{"blockCount": ');
const BLOCK_LAST_HASH = asciiConstant(', "lastHash": ');
const BLOCK_FORGER = asciiConstant(', "signature": "", "forger": ');
const BLOCK_TIMESTAMP = asciiConstant(', "timestamp": ');
const BLOCK_TRANSACTIONS = asciiConstant(', "transactions": [');
const SEPARATOR = asciiConstant(', ');
const BLOCK_SEED = asciiConstant('], "seedSignature": ');
const CLOSE_ARRAY_OBJECT = asciiConstant(']}');

/** Fixed text of one transaction payload, with room for two numbers of up to 24 characters. */
const TX_OVERHEAD = 110 + 48;
/** Fixed text of one block payload, with room for its numbers. */
const BLOCK_OVERHEAD = 120 + 48;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const CLOSE_BRACE = 0x7d;

/**
 * A growing byte array: `bytes[0, length)` is written. Growing copies into a larger array; a
 * view taken before stays valid, on the old array, which keeps its bytes.
 */
interface Sink {
  bytes: Uint8Array;
  length: number;
}

function ensure(sink: Sink, extra: number): void {
  const needed = sink.length + extra;
  if (needed <= sink.bytes.length) return;
  const grown = new Uint8Array(Math.max(needed, sink.bytes.length * 2));
  grown.set(sink.bytes.subarray(0, sink.length));
  sink.bytes = grown;
}

function writeBytes(sink: Sink, bytes: Uint8Array): void {
  const count = bytes.length;
  ensure(sink, count);
  const target = sink.bytes;
  const at = sink.length;
  // A short constant is copied faster by hand than through `set`'s call.
  if (count <= SHORT_COPY) for (let i = 0; i < count; i++) target[at + i] = bytes[i] as number;
  else target.set(bytes, at);
  sink.length = at + count;
}

/** Bytes up to which `writeBytes` copies in a loop (the field names and separators). */
const SHORT_COPY = 32;

/** Writes text known to be ASCII (a number's digits, `pythonString`'s output). */
function writeAscii(sink: Sink, text: string): void {
  ensure(sink, text.length);
  const bytes = sink.bytes;
  let at = sink.length;
  for (let i = 0; i < text.length; i++) bytes[at++] = text.charCodeAt(i);
  sink.length = at;
}

/**
 * Writes `text` as a JSON string: quoted as it is when every character is printable ASCII
 * other than `"` and `\` (hex, ids, most types), else `pythonString`'s escaped form.
 */
function writeString(sink: Sink, text: string): void {
  const count = text.length;
  ensure(sink, count + 2);
  const bytes = sink.bytes;
  let at = sink.length;
  bytes[at++] = QUOTE;
  for (let i = 0; i < count; i++) {
    const unit = text.charCodeAt(i);
    // Control characters, DEL and everything past ASCII are escaped, as are `"` and `\`.
    if (unit < 0x20 || unit > 0x7e || unit === QUOTE || unit === BACKSLASH) {
      writeAscii(sink, pythonString(text));
      return;
    }
    bytes[at++] = unit;
  }
  bytes[at++] = QUOTE;
  sink.length = at;
}

/** The canonical JSON bytes of a recurring string, from (or added to) `keyBytes`. */
function recurringBytes(text: string, keyBytes: KeyBytes): Uint8Array {
  const known = keyBytes.get(text);
  if (known !== undefined) return known;
  const sink: Sink = { bytes: new Uint8Array(text.length + 16), length: 0 };
  writeString(sink, text);
  const bytes = sink.bytes.slice(0, sink.length);
  if (keyBytes.size < MAX_KEY_BYTES) keyBytes.set(text, bytes);
  return bytes;
}

function writeTimestamp(sink: Sink, timestamp: Timestamp): void {
  writeAscii(sink, pythonTimestamp(timestamp));
}

/** Writes a transaction's payload (`signature: ""`) and returns where it starts. */
function writeTransactionPayloadTo(sink: Sink, tx: Transaction, keyBytes: KeyBytes): number {
  const start = sink.length;
  writeBytes(sink, TX_SENDER);
  writeBytes(sink, recurringBytes(tx.senderPublicKey, keyBytes));
  writeBytes(sink, TX_RECEIVER);
  writeBytes(sink, recurringBytes(tx.receiverPublicKey, keyBytes));
  writeBytes(sink, TX_AMOUNT);
  writeAscii(sink, pythonNumber(tx.amount));
  writeBytes(sink, TX_TYPE);
  writeString(sink, tx.type);
  writeBytes(sink, TX_ID);
  writeString(sink, tx.id);
  writeBytes(sink, TX_TIMESTAMP);
  writeTimestamp(sink, tx.timestamp);
  writeBytes(sink, TX_SIGNATURE);
  writeBytes(sink, EMPTY_STRING_CLOSE);
  return start;
}

/** An estimate of a transaction payload's length (exact for the usual ASCII fields). */
function transactionEstimate(tx: Transaction, keyBytes: KeyBytes): number {
  return (
    TX_OVERHEAD +
    recurringBytes(tx.senderPublicKey, keyBytes).length +
    recurringBytes(tx.receiverPublicKey, keyBytes).length +
    tx.type.length +
    tx.id.length
  );
}

/** The bytes a transaction's sender signs: UTF-8 of its payload's canonical JSON. */
export function writeTransactionPayload(tx: Transaction, keyBytes: KeyBytes = createKeyBytes()): Uint8Array {
  const sink: Sink = { bytes: new Uint8Array(transactionEstimate(tx, keyBytes)), length: 0 };
  writeTransactionPayloadTo(sink, tx, keyBytes);
  return exact(sink);
}

/** The written bytes in an array of exactly their length. */
function exact(sink: Sink): Uint8Array {
  return sink.length === sink.bytes.length ? sink.bytes : sink.bytes.slice(0, sink.length);
}

/**
 * Writes one block's signed bytes in one pass, transaction by transaction, so that a caller
 * can hand each batch to the verifier (and pause) before writing the next.
 */
export interface BlockBytesWriter {
  /** Transactions written so far. */
  readonly written: number;
  /**
   * Writes the next transaction: returns its payload bytes (a view, for the verifier) and
   * appends its signed form to the block payload from those same bytes.
   */
  nextTransaction(): Uint8Array;
  /** Once every transaction is written: the block payload's bytes (a view of exactly them). */
  finish(): Uint8Array;
}

/**
 * Starts writing `block`'s signed bytes: each transaction's payload into one array, and the
 * block payload, which carries every signed transaction, into another, by copying each
 * payload's bytes rather than writing the transaction again. Both arrays are sized up front
 * from the fields (exactly, for ASCII keys and types), so they rarely grow.
 */
export function startBlockBytes(block: Block, keyBytes: KeyBytes = createKeyBytes()): BlockBytesWriter {
  const txs = block.transactions;
  let payloadsLength = 0;
  let signaturesLength = 0;
  for (const tx of txs) {
    payloadsLength += transactionEstimate(tx, keyBytes);
    signaturesLength += tx.signature.length + 2;
  }
  const forger = recurringBytes(block.forger, keyBytes);
  const payloads: Sink = { bytes: new Uint8Array(payloadsLength), length: 0 };
  const out: Sink = {
    bytes: new Uint8Array(
      BLOCK_OVERHEAD +
        block.lastHash.length +
        forger.length +
        (block.seedSignature?.length ?? 0) +
        payloadsLength +
        signaturesLength,
    ),
    length: 0,
  };
  writeBytes(out, BLOCK_COUNT);
  writeAscii(out, pythonNumber(block.blockCount));
  writeBytes(out, BLOCK_LAST_HASH);
  writeString(out, block.lastHash);
  writeBytes(out, BLOCK_FORGER);
  writeBytes(out, forger);
  writeBytes(out, BLOCK_TIMESTAMP);
  writeTimestamp(out, block.timestamp);
  writeBytes(out, BLOCK_TRANSACTIONS);

  let written = 0;
  return {
    get written() {
      return written;
    },
    nextTransaction(): Uint8Array {
      const tx = txs[written] as Transaction;
      if (written > 0) writeBytes(out, SEPARATOR);
      const start = writeTransactionPayloadTo(payloads, tx, keyBytes);
      const payload = payloads.bytes.subarray(start, payloads.length);
      // The signed transaction is its payload with the signature's string in place of `""`.
      writeBytes(out, payload.subarray(0, payload.length - EMPTY_STRING_CLOSE.length));
      writeString(out, tx.signature);
      ensure(out, 1);
      out.bytes[out.length++] = CLOSE_BRACE;
      written++;
      return payload;
    },
    finish(): Uint8Array {
      if (block.seedSignature === undefined) {
        writeBytes(out, CLOSE_ARRAY_OBJECT);
      } else {
        writeBytes(out, BLOCK_SEED);
        writeString(out, block.seedSignature);
        ensure(out, 1);
        out.bytes[out.length++] = CLOSE_BRACE;
      }
      return out.bytes.subarray(0, out.length);
    },
  };
}

/** Every transaction's payload bytes and the block payload's bytes, written in one pass. */
export interface BlockBytes {
  /** Each transaction's payload bytes (views into one array), in block order. */
  readonly transactions: readonly Uint8Array[];
  /** The block payload's bytes (a view): what the forger signs and the block's hash is of. */
  readonly payload: Uint8Array;
}

/** Writes all of `block`'s signed bytes (see `startBlockBytes`). */
export function writeBlockBytes(block: Block, keyBytes: KeyBytes = createKeyBytes()): BlockBytes {
  const writer = startBlockBytes(block, keyBytes);
  const transactions: Uint8Array[] = [];
  while (writer.written < block.transactions.length) transactions.push(writer.nextTransaction());
  return { transactions, payload: writer.finish() };
}
