import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { GENESIS_BLOCK } from './block';
import { canonicalJson, pythonNumber, pythonTimestamp } from './canonical-json';
import { createKeyInterner, decodeBlock } from './decode';
import { type ChainError, txError } from './errors';
import { sha256Hex } from './hash';
import { type LotteryRunner, runLotteryAtOnce } from './lottery';
import { seedFromSignature, seedSigningBytes } from './resilient/seed';
import { err, ok, type Result } from './result';
import { createKeyBytes, type KeyBytes, startBlockBytes, writeTransactionPayload } from './signing-bytes';
import {
  type AppliedBlock,
  applyBlockRules,
  type ChainState,
  genesisState,
  rankedNextForger,
  stakeEntries,
  stateAfter,
} from './state';
import type { Block, GenesisConfig, SignatureVerifier, Transaction } from './types';

/**
 * Remembers transactions whose signatures were already checked (in the pool), so a block that
 * carries them does not pay for the RSA verification again. An entry is the transaction's id
 * and its `signedTransactionKey`: looking up by the short id is cheap, and the key must then
 * match exactly, so a transaction with any field changed is not taken for verified.
 */
export interface VerifiedSignatures {
  /** True when exactly this signed transaction (id and `signedTransactionKey`) was verified before. */
  has(id: string, key: string): boolean;
  /** Records a verified signed transaction. */
  add(id: string, key: string): void;
}

/**
 * A signed transaction's key in `VerifiedSignatures`: every field it signs and its signature,
 * strings prefixed by their length and numbers in their canonical text, so two transactions
 * share a key only when their signed canonical JSON is the same. Unlike that JSON, it costs no
 * escaping and no copy: the parts are joined lazily, and a lookup that misses by id never
 * reads them.
 */
export function signedTransactionKey(tx: Transaction): string {
  return (
    `${tx.senderPublicKey.length}:${tx.senderPublicKey}${tx.receiverPublicKey.length}:${tx.receiverPublicKey}` +
    `${pythonNumber(tx.amount)} ${tx.type.length}:${tx.type}${tx.id.length}:${tx.id}` +
    `${pythonTimestamp(tx.timestamp)} ${tx.signature}`
  );
}

/**
 * Verifies a transaction's signature by its sender (false when a key of it is not canonical,
 * see `checkTransactionKeys`), unless `cache` says this exact signed
 * transaction verified before; a valid one is remembered. The payload is serialized once for
 * both the cache key and the check.
 */
export async function verifyTransactionSignature(
  tx: Transaction,
  verifier: SignatureVerifier,
  cache?: VerifiedSignatures,
): Promise<boolean> {
  // A key in another encoding would be a second account for one RSA key: never valid.
  if (checkTransactionKeys(tx, verifier) !== null) return false;
  const key = cache ? signedTransactionKey(tx) : '';
  if (cache?.has(tx.id, key)) return true;
  const valid = await startVerify(verifier, tx.senderPublicKey, writeTransactionPayload(tx), tx.signature);
  if (valid) cache?.add(tx.id, key);
  return valid;
}

/** Transactions written and handed to the verifier between two chances to pause. */
const BATCH = 32;

/**
 * The caller's yield point: the core calls it between batches of transactions and between
 * blocks, and awaits it when it returns a promise. The core has no clock, so the caller
 * decides: undefined while its time budget is not used up, a promise (a macrotask) once it is.
 */
export type Pause = () => Promise<void> | undefined;

/** Options of `validateBlock`. */
export interface ValidateOptions {
  /** See `Pause`. */
  readonly pause?: Pause;
}

/** A block's signature checks and hash, started; see `startBlockChecks`. */
interface BlockChecks {
  /** The first bad transaction signature in block order, else a bad block signature, else null. */
  readonly signatures: Promise<ChainError | null>;
  /** The block's hash (of its payload bytes). */
  readonly hash: Promise<string>;
}

/**
 * A signature as bytes, decoded once here for the verifier; null when it is not hex (a block
 * that did not pass `decodeBlock`), which no key verifies.
 */
function signatureBytes(hex: string): Uint8Array | null {
  try {
    return hexToBytes(hex);
  } catch {
    return null;
  }
}

