import type { PeerId } from '../ports/transport';
import type { WireMessage } from './protocol';

/*
 * Per-peer, per-message-type rate limits (Nimiq limits every message type per peer): a token
 * bucket each, refilled by the injected clock. A message over its limit is dropped and costs
 * the peer `RATE_LIMIT_PENALTY`, so a flood ends in a ban.
 */

/** A token bucket: `burst` messages at once, refilled at `perSecond`. */
export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

/** One limit per message type. */
export type RateLimits = Readonly<Record<WireMessage['type'], RateLimit>>;

/** Score points a peer loses per message over its limit: twenty such messages ban it. */
export const RATE_LIMIT_PENALTY = 5;

/** Peers whose buckets are kept; the least recently heard from goes first. */
export const MAX_RATE_LIMITED_PEERS = 1024;

/**
 * The defaults, about ten times what an honest node sends at its busiest:
 * - STATUS: one per heartbeat (5 s) plus one per commit, and a syncing peer commits a chunk of
 *   32 blocks per reply;
 * - DISCOVERY: one on connect and one per 10 s;
 * - TRANSACTION: 500 submitted at once is what the throughput bench does, and each node
 *   regossips up to 64 pending ones per heartbeat;
 * - BLOCK: one per block, and a forger with a busy pool makes blocks as fast as it signs;
 * - ANNOUNCE: one per block from each peer that has it before us; GETBLOCK: one per block we
 *   announced to the peer;
 * - BLOCKCHAINREQUEST / BLOCKCHAIN: a syncer keeps one or two requests in flight, one round trip each;
 * - PING / PONG: one per heartbeat;
 * - REFUSED: one, as a channel closes;
 * - FORGING_TAKEOVER: one per click on "Take over" (each costs the receiver a signature check).
 */
export const DEFAULT_RATE_LIMITS: RateLimits = {
  STATUS: { perSecond: 50, burst: 500 },
  DISCOVERY: { perSecond: 2, burst: 20 },
  TRANSACTION: { perSecond: 500, burst: 5000 },
  BLOCK: { perSecond: 100, burst: 1000 },
  ANNOUNCE: { perSecond: 100, burst: 1000 },
  GETBLOCK: { perSecond: 100, burst: 1000 },
  BLOCKCHAINREQUEST: { perSecond: 50, burst: 200 },
  BLOCKCHAIN: { perSecond: 50, burst: 200 },
  PING: { perSecond: 2, burst: 20 },
  PONG: { perSecond: 2, burst: 20 },
  REFUSED: { perSecond: 1, burst: 2 },
  FORGING_TAKEOVER: { perSecond: 0.2, burst: 3 },
};

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** Token buckets per peer and message type. */
export class PeerRateLimiter {
  /** Peer → its buckets; Map order is how recently each peer was heard from. */
  private readonly peers = new Map<PeerId, Map<WireMessage['type'], Bucket>>();

  constructor(
    private readonly limits: RateLimits,
    private readonly maxPeers = MAX_RATE_LIMITED_PEERS,
  ) {}

  /** Takes one token for a `type` message from `peer` at `now` (ms); false when it is over its limit. */
  take(peer: PeerId, type: WireMessage['type'], now: number): boolean {
    let buckets = this.peers.get(peer);
    if (buckets) this.peers.delete(peer);
    else {
      buckets = new Map();
      if (this.peers.size >= this.maxPeers) {
        const stalest = this.peers.keys().next();
        if (!stalest.done) this.peers.delete(stalest.value);
      }
    }
    this.peers.set(peer, buckets);
    const limit = this.limits[type];
    let bucket = buckets.get(type);
    if (!bucket) {
      bucket = { tokens: limit.burst, updatedAt: now };
      buckets.set(type, bucket);
    }
    const elapsed = Math.max(0, now - bucket.updatedAt);
    bucket.tokens = Math.min(limit.burst, bucket.tokens + (elapsed / 1000) * limit.perSecond);
    bucket.updatedAt = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Forgets a peer's buckets. */
  forget(peer: PeerId): void {
    this.peers.delete(peer);
  }

  /** Peers with buckets. */
  get size(): number {
    return this.peers.size;
  }
}
