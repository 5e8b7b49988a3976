import { describe, expect, it } from 'vitest';
import { DEFAULT_RATE_LIMITS, PeerRateLimiter, type RateLimits } from '../../src/node/rate-limit';

const LIMITS: RateLimits = { ...DEFAULT_RATE_LIMITS, PING: { perSecond: 2, burst: 3 } };

/** Takes `count` tokens at `now`; returns how many were granted. */
function takeMany(
  limiter: PeerRateLimiter,
  peer: string,
  count: number,
  now: number,
  type: 'PING' | 'PONG' = 'PING',
) {
  let granted = 0;
  for (let i = 0; i < count; i++) if (limiter.take(peer, type, now)) granted++;
  return granted;
}

describe('per-peer token buckets', () => {
  it('grants a burst at once, then refills at the rate by the clock', () => {
    const limiter = new PeerRateLimiter(LIMITS);
    expect(takeMany(limiter, 'p', 10, 0)).toBe(3);
    // Half a second at 2 per second: one more.
    expect(takeMany(limiter, 'p', 10, 500)).toBe(1);
    expect(takeMany(limiter, 'p', 10, 500)).toBe(0);
    // A long pause refills up to the burst, never beyond.
    expect(takeMany(limiter, 'p', 10, 60_000)).toBe(3);
  });

  it('keeps one bucket per peer and per message type', () => {
    const limiter = new PeerRateLimiter(LIMITS);
    expect(takeMany(limiter, 'a', 10, 0)).toBe(3);
    expect(takeMany(limiter, 'b', 10, 0)).toBe(3);
    expect(takeMany(limiter, 'a', 30, 0, 'PONG')).toBe(DEFAULT_RATE_LIMITS.PONG.burst);
  });

  it('a clock that steps back grants nothing extra', () => {
    const limiter = new PeerRateLimiter(LIMITS);
    expect(takeMany(limiter, 'p', 3, 10_000)).toBe(3);
    expect(takeMany(limiter, 'p', 3, 0)).toBe(0);
  });

  it('remembers a bounded number of peers, the least recently heard from forgotten first', () => {
    const limiter = new PeerRateLimiter(LIMITS, 2);
    takeMany(limiter, 'a', 3, 0);
    takeMany(limiter, 'b', 3, 0);
    takeMany(limiter, 'a', 1, 0); // a heard from again: b is now the stalest
    takeMany(limiter, 'c', 1, 0);
    expect(limiter.size).toBe(2);
    // a is still out of tokens; b was forgotten and starts with a full bucket.
    expect(takeMany(limiter, 'a', 1, 0)).toBe(0);
    expect(takeMany(limiter, 'b', 3, 0)).toBe(3);
  });
});