/**
 * Every transaction signature of `txs` as bytes: views into one array, decoded from one string,
 * since a browser pays for each small array it allocates (a sync of 1,000 blocks made 10,000 of
 * them, and its collector walked them all). When some signature is not hex, each is decoded on
 * its own (null for those that are not).
 */
function transactionSignatureBytes(txs: readonly Transaction[]): (Uint8Array | null)[] {
  let all: Uint8Array | null = null;
  // Odd lengths could join into even text and shift every later signature: decode those alone.
  if (txs.every((tx) => tx.signature.length % 2 === 0)) {
    try {
      all = hexToBytes(txs.map((tx) => tx.signature).join(''));
    } catch {
      all = null;
    }
  }
  if (all === null) return txs.map((tx) => signatureBytes(tx.signature));
  const bytes = all;
  let at = 0;
  return txs.map((tx) => {
    const start = at;
    at += tx.signature.length / 2;
    return bytes.subarray(start, at);
  });
}

/** Starts verifying `signature` over `message` under `publicKeyPem`; false when it is not hex. */
function startVerify(
  verifier: SignatureVerifier,
  publicKeyPem: string,
  message: Uint8Array,
  signature: string | Uint8Array | null,
): Promise<boolean> {
  const bytes = typeof signature === 'string' ? signatureBytes(signature) : signature;
  return bytes === null ? Promise.resolve(false) : verifier.verify(publicKeyPem, message, bytes);
}

/**
 * Writes `block`'s signed bytes once (see `startBlockBytes`) and starts every signature check
 * and its hash. Transactions go out in batches as soon as they are written, so WebCrypto
 * verifies on other threads while this thread writes the rest and the caller checks the rules;
 * between batches the caller's `pause` may yield.
 */
async function startBlockChecks(
  block: Block,
  verifier: SignatureVerifier,
  cache: VerifiedSignatures | undefined,
  previousSeed: string | undefined,
  pause: Pause | undefined,
  keyBytes: KeyBytes,
): Promise<BlockChecks> {
  const txs = block.transactions;
  const checks: (boolean | Promise<boolean>)[] = new Array(txs.length);
  const writer = startBlockBytes(block, keyBytes);
  const signatureViews = transactionSignatureBytes(txs);
  for (let batchStart = 0; batchStart < txs.length; batchStart += BATCH) {
    if (batchStart > 0) {
      const paused = pause?.();
      if (paused) await paused;
    }
    const batchEnd = Math.min(batchStart + BATCH, txs.length);
    for (let i = batchStart; i < batchEnd; i++) {
      const tx = txs[i] as Transaction;
      const payload = writer.nextTransaction();
      if (cache) {
        const key = signedTransactionKey(tx);
        checks[i] = cache.has(tx.id, key)
          ? true
          : startVerify(verifier, tx.senderPublicKey, payload, signatureViews[i] ?? null).then((valid) =>
              rememberIfValid(cache, tx.id, key, valid),
            );
      } else {
        checks[i] = startVerify(verifier, tx.senderPublicKey, payload, signatureViews[i] ?? null);
      }
    }
  }
  const payloadBytes = writer.finish();
  const blockCheck = startVerify(verifier, block.forger, payloadBytes, block.signature);
  const seedCheck = startSeedCheck(block, verifier, previousSeed);
  const hash = verifier.sha256
    ? verifier.sha256(payloadBytes).then(bytesToHex, () => sha256Hex(payloadBytes))
    : Promise.resolve(sha256Hex(payloadBytes));
  const signatures = Promise.all([Promise.all(checks), blockCheck, seedCheck]).then(
    ([txResults, blockValid, seedValid]): ChainError | null => {
      // A transaction's own signature is the more specific finding: altering a transaction also
      // breaks the block signature over it, and the report should name the transaction.
      const bad = txResults.indexOf(false);
      if (bad >= 0) {
        const tx = txs[bad] as Transaction;
        return txError(
          'BAD_TX_SIGNATURE',
          bad,
          tx.id,
          `transaction ${tx.id}: signature does not verify under its sender key`,
        );
      }
      if (!blockValid)
        return {
          code: 'BAD_BLOCK_SIGNATURE',
          message: 'the block signature does not verify under its forger key',
        };
      if (!seedValid)
        return {
          code: 'BAD_SEED_SIGNATURE',
          message: "the seed signature does not sign the previous block's seed under the forger key",
        };
      return null;
    },
    (): ChainError => ({
      code: 'BAD_BLOCK_SIGNATURE',
      message: 'signature verification failed unexpectedly',
    }),
  );
  return { signatures, hash };
}

