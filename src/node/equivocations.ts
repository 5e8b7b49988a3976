import type { Block } from '../core/types';
import type { Equivocation } from './types';

/*
 * Evidence of forgers signing two different blocks at one height: the node keeps the block on
 * its chain and records the other here, for the UI.
 */

/** The equivocations seen, at most one per forger and height. */
export class EquivocationLog {
  private readonly seen: Equivocation[] = [];

  /** Everything recorded, oldest first. */
  list(): readonly Equivocation[] {
    return this.seen;
  }

  /** Whether `forger` was already caught at `height`. */
  has(forger: string, height: number): boolean {
    return this.seen.some((e) => e.height === height && e.forger === forger);
  }

  /** Records `otherBlock` against the kept block's hash; returns false if already recorded. */
  record(otherBlock: Block, keptHash: string, seenAt: number): boolean {
    const { forger, blockCount: height } = otherBlock;
    if (this.has(forger, height)) return false;
    this.seen.push({ forger, height, keptHash, otherBlock, seenAt });
    return true;
  }
}

/**
 * Whether `block` differs from `ours` (the block we hold at its height) but names the same
 * forger: an equivocation, if its signature verifies.
 */
export function conflictsWith(ours: Block | undefined, block: Block): ours is Block {
  return (
    !!ours && ours.forger === block.forger && ours.signature !== block.signature && block.blockCount !== 0
  );
}
