import type { Block } from '../core/types';
import type { PeerId } from '../ports/transport';
import { MAX_HOP_DELAY_MS, MAX_TRAIL_HOPS, type Trail } from './protocol';
import type { BlockPush } from './types';

/*
 * Block gossip (issue 15): a node that makes a block its head (forged, or validated from a
 * peer) sends it on at once, whole to some peers (`NodeLimits.blockPush`) and announced (hash,
 * height, parent) to the others; a peer that lacks an announced block and can use it (it
 * builds on its head) asks one announcer with GETBLOCK, and the next one if that one does not
 * answer in time. Peers known to have a block (they announced it, sent it, or we sent it to
 * them) are neither told nor sent it again, and nobody broadcasts a STATUS for it, so each node
 * hears of each block at most once per peer, and decodes it once.
 *
 * The default pushes to every peer not known to have the block. Measured in `bench/sim.ts`
 * (latency 5–50 ms per message): a pull costs a round trip more per hop than a push, so
 * pushing to ⌈√peers⌉ (as Ethereum does) and announcing to the rest doubled the time a block
 * takes to reach every node (500 nodes: p50 51 → 101 ms) for 4% fewer messages; announcing
 * only was slower still. What made each node receive each block twice per peer was the STATUS
 * that raced every block and the catch-up request it set off, and those are gone in every mode.
 *
 * This file keeps the bookkeeping (which peers have which block, whom we told, what we fetch
 * from whom); the node sends the messages.
 */

/** Recent blocks whose gossip is remembered (holders, peers told, our trail), the oldest dropped first. */
export const GOSSIP_BLOCKS_KEPT = 64;
/** Blocks fetched at once, at most: an honest network has one or two in flight. */
export const MAX_FETCHES = 16;
/** Announcers remembered per fetched block, to ask in turn. */
export const FETCH_SOURCES = 8;

/**
 * Peers a block is pushed to whole, out of `connected` peers: all, none, or ⌈√connected⌉ (at
 * least one whenever there is a peer to tell).
 */
export function pushCount(push: BlockPush, connected: number): number {
  if (push === 'all') return connected;
  if (push === 'none') return 0;
  return Math.ceil(Math.sqrt(connected));
}

/**
 * What is wrong with a trail `sender` sent `self`, or null: it must end at the receiver, pass
 * through the sender just before, start at the forging node (delay 0), and visit no node twice.
 * An honest node never sends another (see `extendTrail`).
 */
export function trailProblem(trail: Trail, sender: PeerId, self: PeerId): string | null {
  if (trail[trail.length - 1]?.node !== self) return 'the block trail does not end at this node';
  if (trail[trail.length - 2]?.node !== sender) return 'the block trail does not come from its sender';
  if (trail[0]?.delayMs !== 0) return 'the block trail does not start at its forging node';
  if (new Set(trail.map((hop) => hop.node)).size !== trail.length)
    return 'the block trail visits a node twice';
  return null;
}

/**
 * The trail to send `to`: ours (from the forging node to us) and the hop to `to`, whose delay
 * is `delayMs` (rounded, capped). At `MAX_TRAIL_HOPS` the first relay's hop is folded into the
 * next one, so the forging node and every later time stay right.
 */
export function extendTrail(own: Trail, to: PeerId, delayMs: number): Trail {
  let hops = [...own];
  if (hops.length >= MAX_TRAIL_HOPS) {
    const [first, second, third, ...rest] = hops;
    if (first && second && third)
      hops = [
        first,
        { node: third.node, delayMs: Math.min(MAX_HOP_DELAY_MS, second.delayMs + third.delayMs) },
        ...rest,
      ];
  }
  hops.push({ node: to, delayMs: Math.min(MAX_HOP_DELAY_MS, Math.max(0, Math.round(delayMs))) });
  return hops;
}

interface GossipRecord {
  readonly height: number;
  /** The block, once we hold it (to answer GETBLOCK). */
  block: Block | null;
  /** How it reached us (ending with us), once we hold it. */
  trail: Trail | null;
  /** When we had it (ms, our clock). */
  hadAt: number;
  /** Peers that have it: they told us, sent it, or we sent it to them. */
  readonly holders: Set<PeerId>;
  /** Peers we announced it to and that may ask for it (once each). */
  readonly told: Set<PeerId>;
  /** Peers that announced it to us. */
  readonly announcers: Set<PeerId>;
}

interface Fetch {
  readonly height: number;
  /** The announcer asked; the fetch moves on from it after the timeout. */
  peer: PeerId;
  sentAt: number;
  /** Other announcers, to ask in turn. */
  readonly sources: PeerId[];
}

/** A fetch that ran out of time: ask `next`, or, with none left, give up on `hash`. */
export interface ExpiredFetch {
  readonly hash: string;
  readonly height: number;
  /** The peer that did not answer. */
  readonly peer: PeerId;
  readonly next: PeerId | null;
}

/** Whom to send a new block to, whole or announced. */
export interface RelayPlan {
  readonly push: readonly PeerId[];
  readonly announce: readonly PeerId[];
}

/** The gossip state of recent blocks and the fetches in flight. */
export class BlockGossip {
  private readonly records = new Map<string, GossipRecord>();
  private readonly fetches = new Map<string, Fetch>();

