import type { ChainError } from '../errors';
import { err, ok, type Result } from '../result';
import type { SlotParams } from './params';

/*
 * Slot timing of the `resilient` profile. Every time is a whole number of seconds; the
 * receiver's clock is passed in as `now`, so these stay pure. A block's slot counts whole
 * slots since its parent: slot s = floor((time - parentTime) / slotSeconds).
 *
 * Validity is cumulative: rank r may forge from slot r on (its turn never expires, or a
 * forger that woke late could never help). Who should forge is a separate question: after
 * an idle spell every rank's time has come, so honest nodes follow a duty rota (rank 0
 * always, plus the rank `slot mod n`), and fork choice prefers the lower rank.
 */

/**
 * Why a block's timestamp is refused or not yet adopted: the chain errors of these codes
 * (src/core/errors.ts documents each; `FROM_THE_FUTURE` is held until `dueAt`, not judged).
 */
export type TimestampError = Extract<
  ChainError,
  { readonly code: 'BAD_TIMESTAMP' | 'TIMESTAMP_NOT_AFTER_PARENT' | 'RANK_NOT_DUE' | 'FROM_THE_FUTURE' }
>;

const isTime = (value: number): boolean => Number.isSafeInteger(value) && value >= 0;

/** The slot of `time` after a parent stamped `parentTime`; null when `time` is before it. */
export function slotOf(parentTime: number, time: number, params: SlotParams): number | null {
  if (time < parentTime) return null;
  return Math.floor((time - parentTime) / params.slotSeconds);
}

/** Whether rank `rank` may forge in slot `slot` (the parent is at least `rank` slots old). */
export const mayForgeAt = (rank: number, slot: number): boolean => rank >= 0 && rank <= slot;

/** The earliest timestamp a block of rank `rank` may carry after a parent at `parentTime`. */
export function earliestForgeTime(parentTime: number, rank: number, params: SlotParams): number {
  return parentTime + Math.max(params.minGapSeconds, rank * params.slotSeconds);
}

/**
 * The rank on duty in `slot` besides rank 0, among `rankCount` ranks: slot s < n hands the
 * turn to rank s (ranks below it were silent), and after an idle spell the turn keeps
 * rotating (s mod n), so one backup forges per slot instead of every staker at once.
 */
export function dutyRank(slot: number, rankCount: number): number {
  return rankCount <= 0 ? 0 : slot % rankCount;
}

/** Whether an honest staker of rank `rank` should forge now, in `slot` (rank 0 always may). */
export const onDuty = (rank: number, slot: number, rankCount: number): boolean =>
  rank === 0 || (mayForgeAt(rank, slot) && dutyRank(slot, rankCount) === rank);

/**
 * Checks a block's timestamp: a whole number of seconds, at least `minGapSeconds` after the
 * parent, in a slot where the forger's rank may forge, and no more than `maxDriftSeconds`
 * ahead of the receiver's clock `now`. Returns the block's slot.
 */
export function checkTimestamp(
  input: {
    readonly parentTime: number;
    readonly time: number;
    readonly rank: number;
    readonly now: number;
  },
  params: SlotParams,
): Result<number, TimestampError> {
  const { parentTime, time, rank, now } = input;
  if (!isTime(time) || !isTime(parentTime) || !isTime(now)) {
    return err({ code: 'BAD_TIMESTAMP', message: 'timestamps are whole seconds ≥ 0' });
  }
  const earliestAtAll = parentTime + params.minGapSeconds;
  if (time < earliestAtAll) {
    return err({
      code: 'TIMESTAMP_NOT_AFTER_PARENT',
      message: `timestamp ${time} is not at least ${params.minGapSeconds} s after the parent's ${parentTime}`,
      earliest: earliestAtAll,
    });
  }
  const slot = slotOf(parentTime, time, params) as number;
  if (!mayForgeAt(rank, slot)) {
    return err({
      code: 'RANK_NOT_DUE',
      message: `rank ${rank} may forge from slot ${rank}; this block is in slot ${slot}`,
      rank,
      slot,
      earliest: earliestForgeTime(parentTime, rank, params),
    });
  }
  if (time > now + params.maxDriftSeconds) {
    return err({
      code: 'FROM_THE_FUTURE',
      message: `timestamp ${time} is more than ${params.maxDriftSeconds} s ahead of this clock (${now}); held until due`,
      dueAt: time - params.maxDriftSeconds,
    });
  }
  return ok(slot);
}

/** Why the forger was allowed, for the explorer: "rank 2: ranks 0–1 were silent for 2 slots". */
export function fallbackReason(rank: number, slot: number): string {
  if (rank === 0) return 'rank 0: the first in line';
  const silent = rank === 1 ? 'rank 0 was' : `ranks 0–${rank - 1} were`;
  return `rank ${rank}: ${silent} silent for ${slot} slot${slot === 1 ? '' : 's'}`;
}
