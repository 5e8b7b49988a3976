/**
 * What the explorer and the waiting banner say about turns on a `resilient` network
 * (docs/consensus-resilient.md §4) beyond what the core reads itself (a block's rank and reason:
 * `readBlockTurn`): the ranking a block was drawn from, and who may forge next and when. Read from the chain states the node
 * keeps, with the core's slot rules; the page clock only says how long until a turn comes.
 */
import {
  dutyRank,
  earliestForgeTime,
  mayForgeAt,
  RESILIENT_SLOTS,
  type ResilientHead,
  type SlotParams,
  slotOf,
} from '../../core/resilient';

/** One line of a ranking: a staker, its rank, and the stake that counted for it. */
export interface RankedStaker {
  readonly rank: number;
  readonly publicKey: string;
  /** Its stake in the delayed snapshot the draw used (a stake counts only some blocks after it lands). */
  readonly stake: number;
}

/** The first `limit` ranks of `head`'s ranking with their counted stake, and the total of every counted stake. */
export function rankingOf(
  head: ResilientHead,
  limit: number,
): { readonly ranks: readonly RankedStaker[]; readonly totalStake: number; readonly stakers: number } {
  const counted = head.stakeWindow[0];
  const ranks = head.ranking.slice(0, Math.max(0, limit)).map((publicKey, rank) => ({
    rank,
    publicKey,
    stake: counted?.get(publicKey, 0) ?? 0,
  }));
  let totalStake = 0;
  for (const stake of counted?.values() ?? []) totalStake += stake;
  return { ranks, totalStake, stakers: head.ranking.length };
}

/** A backup rank's turn after the head. */
export interface BackupTurn {
  readonly rank: number;
  readonly publicKey: string;
  /** The whole second its turn starts. */
  readonly at: number;
}

/** Who is due to forge the block after `head`, and which backup rank takes its turn next. */
export interface NextTurns {
  /** Rank 0: always due (from the minimum gap after the head on). */
  readonly due: string;
  /** The backup rank on duty in the slot `now` falls in, if any (it may forge now). */
  readonly onDutyNow: BackupTurn | null;
  /** The next backup rank (other than the one on duty now) whose turn is still to come; null when there is none. */
  readonly next: BackupTurn | null;
}

/**
 * The turns after `head` at time `now` (whole seconds): rank 0 is due; in slot s the backup on
 * duty is rank `s mod n` once s ≥ its rank (the rota of §4). Honest nodes forge only on duty, so
 * this is when a backup will forge if rank 0 stays silent.
 */
export function nextTurns(head: ResilientHead, now: number, params: SlotParams = RESILIENT_SLOTS): NextTurns {
  const n = head.ranking.length;
  const due = head.ranking[0] ?? '';
  const backupIn = (slot: number): BackupTurn | null => {
    const rank = dutyRank(slot, n);
    if (rank === 0 || !mayForgeAt(rank, slot)) return null;
    const at = Math.max(
      earliestForgeTime(head.headTime, rank, params),
      head.headTime + slot * params.slotSeconds,
    );
    return { rank, publicKey: head.ranking[rank] ?? '', at };
  };
  const slot = Math.max(0, slotOf(head.headTime, now, params) ?? 0);
  const current = backupIn(slot);
  const onDutyNow = current && current.at <= now ? current : null;
  let next: BackupTurn | null = null;
  // Within n slots the rota has named every rank, so this finds the next backup if there is one.
  for (let s = slot + (onDutyNow ? 1 : 0); n > 1 && s <= slot + n; s++) {
    const turn = backupIn(s);
    // The rank on duty now is named already: the next turn is another rank's.
    if (turn && turn.at > now && turn.rank !== onDutyNow?.rank) {
      next = turn;
      break;
    }
  }
  return { due, onDutyNow, next };
}
