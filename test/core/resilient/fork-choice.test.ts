import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideReorg, prefersRankedBranch, type RankedBranch } from '../../../src/core/resilient';

const hash = fc.stringMatching(/^[0-9a-f]{64}$/);
const branch = fc.record({
  height: fc.integer({ min: 1, max: 1000 }),
  firstRank: fc.integer({ min: 0, max: 5 }),
  firstHash: hash,
});
const low = '0'.repeat(64);
const high = 'f'.repeat(64);

describe('resilient fork choice', () => {
  it('prefers the longer branch whatever its rank', () => {
    const ours: RankedBranch = { height: 5, firstRank: 0, firstHash: low };
    const theirs: RankedBranch = { height: 6, firstRank: 3, firstHash: high };
    expect(prefersRankedBranch(ours, theirs)).toBe(true);
    expect(prefersRankedBranch(theirs, ours)).toBe(false);
  });

  it('between equal lengths prefers the lower rank, then the smaller hash', () => {
    const rank0: RankedBranch = { height: 7, firstRank: 0, firstHash: high };
    const rank1: RankedBranch = { height: 7, firstRank: 1, firstHash: low };
    expect(prefersRankedBranch(rank1, rank0)).toBe(true);
    expect(prefersRankedBranch(rank0, rank1)).toBe(false);
    expect(prefersRankedBranch({ ...rank0, firstHash: high }, { ...rank0, firstHash: low })).toBe(true);
  });

  it('is a strict total order, so every node picks the same branch (property)', () => {
    fc.assert(
      fc.property(branch, branch, branch, (a, b, c) => {
        expect(prefersRankedBranch(a, { ...a })).toBe(false);
        if (a.height !== b.height || a.firstRank !== b.firstRank || a.firstHash !== b.firstHash) {
          expect(prefersRankedBranch(a, b)).toBe(!prefersRankedBranch(b, a));
        }
        if (prefersRankedBranch(a, b) && prefersRankedBranch(b, c))
          expect(prefersRankedBranch(a, c)).toBe(true);
      }),
    );
  });

  it('switches up to the bound and refuses, saying so, beyond it', () => {
    const ours: RankedBranch = { height: 108, firstRank: 0, firstHash: low };
    const atBound = decideReorg(100, ours, { height: 109, firstRank: 2, firstHash: high }, 8);
    expect(atBound).toEqual({ kind: 'switch', depth: 8 });
    const beyond = decideReorg(
      99,
      { ...ours, height: 108 },
      { height: 120, firstRank: 0, firstHash: low },
      8,
    );
    expect(beyond).toMatchObject({ kind: 'refuse', code: 'REORG_TOO_DEEP', depth: 9, maxDepth: 8 });
    if (beyond.kind === 'refuse') expect(beyond.message).toContain('never replaces more than 8');
    expect(decideReorg(100, ours, { height: 107, firstRank: 0, firstHash: low }, 8)).toEqual({
      kind: 'keep',
    });
  });
});
