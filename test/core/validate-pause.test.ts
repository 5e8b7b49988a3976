/**
 * The caller's pause hook: the core calls it between batches of transactions and between
 * blocks, awaits it when it returns a promise, and comes to the same verdict as without it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  applyBlock,
  type Block,
  type ChainState,
  createBlock,
  createTransaction,
  extendChain,
  genesisState,
  nextForgerOf,
  type Transaction,
  validateBlock,
} from '../../src/core';
import type { KeyPair } from '../../src/crypto';
import { VECTOR_GENESIS_KEY } from '../helpers/vectors';
import { crypto, signedBlock, signedTx, vectorKeys } from './signed-chain';

let keys: Record<string, KeyPair>;
let funded: ChainState;
let bigBlock: Block;

const senderNames = ['bob', 'user0', 'user1', 'staker'] as const;

beforeAll(async () => {
  keys = await vectorKeys();
  const start = genesisState({ genesisPublicKey: VECTOR_GENESIS_KEY() });
  const exchange = keys.exchange as KeyPair;
  // Funding by the exchange, applied by the rules only: set-up, not under test.
  const funding = senderNames.map((name, i) =>
    createTransaction(
      {
        senderPublicKey: exchange.publicKeyPem,
        receiverPublicKey: (keys[name] as KeyPair).publicKeyPem,
        amount: 1000,
        type: 'EXCHANGE',
      },
      `f${i.toString(16).padStart(31, '0')}`,
      1795670516.5,
    ),
  );
  const applied = applyBlock(
    start,
    createBlock(funding, start.headHash, nextForgerOf(start), 1, 1795670517.5),
  );
  if (!applied.ok) throw new Error(applied.error.message);
  funded = applied.value;
  const transactions: Transaction[] = [];
  for (let i = 0; i < 1000; i++) {
    const sender = keys[senderNames[i % senderNames.length] as string] as KeyPair;
    const receiver = keys[senderNames[(i + 1) % senderNames.length] as string] as KeyPair;
    transactions.push(
      await signedTx(sender, {
        senderPublicKey: sender.publicKeyPem,
        receiverPublicKey: receiver.publicKeyPem,
        amount: 1,
        type: 'TRANSFER',
      }),
    );
  }
  bigBlock = await signedBlock(funded, transactions, keys);
}, 60_000);

describe('the pause hook', () => {
  it('is called more than once while a 1,000-transaction block validates, with the same result', async () => {
    const without = await validateBlock(funded, bigBlock, crypto);
    expect(without.ok).toBe(true);
    let calls = 0;
    const counted = await validateBlock(funded, bigBlock, crypto, undefined, undefined, undefined, {
      pause: () => {
        calls++;
        return undefined;
      },
    });
    expect(calls).toBeGreaterThan(1);
    expect(counted).toEqual(without);
  });

  it('awaits a pause that returns a promise before going on', async () => {
    const without = await validateBlock(funded, bigBlock, crypto);
    const events: string[] = [];
    let calls = 0;
    const result = await validateBlock(funded, bigBlock, crypto, undefined, undefined, undefined, {
      pause: () => {
        calls++;
        if (calls % 2 === 1) return undefined;
        events.push('pause');
        return new Promise<void>((resolve) =>
          setTimeout(() => {
            events.push('resumed');
            resolve();
          }, 1),
        );
      },
    });
    expect(result).toEqual(without);
    expect(events.length).toBeGreaterThan(1);
    // Every returned promise was awaited: each pause resumed before the next one was asked for.
    for (let i = 0; i < events.length; i += 2) expect(events.slice(i, i + 2)).toEqual(['pause', 'resumed']);
  });

  it('is a pause between blocks in extendChain, with the same outcome', async () => {
    const { blocks } = await chainOfSmallBlocks(4);
    const without = await extendChain(funded, blocks, crypto);
    expect(without.firstInvalid).toBeNull();
    expect(without.validBlocks).toHaveLength(4);
    let calls = 0;
    const paused = await extendChain(funded, blocks, crypto, {
      pause: () => {
        calls++;
        return new Promise<void>((resolve) => setTimeout(resolve, 0));
      },
    });
    // Blocks of one transaction have one batch each: every call is between blocks.
    expect(calls).toBeGreaterThanOrEqual(3);
    expect(paused).toEqual(without);
  });

  it('keeps a rejection the same under pauses', async () => {
    const tampered = { ...bigBlock, transactions: [...bigBlock.transactions] };
    const victim = tampered.transactions[700] as Transaction;
    tampered.transactions[700] = { ...victim, amount: 2 };
    const without = await validateBlock(funded, tampered, crypto);
    expect(without.ok ? '' : without.error.code).toBe('BAD_TX_SIGNATURE');
    let calls = 0;
    const paused = await validateBlock(funded, tampered, crypto, undefined, undefined, undefined, {
      pause: () => {
        calls++;
        return undefined;
      },
    });
    expect(calls).toBeGreaterThan(1);
    expect(paused).toEqual(without);
  });
});

/** Blocks of one transfer each on `funded`, each built on the state before it. */
async function chainOfSmallBlocks(count: number): Promise<{ blocks: Block[] }> {
  let state = funded;
  const blocks: Block[] = [];
  const bob = keys.bob as KeyPair;
  const user0 = keys.user0 as KeyPair;
  for (let i = 0; i < count; i++) {
    const tx = await signedTx(bob, {
      senderPublicKey: bob.publicKeyPem,
      receiverPublicKey: user0.publicKeyPem,
      amount: 1 + i,
      type: 'TRANSFER',
    });
    const block = await signedBlock(state, [tx], keys);
    const next = await validateBlock(state, block, crypto);
    if (!next.ok) throw new Error(next.error.message);
    state = next.value;
    blocks.push(block);
  }
  return { blocks };
}
