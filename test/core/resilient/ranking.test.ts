import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { drawNumber, type EligibleStake, rankOf, rankStakers } from '../../../src/core/resilient';

const MAX = Number.MAX_SAFE_INTEGER;
const seedOf = (i: number): string => createHash('sha256').update(`seed ${i}`).digest('hex');
const hexSeed = fc.stringMatching(/^[0-9a-f]{64}$/);

function ranked(seed: string, stakes: readonly EligibleStake[], limit?: number): readonly string[] {
  const result = rankStakers(seed, stakes, limit);
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

/** The same draws the slow, obvious way: a linear walk over the stakes still in the urn. */
function naiveRanking(seed: string, stakes: readonly EligibleStake[]): string[] {
  const urn = stakes.filter(([, stake]) => stake > 0).map(([key, stake]) => [key, BigInt(stake)] as const);
  const seedBytes = Buffer.from(seed, 'hex');
  const out: string[] = [];
  for (let rank = 0; urn.length > 0; rank++) {
    const message = Buffer.concat([
      seedBytes,
      Buffer.from([rank >>> 24, rank >>> 16, rank >>> 8, rank].map((b) => b & 255)),
    ]);
    const number = BigInt(`0x${createHash('sha256').update(message).digest('hex')}`);
    let target = number % urn.reduce((sum, [, stake]) => sum + stake, 0n);
    let index = 0;
    while (target >= (urn[index] as (typeof urn)[number])[1]) {
      target -= (urn[index] as (typeof urn)[number])[1];
      index++;
    }
    out.push((urn[index] as (typeof urn)[number])[0]);
    urn.splice(index, 1);
  }
  return out;
}

const stakesArb = fc
  .uniqueArray(
    fc.tuple(
      fc.string({ minLength: 1, maxLength: 8 }),
      fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: MAX - 1000, max: MAX })),
    ),
    { selector: ([key]) => key, minLength: 0, maxLength: 40 },
  )
  .map((entries) => entries as readonly EligibleStake[]);

