/**
 * The signed bytes written directly (src/core/signing-bytes.ts) are the UTF-8 of the canonical
 * JSON, byte for byte: for generated transactions and blocks (unicode, lone surrogates, big and
 * odd numbers, whole floats, resilient blocks) and for every block and transaction the vectors hold.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Block,
  blockHash,
  blockPayload,
  blockSigningBytes,
  canonicalJson,
  createKeyBytes,
  decodeBlock,
  GENESIS_BLOCK,
  hash,
  parseJson,
  signedTransactionKey,
  startBlockBytes,
  type Timestamp,
  type Transaction,
  transactionPayload,
  transactionSigningBytes,
  writeBlockBytes,
  writeTransactionPayload,
} from '../../src/core';
import { readVector, readVectorKey } from '../helpers/vectors';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const txBytes = (tx: Transaction): Uint8Array => utf8(canonicalJson(transactionPayload(tx)));
const blockBytes = (block: Block): Uint8Array => utf8(canonicalJson(blockPayload(block)));

/** Vitest compares typed arrays element by element, views and their lengths included. */
const same = (actual: Uint8Array, expected: Uint8Array): void => {
  expect(actual.length).toBe(expected.length);
  expect(Buffer.from(actual).equals(Buffer.from(expected))).toBe(true);
};

const PEMS = [readVectorKey('genesisPublicKey.pem'), readVectorKey('bobPublicKey.pem')];

/** Any string, astral characters and lone surrogates included. */
const anyText = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'binary-ascii' }),
  fc.constantFrom('\ud800', '\udfff', 'x\ud83d', '\ude00y', '😀', '\u007f', '"\\', 'é€', 'TRANSFER', ''),
);
const hex = (min: number, max: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: min, maxLength: max });
const key = fc.oneof(fc.constantFrom(...PEMS), anyText);
/** Any finite number: safe integers to 2^53-1 either way, fractions, and the edges of floats. */
const number = fc.oneof(
  fc.maxSafeInteger(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(
    1e21,
    -1e21,
    5e-324,
    -5e-324,
    -0,
    0.1,
    -2.5,
    1e16,
    2 ** 53,
    Number.MAX_SAFE_INTEGER,
    -Number.MAX_SAFE_INTEGER,
    Number.MAX_VALUE,
    1.7976931348623157e308,
    1e-7,
    123456789012345.6,
  ),
);
const wholeFloat = fc
  .oneof(fc.maxSafeInteger(), fc.constantFrom(0, -0, 1e16, 1e21, 1e300, 1795670516))
  .map((value): Timestamp => ({ wholeFloat: value }));
const timestamp: fc.Arbitrary<Timestamp> = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true, min: 0 }),
  fc.maxSafeNat(),
  wholeFloat,
);
const transaction: fc.Arbitrary<Transaction> = fc.record({
  senderPublicKey: key,
  receiverPublicKey: key,
  amount: number,
  type: fc.oneof(fc.constantFrom('TRANSFER', 'EXCHANGE', 'STAKE'), anyText),
  id: fc.oneof(hex(32, 32), anyText),
  timestamp,
  signature: fc.oneof(hex(0, 600), anyText),
});
const block: fc.Arbitrary<Block> = fc
  .record({
    blockCount: fc.oneof(fc.maxSafeNat(), number),
    lastHash: fc.oneof(hex(64, 64), fc.constant('genesisHash'), anyText),
    signature: fc.oneof(hex(0, 600), anyText),
    forger: fc.oneof(key, fc.constant('genesis')),
    timestamp,
    transactions: fc.array(transaction, { maxLength: 6 }),
    seedSignature: fc.option(fc.oneof(hex(0, 600), anyText), { nil: undefined }),
  })
  .map(({ seedSignature, ...rest }) => (seedSignature === undefined ? rest : { ...rest, seedSignature }));

