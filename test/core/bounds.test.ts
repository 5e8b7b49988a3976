import { describe, expect, it } from 'vitest';
import { blockHash, decodeBlock, stateToJSON, validateChain } from '../../src/core';
import { canonicalPublicKeyPem, KeyFormatError, parsePublicKeyPem } from '../../src/crypto';
import { createForgeProvider } from '../../src/crypto/forge';
import { decodeAmount, decodeDevnet, decodeReceiver } from '../../src/ui/decoders';
import { VECTOR_GENESIS_KEY } from '../helpers/vectors';
import { crypto, signedChain, signedTx, vectorKeys } from './signed-chain';

const MAX = Number.MAX_SAFE_INTEGER;
const keys = await vectorKeys();
const key = (name: string): string => (keys[name] ?? { publicKeyPem: '' }).publicKeyPem;
const config = { genesisPublicKey: VECTOR_GENESIS_KEY() };

/** The same RSA key with its outer SEQUENCE length in long form (`30 83 00 01 22`): same pattern, other bytes. */
function longFormVariant(pem: string): string {
  const der = Buffer.from(pem.replace(/-----[A-Z ]+-----|\n/g, ''), 'base64');
  expect([...der.subarray(0, 4)]).toEqual([0x30, 0x82, 0x01, 0x22]);
  const variant = Buffer.concat([Buffer.from([0x30, 0x83, 0x00, 0x01, 0x22]), der.subarray(4)]);
  const body = variant
    .toString('base64')
    .match(/.{1,64}/g)
    ?.join('\n');
  return `-----BEGIN PUBLIC KEY-----\n${body}\n-----END PUBLIC KEY-----`;
}

/** Validates `blocks` and checks it stops at exactly `firstInvalid` with `code`, keeping the prefix. */
async function expectRejectedAt(
  chain: { blocks: unknown[] },
  firstInvalid: number,
  code: string,
  cfg = config,
): Promise<void> {
  for (const provider of [crypto, createForgeProvider()]) {
    const result = await validateChain(chain.blocks, cfg, provider);
    expect(result.error?.code).toBe(code);
    expect(result.firstInvalid).toBe(firstInvalid);
    expect(result.height).toBe(firstInvalid);
    const last = decodeBlock(chain.blocks[firstInvalid - 1]);
    expect(last.ok && result.state.headHash).toBe(last.ok && blockHash(last.value));
    const prefix = await validateChain(chain.blocks.slice(0, firstInvalid), cfg, provider);
    expect(prefix.valid).toBe(true);
    expect(stateToJSON(prefix.state)).toEqual(stateToJSON(result.state));
  }
}

/** An EXCHANGE from `seller` (anyone may sign one, as in the reference; its balance may go negative). */
const sell = (seller: string, to: string, amount: number) =>
  signedTx(keys[seller] as never, {
    senderPublicKey: key(seller),
    receiverPublicKey: to,
    amount,
    type: 'EXCHANGE',
  });
const exchange = (to: string, amount: number) => sell('exchange', to, amount);

describe('balances stay exact', () => {
  it('a purchase that would take a balance past 2^53-1 is BALANCE_OUT_OF_RANGE at exactly its block', async () => {
    // Two sellers, so that neither one's debt is what stops the chain.
    const chain = await signedChain(config, keys, [
      [await exchange(key('bob'), MAX)],
      [await sell('user1', key('user0'), 5)],
      [await sell('user1', key('bob'), 1)],
      [await sell('user1', key('user0'), 1)],
    ]);
    await expectRejectedAt(chain, 3, 'BALANCE_OUT_OF_RANGE');
  });

  it("a transfer that would take the receiver past 2^53-1 is refused; the exchange's debt is bounded too", async () => {
    const transferToBob = await signedTx(keys.user0 as never, {
      senderPublicKey: key('user0'),
      receiverPublicKey: key('bob'),
      amount: 1,
      type: 'TRANSFER',
    });
    const chain = await signedChain(config, keys, [
      [await exchange(key('bob'), MAX), await sell('user1', key('user0'), 1)],
      [transferToBob],
    ]);
    await expectRejectedAt(chain, 2, 'BALANCE_OUT_OF_RANGE');

    // The exchange holds -(2^53-1) - 1 after the second purchase: refused.
    const debt = await signedChain(config, keys, [
      [await exchange(key('bob'), MAX - 1)],
      [await exchange(key('user0'), 2)],
    ]);
    await expectRejectedAt(debt, 2, 'BALANCE_OUT_OF_RANGE');
  });

  it('every balance at the bounds is still exact: 2^53-1 and -(2^53-1) are allowed', async () => {
    const chain = await signedChain(config, keys, [[await exchange(key('bob'), MAX)]]);
    const result = await validateChain(chain.blocks, config, crypto);
    expect(result.valid).toBe(true);
    expect(stateToJSON(result.state).balances).toEqual({ [key('bob')]: MAX, [key('exchange')]: -MAX });
  });
});

