import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CanonicalJsonError, canonicalJson, pythonNumber } from '../../src/core';

describe('canonical JSON', () => {
  it('round trips any JSON value through JSON.parse', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        // -0 has no JSON spelling other than 0, as in Python's json.dumps(-0) for ints.
        const normalised = JSON.parse(JSON.stringify(value)) as unknown;
        expect(JSON.parse(canonicalJson(normalised))).toEqual(normalised);
      }),
      { numRuns: 500 },
    );
  });

  it('is ASCII-only for any string, and escapes exactly as JSON allows', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        const encoded = canonicalJson(text);
        expect(encoded).toMatch(/^[\x20-\x7e]*$/);
        expect(JSON.parse(encoded)).toBe(text);
      }),
      { numRuns: 500 },
    );
  });

  it('uses Python separators and keeps insertion order', () => {
    expect(canonicalJson({ b: 1, a: [1, 'x', null, true, false] })).toBe(
      '{"b": 1, "a": [1, "x", null, true, false]}',
    );
  });

  it('writes floats as Python repr does', () => {
    expect(pythonNumber(1.5)).toBe('1.5');
    expect(pythonNumber(0.0001)).toBe('0.0001');
    expect(pythonNumber(0.00001)).toBe('1e-05');
    expect(pythonNumber(1.5e-7)).toBe('1.5e-07');
    expect(pythonNumber(1e22)).toBe('1e+22');
    expect(pythonNumber(1.2345678901234568e16)).toBe('1.2345678901234568e+16');
    expect(pythonNumber(123456789012345.6)).toBe('123456789012345.6');
    expect(pythonNumber(-2.5)).toBe('-2.5');
    expect(pythonNumber(1795670526.8425863)).toBe('1795670526.8425863');
  });

  it('refuses values Python would write as non-JSON tokens', () => {
    expect(() => canonicalJson(Number.NaN)).toThrow(CanonicalJsonError);
    expect(() => canonicalJson({ a: Number.POSITIVE_INFINITY })).toThrow(CanonicalJsonError);
    expect(() => canonicalJson(() => 1)).toThrow(CanonicalJsonError);
  });
});

describe('canonical JSON, non-ASCII in a row', () => {
  it('escapes every non-ASCII string, call after call (no regex state carried over)', () => {
    for (let i = 0; i < 5; i++) expect(canonicalJson(['é', 'x', 'é'])).toBe('["\\u00e9", "x", "\\u00e9"]');
  });
  it('agrees with the general float formatter on random floats', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (value) => {
        if (Number.isInteger(value)) return;
        const text = pythonNumber(value);
        expect(Number(text)).toBe(value);
        // Python switches to exponent notation outside 1e-4 <= |x| < 1e16.
        const abs = Math.abs(value);
        expect(text.includes('e')).toBe(abs < 1e-4 || abs >= 1e16);
      }),
      { numRuns: 1000 },
    );
  });
});
