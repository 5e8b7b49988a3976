import { bytesToHex } from '@noble/hashes/utils.js';
import { blockSigningBytes, createBlock, withBlockSignature } from '../core/block';
import { sha256Hex } from '../core/hash';
import type { LotteryRunner } from '../core/lottery';
import { nextResilientHead } from '../core/resilient/head';
import { seedSigningBytes } from '../core/resilient/seed';
import {
  type AppliedBlock,
  applyTransactions,
  type ChainState,
  stakeEntries,
  stateAfter,
} from '../core/state';
import { transactionTimestamp } from '../core/transaction';
import type { Block, Transaction } from '../core/types';
import type { CryptoProvider, KeyPair } from '../crypto/types';
import type { PoolEntry } from './pool';

/*
 * Forging runs each rule once. Admission checked every transaction's shape, stateless rules and
 * signature (the signature lands in the verified cache); the pool judged coverage. Choosing
 * applies the chosen transactions to the head once, which yields the next state; the forged
 * block is then checked for its own signature only. Nothing is validated a second time.
 */

/** The transactions a block on `state` takes and the balances, stakes and ids after them. */
export interface Choice {
  readonly transactions: readonly Transaction[];
  readonly applied: AppliedBlock;
}

/**
 * The covered pooled transactions a block on `state` takes, in pool order, `max` at most, with
 * the state they lead to: one pass of the rules over them. The pool's coverage makes that pass
 * succeed; should it not (a pool bug), the offending transaction is left out and the pass runs
 * again on the rest, so one bad entry never blocks the chain.
 */
export function chooseTransactions(state: ChainState, covered: readonly PoolEntry[], max: number): Choice {
  let candidates = covered.slice(0, max).map((e) => e.transaction);
  for (;;) {
    const applied = applyTransactions(state, candidates);
    if (applied.ok) return { transactions: candidates, applied: applied.value };
    const bad = 'txIndex' in applied.error ? applied.error.txIndex : 0;
    candidates = candidates.filter((_, index) => index !== bad);
  }
}

/** A block this node forged and the state after it. */
export interface Forged {
  readonly block: Block;
  readonly state: ChainState;
}

/**
 * The block on `state` that carries `choice`, forged by `wallet` at time `now` (ms), and the
 * state after it. The payload is serialized once: it is signed, its signature checked (a key
 * that signs wrongly must not put a block on our chain), and hashed for the next `lastHash`.
 * The state carries its next forger, drawn by `lottery` (sliced in a page). Null when the
 * signature does not verify.
 */
export async function forgeBlock(
  state: ChainState,
  choice: Choice,
  wallet: KeyPair,
  crypto: CryptoProvider,
  now: number,
  lottery: LotteryRunner,
): Promise<Forged | null> {
  const resilient = state.resilient;
  // Resilient: whole seconds, and the forger's deterministic signature over the parent's seed
  // (docs/consensus-resilient.md §1, §4). The node forges only once its turn has come.
  const seedSignature = resilient ? await signSeed(resilient.seed, wallet, crypto) : undefined;
  if (resilient && seedSignature === null) return null;
  const unsigned = createBlock(
    choice.transactions,
    state.headHash,
    wallet.publicKeyPem,
    state.height + 1,
    resilient ? Math.max(Math.floor(now / 1000), resilient.headTime + 1) : transactionTimestamp(now),
    seedSignature ?? undefined,
  );
  const payload = blockSigningBytes(unsigned);
  const signature = await crypto.sign(wallet, payload);
  if (!(await crypto.verify(wallet.publicKeyPem, payload, signature))) return null;
  const headHash = crypto.sha256
    ? await crypto.sha256(payload).then(bytesToHex, () => sha256Hex(payload))
    : sha256Hex(payload);
  const block = withBlockSignature(unsigned, signature);
  if (resilient) {
    const applied = {
      ...choice.applied,
      resilient: nextResilientHead(resilient, block, choice.applied.stakes),
    };
    return {
      block,
      state: stateAfter(applied, unsigned.blockCount, headHash, applied.resilient.ranking[0] ?? ''),
    };
  }
  const drawn = await lottery(stakeEntries(choice.applied), headHash);
  return {
    block,
    state: stateAfter(choice.applied, unsigned.blockCount, headHash, drawn?.forger ?? ''),
  };
}

/** The wallet's signature over `seed` for the next block, checked; null when it does not verify. */
async function signSeed(seed: string, wallet: KeyPair, crypto: CryptoProvider): Promise<string | null> {
  const bytes = seedSigningBytes(seed);
  if (!bytes.ok) return null;
  const signature = await crypto.sign(wallet, bytes.value);
  return (await crypto.verify(wallet.publicKeyPem, bytes.value, signature)) ? signature : null;
}