describe('the form refuses such an amount before signing', () => {
  it('refuses an amount that would take a balance past the bounds or the stake past the cap', () => {
    expect(decodeAmount('1', { receiverBalance: MAX }).ok).toBe(false);
    expect(decodeAmount('1', { receiverBalance: MAX - 1 })).toEqual({ ok: true, value: 1 });
    expect(decodeAmount('2', { senderBalance: -MAX + 1 }).ok).toBe(false);
    expect(decodeAmount('1', { senderBalance: -MAX + 1 })).toEqual({ ok: true, value: 1 });
    const stake = decodeAmount('2', { totalStake: 9_999, maxTotalStake: 10_000 });
    expect(stake.ok ? '' : stake.error).toMatch(/10000 coins staked in total/);
    expect(decodeAmount('1', { totalStake: 9_999, maxTotalStake: 10_000 })).toEqual({ ok: true, value: 1 });
    expect(decodeAmount(String(MAX + 1)).ok).toBe(false);
  });
});

describe('the stake cap', () => {
  const small = { ...config, maxTotalStake: 50 };
  const stake = (name: string, amount: number) =>
    signedTx(keys[name] as never, {
      senderPublicKey: key(name),
      receiverPublicKey: key(name),
      amount,
      type: 'STAKE',
    });

  it('a STAKE that would pass maxTotalStake is STAKE_CAP_EXCEEDED at exactly its block', async () => {
    const chain = await signedChain(small, keys, [
      [await exchange(key('staker'), 100)],
      [await stake('staker', 49)], // 1 (genesis) + 49 = 50: at the cap, allowed
      [await stake('staker', 1)],
    ]);
    await expectRejectedAt(chain, 3, 'STAKE_CAP_EXCEEDED', small);
  });

  it('defaults to 10,000 coins staked in total', async () => {
    const chain = await signedChain(config, keys, [
      [await exchange(key('staker'), 20_000)],
      [await stake('staker', 9_999)],
      [await stake('staker', 1)],
    ]);
    await expectRejectedAt(chain, 3, 'STAKE_CAP_EXCEEDED');
  });
});

describe('one account per key', () => {
  const bobVariant = longFormVariant(key('bob'));

  it('the long-form variant has the public-key shape and the same RSA key, but is not canonical', () => {
    expect(bobVariant).not.toBe(key('bob'));
    expect(() => parsePublicKeyPem(bobVariant)).toThrow(KeyFormatError);
    expect(() => canonicalPublicKeyPem(bobVariant)).toThrow(/canonical DER/);
    expect(crypto.checkPublicKey(key('bob'))).toBeNull();
    expect(crypto.checkPublicKey(bobVariant)).toMatch(/canonical DER/);
  });

  it('in a block: a receiver, a sender or a forger in another encoding is NON_CANONICAL_KEY at exactly its block', async () => {
    const toVariant = await signedTx(keys.exchange as never, {
      senderPublicKey: key('exchange'),
      receiverPublicKey: bobVariant,
      amount: 5,
      type: 'EXCHANGE',
    });
    const chain = await signedChain(config, keys, [[await exchange(key('bob'), 5)], [toVariant]]);
    await expectRejectedAt(chain, 2, 'NON_CANONICAL_KEY');

    // Bob signs as the variant: his signature verifies under it, so only the encoding rule stops it.
    const fromVariant = await signedTx(keys.bob as never, {
      senderPublicKey: bobVariant,
      receiverPublicKey: key('user0'),
      amount: 1,
      type: 'EXCHANGE',
    });
    const sender = await signedChain(config, keys, [[await exchange(key('bob'), 5)], [fromVariant]]);
    await expectRejectedAt(sender, 2, 'NON_CANONICAL_KEY');

    // The genesis key's variant as the forger of block 1 (the lottery picked the genesis key).
    const forged = await signedChain(config, keys, [[await exchange(key('bob'), 5)]]);
    const block = { ...(forged.blocks[1] as object), forger: longFormVariant(key('genesis')) };
    const result = await validateChain([forged.blocks[0], block], config, crypto);
    expect(result.error?.code).toBe('NON_CANONICAL_KEY');
    expect(result.firstInvalid).toBe(1);
    expect(result.height).toBe(1);
  });

  it('in a form: the receiver field refuses it with a clear error', () => {
    const decoded = decodeReceiver(bobVariant, []);
    expect(decoded.ok).toBe(false);
    expect(decoded.ok ? '' : decoded.error).toMatch(/canonical DER/);
    expect(decodeReceiver(key('bob'), [])).toEqual({ ok: true, value: key('bob') });
  });

  it('in an import: devnet.json and a PEM import refuse it', () => {
    const devnet = decodeDevnet({ network: 'x', genesisPublicKey: bobVariant });
    expect(devnet.ok ? '' : devnet.error).toMatch(/canonical DER/);
    expect(() => canonicalPublicKeyPem(longFormVariant(key('genesis')))).toThrow(KeyFormatError);
  });
});
