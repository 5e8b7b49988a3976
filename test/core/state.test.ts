import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyBlock,
  type Block,
  type ChainState,
  createBlock,
  decodeBlock,
  decodeTransaction,
  genesisState,
  nextForgerOf,
  type Transaction,
} from '../../src/core';
import { placeholderPem } from '../helpers/placeholder-keys';

const pem = placeholderPem;
const GENESIS = pem('genesis');
const EXCHANGE = pem('exchange');
const USERS = [pem('alice'), pem('bob'), pem('carol')];

let counter = 0;
const tx = (type: string, sender: string, receiver: string, amount: number, id?: string): Transaction => ({
  senderPublicKey: sender,
  receiverPublicKey: receiver,
  amount,
  type,
  id: id ?? (counter++).toString(16).padStart(32, '0'),
  timestamp: 1795670516.5,
  signature: 'ab',
});
const blockOn = (state: ChainState, transactions: Transaction[]): Block =>
  createBlock(transactions, state.headHash, nextForgerOf(state), state.height + 1, 1795670517.25);

const start = genesisState({ genesisPublicKey: GENESIS });
const funded = (() => {
  const result = applyBlock(start, blockOn(start, [tx('EXCHANGE', EXCHANGE, USERS[0] as string, 100)]));
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
})();

describe('applyBlock rules', () => {
  const alice = USERS[0] as string;
  const bob = USERS[1] as string;
  const rejects = (state: ChainState, block: Block, code: string) => {
    const result = applyBlock(state, block);
    expect(result.ok ? 'ok' : result.error.code).toBe(code);
  };

  it('applies EXCHANGE, TRANSFER and STAKE as the reference does', () => {
    const result = applyBlock(
      funded,
      blockOn(funded, [tx('TRANSFER', alice, bob, 30), tx('STAKE', alice, alice, 20)]),
    );
    if (!result.ok) throw new Error(result.error.message);
    expect(result.value.balances.get(alice)).toBe(50);
    expect(result.value.balances.get(bob)).toBe(30);
    expect(result.value.balances.get(EXCHANGE)).toBe(-100);
    expect([...result.value.stakes]).toEqual([
      [GENESIS, 1],
      [alice, 20],
    ]);
    expect(result.value.height).toBe(2);
  });
  it('checks each transaction against the running balance', () => {
    rejects(
      funded,
      blockOn(funded, [tx('TRANSFER', alice, bob, 60), tx('TRANSFER', alice, bob, 60)]),
      'INSUFFICIENT_BALANCE',
    );
  });
  it('rejects bad amounts: zero, negative, fractional, unsafe', () => {
    for (const amount of [0, -5, 1.5, 2 ** 53])
      rejects(funded, blockOn(funded, [tx('TRANSFER', alice, bob, amount)]), 'BAD_AMOUNT');
  });
  it('rejects unknown types and STAKE to another account', () => {
    rejects(funded, blockOn(funded, [tx('MINT', alice, bob, 1)]), 'UNKNOWN_TX_TYPE');
    rejects(funded, blockOn(funded, [tx('STAKE', alice, bob, 1)]), 'STAKE_NOT_TO_SELF');
  });
  it('rejects a transaction id twice in a block and a replay of an earlier one', () => {
    const id = 'f'.repeat(32);
    rejects(
      funded,
      blockOn(funded, [tx('TRANSFER', alice, bob, 1, id), tx('TRANSFER', alice, bob, 1, id)]),
      'DUPLICATE_TX',
    );
    const once = applyBlock(funded, blockOn(funded, [tx('TRANSFER', alice, bob, 1, id)]));
    if (!once.ok) throw new Error(once.error.message);
    rejects(once.value, blockOn(once.value, [tx('TRANSFER', alice, bob, 1, id)]), 'REPLAYED_TX');
  });
  it('rejects a wrong blockCount, lastHash or forger', () => {
    const good = blockOn(funded, []);
    rejects(funded, { ...good, blockCount: good.blockCount + 1 }, 'BAD_BLOCK_COUNT');
    rejects(funded, { ...good, lastHash: 'a'.repeat(64) }, 'BAD_LAST_HASH');
    rejects(funded, { ...good, forger: alice }, 'WRONG_FORGER');
  });
  it('never changes the state it was given', () => {
    const before = JSON.stringify([...funded.balances, ...funded.stakes, funded.txIds.size]);
    applyBlock(funded, blockOn(funded, [tx('TRANSFER', alice, bob, 10), tx('TRANSFER', alice, bob, 1000)]));
    applyBlock(funded, blockOn(funded, [tx('TRANSFER', alice, bob, 10)]));
    expect(JSON.stringify([...funded.balances, ...funded.stakes, funded.txIds.size])).toBe(before);
  });
});

