/**
 * Why a block or chain is invalid: a discriminated union on a stable `code` (as lodestar's
 * `chain/errors`). Codes are part of the public interface (verify-chain prints them); never
 * rename one. `message` is for people.
 */
export type ChainError =
  | { readonly code: 'MALFORMED'; readonly message: string; readonly path?: string }
  | { readonly code: 'BAD_GENESIS'; readonly message: string }
  | {
      readonly code: 'BAD_BLOCK_COUNT';
      readonly message: string;
      readonly expected: number;
      readonly actual: number;
    }
  | {
      readonly code: 'BAD_LAST_HASH';
      readonly message: string;
      readonly expected: string;
      readonly actual: string;
    }
  | {
      readonly code: 'WRONG_FORGER';
      readonly message: string;
      readonly expected: string;
      readonly actual: string;
    }
  | { readonly code: 'BAD_BLOCK_SIGNATURE'; readonly message: string }
  /** The forger's key is not in its one canonical encoding (see `SignatureVerifier.checkPublicKey`). */
  | { readonly code: 'NON_CANONICAL_KEY'; readonly message: string }
  /** Resilient profile: the block's seed signature is missing, malformed or does not verify. */
  | { readonly code: 'BAD_SEED_SIGNATURE'; readonly message: string }
  /** Resilient profile: the timestamp is not a whole number of seconds ≥ 0. */
  | { readonly code: 'BAD_TIMESTAMP'; readonly message: string }
  /** Resilient profile: the timestamp is less than the minimum gap after the parent's. */
  | { readonly code: 'TIMESTAMP_NOT_AFTER_PARENT'; readonly message: string; readonly earliest: number }
  /** Resilient profile: the forger's rank may not forge yet in the block's slot. */
  | {
      readonly code: 'RANK_NOT_DUE';
      readonly message: string;
      readonly rank: number;
      readonly slot: number;
      readonly earliest: number;
    }
  /**
   * Resilient profile: the timestamp is too far ahead of the receiver's clock. Not a verdict on
   * the block: a node holds it and checks it again once its clock reaches `dueAt`.
   */
  | { readonly code: 'FROM_THE_FUTURE'; readonly message: string; readonly dueAt: number }
  | TransactionError;

/** A rule broken by one transaction of a block; `txIndex` is its position in the block. */
export type TransactionError = {
  readonly code:
    | 'BAD_TX_SIGNATURE'
    | 'UNKNOWN_TX_TYPE'
    | 'BAD_AMOUNT'
    | 'STAKE_NOT_TO_SELF'
    | 'INSUFFICIENT_BALANCE'
    | 'DUPLICATE_TX'
    | 'REPLAYED_TX'
    /** A balance would pass 2^53−1, or the exchange's fall below −(2^53−1): never rounded. */
    | 'BALANCE_OUT_OF_RANGE'
    /** The total stake would pass the network's `maxTotalStake`. */
    | 'STAKE_CAP_EXCEEDED'
    /** A sender or receiver key is not in its one canonical encoding. */
    | 'NON_CANONICAL_KEY';
  readonly message: string;
  readonly txIndex: number;
  readonly txId: string;
};

/** Every error code, for exhaustive tests and documentation. */
export type ChainErrorCode = ChainError['code'];

/** Builds a transaction-level error. */
export function txError(
  code: TransactionError['code'],
  txIndex: number,
  txId: string,
  message: string,
): TransactionError {
  return { code, message, txIndex, txId };
}
