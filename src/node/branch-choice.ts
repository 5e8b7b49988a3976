import { prefersBranch } from '../core/fork-choice';
import { decideReorg, type ReorgDecision } from '../core/resilient/fork-choice';
import { MAX_REORG_DEPTH } from '../core/resilient/params';
import { rankOf } from '../core/resilient/ranking';
import type { ChainState } from '../core/state';

/*
 * The node's one fork-choice decision, for commit and sync alike. On `reference` it is
 * `prefersBranch` (src/core/fork-choice.ts): longer, then the smaller first hash. On `resilient`
 * it is the profile's rule (src/core/resilient/fork-choice.ts): longer, then the lower rank of
 * the first block after the fork point, then the smaller hash, and never a switch that drops
 * more than `MAX_REORG_DEPTH` of our blocks (`refuse`, with the message the node shows).
 */

/** One side of a fork, after the fork point. */
export interface BranchSide {
  /** The branch's head height. */
  readonly height: number;
  /** The hash of its first block after the fork point ('' when there is none). */
  readonly firstHash: string;
  /** The forger of that block, when known: its rank decides ties on `resilient`. */
  readonly firstForger: string | undefined;
}

/** Two branches from one fork point. */
export interface BranchOffer {
  /** The height of the last block both share. */
  readonly forkHeight: number;
  /** Our branch (its height is our head's). */
  readonly ours: BranchSide;
  /** The branch offered to us. */
  readonly theirs: BranchSide;
  /**
   * The state at the fork point, read only on `resilient` (its ranking ranks both first blocks,
   * which share that parent). Called lazily: a reference chain never reads it.
   */
  readonly forkState: () => ChainState;
  /** Whether the network runs the `resilient` profile. */
  readonly resilient: boolean;
}

/** A rank no staker has: a first block whose forger is unknown loses every rank tie. */
const UNRANKED = Number.MAX_SAFE_INTEGER;

/** Whether to keep our branch, switch to theirs, or refuse theirs as too deep a reorg. */
export function decideBranch(offer: BranchOffer): ReorgDecision {
  const { forkHeight, ours, theirs } = offer;
  if (!offer.resilient) {
    return prefersBranch(ours, theirs)
      ? { kind: 'switch', depth: ours.height - forkHeight }
      : { kind: 'keep' };
  }
  const ranking = rankingAt(offer.forkState);
  const rank = (forger: string | undefined) =>
    forger === undefined ? UNRANKED : (rankOf(ranking, forger) ?? UNRANKED);
  return decideReorg(
    forkHeight,
    { ...ours, firstRank: rank(ours.firstForger) },
    { ...theirs, firstRank: rank(theirs.firstForger) },
    MAX_REORG_DEPTH,
  );
}

/**
 * The ranking at the fork point; empty (every first block unranked, so the hash decides) when
 * that state cannot be read, which only happens for a fork far below the head: too deep a
 * reorg to be taken whatever the ranks.
 */
function rankingAt(forkState: () => ChainState): readonly string[] {
  try {
    return forkState().resilient?.ranking ?? [];
  } catch {
    return [];
  }
}
