import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ForkBranch, prefersBranch } from '../../src/core';

const hash = fc.stringMatching(/^[0-9a-f]{64}$/);
const branch = fc.record({ height: fc.integer({ min: 1, max: 1000 }), firstHash: hash });

describe('fork choice', () => {
  it('prefers the longer branch whatever its hash', () => {
    const ours: ForkBranch = { height: 5, firstHash: '0'.repeat(64) };
    const theirs: ForkBranch = { height: 6, firstHash: 'f'.repeat(64) };
    expect(prefersBranch(ours, theirs)).toBe(true);
    expect(prefersBranch(theirs, ours)).toBe(false);
  });

  it('between equal lengths prefers the smaller first differing hash', () => {
    const small: ForkBranch = { height: 7, firstHash: `0a${'f'.repeat(62)}` };
    const large: ForkBranch = { height: 7, firstHash: `0b${'0'.repeat(62)}` };
    expect(prefersBranch(large, small)).toBe(true);
    expect(prefersBranch(small, large)).toBe(false);
  });

  it('never prefers a branch over itself', () => {
    fc.assert(fc.property(branch, (b) => !prefersBranch(b, { ...b })));
  });

  it('is a strict order: of two different branches exactly one is preferred', () => {
    fc.assert(
      fc.property(branch, branch, (a, b) => {
        fc.pre(a.height !== b.height || a.firstHash !== b.firstHash);
        expect(prefersBranch(a, b)).toBe(!prefersBranch(b, a));
      }),
    );
  });

  it('is transitive, so every node that saw the same branches picks the same one', () => {
    fc.assert(
      fc.property(branch, branch, branch, (a, b, c) => {
        if (prefersBranch(a, b) && prefersBranch(b, c)) expect(prefersBranch(a, c)).toBe(true);
      }),
    );
  });
});
