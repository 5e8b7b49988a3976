/**
 * Valid `resilient` chains built outside any node, for restore and simulation tests: each block
 * is forged by the staker ranked first for it (every staker's key must be given), one second
 * after its parent, through the node's own `forgeBlock` (seed signature and whole seconds).
 */
import { randomBytes } from 'node:crypto';
import {
  type Block,
  blockSigningBytes,
  type ChainState,
  createBlock,
  type GenesisConfig,
  genesisState,
  resilient,
  type Transaction,
  withBlockSignature,
} from '../../src/core';
import type { CryptoProvider, KeyPair } from '../../src/crypto';
import { chooseTransactions, forgeBlock } from '../../src/node/forge';
import type { PoolEntry } from '../../src/node/pool';
import { signTransaction } from '../../src/node/wallet';

/** What `buildResilientChain` made: the blocks after genesis and the state after each. */
export interface BuiltChain {
  readonly blocks: readonly Block[];
  readonly states: readonly ChainState[];
}

/**
 * `count` blocks on `config`'s genesis (a resilient one). `transactionsFor(height, state)` gives
 * the transactions of block `height` (built on `state`; each must apply). Block 1 is stamped
 * `startSeconds`, each later one a second after its parent.
 */
export async function buildResilientChain(
  crypto: CryptoProvider,
  config: GenesisConfig,
  stakers: readonly KeyPair[],
  count: number,
  startSeconds: number,
  transactionsFor: (height: number, state: ChainState) => Promise<readonly Transaction[]> = async () => [],
): Promise<BuiltChain> {
  let state = genesisState(config);
  const blocks: Block[] = [];
  const states: ChainState[] = [];
  for (let height = 1; height <= count; height++) {
    const forger = stakers.find((key) => key.publicKeyPem === state.nextForger);
    if (!forger) throw new Error(`block ${height}: no key for its rank-0 staker`);
    const transactions = await transactionsFor(height, state);
    const entries = transactions.map(
      (transaction): PoolEntry => ({ transaction, receivedAt: 0 }) as PoolEntry,
    );
    const choice = chooseTransactions(state, entries, transactions.length);
    if (choice.transactions.length !== transactions.length)
      throw new Error(`block ${height}: a transaction does not apply`);
    const time = height === 1 ? startSeconds : (state.resilient?.headTime ?? 0) + 1;
    const forged = await forgeBlock(state, choice, forger, crypto, time * 1000, async () => null);
    if (!forged) throw new Error(`block ${height}: the forger's signature does not verify`);
    blocks.push(forged.block);
    states.push(forged.state);
    state = forged.state;
  }
  return { blocks, states };
}

/** A transaction signed now, with a random id. */
export function signed(
  crypto: CryptoProvider,
  signer: KeyPair,
  draft: { receiverPublicKey: string; amount: number; type: 'EXCHANGE' | 'TRANSFER' | 'STAKE' },
  nowMs: number,
): Promise<Transaction> {
  return signTransaction(crypto, signer, draft, nowMs, (length) => new Uint8Array(randomBytes(length)));
}

/**
 * A resilient block on `state` carrying `transactions`, forged by `signer` at `time` (whole
 * seconds): its seed signature over the parent's seed, then its block signature. Any key and time
 * (a rank that may not forge yet, a block from the future): the caller checks what it expects.
 */
export async function signResilientBlock(
  crypto: CryptoProvider,
  state: ChainState,
  signer: KeyPair,
  transactions: readonly Transaction[],
  time: number,
): Promise<Block> {
  if (!state.resilient) throw new Error('not a resilient state');
  const seedBytes = resilient.seedSigningBytes(state.resilient.seed);
  if (!seedBytes.ok) throw new Error(seedBytes.error.message);
  const unsigned = createBlock(
    transactions,
    state.headHash,
    signer.publicKeyPem,
    state.height + 1,
    time,
    await crypto.sign(signer, seedBytes.value),
  );
  return withBlockSignature(unsigned, await crypto.sign(signer, blockSigningBytes(unsigned)));
}
