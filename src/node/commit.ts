import type { ChainState } from '../core/state';
import type { Block, Transaction } from '../core/types';
import { decideBranch } from './branch-choice';
import type { ChainView } from './chain';
import type { EquivocationLog } from './equivocations';
import type { TransactionPool } from './pool';

/*
 * The one way a node's chain changes. Gossip, forging, sync and chain import all hand validated
 * blocks (with the state after each) to `planCommit`, which says what changes: the blocks that
 * go (orphaned), the ones that come, the transactions that leave the pool and the ones that go
 * back, and any equivocations the switch reveals. `applyCommit` carries the plan out on the
 * in-memory parts; the node then persists it, tells its peers and the UI.
 */

/** Validated blocks that are to follow our block at `forkHeight`. */
export interface CommitInput {
  /** The height the new blocks build on; our current height for a plain append. */
  readonly forkHeight: number;
  readonly blocks: readonly Block[];
  /** The state after each block (its `headHash` is that block's hash). */
  readonly states: readonly ChainState[];
}

/** What a commit changes. */
export interface CommitPlan {
  /** The height the new blocks build on, after skipping blocks we already hold. */
  readonly forkHeight: number;
  /** The blocks to append (none we already hold), with their states. */
  readonly blocks: readonly Block[];
  readonly states: readonly ChainState[];
  /** Our blocks above `forkHeight`, which the new ones replace (oldest first); empty for an append. */
  readonly orphaned: readonly Block[];
  /** Ids of the transactions the new blocks carry: they leave the pool. */
  readonly included: readonly string[];
  /** Transactions of orphaned blocks that the new chain does not hold: back to the pool. */
  readonly returned: readonly Transaction[];
  /**
   * Orphaned blocks whose replacement at the same height is by the same forger but a different
   * block: one forger signed two blocks at one height. `keptHash` is the replacement's hash.
   */
  readonly equivocations: readonly { readonly otherBlock: Block; readonly keptHash: string }[];
  /** The state after the last new block. */
  readonly head: ChainState;
}

/**
 * Plans switching `chain` to its blocks up to `input.forkHeight` followed by `input.blocks`.
 * Leading blocks that `chain` already holds (same hash at the same height) are not a fork and
 * are skipped. Returns null when nothing would change, or when the switch would orphan blocks for
 * a branch the fork choice does not prefer (`decideBranch`: on `reference` longer, or as long
 * with a smaller first block after the fork; on `resilient` longer, then the lower first rank,
 * then the hash, and never more than `MAX_REORG_DEPTH` blocks dropped), so no path ever trades
 * our chain for a worse one; throws (a caller's bug) when the blocks do not follow our block at the fork point.
 */
export function planCommit(
  chain: Pick<ChainView, 'height' | 'hashAt' | 'range' | 'stateAt'>,
  input: CommitInput,
): CommitPlan | null {
  let { forkHeight } = input;
  let skip = 0;
  while (
    skip < input.blocks.length &&
    forkHeight < chain.height &&
    chain.hashAt(forkHeight + 1) === input.states[skip]?.headHash
  ) {
    forkHeight++;
    skip++;
  }
  const blocks = input.blocks.slice(skip);
  const states = input.states.slice(skip);
  const head = states[states.length - 1];
  if (!head || blocks.length !== states.length) return null;
  // Callers validated the blocks on our state at `forkHeight`; a block that does not link there
  // is a bug in the caller, and committing it would corrupt the chain.
  if (blocks[0]?.lastHash !== chain.hashAt(forkHeight) || blocks[0]?.blockCount !== forkHeight + 1)
    throw new Error(`commit: blocks do not follow our block ${forkHeight}`);
  const orphaned = forkHeight < chain.height ? chain.range(forkHeight + 1, chain.height) : [];
  if (orphaned.length > 0) {
    const ourFirst = orphaned[0]?.blockCount === forkHeight + 1 ? orphaned[0] : undefined;
    const decision = decideBranch({
      forkHeight,
      ours: {
        height: chain.height,
        firstHash: chain.hashAt(forkHeight + 1) ?? '',
        firstForger: ourFirst?.forger,
      },
      theirs: {
        height: forkHeight + blocks.length,
        firstHash: states[0]?.headHash ?? '',
        firstForger: blocks[0]?.forger,
      },
      forkState: () => chain.stateAt(forkHeight),
      resilient: head.resilient !== undefined,
    });
    // `refuse` (a resilient reorg past the bound) is reported by whoever offered the branch.
    if (decision.kind !== 'switch') return null;
  }

  const included = blocks.flatMap((block) => block.transactions.map((tx) => tx.id));
  const equivocations: { otherBlock: Block; keptHash: string }[] = [];
  for (const old of orphaned) {
    const index = old.blockCount - forkHeight - 1;
    const replacement = blocks[index];
    const keptHash = states[index]?.headHash;
    if (
      replacement &&
      keptHash &&
      replacement.forger === old.forger &&
      replacement.signature !== old.signature
    )
      equivocations.push({ otherBlock: old, keptHash });
  }
  // Orphaned transactions were verified when their block arrived; only those the new chain
  // already holds are dropped.
  const returned = orphaned.flatMap((block) => block.transactions.filter((tx) => !head.txIds.has(tx.id)));
  return { forkHeight, blocks, states, orphaned, included, returned, equivocations, head };
}

/** The in-memory parts a commit changes. */
export interface CommitParts {
  readonly chain: Pick<ChainView, 'truncate' | 'append'>;
  readonly pool: Pick<TransactionPool, 'remove' | 'add'>;
  readonly equivocations: Pick<EquivocationLog, 'record'>;
}

/** What applying a plan came to. */
export interface CommitOutcome {
  /** Orphaned transactions that went back into the pool (not duplicates, and while it had room). */
  readonly returnedToPool: number;
  /** The equivocations recorded for the first time. */
  readonly recorded: readonly { readonly otherBlock: Block; readonly keptHash: string }[];
}

/** Carries `plan` out on the chain, the pool and the equivocation log; `now` dates what it records. */
export function applyCommit(plan: CommitPlan, parts: CommitParts, now: number): CommitOutcome {
  if (plan.orphaned.length > 0) parts.chain.truncate(plan.forkHeight);
  for (const [i, block] of plan.blocks.entries()) {
    const state = plan.states[i] as ChainState;
    parts.chain.append(block, state.headHash, state);
  }
  parts.pool.remove(plan.included);
  let returnedToPool = 0;
  for (const tx of plan.returned) if (parts.pool.add(tx, now) === 'added') returnedToPool++;
  const recorded = plan.equivocations.filter((e) =>
    parts.equivocations.record(e.otherBlock, e.keptHash, now),
  );
  return { returnedToPool, recorded };
}
