import type { PeerId } from '../ports/transport';
import type { Trail } from './protocol';
import { type BlockPropagation, MAX_PROPAGATION_BLOCKS, type PropagationHop } from './types';

/*
 * How recent blocks spread, as far as this node saw (the network map's animation): every trail
 * a block arrived with, in an ANNOUNCE or a BLOCK (`gossip.ts`), names the nodes it passed from
 * the forging node to us, with each hop's measured delay; this node keeps the hops of every
 * trail it got, not only the first, and when it had the block itself.
 */

/** Blocks whose hops are kept (more than shown: announcements may come before the block). */
export const PROPAGATION_BLOCKS_KEPT = 4 * MAX_PROPAGATION_BLOCKS;
/** Hops kept per block, at most. */
export const MAX_HOPS_PER_BLOCK = 256;

interface Journey {
  readonly hash: string;
  readonly height: number;
  forger: string | null;
  forgedBy: PeerId | null;
  /** When this node had the block (ms, its clock); null while it has only heard of it. */
  seenAt: number | null;
  /** Hops by `from>to`, the first report of each kept. */
  readonly hops: Map<string, PropagationHop>;
}

/** The journeys of recent blocks. */
export class PropagationLog {
  private readonly journeys = new Map<string, Journey>();
  private listed: readonly BlockPropagation[] | null = [];

  private journey(hash: string, height: number): Journey {
    let journey = this.journeys.get(hash);
    if (!journey) {
      if (this.journeys.size >= PROPAGATION_BLOCKS_KEPT) {
        // Blocks only heard of go first (a peer can announce made-up hashes), then the oldest.
        const victim =
          [...this.journeys.values()].find((j) => j.seenAt === null) ?? this.journeys.values().next().value;
        if (victim) this.journeys.delete(victim.hash);
      }
      journey = { hash, height, forger: null, forgedBy: null, seenAt: null, hops: new Map() };
      this.journeys.set(hash, journey);
    }
    return journey;
  }

  /** Takes the hops of one trail of block `hash` (checked by `trailProblem`). */
  trail(hash: string, height: number, trail: Trail): void {
    const journey = this.journey(hash, height);
    journey.forgedBy ??= trail[0]?.node ?? null;
    let atMs = 0;
    for (let i = 1; i < trail.length; i++) {
      const from = trail[i - 1]?.node as PeerId;
      const { node: to, delayMs } = trail[i] as Trail[number];
      atMs += delayMs;
      const key = `${from}>${to}`;
      if (journey.hops.has(key) || journey.hops.size >= MAX_HOPS_PER_BLOCK) continue;
      journey.hops.set(key, { from, to, delayMs, atMs });
      this.listed = null;
    }
  }

  /** This node had block `hash` at `at` (ms); `forgedBy` is this node when it forged it. */
  had(hash: string, height: number, forger: string, at: number, forgedBy: PeerId | null): void {
    const journey = this.journey(hash, height);
    if (journey.seenAt !== null) return;
    journey.seenAt = at;
    journey.forger = forger;
    if (forgedBy !== null) journey.forgedBy = forgedBy;
    this.listed = null;
  }

  /**
   * How long block `hash` took to reach `node` from its forger (ms): the `atMs` of the hop that
   * brought it there, 0 when `node` forged it, null when this node never learnt it (a block
   * from a sync, or one that came without a trail).
   */
  reachedAfter(hash: string, node: PeerId): number | null {
    const journey = this.journeys.get(hash);
    if (!journey) return null;
    if (journey.forgedBy === node) return 0;
    let best: number | null = null;
    for (const hop of journey.hops.values()) {
      if (hop.to === node && (best === null || hop.atMs < best)) best = hop.atMs;
    }
    return best;
  }

  /** The blocks this node had, newest first, at most `MAX_PROPAGATION_BLOCKS`, hops in order of arrival. */
  list(): readonly BlockPropagation[] {
    if (this.listed) return this.listed;
    const had = [...this.journeys.values()].filter((j) => j.seenAt !== null && j.forger !== null);
    had.sort((a, b) => (b.seenAt as number) - (a.seenAt as number) || b.height - a.height);
    this.listed = had.slice(0, MAX_PROPAGATION_BLOCKS).map((j) =>
      Object.freeze({
        hash: j.hash,
        height: j.height,
        forger: j.forger as string,
        forgedBy: j.forgedBy,
        seenAt: j.seenAt as number,
        hops: [...j.hops.values()].sort((a, b) => a.atMs - b.atMs),
      }),
    );
    return this.listed;
  }
}