/**
 * Verifies a resilient block's seed signature over `previousSeed` (the parent state's seed);
 * true when there is nothing to check. Whether a block must carry one is a rule of its profile
 * (`applyBlockRules`), checked with the rules.
 */
function startSeedCheck(block: Block, verifier: SignatureVerifier, previousSeed?: string): Promise<boolean> {
  if (block.seedSignature === undefined || previousSeed === undefined) return Promise.resolve(true);
  const bytes = seedSigningBytes(previousSeed);
  if (!bytes.ok) return Promise.resolve(false);
  return startVerify(verifier, block.forger, bytes.value, block.seedSignature);
}

/** The seed after `block`, from its seed signature (undefined on a reference block). */
function seedAfter(block: Block): string | undefined {
  if (block.seedSignature === undefined) return undefined;
  const seed = seedFromSignature(block.seedSignature, block.seedSignature.length / 2);
  return seed.ok ? seed.value : undefined;
}

function rememberIfValid(cache: VerifiedSignatures, id: string, key: string, valid: boolean): boolean {
  if (valid) cache.add(id, key);
  return valid;
}

/** Verifies every signature in `block`: transactions by their senders, the block by its forger. */
export async function verifyBlockSignatures(
  block: Block,
  verifier: SignatureVerifier,
  cache?: VerifiedSignatures,
  previousSeed?: string,
): Promise<ChainError | null> {
  return (await startBlockChecks(block, verifier, cache, previousSeed, undefined, createKeyBytes()))
    .signatures;
}

/**
 * The first key of `block` (its forger, then each transaction's sender and receiver) that is
 * not in its one canonical encoding, as an error; null when all are canonical. A block carries
 * few distinct keys many times over: each is put to the verifier's check once per block.
 */
export function checkBlockKeys(block: Block, verifier: SignatureVerifier): ChainError | null {
  if (block.forger !== 'genesis') {
    const problem = verifier.checkPublicKey(block.forger);
    if (problem !== null) return { code: 'NON_CANONICAL_KEY', message: `the forger key: ${problem}` };
  }
  const canonical = new Set<string>();
  for (const [index, tx] of block.transactions.entries()) {
    if (canonical.has(tx.senderPublicKey) && canonical.has(tx.receiverPublicKey)) continue;
    const error = checkTransactionKeys(tx, verifier, index);
    if (error) return error;
    canonical.add(tx.senderPublicKey);
    canonical.add(tx.receiverPublicKey);
  }
  return null;
}

/** The sender or receiver key of `tx` that is not canonical, as an error; else null. */
export function checkTransactionKeys(
  tx: Transaction,
  verifier: SignatureVerifier,
  txIndex = 0,
): ChainError | null {
  const senderProblem = verifier.checkPublicKey(tx.senderPublicKey);
  if (senderProblem !== null) return keyError(tx, txIndex, 'sender', senderProblem);
  const receiverProblem = verifier.checkPublicKey(tx.receiverPublicKey);
  if (receiverProblem !== null) return keyError(tx, txIndex, 'receiver', receiverProblem);
  return null;
}

function keyError(tx: Transaction, txIndex: number, role: string, problem: string): ChainError {
  return txError('NON_CANONICAL_KEY', txIndex, tx.id, `transaction ${tx.id}: the ${role} key: ${problem}`);
}

/** Every rule of a block that needs no signature: canonical keys, then `applyBlockRules`. */
function blockRules(
  state: ChainState,
  block: Block,
  verifier: SignatureVerifier,
  now: number | undefined,
): Result<AppliedBlock, ChainError> {
  const keyError = checkBlockKeys(block, verifier);
  return keyError ? err(keyError) : applyBlockRules(state, block, now);
}

