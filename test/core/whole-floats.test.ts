import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  blockHash,
  canonicalJson,
  decodeBlock,
  needsLosslessParse,
  nextForgerOf,
  parseJson,
  pythonFloat,
  stateToJSON,
  stringifyJson,
  validateChain,
} from '../../src/core';
import { createForgeProvider } from '../../src/crypto/forge';
import { createWebCryptoProvider } from '../../src/crypto/webcrypto';
import { decodeMessage, encodeMessage } from '../../src/node/protocol';
import { readVector, VECTOR_GENESIS_KEY } from '../helpers/vectors';

interface WholeFloatsVector {
  valid: {
    chainText: string;
    expect: {
      blocks: number;
      head: string;
      balances: Record<string, number>;
      stakes: Record<string, number>;
      nextForger: string;
    };
  };
  intForFloat: { chainText: string; firstInvalidBlock: number; defect: string };
}

const vector = readVector<WholeFloatsVector>('chain-whole-floats.json');
const blocksOf = (text: string): unknown[] => {
  const parsed = parseJson(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return (parsed.value as { blocks: unknown[] }).blocks;
};

describe.each([
  ['webcrypto', createWebCryptoProvider()],
  ['forge', createForgeProvider()],
] as const)('chain-whole-floats.json, verified with %s', (_name, provider) => {
  const config = { genesisPublicKey: VECTOR_GENESIS_KEY() };

  it('the valid chain, whose every timestamp is a whole-number float, comes to the reference outcome', async () => {
    expect(/"timestamp": 1795670518\.0,/.test(vector.valid.chainText)).toBe(true);
    const result = await validateChain(blocksOf(vector.valid.chainText), config, provider);
    const want = vector.valid.expect;
    expect(result.error).toBeNull();
    expect(result.valid).toBe(true);
    expect(result.height).toBe(want.blocks);
    expect(result.state.headHash).toBe(want.head);
    expect(stateToJSON(result.state)).toEqual({ balances: want.balances, stakes: want.stakes });
    expect(nextForgerOf(result.state)).toBe(want.nextForger);
  });

  it('the same text with one float rewritten as an integer is rejected at exactly that block', async () => {
    const bad = vector.intForFloat;
    const result = await validateChain(blocksOf(bad.chainText), config, provider);
    expect(result.valid).toBe(false);
    expect(result.firstInvalid).toBe(bad.firstInvalidBlock);
    expect(result.height).toBe(bad.firstInvalidBlock);
    expect(result.error?.code).toBe('BAD_BLOCK_SIGNATURE');
    // The valid prefix is kept.
    const prefix = blocksOf(bad.chainText).slice(0, bad.firstInvalidBlock);
    const last = decodeBlock(prefix[prefix.length - 1]);
    expect(last.ok && result.state.headHash).toBe(last.ok && blockHash(last.value));
  });

  it('JSON.parse, which turns 1795670516.0 into 1795670516, would reject the valid chain at block 1', async () => {
    const lossy = (JSON.parse(vector.valid.chainText) as { blocks: unknown[] }).blocks;
    const result = await validateChain(lossy, config, provider);
    expect(result.firstInvalid).toBe(1);
  });
});

describe('lossless JSON', () => {
  const parsed = (text: string): unknown => {
    const result = parseJson(text);
    if (!result.ok) throw new Error(result.error);
    return result.value;
  };

  it('the whole-floats chain text comes back byte for byte, also after structured clone and the wire', () => {
    const value = parsed(vector.valid.chainText);
    expect(canonicalJson(value)).toBe(vector.valid.chainText);
    expect(canonicalJson(structuredClone(value))).toBe(vector.valid.chainText);
    expect(canonicalJson(parsed(stringifyJson(value)))).toBe(vector.valid.chainText);
    expect(/"timestamp":1795670518\.0,/.test(stringifyJson(value))).toBe(true);
  });

  it('keeps ints as ints and whole floats as floats, in plain data', () => {
    expect(parsed('[1, 1.0, 1e3, 1.5, -0.0, -0, 1e16, 2.5e20]')).toEqual([
      1,
      { wholeFloat: 1 },
      { wholeFloat: 1000 },
      1.5,
      { wholeFloat: -0 },
      -0,
      { wholeFloat: 1e16 },
      { wholeFloat: 2.5e20 },
    ]);
    expect(canonicalJson(parsed('[1, 1.0, 1e3, 1.5, -0.0, -0, 1e16, 2.5e20]'))).toBe(
      '[1, 1.0, 1000.0, 1.5, -0.0, 0, 1e+16, 2.5e+20]',
    );
    // Fractions too small for a double round to a whole float, as in Python.
    expect(canonicalJson(parsed('[1.0000000000000001, 0.99999999999999999, 4503599627370496.6]'))).toBe(
      '[1.0, 1.0, 4503599627370497.0]',
    );
  });

  it('never rounds an integer beyond 2^53-1: it is kept as its digits, which no schema accepts', () => {
    expect(parsed('{"amount": 9007199254740993}')).toEqual({ amount: { unsafeInteger: '9007199254740993' } });
    expect(parsed('[9007199254740991]')).toEqual([9007199254740991]);
  });

  it('refuses an object that imitates a whole float, however its key is written', () => {
    expect(parseJson('{"timestamp": {"wholeFloat": 5}}').ok).toBe(false);
    expect(parseJson('{"timestamp": {"\\u0077holeFloat": 5}}').ok).toBe(false);
    expect(parseJson('{"type": "wholeFloat"}')).toEqual({ ok: true, value: { type: 'wholeFloat' } });
  });

  it('agrees with JSON.parse on duplicate keys (the last wins) on both paths', () => {
    expect(parsed('{"a": 1, "a": 2}')).toEqual({ a: 2 });
    expect(parsed('{"a": 1.0, "a": 2.0}')).toEqual({ a: { wholeFloat: 2 } });
  });

  it('refuses text that is not JSON without throwing', () => {
    for (const text of [
      '',
      '{',
      '[1,]',
      'NaN',
      '{"a": 1.0',
      `${'['.repeat(100_000)}1.0${']'.repeat(100_000)}`,
    ])
      expect(parseJson(text).ok).toBe(false);
  });

  it("takes JSON.parse's native path for the text this project writes", () => {
    expect(needsLosslessParse('{"timestamp": 1795670526.831306, "amount": 25, "blockCount": 12}')).toBe(
      false,
    );
    expect(needsLosslessParse('{"timestamp": 1795670526.0}')).toBe(true);
    expect(needsLosslessParse('{"timestamp": 1795670526.0000001}')).toBe(true);
  });

  it('reads any float or safe integer written by Python back to the same text (property)', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (value) => {
        const text = `{"x": [${pythonFloat(value)}]}`;
        expect(canonicalJson(parsed(text))).toBe(text);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.maxSafeInteger(), (value) => {
        const text = `[${value}]`;
        expect(canonicalJson(parsed(text))).toBe(text);
      }),
      { numRuns: 500 },
    );
    // Timestamps near now with few decimals: the inputs most likely to round to a whole number.
    fc.assert(
      fc.property(
        fc.integer({ min: 1e9, max: 2e9 }),
        fc.integer({ min: 0, max: 99 }),
        fc.nat(12),
        (s, f, zeros) => {
          const text = `[${s}.${'0'.repeat(zeros)}${f}]`;
          const python = pythonFloat(Number(text.slice(1, -1)));
          expect(canonicalJson(parsed(text))).toBe(`[${python}]`);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('the wire keeps whole-number floats', () => {
  it('a block with whole-float timestamps crosses encodeMessage/decodeMessage unchanged', () => {
    const blocks = blocksOf(vector.valid.chainText);
    const block = decodeBlock(blocks[1]);
    if (!block.ok) throw new Error(block.error.message);
    const text = encodeMessage({ type: 'BLOCK', block: block.value });
    expect(/"timestamp":1795670518\.0,/.test(text)).toBe(true);
    const message = decodeMessage(text);
    if (!message.ok || message.value.type !== 'BLOCK') throw new Error('not decoded');
    const again = decodeBlock(message.value.block);
    if (!again.ok) throw new Error(again.error.message);
    expect(canonicalJson(again.value)).toBe(canonicalJson(blocks[1]));
    expect(blockHash(again.value)).toBe(blockHash(block.value));
  });

  it('a peer cannot pass an object off as a whole float', () => {
    const forged = '{"v": 1, "type": "TRANSACTION", "transaction": {"timestamp": {"wholeFloat": 5}}}';
    expect(decodeMessage(forged)).toMatchObject({ ok: false, error: { code: 'NOT_JSON' } });
  });
});
