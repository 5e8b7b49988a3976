import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkTimestamp,
  dutyRank,
  earliestForgeTime,
  fallbackReason,
  mayForgeAt,
  onDuty,
  RESILIENT_SLOTS,
  type SlotParams,
  slotOf,
} from '../../../src/core/resilient';

const params: SlotParams = { slotSeconds: 5, maxDriftSeconds: 2, minGapSeconds: 1 };
const parent = 1_800_000_000;

describe('resilient slots', () => {
  it('counts whole slots since the parent', () => {
    expect(slotOf(parent, parent, params)).toBe(0);
    expect(slotOf(parent, parent + 4, params)).toBe(0);
    expect(slotOf(parent, parent + 5, params)).toBe(1);
    expect(slotOf(parent, parent + 14, params)).toBe(2);
    expect(slotOf(parent, parent - 1, params)).toBeNull();
  });

  it('lets rank r forge once the parent is r slots old, and from then on', () => {
    expect(mayForgeAt(0, 0)).toBe(true);
    expect(mayForgeAt(1, 0)).toBe(false);
    expect(mayForgeAt(2, 1)).toBe(false);
    expect(mayForgeAt(2, 2)).toBe(true);
    expect(mayForgeAt(2, 1000)).toBe(true);
    expect(mayForgeAt(-1, 5)).toBe(false);
  });

  it('gives each rank its earliest timestamp, rank 0 one minimum gap after the parent', () => {
    expect(earliestForgeTime(parent, 0, params)).toBe(parent + 1);
    expect(earliestForgeTime(parent, 1, params)).toBe(parent + 5);
    expect(earliestForgeTime(parent, 3, params)).toBe(parent + 15);
  });

  it('accepts a block exactly at its rank’s earliest time, refuses one a second earlier', () => {
    for (const rank of [0, 1, 4]) {
      const earliest = earliestForgeTime(parent, rank, params);
      const now = earliest;
      expect(checkTimestamp({ parentTime: parent, time: earliest, rank, now }, params).ok).toBe(true);
      const early = checkTimestamp({ parentTime: parent, time: earliest - 1, rank, now }, params);
      expect(early.ok).toBe(false);
      if (!early.ok) {
        expect(early.error.code).toBe(rank === 0 ? 'TIMESTAMP_NOT_AFTER_PARENT' : 'RANK_NOT_DUE');
        expect('earliest' in early.error && early.error.earliest).toBe(earliest);
      }
    }
  });

  it('refuses a block at or before its parent’s time', () => {
    for (const time of [parent, parent - 100]) {
      expect(checkTimestamp({ parentTime: parent, time, rank: 0, now: parent + 10 }, params)).toMatchObject({
        ok: false,
        error: { code: 'TIMESTAMP_NOT_AFTER_PARENT' },
      });
    }
  });

  it('holds a block from beyond the drift bound until due, and adopts it within the bound', () => {
    const time = parent + 10;
    expect(checkTimestamp({ parentTime: parent, time, rank: 1, now: time - 2 }, params)).toEqual({
      ok: true,
      value: 2,
    });
    const held = checkTimestamp({ parentTime: parent, time, rank: 1, now: time - 3 }, params);
    expect(held).toMatchObject({ ok: false, error: { code: 'FROM_THE_FUTURE', dueAt: time - 2 } });
    if (!held.ok && held.error.code === 'FROM_THE_FUTURE') {
      const later = checkTimestamp({ parentTime: parent, time, rank: 1, now: held.error.dueAt }, params);
      expect(later.ok).toBe(true);
    }
  });

  it('refuses a rank claiming its turn early even when the receiver’s clock is ahead', () => {
    // Rank 2's turn starts at parent + 10; a clock ahead by any amount does not move it.
    expect(
      checkTimestamp({ parentTime: parent, time: parent + 9, rank: 2, now: parent + 1000 }, params),
    ).toMatchObject({ ok: false, error: { code: 'RANK_NOT_DUE', rank: 2, slot: 1 } });
  });

  it('refuses times that are not whole seconds', () => {
    for (const time of [parent + 5.5, Number.NaN, -1, Number.MAX_SAFE_INTEGER + 2]) {
      expect(checkTimestamp({ parentTime: parent, time, rank: 0, now: parent + 10 }, params)).toMatchObject({
        ok: false,
        error: { code: 'BAD_TIMESTAMP' },
      });
    }
    expect(checkTimestamp({ parentTime: parent, time: parent + 3, rank: 0, now: 1.5 }, params)).toMatchObject(
      {
        ok: false,
        error: { code: 'BAD_TIMESTAMP' },
      },
    );
  });

  it('rotates the duty after an idle spell, so one backup is due per slot', () => {
    const ranks = 4;
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8].map((slot) => dutyRank(slot, ranks))).toEqual([
      0, 1, 2, 3, 0, 1, 2, 3, 0,
    ]);
    // Slot 1001 of an idle chain: rank 0 and exactly one other rank are on duty.
    const due = [0, 1, 2, 3].filter((rank) => onDuty(rank, 1001, ranks));
    expect(due).toEqual([0, 1]);
    expect(dutyRank(7, 0)).toBe(0);
  });

  it('puts every on-duty rank within the ranks that may forge (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 1, max: 200 }), (slot, ranks) => {
        const due = Array.from({ length: ranks }, (_, r) => r).filter((r) => onDuty(r, slot, ranks));
        expect(due).toContain(0);
        expect(due.length).toBeLessThanOrEqual(2);
        for (const r of due) expect(r === 0 || mayForgeAt(r, slot)).toBe(true);
      }),
    );
  });

  it('agrees with mayForgeAt: a timestamp passes exactly when its slot admits the rank (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 0, max: 30 }), (gap, rank) => {
        const time = parent + gap;
        const result = checkTimestamp({ parentTime: parent, time, rank, now: time }, params);
        expect(result.ok).toBe(mayForgeAt(rank, slotOf(parent, time, params) as number));
      }),
    );
  });

  it('explains a fallback for the explorer', () => {
    expect(fallbackReason(0, 0)).toBe('rank 0: the first in line');
    expect(fallbackReason(1, 1)).toBe('rank 1: rank 0 was silent for 1 slot');
    expect(fallbackReason(2, 2)).toBe('rank 2: ranks 0–1 were silent for 2 slots');
  });

  it('keeps the drift bound below a slot, so a fast clock cannot take a whole turn early', () => {
    expect(RESILIENT_SLOTS.maxDriftSeconds).toBeLessThan(RESILIENT_SLOTS.slotSeconds);
  });
});
