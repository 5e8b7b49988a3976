/**
 * Signed chains for rejection tests: each block's transactions are signed by their senders and
 * the block by whichever of `keys` won the lottery, on the vectors' genesis key. Blocks are
 * built from the state the valid prefix reaches, so a bad block is bad for exactly one reason.
 */
import {
  applyBlock,
  type Block,
  blockSigningBytes,
  type ChainState,
  createBlock,
  createTransaction,
  GENESIS_BLOCK,
  type GenesisConfig,
  genesisState,
  type Transaction,
  type TransactionDraft,
  transactionSigningBytes,
  withBlockSignature,
  withTransactionSignature,
} from '../../src/core';
import { createWebCryptoProvider, type KeyPair } from '../../src/crypto';
import { readVectorKey } from '../helpers/vectors';

export const crypto = createWebCryptoProvider();

/** The vectors' key pairs by name (genesis, exchange, staker, bob, user0..3). */
export async function vectorKeys(): Promise<Record<string, KeyPair>> {
  const names = ['genesis', 'exchange', 'staker', 'bob', 'user0', 'user1'];
  const pairs = await Promise.all(
    names.map((name) => crypto.importPrivateKeyPem(readVectorKey(`${name}PrivateKey.pem`))),
  );
  return Object.fromEntries(names.map((name, i) => [name, pairs[i] as KeyPair]));
}

let nextId = 0;

/** A transaction signed by `signer` (whose public key need not be the sender's text). */
export async function signedTx(signer: KeyPair, draft: TransactionDraft): Promise<Transaction> {
  const tx = createTransaction(draft, (nextId++).toString(16).padStart(32, '0'), 1795670516.5 + nextId);
  return withTransactionSignature(tx, await crypto.sign(signer, transactionSigningBytes(tx)));
}

/** A block on `state` carrying `transactions`, forged and signed by the lottery's winner among `keys`. */
export async function signedBlock(
  state: ChainState,
  transactions: readonly Transaction[],
  keys: Record<string, KeyPair>,
): Promise<Block> {
  const forger = Object.values(keys).find((pair) => pair.publicKeyPem === state.nextForger);
  if (!forger) throw new Error('the lottery picked a key the test does not hold');
  const unsigned = createBlock(
    transactions,
    state.headHash,
    state.nextForger,
    state.height + 1,
    1795670600.5 + state.height,
  );
  return withBlockSignature(unsigned, await crypto.sign(forger, blockSigningBytes(unsigned)));
}

/**
 * A chain file's blocks (genesis first): `bodies` are the transactions of blocks 1.., each block
 * built on the state the ones before it reach (a bad block's successors are built as if it
 * had been skipped: they are never reached).
 */
export async function signedChain(
  config: GenesisConfig,
  keys: Record<string, KeyPair>,
  bodies: readonly (readonly Transaction[])[],
): Promise<{ blocks: unknown[]; states: ChainState[] }> {
  let state = genesisState(config);
  const states = [state];
  const blocks: unknown[] = [{ ...GENESIS_BLOCK }];
  for (const body of bodies) {
    const block = await signedBlock(state, body, keys);
    blocks.push(block);
    const applied = applyBlock(state, block);
    if (applied.ok) {
      state = applied.value;
      states.push(state);
    }
  }
  return { blocks, states };
}