  private record(hash: string, height: number): GossipRecord {
    let record = this.records.get(hash);
    if (!record) {
      if (this.records.size >= GOSSIP_BLOCKS_KEPT) {
        const oldest = this.records.keys().next();
        if (!oldest.done) this.records.delete(oldest.value);
      }
      record = {
        height,
        block: null,
        trail: null,
        hadAt: 0,
        holders: new Set(),
        told: new Set(),
        announcers: new Set(),
      };
      this.records.set(hash, record);
    }
    return record;
  }

  /**
   * `peer` announced `hash`: it has the block. Returns false when it had announced it before
   * (an honest node announces a block to a peer once).
   */
  announced(hash: string, height: number, peer: PeerId): boolean {
    const record = this.record(hash, height);
    if (record.announcers.has(peer)) return false;
    record.announcers.add(peer);
    record.holders.add(peer);
    // Our announcement and its crossed on the way: it will not ask.
    record.told.delete(peer);
    return true;
  }

  /** We have the block `hash` now (forged, or validated), having come along `trail`. */
  had(hash: string, block: Block, trail: Trail, at: number, from: PeerId | null): void {
    const record = this.record(hash, block.blockCount);
    record.block = block;
    record.trail = trail;
    record.hadAt = at;
    if (from !== null) record.holders.add(from);
    // Every node on its way here has it (and would see itself twice in a trail sent back).
    for (const hop of trail) record.holders.add(hop.node);
    this.fetches.delete(hash);
  }

  /** Whether we hold block `hash` in the gossip records. */
  holds(hash: string): boolean {
    return this.records.get(hash)?.block != null;
  }

  /** Our trail of `hash` and when we had it, if we hold it. */
  ownTrail(hash: string): { readonly trail: Trail; readonly hadAt: number } | null {
    const record = this.records.get(hash);
    return record?.trail ? { trail: record.trail, hadAt: record.hadAt } : null;
  }

  /**
   * Splits the `peers` that may lack `hash` into those it is pushed to (`count`, picked by
   * `random`) and those it is announced to; all of them count as holders from now on, and the
   * announced ones may ask for it once.
   */
  planRelay(hash: string, peers: readonly PeerId[], count: number, random: () => number): RelayPlan {
    const record = this.records.get(hash);
    if (!record) return { push: [], announce: [] };
    const targets = peers.filter((peer) => !record.holders.has(peer));
    const push: PeerId[] = [];
    while (push.length < count && targets.length > 0) {
      const [peer] = targets.splice(Math.floor(random() * targets.length), 1);
      if (peer !== undefined) push.push(peer);
    }
    for (const peer of push) record.holders.add(peer);
    for (const peer of targets) {
      record.holders.add(peer);
      record.told.add(peer);
    }
    return { push, announce: targets };
  }

  /**
   * `peer` asks for `hash`: the block to answer with (null: we told it, but no longer hold the
   * block), or `unsolicited` when we never announced it to that peer (or it asked already).
   */
  request(hash: string, peer: PeerId): { readonly block: Block | null } | 'unsolicited' {
    const record = this.records.get(hash);
    if (!record?.told.delete(peer)) return 'unsolicited';
    return { block: record.block };
  }

  /** Whether a fetch of `hash` is in flight. */
  fetching(hash: string): boolean {
    return this.fetches.has(hash);
  }

  /**
   * Starts fetching `hash` from `peer` at `now`; returns true when the GETBLOCK should go now,
   * false when a fetch is in flight already (`peer` becomes a later source) or too many are.
   */
  startFetch(hash: string, height: number, peer: PeerId, now: number): boolean {
    const fetch = this.fetches.get(hash);
    if (fetch) {
      if (fetch.peer !== peer && !fetch.sources.includes(peer) && fetch.sources.length < FETCH_SOURCES)
        fetch.sources.push(peer);
      return false;
    }
    if (this.fetches.size >= MAX_FETCHES) return false;
    this.fetches.set(hash, { height, peer, sentAt: now, sources: [] });
    return true;
  }

  /** Whether `peer` is the one asked for a block we fetch: its BLOCK was asked for. */
  isFetchingFrom(peer: PeerId): boolean {
    for (const fetch of this.fetches.values()) if (fetch.peer === peer) return true;
    return false;
  }

  /**
   * Fetches unanswered since before `now - timeoutMs`: each moves on to its next source (asked
   * from `now`), or ends when none is left.
   */
  expire(now: number, timeoutMs: number): ExpiredFetch[] {
    const expired: ExpiredFetch[] = [];
    for (const [hash, fetch] of this.fetches) {
      if (fetch.sentAt > now - timeoutMs) continue;
      const next = fetch.sources.shift() ?? null;
      expired.push({ hash, height: fetch.height, peer: fetch.peer, next });
      if (next === null) this.fetches.delete(hash);
      else {
        fetch.peer = next;
        fetch.sentAt = now;
      }
    }
    return expired;
  }

  /** Forgets a peer that left: it is no longer a holder, a source, or owed an answer; its fetches time out at once. */
  forget(peer: PeerId): void {
    for (const record of this.records.values()) {
      record.holders.delete(peer);
      record.told.delete(peer);
      record.announcers.delete(peer);
    }
    for (const fetch of this.fetches.values()) {
      const at = fetch.sources.indexOf(peer);
      if (at >= 0) fetch.sources.splice(at, 1);
      if (fetch.peer === peer) fetch.sentAt = Number.NEGATIVE_INFINITY;
    }
  }
}
