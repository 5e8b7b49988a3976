/*
 * Fork choice: which of two valid chains that share a prefix a node keeps.
 *
 * 1. The longer chain wins (the reference's rule).
 * 2. Between chains of equal length, the branch whose first block after the fork point has the
 *    smaller hash (lower-case hex, compared as strings, which orders them as numbers) wins.
 *
 * Rule 2 is ours (README, "Stricter than the reference"): the reference keeps whichever branch
 * it saw first, so two forgers holding one key, each extending its own block at one height,
 * leave the network split for good while every node's height looks current. With a total order
 * every node that has seen both branches picks the same one, whatever order they arrived in.
 * The first differing block decides, not the heads: it is fixed once the fork happens, so the
 * choice between two branches never flips as either grows by the same amount.
 */

/** One branch after the common fork point, as the rule sees it. */
export interface ForkBranch {
  /** The branch's head height. */
  readonly height: number;
  /** The hash of its first block after the fork point (lower-case hex). */
  readonly firstHash: string;
}

/**
 * Whether `theirs` should replace `ours`: true when it is longer, or equally long with a smaller
 * first differing block hash. Equal branches (same first hash) are the same chain: false.
 */
export function prefersBranch(ours: ForkBranch, theirs: ForkBranch): boolean {
  if (theirs.height !== ours.height) return theirs.height > ours.height;
  return theirs.firstHash < ours.firstHash;
}
