import type { PeerId } from '../ports/transport';
import type { PeerView } from './types';

/*
 * What a node knows about other nodes: the connected peers and their scores, the banned ones,
 * the ids it may dial, and the BLOCKCHAIN replies it waits for. It sends nothing itself; the
 * node decides what to do with what this table says.
 *
 * A peer's height is two numbers. Its *claim* is what it says (STATUS, a BLOCKCHAIN reply's
 * height, a block it relays): free to make, so it costs us one sync request at most. Its
 * *proven* height is how far it has shown a valid chain linked to ours, by delivering the
 * blocks. Sync targets are chosen among claims (that is how we learn who is ahead), peers that
 * have proven themselves before first, and a peer whose sync failed is benched for a while.
 *
 * Always-on nodes (`npm run node`, STATUS `alwaysOn`) are steadier than tabs, which close at any
 * time: among peers that have proven as much, one is the preferred sync source; known ones are
 * dialled first, and even with every slot taken (see `alwaysOnToDial`). The flag is a claim like
 * any other, so it never outranks proof: a liar that says it is always-on is tried, fails, and is
 * benched as any peer is.
 */

/**
 * Penalties, in score points. A malformed or invalid message costs a ban outright; a sync
 * request wasted (an empty or useless reply, or none) costs a fifth of that, so a peer that
 * keeps claiming heights it cannot serve is banned by its fifth try.
 */
export const PENALTY = { malformed: 100, invalid: 100, timeout: 20, useless: 20, unsolicited: 5 } as const;

/** Peer ids remembered for dialling, at most. */
export const MAX_KNOWN_PEERS = 256;

/** Peers dropped for silence that are redialled, at most. */
export const MAX_LOST_PEERS = 16;

/** Known always-on peers dialled beyond the slot count, at most (see `alwaysOnToDial`). */
export const MAX_EXTRA_ALWAYS_ON = 2;

/** Unanswered pings older than this many nonces are forgotten. */
const PING_ROUNDS_KEPT = 4;

interface PeerRecord {
  score: number;
  /** The height the peer last claimed (or more, once proven). */
  height: number;
  /** The height up to which the peer delivered a valid chain linked to ours. */
  provenHeight: number;
  /** No sync with this peer before this time (ms): its last one failed. */
  benchedUntil: number;
  /** Syncs with this peer that failed by its fault. */
  failedSyncs: number;
  head: string | null;
  forgerKey: string | null;
  /** The peer says it is an always-on node. */
  alwaysOn: boolean;
  /** The peer says it forges with `forgerKey` right now (false when it did not say). */
  forging: boolean;
  rttMs: number | null;
  pingSentAt: Map<number, number>;
  /** When we last heard anything from the peer (ms): liveness, see `silentSince`. */
  lastHeardAt: number;
}

/** Positive when `a` is the better peer to sync from than `b` (see `PeerTable.syncTarget`). */
function syncPreference(a: PeerRecord, b: PeerRecord): number {
  return (
    a.provenHeight - b.provenHeight ||
    Number(a.alwaysOn) - Number(b.alwaysOn) ||
    b.failedSyncs - a.failedSyncs ||
    a.height - b.height
  );
}

/** What a STATUS says beside the head: whether the peer is always-on, and whether it forges. */
export interface StatusFlags {
  readonly alwaysOn?: boolean;
  readonly forging?: boolean;
}

/** The connected, known and banned peers of one node, with their scores and heads. */
export class PeerTable {
  private readonly records = new Map<PeerId, PeerRecord>();
  private readonly banned = new Set<PeerId>();
  /**
   * Peers refused at the handshake (another profile or genesis config): not banned (they did
   * nothing wrong), but never dialled, accepted, synced or gossiped with again.
   */
  private readonly refused = new Set<PeerId>();
  /** Ids to dial, connected or not; bounded by `MAX_KNOWN_PEERS`. */
  readonly known = new Set<PeerId>();
  /** Known ids whose STATUS said always-on (a subset of `known`): dialled first. */
  private readonly alwaysOnIds = new Set<PeerId>();
  /**
   * Peers dropped for silence, with the time (ms) until which they are redialled. A silent
   * peer may be across a network split rather than gone; by the time the split heals, every
   * node may have filled its slots with peers on its own side, leaving two islands that never
   * dial each other. Redialling the lost ones, beyond the slot count, bridges them again.
   */
  private readonly lost = new Map<PeerId, number>();
  /** `peer:from` of BLOCKCHAINREQUESTs sent and not yet answered. */
  private readonly expectedReplies = new Set<string>();
  private nextNonce = 1;

