/**
 * Domain data: plain readonly JSON-shaped values, so they cross postMessage, IndexedDB and the
 * wire unchanged. Field order is consensus: it is the reference's, and canonical JSON keeps it.
 */

/**
 * A JSON number that Python reads as a float although its value is whole, such as the
 * reference's `1795670516.0` (`time.time()` can return a whole second). A JavaScript number
 * cannot tell it from the integer `1795670516`, whose canonical JSON differs, so such a value
 * is this plain object: it survives structured clone (IndexedDB, workers) unchanged, as a class
 * instance would not. The lossless JSON parser makes it; canonical JSON writes it back as
 * Python does (`1795670516.0`, `1e+16`). The project never creates one: its own values are numbers.
 */
export interface WholeFloat {
  /** The float's value: a whole number (or -0). */
  readonly wholeFloat: number;
}

/** A timestamp in seconds as the chain carries it: a number, or a whole-number float from a reference chain. */
export type Timestamp = number | WholeFloat;

/** The transaction types the chain accepts (the reference's `Transaction.type`). */
export const TRANSACTION_TYPES = ['TRANSFER', 'EXCHANGE', 'STAKE'] as const;

/** One of `TRANSFER`, `EXCHANGE` or `STAKE`. */
export type TransactionType = (typeof TRANSACTION_TYPES)[number];

/**
 * A signed transaction, fields in the reference's order. `type` is a plain string because a
 * decoded peer message may carry any tag; validation rejects unknown ones with a typed error.
 */
export interface Transaction {
  readonly senderPublicKey: string;
  readonly receiverPublicKey: string;
  readonly amount: number;
  readonly type: string;
  readonly id: string;
  readonly timestamp: Timestamp;
  readonly signature: string;
}

/** A block, fields in the reference's order. `forger` is a public-key PEM ("genesis" at 0). */
export interface Block {
  readonly blockCount: number;
  readonly lastHash: string;
  readonly signature: string;
  readonly forger: string;
  readonly timestamp: Timestamp;
  readonly transactions: readonly Transaction[];
  /**
   * `resilient` profile only (docs/consensus-resilient.md §1): the forger's signature over the
   * previous seed, lower-case hex of the modulus length. Written after `transactions` (field
   * order is consensus); absent on every `reference` block, whose JSON stays the reference's.
   */
  readonly seedSignature?: string;
}

/** The chain as the reference serves it at `GET /blockchain`. */
export interface ChainJSON {
  readonly blocks: readonly Block[];
}

/** The consensus rules a network runs: the reference's, or `resilient` (docs/consensus-resilient.md). */
export const CONSENSUS_PROFILES = ['reference', 'resilient'] as const;

/** One of `reference` or `resilient`. */
export type ConsensusProfile = (typeof CONSENSUS_PROFILES)[number];

/** Which network a node is on: its consensus parameters. */
export interface GenesisConfig {
  /** The consensus rules; `reference` when absent (the reference's rules, byte for byte). */
  readonly profile?: ConsensusProfile;
  /** The genesis staker's public key, canonical PEM; it starts with stake 1. */
  readonly genesisPublicKey: string;
  /**
   * The most coins that may be staked in total, the genesis stake included
   * (`DEFAULT_MAX_TOTAL_STAKE` when absent). The lottery costs one hash per staked coin, so
   * this bounds the work of every block: a `STAKE` past it is invalid (`STAKE_CAP_EXCEEDED`).
   */
  readonly maxTotalStake?: number;
}

/**
 * Checks RSASSA-PKCS1-v1_5 / SHA-256 signatures. Implemented in `src/crypto`; the core only
 * sees this port, so it stays free of WebCrypto and runs in plain Node.
 */
export interface SignatureVerifier {
  /**
   * True when `signature` signs `message` under `publicKeyPem`. The signature is hex, or its
   * bytes when the caller decoded it already (the validator does, once per signature). Never
   * throws: bad input is false.
   */
  verify(publicKeyPem: string, message: Uint8Array, signature: string | Uint8Array): Promise<boolean>;
  /**
   * Null when `publicKeyPem` is an RSA public key in its one canonical encoding (SPKI DER with
   * minimal lengths, re-encoded and compared byte for byte, in the reference's PEM layout);
   * else why not. One RSA key in two encodings would be two accounts, so every key a block
   * carries is checked here. Synchronous and never throws. It lives behind this port because
   * reading DER takes an ASN.1 library, which the core does not carry.
   */
  checkPublicKey(publicKeyPem: string): string | null;
  /**
   * Optional native SHA-256 (WebCrypto's `digest`). A block of 1,000 transfers is 1.3 MB of
   * JSON; hashing it natively costs a tenth of the portable synchronous hash. Without it the
   * core uses its own synchronous hash; the result is the same.
   */
  sha256?(bytes: Uint8Array): Promise<Uint8Array>;
}
