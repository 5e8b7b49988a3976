/**
 * `resilient-ranking-1m`: ranking every staker for the next block on the `resilient` profile,
 * 1,000,000 coins among 100 stakers (goal < 5 ms). The ratio is what the reference profile's
 * lottery (one hash per coin) takes for the same stakes and one seed, over ours.
 */
import { createHash } from 'node:crypto';
import { runLottery } from '../src/core';
import { type EligibleStake, rankStakers } from '../src/core/resilient';
import { type Figure, medianMs, round } from './harness';

const STAKERS = 100;
const TOTAL = 1_000_000;

/** 100 distinct PEM-sized keys (the ranking never parses them) holding 1..100 shares of the total. */
function stakes(): EligibleStake[] {
  const shares = (STAKERS * (STAKERS + 1)) / 2;
  const out: EligibleStake[] = [];
  let given = 0;
  for (let i = 0; i < STAKERS; i++) {
    const body = createHash('sha512').update(`staker ${i}`).digest('base64').repeat(6).slice(0, 392);
    const stake = i === STAKERS - 1 ? TOTAL - given : Math.floor((TOTAL * (i + 1)) / shares);
    given += stake;
    out.push([`-----BEGIN PUBLIC KEY-----\n${body}\n-----END PUBLIC KEY-----\n`, stake]);
  }
  return out;
}

const seedOf = (i: number): string => createHash('sha256').update(`bench seed ${i}`).digest('hex');

export async function resilientRankingFigure(): Promise<Figure> {
  const eligible = stakes();
  let run = 0;
  const ours = () => {
    const ranking = rankStakers(seedOf(run++), eligible);
    if (!ranking.ok || ranking.value.length !== STAKERS) throw new Error('ranking failed');
  };
  const oursMs = await medianMs(ours, 21, 3);
  const referenceStart = performance.now();
  runLottery(eligible, seedOf(0));
  const referenceMs = performance.now() - referenceStart;
  return {
    name: 'resilient-ranking-1m',
    value: round(oursMs),
    unit: 'ms',
    ratio: round(referenceMs / oursMs, 0),
    note: `reference lottery on the same stakes ${round(referenceMs, 0)} ms / ours; goal < 5 ms`,
  };
}