  /** `banScore`: a peer whose score falls to this is dropped and never dialled again. */
  constructor(private readonly banScore: number) {}

  /** Connected peers. */
  get size(): number {
    return this.records.size;
  }

  /** Whether `peer` is connected (and not banned). */
  has(peer: PeerId): boolean {
    return this.records.has(peer);
  }

  /** Whether `peer` was banned. */
  isBanned(peer: PeerId): boolean {
    return this.banned.has(peer);
  }

  /** Whether `peer` was refused at the handshake. */
  isRefused(peer: PeerId): boolean {
    return this.refused.has(peer);
  }

  /**
   * Refuses `peer` for good (it runs another network): forgotten as a connected and known peer,
   * never dialled or accepted again. Its channel is the node's to close.
   */
  refuse(peer: PeerId): void {
    this.refused.add(peer);
    this.known.delete(peer);
    this.alwaysOnIds.delete(peer);
    this.lost.delete(peer);
    this.disconnected(peer);
  }

  /** The connected peers' ids, in the order they connected. */
  ids(): IterableIterator<PeerId> {
    return this.records.keys();
  }

  /**
   * Records a new channel, opened at `now`, with a fresh score; returns false (recording
   * nothing) if `peer` is banned or refused.
   */
  connected(peer: PeerId, now: number): boolean {
    if (this.banned.has(peer) || this.refused.has(peer)) return false;
    this.known.add(peer);
    this.lost.delete(peer);
    this.records.set(peer, {
      score: 0,
      height: 0,
      provenHeight: 0,
      benchedUntil: 0,
      failedSyncs: 0,
      head: null,
      forgerKey: null,
      alwaysOn: false,
      forging: false,
      rttMs: null,
      pingSentAt: new Map(),
      lastHeardAt: now,
    });
    return true;
  }

  /** Something (any message) arrived from `peer` at `now`: it is alive. */
  heard(peer: PeerId, now: number): void {
    const record = this.records.get(peer);
    if (record) record.lastHeardAt = Math.max(record.lastHeardAt, now);
  }

  /** `peer` was dropped for silence: redial it until `until` (ms), beside the usual dialling. */
  markLost(peer: PeerId, until: number): void {
    if (this.banned.has(peer) || this.refused.has(peer)) return;
    this.lost.delete(peer);
    this.lost.set(peer, until);
    if (this.lost.size > MAX_LOST_PEERS) {
      const oldest = this.lost.keys().next();
      if (!oldest.done) this.lost.delete(oldest.value);
    }
  }

  /** Peers lost to silence that are worth redialling at `now` (unconnected, not banned, not expired). */
  lostCandidates(now: number): PeerId[] {
    for (const [peer, until] of this.lost) if (until <= now || this.banned.has(peer)) this.lost.delete(peer);
    return [...this.lost.keys()].filter((peer) => !this.records.has(peer));
  }

  /** Connected peers not heard from since before `since` (ms): silent ones. */
  silentSince(since: number): PeerId[] {
    return [...this.records].filter(([, record]) => record.lastHeardAt < since).map(([peer]) => peer);
  }

  /** Forgets a closed channel and the replies still expected over it. */
  disconnected(peer: PeerId): void {
    this.records.delete(peer);
    for (const key of this.expectedReplies) if (key.startsWith(`${peer}:`)) this.expectedReplies.delete(key);
  }