/**
 * Full validation of one block on top of `state`: canonical keys, the rules of `applyBlock`
 * and every signature. Signatures start first and run while the rules are checked; a rule
 * error wins over a signature error in the same block. The state after it carries its next
 * forger, drawn by `lottery` (at once by default; an edge that must not block passes its own).
 */
export async function validateBlock(
  state: ChainState,
  block: Block,
  verifier: SignatureVerifier,
  cache?: VerifiedSignatures,
  lottery: LotteryRunner = runLotteryAtOnce,
  now?: number,
  options?: ValidateOptions,
): Promise<Result<ChainState, ChainError>> {
  const checks = await startBlockChecks(
    block,
    verifier,
    cache,
    state.resilient?.seed,
    options?.pause,
    createKeyBytes(),
  );
  const applied = blockRules(state, block, verifier, now);
  if (!applied.ok) return applied;
  const signatureError = await checks.signatures;
  if (signatureError) return err(signatureError);
  return ok(await withHead(applied.value, block, await checks.hash, lottery));
}

/** The state after `block`, its next forger drawn by `lottery`. */
async function withHead(
  applied: AppliedBlock,
  block: Block,
  headHash: string,
  lottery: LotteryRunner,
): Promise<ChainState> {
  const ranked = rankedNextForger(applied);
  if (ranked !== null) return stateAfter(applied, block.blockCount, headHash, ranked);
  const drawn = await lottery(stakeEntries(applied), headHash);
  return stateAfter(applied, block.blockCount, headHash, drawn?.forger ?? '');
}

/** What extending a state by a run of blocks came to. */
export interface ExtendResult {
  /** The state after the last valid block. */
  readonly state: ChainState;
  /** The decoded blocks that were valid, in order (a prefix of the input). */
  readonly validBlocks: readonly Block[];
  /** The state after each valid block (its `headHash` is that block's hash). */
  readonly validStates: readonly ChainState[];
  /** Index into the input of the first invalid block, or null when all were valid. */
  readonly firstInvalid: number | null;
  /** Why that block is invalid, or null. */
  readonly error: ChainError | null;
}

/** Blocks and transactions in flight at once: enough to keep every core busy, bounded in memory. */
const WINDOW_BLOCKS = 64;
const WINDOW_TRANSACTIONS = 4096;

/** Options for extending a chain. */
export interface ExtendOptions {
  /** Remembers pool-verified transactions. */
  readonly cache?: VerifiedSignatures;
  /** Draws each new state's next forger (default: at once; see `validateBlock`). */
  readonly lottery?: LotteryRunner;
  /** Called after each window with the number of input blocks validated so far. */
  readonly onProgress?: (validated: number) => void;
  /**
   * The receiver's clock in whole seconds, for the `resilient` profile's drift bound (a block
   * more than 2 s ahead is `FROM_THE_FUTURE`). Absent: no such check (a chain read from a file).
   */
  readonly now?: number;
  /** See `Pause`: called between batches of transactions and between blocks. */
  readonly pause?: Pause;
}

/**
 * Validates untrusted `blocks` on top of `state` and keeps the longest valid prefix. A window
 * of blocks is decoded and serialized, all its signature checks and hashes start at once, then
 * the rules run block by block while the checks complete. The earliest invalid block wins;
 * within one block a rule error wins over a signature error.
 */
