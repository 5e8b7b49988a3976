import type { AccountTxRecord, BlockAggregate } from '../../ports/store';

/*
 * The charts' data, from the per-block aggregates the store keeps with the chain's index and
 * from the account history index: pure functions, no scan of the blocks.
 */

/** Minutes the blocks-per-minute chart shows at most (the newest). */
export const MAX_MINUTES = 60;

/** One minute of the chain: blocks forged and transactions carried in it. */
export interface MinutePoint {
  /** The minute's start, in seconds since the epoch. */
  readonly minute: number;
  readonly blocks: number;
  readonly transactions: number;
}

/**
 * Blocks and transactions per minute of block time, from the newest block's minute back to the
 * oldest one (at most `MAX_MINUTES`); minutes without blocks are zeros, so gaps show.
 */
export function perMinute(aggregates: readonly BlockAggregate[]): MinutePoint[] {
  const last = aggregates[aggregates.length - 1];
  if (!last) return [];
  const newest = Math.floor(last.timestamp / 60);
  const oldest = Math.max(
    Math.floor((aggregates[0] as BlockAggregate).timestamp / 60),
    newest - MAX_MINUTES + 1,
  );
  const points = new Map<number, { blocks: number; transactions: number }>();
  for (let m = oldest; m <= newest; m++) points.set(m, { blocks: 0, transactions: 0 });
  for (const aggregate of aggregates) {
    const point = points.get(Math.floor(aggregate.timestamp / 60));
    if (!point) continue;
    point.blocks++;
    point.transactions += aggregate.txCount;
  }
  return [...points].map(([m, point]) => ({ minute: m * 60, ...point }));
}

/** Stakers the stake chart names at most; the rest are summed as "others". */
export const MAX_STAKE_SERIES = 6;

/** The stake chart: one row per height where stakes changed, each staker's share in percent. */
export interface StakeShares {
  /** The series, largest stake at the head first: public keys, and `OTHERS` for the rest. */
  readonly series: readonly string[];
  readonly rows: readonly ({ readonly height: number } & Readonly<Record<string, number>>)[];
  /** Stakes at the last row. */
  readonly latest: ReadonlyMap<string, number>;
}

/** The series key of the stakers summed together. */
export const OTHERS = 'others';

/**
 * Each staker's share of the stake from genesis (the genesis staker's 1 coin) through every
 * block that changed a stake, to `headHeight`: cumulative from the aggregates' stake changes.
 */
export function stakeShares(
  aggregates: readonly BlockAggregate[],
  genesisKey: string,
  headHeight: number,
): StakeShares {
  const stakes = new Map<string, number>([[genesisKey, 1]]);
  const snapshots: { height: number; stakes: Map<string, number> }[] = [
    { height: 0, stakes: new Map(stakes) },
  ];
  for (const aggregate of aggregates) {
    if (aggregate.stakeChanges.length === 0) continue;
    for (const [key, stake] of aggregate.stakeChanges) stakes.set(key, stake);
    snapshots.push({ height: aggregate.height, stakes: new Map(stakes) });
  }
  if (headHeight > (snapshots[snapshots.length - 1] as { height: number }).height) {
    snapshots.push({ height: headHeight, stakes: new Map(stakes) });
  }
  const ranked = [...stakes].sort((a, b) => b[1] - a[1]).map(([key]) => key);
  const named = ranked.length > MAX_STAKE_SERIES ? ranked.slice(0, MAX_STAKE_SERIES - 1) : ranked;
  const series = ranked.length > named.length ? [...named, OTHERS] : named;
  const rows = snapshots.map(({ height, stakes: at }) => {
    const total = [...at.values()].reduce((sum, stake) => sum + stake, 0);
    const row: Record<string, number> = { height };
    for (const key of named) row[key] = round((100 * (at.get(key) ?? 0)) / total);
    if (series.includes(OTHERS)) {
      const rest = [...at].filter(([key]) => !named.includes(key)).reduce((sum, [, stake]) => sum + stake, 0);
      row[OTHERS] = round((100 * rest) / total);
    }
    return row as { height: number } & Record<string, number>;
  });
  return { series, rows, latest: stakes };
}

const round = (value: number): number => Math.round(value * 100) / 100;

/** A block's measured propagation time. */
export interface PropagationPoint {
  readonly height: number;
  readonly ms: number;
}

/** The blocks this node measured the propagation of, oldest first. */
export function propagationPoints(aggregates: readonly BlockAggregate[]): PropagationPoint[] {
  return aggregates.flatMap((a) =>
    a.propagationMs === null ? [] : [{ height: a.height, ms: a.propagationMs }],
  );
}

/** The wallet's balance after a block. */
export interface BalancePoint {
  readonly height: number;
  readonly balance: number;
}

/** What one history line did to its account's balance (a STAKE moves coins out of it). */
export function balanceEffect(line: AccountTxRecord): number {
  if (line.type === 'STAKE') return line.direction === 'out' ? -line.amount : 0;
  // A transfer to oneself is one `out` line and leaves the balance as it was.
  if (line.counterparty === line.publicKey) return 0;
  return line.direction === 'out' ? -line.amount : line.amount;
}

/**
 * The balance after each block that changed it, oldest first, walked back from `balance` at
 * `headHeight` through `lines` (newest first, from the account history index). With `complete`
 * (the lines go back to the account's first), the walk starts at 0 at height 0.
 */
export function balanceHistory(
  lines: readonly AccountTxRecord[],
  balance: number,
  headHeight: number,
  complete: boolean,
): BalancePoint[] {
  const points: BalancePoint[] = [{ height: headHeight, balance }];
  let after = balance;
  for (const [index, line] of lines.entries()) {
    const last = points[points.length - 1] as BalancePoint;
    if (last.height !== line.height) points.push({ height: line.height, balance: after });
    after -= balanceEffect(line);
    const next = lines[index + 1];
    // Before this block: the balance after the previous block that touched the account.
    if (!next && (complete || line.height > 0))
      points.push({ height: Math.max(0, line.height - 1), balance: after });
  }
  return points.reverse();
}