describe('signed bytes, written directly', () => {
  it("a transaction's payload bytes are the UTF-8 of its canonical JSON (property)", () => {
    const keyBytes = createKeyBytes();
    fc.assert(
      fc.property(transaction, (tx) => {
        const expected = txBytes(tx);
        same(writeTransactionPayload(tx), expected);
        // With a table of key bytes shared across calls, as a chain's validation shares one.
        same(writeTransactionPayload(tx, keyBytes), expected);
        same(transactionSigningBytes(tx), expected);
      }),
      { numRuns: 1000 },
    );
  });

  it("a block's bytes, and each of its transactions', are the UTF-8 of their canonical JSON (property)", () => {
    const keyBytes = createKeyBytes();
    fc.assert(
      fc.property(block, (b) => {
        const written = writeBlockBytes(b, keyBytes);
        same(written.payload, blockBytes(b));
        expect(written.transactions).toHaveLength(b.transactions.length);
        for (const [i, tx] of b.transactions.entries())
          same(written.transactions[i] as Uint8Array, txBytes(tx));
        same(blockSigningBytes(b), blockBytes(b));
        expect(blockHash(b)).toBe(hash(blockPayload(b)));
      }),
      { numRuns: 500 },
    );
  });

  it('writes a block transaction by transaction, as the validator does between pauses', () => {
    fc.assert(
      fc.property(block, (b) => {
        const writer = startBlockBytes(b);
        for (const tx of b.transactions) {
          same(writer.nextTransaction(), txBytes(tx));
        }
        expect(writer.written).toBe(b.transactions.length);
        same(writer.finish(), blockBytes(b));
      }),
      { numRuns: 200 },
    );
  });

  it('grows past its estimate when escapes make a block longer than its characters', () => {
    const tx: Transaction = {
      senderPublicKey: '\u0001'.repeat(3000),
      receiverPublicKey: PEMS[0] as string,
      amount: -1.5e-300,
      type: '€😀\ud800'.repeat(2000),
      id: '"'.repeat(500),
      timestamp: { wholeFloat: 1e300 },
      signature: '\\'.repeat(700),
    };
    const b: Block = {
      blockCount: 7,
      lastHash: 'é'.repeat(100),
      signature: '',
      forger: '\n'.repeat(999),
      timestamp: 5e-324,
      transactions: [tx, tx, { ...tx, type: 'STAKE' }],
      seedSignature: '\u2028'.repeat(300),
    };
    const written = writeBlockBytes(b);
    same(written.payload, blockBytes(b));
    for (const [i, each] of b.transactions.entries())
      same(written.transactions[i] as Uint8Array, txBytes(each));
  });

  it('writes the genesis block and an empty block', () => {
    same(blockSigningBytes(GENESIS_BLOCK), blockBytes(GENESIS_BLOCK));
    same(
      writeBlockBytes({ ...GENESIS_BLOCK, seedSignature: 'ab' }).payload,
      blockBytes({ ...GENESIS_BLOCK, seedSignature: 'ab' }),
    );
  });
});

describe("the verified-signature cache's key", () => {
  it('is the same for two transactions only when their signed canonical JSON is', () => {
    // Few values per field, so that pairs often agree in some fields and differ in others.
    const near: fc.Arbitrary<Transaction> = fc.record({
      senderPublicKey: fc.constantFrom('a', 'a1:', '1:a', ''),
      receiverPublicKey: fc.constantFrom('a', '', ' 1'),
      amount: fc.constantFrom(1, -0, 0, 1.5, 10),
      type: fc.constantFrom('TRANSFER', '1:', '', 'é'),
      id: fc.constantFrom('0', '1', '01'),
      timestamp: fc.constantFrom<Timestamp>(1, { wholeFloat: 1 }, 1.5, 11),
      signature: fc.constantFrom('', 'ab', ' ab', '1:ab'),
    });
    fc.assert(
      fc.property(near, near, (a, b) => {
        const sameKey = signedTransactionKey(a) === signedTransactionKey(b);
        expect(sameKey).toBe(canonicalJson(a) === canonicalJson(b));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('signed bytes of every vector', () => {
  it('transactions.json: each payload, byte for byte, and its hash', () => {
    const rows =
      readVector<{ tx: Transaction; payloadJson: string; payloadSha256: string }[]>('transactions.json');
    for (const row of rows) {
      same(transactionSigningBytes(row.tx), utf8(row.payloadJson));
      same(writeTransactionPayload(row.tx), txBytes(row.tx));
    }
  });

  /** Every block of every chain the vectors hold, decoded as a peer's would be. */
  const vectorBlocks = (): Block[] => {
    const chains: unknown[][] = [
      readVector<{ chain: { blocks: unknown[] } }>('chain-long.json').chain.blocks,
      readVector<{ chain: { blocks: unknown[] } }>('chain-interaction.json').chain.blocks,
      ...readVector<{ chain: { blocks: unknown[] } }[]>('chains-invalid.json').map((row) => row.chain.blocks),
    ];
    const wholeFloats = readVector<{ valid: { chainText: string }; intForFloat: { chainText: string } }>(
      'chain-whole-floats.json',
    );
    for (const text of [wholeFloats.valid.chainText, wholeFloats.intForFloat.chainText]) {
      const parsed = parseJson(text);
      if (!parsed.ok) throw new Error(parsed.error);
      chains.push((parsed.value as { blocks: unknown[] }).blocks);
    }
    return chains.flat().flatMap((raw) => {
      const decoded = decodeBlock(raw);
      return decoded.ok ? [decoded.value] : [];
    });
  };

  it('every block of every chain: its payload, each transaction, and its hash', () => {
    const blocks = vectorBlocks();
    expect(blocks.length).toBeGreaterThan(50);
    const keyBytes = createKeyBytes();
    for (const b of blocks) {
      const written = writeBlockBytes(b, keyBytes);
      same(written.payload, blockBytes(b));
      for (const [i, tx] of b.transactions.entries())
        same(written.transactions[i] as Uint8Array, txBytes(tx));
      expect(blockHash(b)).toBe(hash(blockPayload(b)));
    }
  });

  it('each block links to the one before it by the hash of its written bytes', () => {
    const chain = readVector<{ chain: { blocks: unknown[] } }>('chain-long.json').chain.blocks;
    const blocks = chain.map((raw) => {
      const decoded = decodeBlock(raw);
      if (!decoded.ok) throw new Error(decoded.error.message);
      return decoded.value;
    });
    for (let i = 1; i < blocks.length; i++) {
      expect((blocks[i] as Block).lastHash).toBe(blockHash(blocks[i - 1] as Block));
    }
  });
});
