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

/** A chain timestamp (seconds since the epoch, as the reference writes it) as local date and time. */
export function formatTimestamp(timestamp: Timestamp): string {
  const seconds = timestampSeconds(timestamp);
  if (!Number.isFinite(seconds) || seconds <= 0) return '—';
  return new Date(seconds * 1000).toLocaleString();
}

/** A share of a total as a percentage with one decimal, `0.0%` for an empty total. */
export function percent(part: number, total: number): string {
  return `${total > 0 ? ((part / total) * 100).toFixed(1) : '0.0'}%`;
}

/** `1 block`, `2 blocks`: a count with its noun. */
export function plural(count: number, noun: string, nouns = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : nouns}`;
}
