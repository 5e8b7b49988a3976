/**
 * Sanity limits on consensus data. The reference has none; a hostile peer could otherwise send a
 * 1 GB public key or a million-transaction block. Each limit is far above honest use.
 */

/** RSA keys up to 4096 bits fit: an SPKI PEM of a 4096-bit key is about 800 characters. */
export const MAX_PUBLIC_KEY_CHARS = 1024;
/** Hex signatures up to 4096-bit RSA. */
export const MAX_SIGNATURE_CHARS = 1024;
/** Transactions per block; the benchmark block holds 1,000. */
export const MAX_TRANSACTIONS_PER_BLOCK = 4096;
/** A transaction type tag; the known ones are at most 8 characters. */
export const MAX_TYPE_CHARS = 32;
/** The reference's ids are `uuid1().hex`: 32 lower-case hex digits. */
export const TRANSACTION_ID_PATTERN = /^[0-9a-f]{32}$/;
/** SHA-256 hex, as in `lastHash` (block 0's `"genesisHash"` is checked against the genesis block). */
export const HASH_PATTERN = /^[0-9a-f]{64}$/;
/** Lower-case hex with whole bytes, as Python's `bytes.hex()` writes signatures. */
export const SIGNATURE_PATTERN = /^(?:[0-9a-f]{2})+$/;
/** The shape of a canonical SPKI PEM: 64-character base64 lines, `\n`, no trailing newline. */
export const PUBLIC_KEY_PATTERN =
  /^-----BEGIN PUBLIC KEY-----\n(?:[A-Za-z0-9+/]{64}\n)*(?=[A-Za-z0-9+/=]{1,64}\n-----END)[A-Za-z0-9+/]*={0,2}\n-----END PUBLIC KEY-----$/;
