/**
 * A block's transaction signatures are decoded from one string into views of one array: each
 * check gets exactly its own signature's bytes, and a signature that is not whole hex bytes
 * fails only its own transaction, as when each was decoded alone.
 */
import { hexToBytes } from '@noble/hashes/utils.js';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  applyBlock,
  type Block,
  type ChainState,
  createBlock,
  createTransaction,
  genesisState,
  nextForgerOf,
  type SignatureVerifier,
  type Transaction,
  validateBlock,
} from '../../src/core';
import type { KeyPair } from '../../src/crypto';
import { VECTOR_GENESIS_KEY } from '../helpers/vectors';
import { crypto, signedBlock, signedTx, vectorKeys } from './signed-chain';

let funded: ChainState;
let block: Block;

beforeAll(async () => {
  const keys = await vectorKeys();
  const start = genesisState({ genesisPublicKey: VECTOR_GENESIS_KEY() });
  const exchange = keys.exchange as KeyPair;
  const bob = keys.bob as KeyPair;
  const user0 = keys.user0 as KeyPair;
  const funding = createTransaction(
    {
      senderPublicKey: exchange.publicKeyPem,
      receiverPublicKey: bob.publicKeyPem,
      amount: 100,
      type: 'EXCHANGE',
    },
    'f'.repeat(32),
    1795670516.5,
  );
  const applied = applyBlock(
    start,
    createBlock([funding], start.headHash, nextForgerOf(start), 1, 1795670517.5),
  );
  if (!applied.ok) throw new Error(applied.error.message);
  funded = applied.value;
  const transactions: Transaction[] = [];
  for (let i = 0; i < 6; i++)
    transactions.push(
      await signedTx(bob, {
        senderPublicKey: bob.publicKeyPem,
        receiverPublicKey: user0.publicKeyPem,
        amount: 1 + i,
        type: 'TRANSFER',
      }),
    );
  block = await signedBlock(funded, transactions, keys);
}, 60_000);

/** `block` with transaction `index`'s signature replaced. */
function withSignature(index: number, signature: string): Block {
  const transactions = [...block.transactions];
  transactions[index] = { ...(transactions[index] as Transaction), signature };
  return { ...block, transactions };
}

describe('transaction signatures as views of one array', () => {
  it('hands each check exactly its own signature’s bytes', async () => {
    const { verifier, seen } = recordingVerifier();
    const result = await validateBlock(funded, block, verifier);
    expect(result.ok).toBe(true);
    expect(seen.slice(0, block.transactions.length)).toEqual(
      block.transactions.map((tx) => hexToBytes(tx.signature)),
    );
  });

  it.each([
    ['one hex digit short', (s: string) => s.slice(0, -1)],
    ['one hex digit long', (s: string) => `${s}0`],
    ['not hex', (s: string) => `zz${s.slice(2)}`],
    ['empty', () => ''],
  ])('fails the transaction whose signature is %s, and that one first', async (_what, spoil) => {
    const tx = block.transactions[2] as Transaction;
    const result = await validateBlock(funded, withSignature(2, spoil(tx.signature)), crypto);
    expect(result.ok ? null : result.error).toMatchObject({
      code: 'BAD_TX_SIGNATURE',
      txIndex: 2,
      txId: tx.id,
    });
  });

  it('decodes each alone when two odd lengths would join into even text: no shifted bytes are checked', async () => {
    const first = block.transactions[1] as Transaction;
    const second = block.transactions[2] as Transaction;
    const transactions = [...block.transactions];
    transactions[1] = { ...first, signature: first.signature.slice(0, -1) };
    transactions[2] = { ...second, signature: `${second.signature}0` };
    const { verifier, seen } = recordingVerifier();
    const result = await validateBlock(funded, { ...block, transactions }, verifier);
    expect(result.ok ? null : result.error).toMatchObject({ code: 'BAD_TX_SIGNATURE', txIndex: 1 });
    // Neither odd signature reaches the verifier; every other one arrives as its own bytes.
    expect(seen.slice(0, 4)).toEqual(
      [0, 3, 4, 5].map((i) => hexToBytes(block.transactions[i]?.signature ?? '')),
    );
  });
});

/** A verifier that records the signature bytes of every check, in the order they start. */
function recordingVerifier(): { verifier: SignatureVerifier; seen: Uint8Array[] } {
  const seen: Uint8Array[] = [];
  const verifier: SignatureVerifier = {
    checkPublicKey: (pem) => crypto.checkPublicKey(pem),
    verify(key, message, signature) {
      if (typeof signature !== 'string') seen.push(Uint8Array.from(signature));
      return crypto.verify(key, message, signature);
    },
  };
  return { verifier, seen };
}