export async function extendChain(
  state: ChainState,
  blocks: readonly unknown[],
  verifier: SignatureVerifier,
  options: ExtendOptions = {},
): Promise<ExtendResult> {
  let current = state;
  const valid: Block[] = [];
  const validStates: ChainState[] = [];
  const lottery = options.lottery ?? runLotteryAtOnce;
  // One interner for the whole run: each key's pattern runs once, and equal keys share a string.
  const interner = createKeyInterner();
  // And one table of key bytes: each key is encoded once for the whole run.
  const keyBytes = createKeyBytes();
  let index = 0;
  while (index < blocks.length) {
    const windowStart = index;
    const prepared: { block: Block; checks: BlockChecks }[] = [];
    let decodeError: ChainError | null = null;
    let txCount = 0;
    // Each block's seed signature signs its parent's seed: the current state's, then the seed
    // of the block before it in this window (a block whose own seed is bad fails its rules).
    let previousSeed = current.resilient?.seed;
    while (index < blocks.length && prepared.length < WINDOW_BLOCKS && txCount < WINDOW_TRANSACTIONS) {
      const decoded = decodeBlock(blocks[index], interner);
      if (!decoded.ok) {
        decodeError = decoded.error;
        break;
      }
      if (index > 0) {
        const paused = options.pause?.();
        if (paused) await paused;
      }
      prepared.push({
        block: decoded.value,
        checks: await startBlockChecks(
          decoded.value,
          verifier,
          options.cache,
          previousSeed,
          options.pause,
          keyBytes,
        ),
      });
      if (previousSeed !== undefined) previousSeed = seedAfter(decoded.value) ?? previousSeed;
      txCount += decoded.value.transactions.length;
      index++;
    }
    const hashes = await Promise.all(prepared.map((p) => p.checks.hash));

    const states: ChainState[] = [current];
    let ruleFailure: { at: number; error: ChainError } | null = null;
    for (const [i, p] of prepared.entries()) {
      if (i > 0) {
        const paused = options.pause?.();
        if (paused) await paused;
      }
      const applied = blockRules(states[i] as ChainState, p.block, verifier, options.now);
      if (!applied.ok) {
        ruleFailure = { at: i, error: applied.error };
        break;
      }
      states.push(await withHead(applied.value, p.block, hashes[i] as string, lottery));
    }
    const checked = await Promise.all(
      prepared.slice(0, ruleFailure?.at ?? prepared.length).map((p) => p.checks.signatures),
    );
    const badSignature = checked.findIndex((result) => result !== null);
    const failure =
      badSignature >= 0
        ? { at: badSignature, error: checked[badSignature] as ChainError }
        : (ruleFailure ?? (decodeError ? { at: prepared.length, error: decodeError } : null));
    const goodCount = failure ? failure.at : prepared.length;
    valid.push(...prepared.slice(0, goodCount).map((p) => p.block));
    validStates.push(...states.slice(1, goodCount + 1));
    current = states[goodCount] as ChainState;
    options.onProgress?.(windowStart + goodCount);
    if (failure)
      return {
        state: current,
        validBlocks: valid,
        validStates,
        firstInvalid: windowStart + failure.at,
        error: failure.error,
      };
  }
  return { state: current, validBlocks: valid, validStates, firstInvalid: null, error: null };
}

/** What validating a whole chain came to (the fields `verify-chain` prints). */
export interface ChainValidation extends ExtendResult {
  /** True when every block is valid. */
  readonly valid: boolean;
  /** Valid blocks, genesis included. */
  readonly height: number;
}

/**
 * Validates a whole chain as the reference serves it, from the genesis block. Block 0 must be
 * the reference's genesis block exactly.
 */
export async function validateChain(
  blocks: readonly unknown[],
  config: GenesisConfig,
  verifier: SignatureVerifier,
  options: ExtendOptions = {},
): Promise<ChainValidation> {
  const start = genesisState(config);
  const genesisError = checkGenesis(blocks[0]);
  if (genesisError) {
    return {
      valid: false,
      height: 0,
      state: start,
      validBlocks: [],
      validStates: [],
      firstInvalid: 0,
      error: genesisError,
    };
  }
  const rest = await extendChain(start, blocks.slice(1), verifier, options);
  return {
    valid: rest.firstInvalid === null,
    height: rest.validBlocks.length + 1,
    state: rest.state,
    validBlocks: [GENESIS_BLOCK, ...rest.validBlocks],
    validStates: [start, ...rest.validStates],
    firstInvalid: rest.firstInvalid === null ? null : rest.firstInvalid + 1,
    error: rest.error,
  };
}

/** Null when `value` is exactly the reference's genesis block. */
export function checkGenesis(value: unknown): ChainError | null {
  const decoded = decodeBlock(value);
  if (decoded.ok && canonicalJson(decoded.value) === canonicalJson(GENESIS_BLOCK)) return null;
  return { code: 'BAD_GENESIS', message: 'block 0 is not the genesis block' };
}