  /** Remembers announced ids to dial later, never our own or a banned one. */
  learn(ids: readonly PeerId[], localId: PeerId): void {
    for (const id of ids) {
      if (id === localId || this.banned.has(id) || this.refused.has(id) || this.known.has(id)) continue;
      // Bounded: a peer could announce endless made-up ids; the oldest unconnected ones go first.
      if (this.known.size >= MAX_KNOWN_PEERS) {
        // Known always-on peers are kept: they are the ones worth redialling.
        const stale =
          [...this.known].find((known) => !this.records.has(known) && !this.alwaysOnIds.has(known)) ??
          [...this.known].find((known) => !this.records.has(known));
        if (stale === undefined) break;
        this.known.delete(stale);
        this.alwaysOnIds.delete(stale);
      }
      this.known.add(id);
    }
  }

  /** Known peers we have no channel with and may dial, the known always-on ones first. */
  dialCandidates(localId: PeerId): PeerId[] {
    const candidates = [...this.known].filter(
      (id) => !this.records.has(id) && !this.banned.has(id) && id !== localId,
    );
    return [
      ...candidates.filter((id) => this.alwaysOnIds.has(id)),
      ...candidates.filter((id) => !this.alwaysOnIds.has(id)),
    ];
  }

  /**
   * Known always-on peers we have no channel with, to dial even with every slot taken (at most
   * `MAX_EXTRA_ALWAYS_ON` beyond the cap): a tab full of browser peers still reaches the steady
   * node, and nothing drops it to make room for a tab.
   */
  alwaysOnToDial(localId: PeerId): PeerId[] {
    const connected = [...this.records.values()].filter((record) => record.alwaysOn).length;
    if (connected >= MAX_EXTRA_ALWAYS_ON) return [];
    return this.dialCandidates(localId)
      .filter((id) => this.alwaysOnIds.has(id))
      .slice(0, MAX_EXTRA_ALWAYS_ON - connected);
  }

  /** Connected always-on peers that say they forge with `key` right now, in the order they connected. */
  alwaysOnForging(key: string): PeerId[] {
    return [...this.records]
      .filter(([, record]) => record.alwaysOn && record.forging && record.forgerKey === key)
      .map(([peer]) => peer);
  }

  /** Connected browser peers (not always-on) that say they forge with `key` right now. */
  tabsForging(key: string): PeerId[] {
    return [...this.records]
      .filter(([, record]) => !record.alwaysOn && record.forging && record.forgerKey === key)
      .map(([peer]) => peer);
  }

  /**
   * Lowers `peer`'s score by `points`; at the ban score the peer is banned, forgotten and
   * dropped from the table. Returns whether it was banned.
   */
  penalize(peer: PeerId, points: number): boolean {
    const record = this.records.get(peer);
    const score = (record?.score ?? 0) - points;
    if (record) record.score = score;
    if (score > this.banScore) return false;
    this.banned.add(peer);
    this.known.delete(peer);
    this.alwaysOnIds.delete(peer);
    this.records.delete(peer);
    return true;
  }

  /** Takes a peer's STATUS (a claim); returns false for a peer with no record. */
  noteStatus(
    peer: PeerId,
    height: number,
    head: string,
    forgerKey: string | null,
    flags: StatusFlags = {},
  ): boolean {
    const record = this.records.get(peer);
    if (!record) return false;
    record.height = height;
    record.head = head;
    record.forgerKey = forgerKey;
    record.alwaysOn = flags.alwaysOn ?? false;
    record.forging = forgerKey !== null && (flags.forging ?? false);
    if (record.alwaysOn) this.alwaysOnIds.add(peer);
    else this.alwaysOnIds.delete(peer);
    return true;
  }

  /** Takes the head a peer reported in a BLOCKCHAIN reply (a claim). */
  noteHead(peer: PeerId, height: number, head: string): void {
    const record = this.records.get(peer);
    if (record) {
      record.height = height;
      record.head = head;
    }
  }

  /**
   * A peer announced a block at `height` with hash `head` that we cannot fetch on our head: a
   * claim of its head, as a STATUS's, unless it claimed more before.
   */
  noteAnnounced(peer: PeerId, height: number, head: string): void {
    const record = this.records.get(peer);
    if (record && height >= record.height) {
      record.height = height;
      record.head = head;
    }
  }

  /** The last measured round-trip time to `peer` (ms), if any. */
  rttOf(peer: PeerId): number | null {
    return this.records.get(peer)?.rttMs ?? null;
  }

