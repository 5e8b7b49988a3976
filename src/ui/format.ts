import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { timestampSeconds } from '../core/transaction';
import type { Timestamp } from '../core/types';

/** Hex digits of an account fingerprint as the UI shows it (and as `#/account/<fp>` routes take). */
export const FINGERPRINT_LENGTH = 12;

const digests = new Map<string, string>();

/** SHA-256 of a PEM's text, hex; memoised (bounded), because every render fingerprints accounts. */
export function pemDigest(pem: string): string {
  const known = digests.get(pem);
  if (known !== undefined) return known;
  const digest = bytesToHex(sha256(utf8ToBytes(pem)));
  if (digests.size >= 2048) digests.clear();
  digests.set(pem, digest);
  return digest;
}

/** An account's short name: the first `FINGERPRINT_LENGTH` hex digits of SHA-256 of its PEM text. */
export function fingerprint(pem: string, length: number = FINGERPRINT_LENGTH): string {
  return pemDigest(pem).slice(0, length);
}

/** A long hex string cut to its first and last digits, for places where the full value is a tooltip. */
export function shortHash(hex: string, keep = 10): string {
  return hex.length <= keep + 4 ? hex : `${hex.slice(0, keep)}…${hex.slice(-4)}`;
}

/** A chain timestamp in milliseconds since the epoch, or null when it names no real time. */
export function timestampMs(timestamp: Timestamp): number | null {
  const seconds = timestampSeconds(timestamp);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : null;
}

const UNITS: readonly { readonly seconds: number; readonly unit: string }[] = [
  { seconds: 86_400 * 365, unit: 'y' },
  { seconds: 86_400 * 30, unit: 'mo' },
  { seconds: 86_400, unit: 'd' },
  { seconds: 3_600, unit: 'h' },
  { seconds: 60, unit: 'min' },
  { seconds: 1, unit: 's' },
];

/**
 * How long ago `thenMs` was at `nowMs`, in the largest whole unit: `just now` under 2 seconds,
 * `12 s ago`, `3 min ago`, `5 h ago`, `2 d ago`; a time ahead (a peer's clock, a slot to come)
 * reads `in 12 s`. Whole units, rounded down, so a count never runs ahead of the clock.
 */
export function relativeTime(thenMs: number, nowMs: number): string {
  const seconds = Math.trunc((nowMs - thenMs) / 1000);
  const size = Math.abs(seconds);
  if (size < 2) return 'just now';
  const { seconds: unitSeconds, unit } = UNITS.find((u) => size >= u.seconds) ?? { seconds: 1, unit: 's' };
  const count = `${Math.floor(size / unitSeconds)} ${unit}`;
  return seconds > 0 ? `${count} ago` : `in ${count}`;
}

/** How often a relative time shown for `ageMs` needs redrawing: each second for the first minute, then less. */
export function relativeTimeRefreshMs(ageMs: number): number {
  const age = Math.abs(ageMs);
  if (age < 60_000) return 1_000;
  if (age < 3_600_000) return 15_000;
  return 60_000;
}

/** A share of a total as a percentage with one decimal, `0.0%` for an empty total. */
export function percent(part: number, total: number): string {
  return `${total > 0 ? ((part / total) * 100).toFixed(1) : '0.0'}%`;
}

/** `1 block`, `2 blocks`: a count with its noun. */
export function plural(count: number, noun: string, nouns = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : nouns}`;
}
