import { OrderedMap } from 'immutable';
import { describe, expect, it } from 'vitest';
import { forgingTurn, RESILIENT_SLOTS, type ResilientHead } from '../../src/core/resilient';
import { nextTurns, rankingOf } from '../../src/ui/explorer/turns';

const L = RESILIENT_SLOTS.slotSeconds;
const HEAD_TIME = 1_800_000_000;

/** A head ranking `keys` in this order, with `stakes` counted for them. */
function head(keys: readonly string[], stakes: readonly number[] = keys.map(() => 1)): ResilientHead {
  return {
    seed: '0'.repeat(64),
    headTime: HEAD_TIME,
    stakeWindow: [OrderedMap(keys.map((key, i) => [key, stakes[i] ?? 0] as [string, number]))],
    ranking: keys,
  };
}

describe('the turns the waiting banner counts down to', () => {
  const ranked = head(['a', 'b', 'c', 'd']);

  it('names rank 1 for slot 1 while the parent is younger than one slot', () => {
    expect(nextTurns(ranked, HEAD_TIME)).toEqual({
      due: 'a',
      onDutyNow: null,
      next: { rank: 1, publicKey: 'b', at: HEAD_TIME + L },
    });
  });

  it('has rank s on duty in slot s, and the next one waiting for slot s + 1', () => {
    expect(nextTurns(ranked, HEAD_TIME + 2 * L + 3)).toEqual({
      due: 'a',
      onDutyNow: { rank: 2, publicKey: 'c', at: HEAD_TIME + 2 * L },
      next: { rank: 3, publicKey: 'd', at: HEAD_TIME + 3 * L },
    });
  });

  it('keeps the rota turning after an idle spell, skipping rank 0’s slot', () => {
    // Slot 11 of 4 ranks: rank 3 on duty; slot 12 is rank 0's (12 mod 4), so rank 1 comes at slot 13.
    expect(nextTurns(ranked, HEAD_TIME + 11 * L)).toEqual({
      due: 'a',
      onDutyNow: { rank: 3, publicKey: 'd', at: HEAD_TIME + 11 * L },
      next: { rank: 1, publicKey: 'b', at: HEAD_TIME + 13 * L },
    });
  });

  it('agrees with the core’s forgingTurn on every backup’s next duty, second by second', () => {
    for (const keys of [
      ['a', 'b'],
      ['a', 'b', 'c'],
      ['a', 'b', 'c', 'd', 'e'],
    ]) {
      const h = head(keys);
      for (let now = HEAD_TIME; now < HEAD_TIME + 40 * L; now++) {
        const turns = keys.slice(1).map((key) => forgingTurn(h, key, now));
        const onDuty = turns.find((turn) => turn.onDuty);
        const later = turns
          .map((turn) => (turn.onDuty ? null : turn.nextDutyAt))
          .filter((at): at is number => at !== null && at > now);
        const { onDutyNow, next } = nextTurns(h, now);
        expect(onDutyNow?.rank ?? null).toBe(onDuty?.rank ?? null);
        expect(next?.at ?? null).toBe(later.length > 0 ? Math.min(...later) : null);
      }
    }
  });

  it('has no backup with one ranked staker, and reads a clock behind the head as slot 0', () => {
    expect(nextTurns(head(['a']), HEAD_TIME + 100 * L)).toEqual({ due: 'a', onDutyNow: null, next: null });
    expect(nextTurns(ranked, HEAD_TIME - 30).next).toEqual({ rank: 1, publicKey: 'b', at: HEAD_TIME + L });
  });
});

describe('the ranking a block page lists', () => {
  it('gives the first ranks with their counted stake, and the total over every staker', () => {
    const ranking = rankingOf(head(['a', 'b', 'c'], [5, 3, 2]), 2);
    expect(ranking).toEqual({
      ranks: [
        { rank: 0, publicKey: 'a', stake: 5 },
        { rank: 1, publicKey: 'b', stake: 3 },
      ],
      totalStake: 10,
      stakers: 3,
    });
  });
});