  /** A peer relayed a block at `height`: it claims at least that much (the block may be a decoy). */
  noteHeight(peer: PeerId, height: number): void {
    const record = this.records.get(peer);
    if (record && height > record.height) record.height = height;
  }

  /** `peer` delivered a valid chain, linked to ours, up to `height`. */
  proven(peer: PeerId, height: number): void {
    const record = this.records.get(peer);
    if (!record) return;
    record.provenHeight = Math.max(record.provenHeight, height);
    record.height = Math.max(record.height, height);
  }

  /** A sync with `peer` failed by its fault: it is not chosen again before `until` (ms). */
  bench(peer: PeerId, until: number): void {
    const record = this.records.get(peer);
    if (!record) return;
    record.benchedUntil = Math.max(record.benchedUntil, until);
    record.failedSyncs++;
  }

  /**
   * The peer to sync from, if any claims more than `height` and is not benched at `now`: the
   * one with the highest proven height (a peer that has served us before), then the fewest
   * failed syncs, then the highest claim, then the first to connect. A liar with a huge claim is
   * tried once, then benched, and tried again only after every peer that has not failed us.
   */
  syncTarget(height: number, now: number): { readonly peer: PeerId; readonly height: number } | null {
    let best: [PeerId, PeerRecord] | null = null;
    for (const entry of this.records) {
      const [, record] = entry;
      if (record.height <= height || record.benchedUntil > now) continue;
      if (!best || syncPreference(record, best[1]) > 0) best = entry;
    }
    return best && { peer: best[0], height: best[1].height };
  }

  /**
   * A peer at exactly `height` whose claimed head is not `ourHead` and not yet `judged`, and not
   * benched at `now`: its branch is worth fetching for the fork choice. Best as `syncTarget`.
   */
  tieTarget(
    height: number,
    ourHead: string,
    now: number,
    judged: (head: string) => boolean,
  ): { readonly peer: PeerId; readonly height: number; readonly head: string } | null {
    let best: [PeerId, PeerRecord, string] | null = null;
    for (const [peer, record] of this.records) {
      const head = record.head;
      if (record.height !== height || head === null || head === ourHead) continue;
      if (record.benchedUntil > now || judged(head)) continue;
      if (!best || syncPreference(record, best[1]) > 0) best = [peer, record, head];
    }
    return best && { peer: best[0], height, head: best[2] };
  }

  /** Notes a PING sent now to `peer`; returns its nonce. */
  pingSent(peer: PeerId, now: number): number {
    const nonce = this.nextNonce++;
    const record = this.records.get(peer);
    if (record) {
      record.pingSentAt.set(nonce, now);
      // Unanswered pings are forgotten after a few rounds.
      for (const old of record.pingSentAt.keys())
        if (old < nonce - PING_ROUNDS_KEPT) record.pingSentAt.delete(old);
    }
    return nonce;
  }

  /** Takes a PONG; returns whether it answered a ping we sent (and so updated the round-trip time). */
  pongReceived(peer: PeerId, nonce: number, now: number): boolean {
    const record = this.records.get(peer);
    const sentAt = record?.pingSentAt.get(nonce);
    if (!record || sentAt === undefined) return false;
    record.pingSentAt.delete(nonce);
    record.rttMs = now - sentAt;
    return true;
  }

  /** Notes a BLOCKCHAINREQUEST sent to `peer` for the blocks from `from` on. */
  expectReply(peer: PeerId, from: number): void {
    this.expectedReplies.add(`${peer}:${from}`);
  }

  /** Takes a BLOCKCHAIN reply off the expected list; returns whether it was expected. */
  replyReceived(peer: PeerId, from: number): boolean {
    return this.expectedReplies.delete(`${peer}:${from}`);
  }

  /** The connected peers as the UI sees them. */
  views(): PeerView[] {
    return [...this.records.entries()].map(
      ([id, p]): PeerView => ({
        id,
        score: p.score,
        height: p.height,
        head: p.head,
        forgerKey: p.forgerKey,
        alwaysOn: p.alwaysOn,
        forging: p.forging,
        rttMs: p.rttMs,
      }),
    );
  }
}
