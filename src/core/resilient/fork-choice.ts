import { type ForkBranch, prefersBranch } from '../fork-choice';

/*
 * Fork choice of the `resilient` profile: the longer chain; between equal lengths the branch
 * whose first block after the fork point has the lower rank; then the smaller hash (the
 * reference-profile rule in src/core/fork-choice.ts). A node never replaces more than
 * `maxDepth` of its own blocks, whatever the other branch's length.
 */

/** One branch after the common fork point. */
export interface RankedBranch extends ForkBranch {
  /** The rank of its first block after the fork point. */
  readonly firstRank: number;
}

/** Whether `theirs` should replace `ours` by length, then rank, then hash (ignoring the bound). */
export function prefersRankedBranch(ours: RankedBranch, theirs: RankedBranch): boolean {
  if (theirs.height !== ours.height) return theirs.height > ours.height;
  if (theirs.firstRank !== ours.firstRank) return theirs.firstRank < ours.firstRank;
  return prefersBranch(ours, theirs);
}

/** The outcome of offering a node another branch. */
export type ReorgDecision =
  | { readonly kind: 'keep' }
  | { readonly kind: 'switch'; readonly depth: number }
  | {
      readonly kind: 'refuse';
      readonly code: 'REORG_TOO_DEEP';
      readonly depth: number;
      readonly maxDepth: number;
      readonly message: string;
    };

/**
 * Decides between our branch and theirs, both after the fork point at `forkHeight` (the
 * height of the last shared block). The depth is how many of our blocks a switch would drop.
 */
export function decideReorg(
  forkHeight: number,
  ours: RankedBranch,
  theirs: RankedBranch,
  maxDepth: number,
): ReorgDecision {
  if (!prefersRankedBranch(ours, theirs)) return { kind: 'keep' };
  const depth = ours.height - forkHeight;
  if (depth > maxDepth) {
    return {
      kind: 'refuse',
      code: 'REORG_TOO_DEEP',
      depth,
      maxDepth,
      message: `refused a branch that would replace ${depth} blocks; this node never replaces more than ${maxDepth}`,
    };
  }
  return { kind: 'switch', depth };
}
