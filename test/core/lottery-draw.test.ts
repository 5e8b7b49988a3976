import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  continueLottery,
  genesisState,
  isLotteryDone,
  lotteryResult,
  runLottery,
  type StakeEntry,
  startLottery,
} from '../../src/core';
import { slicedLotteryRunner } from '../../src/node/slices';
import { readVector, readVectorKey } from '../helpers/vectors';

const STAKER = readVectorKey('stakerPublicKey.pem');
const GENESIS = readVectorKey('genesisPublicKey.pem');
const SEED = 'b61900e4532596cc8d24dece2bb7f3e8533acfe7b6b9f2954fc618b6abfacc9d';

describe('the lottery as a resumable draw', () => {
  const forgers = readVector<{ stakers: StakeEntry[]; seed: string; forger: string }[]>(
    'forgers.json',
  ).filter((row) => Array.isArray(row.stakers));

  it('in chunks of any size, and across structured clone, it picks the reference forger of every vector row', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.nat(forgers.length - 1), (chunk, index) => {
        const row = forgers[index] as (typeof forgers)[number];
        let draw = startLottery(row.stakers, row.seed);
        let steps = 0;
        while (!isLotteryDone(draw)) {
          draw = structuredClone(continueLottery(draw, chunk));
          steps++;
        }
        expect(lotteryResult(draw)?.forger).toBe(row.forger);
        expect(lotteryResult(draw)).toEqual(runLottery(row.stakers, row.seed));
        const lots = row.stakers.reduce((sum, [, stake]) => sum + Math.max(0, stake), 0);
        expect(draw.hashes).toBe(lots);
        expect(steps).toBe(Math.ceil(lots / chunk));
      }),
      { numRuns: 60 },
    );
  });

  it('the sliced runner gives the same forger, yielding to the page between slices of its budget', async () => {
    const stakers: StakeEntry[] = [
      [GENESIS, 1],
      [STAKER, 3000],
    ];
    let clock = 0;
    const slices: number[] = [];
    let yields = 0;
    const runner = slicedLotteryRunner({
      now: () => clock++, // one "ms" per reading: a slice reads the clock once per chunk
      yieldToPage: async () => {
        yields++;
      },
      budgetMs: 8,
      onSlice: (ms) => slices.push(ms),
    });
    const result = await runner(stakers, SEED);
    expect(result).toEqual(runLottery(stakers, SEED));
    expect(yields).toBe(slices.length - 1);
    expect(yields).toBeGreaterThan(1);
    for (const ms of slices) expect(ms).toBeLessThanOrEqual(9);
  });

  it('each chain state carries its next forger, drawn when the state was made', () => {
    const state = genesisState({ genesisPublicKey: GENESIS });
    expect(state.nextForger).toBe(GENESIS);
    expect(state.maxTotalStake).toBe(10_000);
    expect(() => genesisState({ genesisPublicKey: GENESIS, maxTotalStake: 0 })).toThrow(RangeError);
  });
});
