import { describe, expect, it } from 'vitest';
import { relativeTime, relativeTimeRefreshMs, timestampMs } from '../../src/ui/format';

const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);
const ago = (seconds: number) => relativeTime(NOW - seconds * 1000, NOW);

describe('relativeTime', () => {
  it.each([
    [0, 'just now'],
    [1.9, 'just now'],
    [2, '2 s ago'],
    [12, '12 s ago'],
    [59.9, '59 s ago'],
    [60, '1 min ago'],
    [3_599, '59 min ago'],
    [3_600, '1 h ago'],
    [86_399, '23 h ago'],
    [86_400, '1 d ago'],
    [86_400 * 45, '1 mo ago'],
    [86_400 * 800, '2 y ago'],
  ])('says %j seconds back is %j', (seconds, text) => {
    expect(ago(seconds)).toBe(text);
  });

  it('says a time ahead is "in …" (a peer clock or a slot to come)', () => {
    expect(ago(-12)).toBe('in 12 s');
    expect(ago(-7_200)).toBe('in 2 h');
    expect(ago(-1)).toBe('just now');
  });

  it('redraws each second for the first minute, then less often', () => {
    expect(relativeTimeRefreshMs(5_000)).toBe(1_000);
    expect(relativeTimeRefreshMs(-5_000)).toBe(1_000);
    expect(relativeTimeRefreshMs(120_000)).toBe(15_000);
    expect(relativeTimeRefreshMs(7_200_000)).toBe(60_000);
  });
});

describe('timestampMs', () => {
  it('reads chain timestamps (seconds, whole-number floats too) as milliseconds, none for the genesis 0', () => {
    expect(timestampMs(1_795_670_516)).toBe(1_795_670_516_000);
    expect(timestampMs({ wholeFloat: 1_795_670_516 } as never)).toBe(1_795_670_516_000);
    expect(timestampMs(0)).toBeNull();
    expect(timestampMs(Number.NaN)).toBeNull();
  });
});
