/**
 * Domain data: plain readonly JSON-shaped values, so they cross postMessage, IndexedDB and the
 * wire unchanged. Field order is consensus: it is the reference's, and canonical JSON keeps it.
 */

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
  readonly timestamp: number;
  readonly signature: string;
}

/** A block, fields in the reference's order. `forger` is a public-key PEM ("genesis" at 0). */
export interface Block {
  readonly blockCount: number;
  readonly lastHash: string;
  readonly signature: string;
  readonly forger: string;
  readonly timestamp: number;
  readonly transactions: readonly Transaction[];
}

/** The chain as the reference serves it at `GET /blockchain`. */
export interface ChainJSON {
  readonly blocks: readonly Block[];
}

/** Which network a node is on: the genesis staker is the only consensus parameter. */
export interface GenesisConfig {
  /** The genesis staker's public key, canonical PEM; it starts with stake 1. */
  readonly genesisPublicKey: string;
}

/**
 * Checks RSASSA-PKCS1-v1_5 / SHA-256 signatures. Implemented in `src/crypto`; the core only
 * sees this port, so it stays free of WebCrypto and runs in plain Node.
 */
export interface SignatureVerifier {
  /** True when `signatureHex` signs `message` under `publicKeyPem`. Never throws: bad input is false. */
  verify(publicKeyPem: string, message: Uint8Array, signatureHex: string): Promise<boolean>;
  /**
   * Optional native SHA-256 (WebCrypto's `digest`). A block of 1,000 transfers is 1.3 MB of
   * JSON; hashing it natively costs a tenth of the portable synchronous hash. Without it the
   * core uses its own synchronous hash; the result is the same.
   */
  sha256?(bytes: Uint8Array): Promise<Uint8Array>;
}