describe('state properties (fast-check)', () => {
  // The exchange only sells (it is the sender of EXCHANGE and nothing else), so the coins held by
  // everyone else change exactly by what the exchange sold.
  const account = fc.constantFrom(GENESIS, ...USERS);
  const arbitraryTx = fc
    .record({
      type: fc.constantFrom('TRANSFER', 'TRANSFER', 'EXCHANGE', 'EXCHANGE', 'STAKE'),
      sender: account,
      receiver: account,
      amount: fc.oneof(
        { arbitrary: fc.integer({ min: 1, max: 40 }), weight: 20 },
        { arbitrary: fc.constantFrom(0, -3, 2.5), weight: 1 },
      ),
    })
    .map(({ type, sender, receiver, amount }) =>
      type === 'EXCHANGE'
        ? tx(type, EXCHANGE, receiver, amount)
        : tx(type, sender, type === 'STAKE' ? sender : receiver, amount),
    );
  const blocks = fc.array(fc.array(arbitraryTx, { maxLength: 4 }), { minLength: 1, maxLength: 25 });

  const supply = (state: ChainState): number => {
    let total = 0;
    for (const [key, amount] of state.balances) if (key !== EXCHANGE) total += amount;
    for (const [key, stake] of state.stakes)
      if (key !== GENESIS || stake !== 1) total += key === GENESIS ? stake - 1 : stake;
    return total;
  };

  it('conserves coins except by EXCHANGE, and keeps every account but the exchange at or above zero', () => {
    let accepted = 0;
    fc.assert(
      fc.property(blocks, (txLists) => {
        let state = start;
        for (const transactions of txLists) {
          const result = applyBlock(state, blockOn(state, transactions));
          if (!result.ok) continue;
          const bought = transactions
            .filter((t) => t.type === 'EXCHANGE')
            .reduce((sum, t) => sum + t.amount, 0);
          expect(supply(result.value)).toBe(supply(state) + bought);
          // Every coin is somewhere: balances plus staked coins sum to the genesis stake alone.
          const staked = [...result.value.stakes.values()].reduce((a, b) => a + b, 0);
          const held = [...result.value.balances.values()].reduce((a, b) => a + b, 0);
          expect(held + staked).toBe(1);
          for (const [key, amount] of result.value.balances)
            if (key !== EXCHANGE) expect(amount).toBeGreaterThanOrEqual(0);
          state = result.value;
          accepted++;
        }
      }),
      { numRuns: 300 },
    );
    // The generator must exercise the accepting path, not only rejections.
    expect(accepted).toBeGreaterThan(400);
  });
});

describe('decoding hostile input', () => {
  const good = tx('TRANSFER', USERS[0] as string, USERS[1] as string, 5);
  it('accepts a well-formed transaction and rebuilds it in reference field order', () => {
    // Keys arrive in reverse order; the decoder puts them back in the reference's order.
    const shuffled = Object.fromEntries(Object.entries(good).reverse());
    const decoded = decodeTransaction(JSON.parse(JSON.stringify(shuffled)));
    expect(decoded.ok && Object.keys(decoded.value)).toEqual([
      'senderPublicKey',
      'receiverPublicKey',
      'amount',
      'type',
      'id',
      'timestamp',
      'signature',
    ]);
  });
  it.each([
    ['null', null],
    ['a string', 'TRANSFER'],
    ['an array', [good]],
    ['a missing field', { ...good, id: undefined }],
    ['an extra field', { ...good, 'py/object': 'Transaction' }],
    ['a non-PEM key', { ...good, senderPublicKey: 'alice' }],
    [
      'a huge key',
      {
        ...good,
        senderPublicKey: `-----BEGIN PUBLIC KEY-----\n${'A'.repeat(64 * 100)}\n-----END PUBLIC KEY-----`,
      },
    ],
    ['a string amount', { ...good, amount: '5' }],
    ['a bad id', { ...good, id: 'not-an-id' }],
    ['upper-case hex signature', { ...good, signature: 'AB' }],
    ['a negative timestamp', { ...good, timestamp: -1 }],
    ['a long type', { ...good, type: 'X'.repeat(1000) }],
  ])('rejects %s with MALFORMED', (_what, value) => {
    const decoded = decodeTransaction(value);
    expect(decoded.ok ? 'ok' : decoded.error.code).toBe('MALFORMED');
  });
  it('rejects blocks with too many transactions or bad fields, naming the path', () => {
    const block = blockOn(funded, [good]);
    const tooMany = { ...block, transactions: Array.from({ length: 5000 }, () => good) };
    expect(decodeBlock(tooMany).ok).toBe(false);
    const badTx = decodeBlock({ ...block, transactions: [{ ...good, amount: 'x' }] });
    expect(badTx.ok ? '' : badTx.error.message).toContain('transactions.0.amount');
    expect(decodeBlock({ ...block, lastHash: 'zz' }).ok).toBe(false);
    expect(decodeBlock(block).ok).toBe(true);
  });
  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        expect(decodeBlock(value).ok).toBe(false);
        expect(decodeTransaction(value).ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});
