import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { canonicalJson } from './canonical-json';

/**
 * Hashing as the reference's `BlockchainUtils.hash`: SHA-256 of the UTF-8 bytes of
 * `json.dumps(value)`. Canonical JSON is ASCII-only, so one byte per character.
 * A synchronous hash (noble) because the lottery hashes thousands of times per block, where
 * WebCrypto's async digest costs an order of magnitude more per call.
 */

/** The bytes that are hashed and signed for `value`: UTF-8 of its canonical JSON. */
export function canonicalBytes(value: unknown): Uint8Array {
  return utf8ToBytes(canonicalJson(value));
}

/** SHA-256 hex of the canonical JSON of `value` (the reference's `hash(value).hexdigest()`). */
export function hash(value: unknown): string {
  return bytesToHex(sha256(canonicalBytes(value)));
}

/** SHA-256 hex of raw bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return bytesToHex(sha256(bytes));
}