describe('resilient ranking', () => {
  it('derives draw i from SHA-256 of the seed bytes and i as 4 big-endian bytes', () => {
    const seed = seedOf(1);
    const expected = createHash('sha256')
      .update(Buffer.concat([Buffer.from(seed, 'hex'), Buffer.from([0, 0, 1, 2])]))
      .digest('hex');
    expect(drawNumber(Buffer.from(seed, 'hex'), 258)).toBe(BigInt(`0x${expected}`));
  });

  it('is deterministic and depends on the seed', () => {
    const stakes: EligibleStake[] = Array.from({ length: 20 }, (_, i) => [`key${i}`, i + 1]);
    expect(ranked(seedOf(7), stakes)).toEqual(ranked(seedOf(7), stakes));
    const orders = new Set(Array.from({ length: 20 }, (_, i) => ranked(seedOf(i), stakes).join()));
    expect(orders.size).toBe(20);
  });

  it('ranks every staker with stake exactly once and leaves out stake 0', () => {
    const stakes: EligibleStake[] = [
      ['a', 5],
      ['b', 0],
      ['c', 1],
      ['d', 9],
    ];
    const order = ranked(seedOf(3), stakes);
    expect([...order].sort()).toEqual(['a', 'c', 'd']);
    expect(rankOf(order, 'b')).toBeNull();
    expect(ranked(seedOf(3), [])).toEqual([]);
  });

  it('is a permutation of the stakers holding stake (property)', () => {
    fc.assert(
      fc.property(hexSeed, stakesArb, (seed, stakes) => {
        const order = ranked(seed, stakes);
        const holders = stakes.filter(([, s]) => s > 0).map(([k]) => k);
        expect([...order].sort()).toEqual([...holders].sort());
      }),
    );
  });

  it('matches a linear-walk bigint model exactly, stakes near 2^53 included (property)', () => {
    fc.assert(
      fc.property(hexSeed, stakesArb, (seed, stakes) => {
        expect(ranked(seed, stakes)).toEqual(naiveRanking(seed, stakes));
      }),
    );
  });

  it('is exact where floating point is not: a stake of 1 beside two of 2^53-1', () => {
    // 2 * (2^53 - 1) + 1 is not a double; summed as floats the stake of 1 would vanish.
    expect(2 * MAX + 1).toBe(2 * MAX + 2);
    const stakes: EligibleStake[] = [
      ['big1', MAX],
      ['big2', MAX],
      ['one', 1],
    ];
    const total = 2n * BigInt(MAX) + 1n;
    let seen = 0;
    for (let i = 0; i < 200; i++) {
      const seed = seedOf(i);
      const x = drawNumber(Buffer.from(seed, 'hex'), 0) % total;
      const expected = x < BigInt(MAX) ? 'big1' : x < 2n * BigInt(MAX) ? 'big2' : 'one';
      const order = ranked(seed, stakes);
      expect(order[0]).toBe(expected);
      expect(order).toEqual(naiveRanking(seed, stakes));
      if (order[0] === 'big2') seen++;
    }
    expect(seen).toBeGreaterThan(50);
  });

  it('stops after `limit` ranks with the same first ranks', () => {
    const stakes: EligibleStake[] = Array.from({ length: 30 }, (_, i) => [`key${i}`, 100 * i + 1]);
    const full = ranked(seedOf(11), stakes);
    expect(ranked(seedOf(11), stakes, 3)).toEqual(full.slice(0, 3));
    expect(ranked(seedOf(11), stakes, 0)).toEqual([]);
  });

  it('gives rank 0 in proportion to stake, and rank 1 as a draw without replacement', () => {
    const stakes: EligibleStake[] = [
      ['a', 1000],
      ['b', 2000],
      ['c', 3000],
      ['d', 4000],
    ];
    const p = [0.1, 0.2, 0.3, 0.4];
    const runs = 20_000;
    const first = new Map<string, number>();
    const second = new Map<string, number>();
    const count = (tally: Map<string, number>, key: string) => tally.set(key, (tally.get(key) ?? 0) + 1);
    for (let i = 0; i < runs; i++) {
      const order = ranked(seedOf(i), stakes);
      count(first, order[0] as string);
      count(second, order[1] as string);
    }
    // P(rank 1 = j) = sum over i != j of p_i * p_j / (1 - p_i).
    const secondExpected = p.map((pj, j) =>
      p.reduce((sum, pi, i) => (i === j ? sum : sum + (pi * pj) / (1 - pi)), 0),
    );
    // 20,000 draws: one standard deviation is at most 0.0035; 0.015 is over four.
    for (let j = 0; j < 4; j++) {
      const key = 'abcd'.charAt(j);
      expect(Math.abs((first.get(key) ?? 0) / runs - (p[j] as number))).toBeLessThan(0.015);
      expect(Math.abs((second.get(key) ?? 0) / runs - (secondExpected[j] as number))).toBeLessThan(0.015);
    }
  });

  it('refuses a bad seed, a bad stake and a staker listed twice, with stable codes', () => {
    const stakes: EligibleStake[] = [['a', 1]];
    expect(rankStakers('ABC', stakes)).toMatchObject({ ok: false, error: { code: 'BAD_SEED' } });
    expect(rankStakers(seedOf(1).toUpperCase(), stakes)).toMatchObject({
      ok: false,
      error: { code: 'BAD_SEED' },
    });
    for (const bad of [-1, 1.5, MAX + 1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(
        rankStakers(seedOf(1), [
          ['a', 1],
          ['b', bad],
        ]),
      ).toMatchObject({
        ok: false,
        error: { code: 'BAD_STAKE', index: 1 },
      });
    }
    expect(
      rankStakers(seedOf(1), [
        ['a', 1],
        ['b', 2],
        ['a', 3],
      ]),
    ).toMatchObject({
      ok: false,
      error: { code: 'DUPLICATE_STAKER', index: 2 },
    });
  });
});
