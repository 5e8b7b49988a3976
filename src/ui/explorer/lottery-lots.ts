import { hash } from '../../core/hash';
import type { StakeEntry } from '../../core/lottery';

/*
 * The lottery's lots, laid out for drawing. The node draws the lottery (`readLottery`) and keeps
 * only the winner; the picture needs every lot, so they are hashed again here, after the first
 * paint, as the reference does (`Lot.lotHash`): staker k's lot 1 is hash(k + seed), lot i + 1 is
 * hash(lot i). One hash per staked coin: at most the network's stake cap (10,000 by default).
 * The winner shown is always the node's; the recomputed lots must agree with it (tested).
 */

/** 2^256: the size of the space lots and the target live in. */
export const SPACE = 1n << 256n;

/** One staker's lots as 256-bit integers, in iteration order (lot 1 first). */
export interface StakerLots {
  readonly publicKey: string;
  readonly lots: readonly bigint[];
}

/** Every staker's lots for `seed`. */
export function drawLots(stakers: readonly StakeEntry[], seed: string): StakerLots[] {
  return stakers.map(([publicKey, stake]) => {
    const lots: bigint[] = [];
    let lot = '';
    for (let i = 1; i <= stake; i++) {
      lot = i === 1 ? hash(publicKey + seed) : hash(lot);
      lots.push(BigInt(`0x${lot}`));
    }
    return { publicKey, lots };
  });
}

/** |a - b|. */
export const distance = (a: bigint, b: bigint): bigint => (a > b ? a - b : b - a);

/** Where `value` lies on [0, 2^256) as a fraction in [0, 1) (53 bits are plenty for a drawing). */
export const fractionOf = (value: bigint): number => Number(value >> 203n) / 2 ** 53;

/** Bins of the line: `counts[bin][staker]` lots of each staker in each of `bins` equal bins. */
export function binLots(all: readonly StakerLots[], bins: number): number[][] {
  const counts = Array.from({ length: bins }, () => all.map(() => 0));
  for (const [staker, { lots }] of all.entries()) {
    for (const lot of lots) {
      const bin = Math.min(bins - 1, Math.floor(fractionOf(lot) * bins));
      (counts[bin] as number[])[staker] = ((counts[bin] as number[])[staker] ?? 0) + 1;
    }
  }
  return counts;
}

/** A lot near the target, for the zoomed inset. */
export interface NearLot {
  readonly staker: number;
  readonly iteration: number;
  readonly value: bigint;
  readonly distance: bigint;
}

/** The `count` lots nearest `target`, nearest first (ties: the earlier lot, as the lottery). */
export function nearestLots(all: readonly StakerLots[], target: bigint, count: number): NearLot[] {
  const near: NearLot[] = [];
  for (const [staker, { lots }] of all.entries()) {
    for (const [index, value] of lots.entries()) {
      const d = distance(value, target);
      const worst = near[near.length - 1];
      if (near.length >= count && worst && d >= worst.distance) continue;
      const lot = { staker, iteration: index + 1, value, distance: d };
      const at = near.findIndex((other) => d < other.distance);
      near.splice(at < 0 ? near.length : at, 0, lot);
      if (near.length > count) near.pop();
    }
  }
  return near;
}

/**
 * A distance as a share of the whole line, for people: "0.0031 %", "1 in 3.2 million", with two
 * significant digits.
 */
export function shareOfLine(d: bigint): string {
  const fraction = Number((d * 10n ** 18n) / SPACE) / 1e18;
  if (fraction === 0) return 'less than 1 in 10^18 of the line';
  if (fraction >= 1e-4) return `${(fraction * 100).toPrecision(2)} % of the line`;
  const oneIn = 1 / fraction;
  const [value, unit] =
    oneIn >= 1e12
      ? [oneIn / 1e12, ' trillion']
      : oneIn >= 1e9
        ? [oneIn / 1e9, ' billion']
        : oneIn >= 1e6
          ? [oneIn / 1e6, ' million']
          : [oneIn, ''];
  return `1 in ${Number(value.toPrecision(2)).toLocaleString('en')}${unit} of the line`;
}

/** A 256-bit value as 64 hex digits, abbreviated ("0x0000f3a9…"), leading zeros kept: they are the point. */
export function shortHex(value: bigint, digits = 12): string {
  return `0x${value.toString(16).padStart(64, '0').slice(0, digits)}…`;
}
