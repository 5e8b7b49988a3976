import { Map as ImmutableMap, Set as ImmutableSet, OrderedMap } from 'immutable';
import { type ChainState, maxTotalStakeOf } from '../core/state';
import type { Block, GenesisConfig } from '../core/types';
import type { HeadRecord, Store, StoredBlock } from '../ports/store';

/*
 * The node's side of its store: a store that fails once is dropped, and the node keeps
 * running from memory (a full disk or a revoked permission must not stop a tab's node).
 */

/** The node's store, dropped at its first failure. */
export class GuardedStore {
  /** `onFailure` hears of the failure that dropped the store. */
  constructor(
    private store: Store | null,
    private readonly onFailure: (error: unknown) => void,
  ) {}

  /** Whether there is a store (none was given, or it failed). */
  get available(): boolean {
    return this.store !== null;
  }

  /** Runs `task` with the store, if any; on failure drops the store and reports it. */
  async use(task: (store: Store) => Promise<void>): Promise<void> {
    if (!this.store) return;
    try {
      await task(this.store);
    } catch (error) {
      this.store = null;
      this.onFailure(error);
    }
  }

  /** Closes the store, if any. */
  async close(): Promise<void> {
    await this.store?.close();
  }
}

/** The head state as the store keeps it. */
export function headRecord(state: ChainState): HeadRecord {
  return {
    height: state.height,
    hash: state.headHash,
    balances: [...state.balances.entries()],
    stakes: [...state.stakes.entries()],
  };
}

/**
 * The head state a stored head record describes (without the transaction ids, which the blocks
 * hold), on the network `config`, with its next forger (drawn by the caller's lottery runner).
 */
export function headState(record: HeadRecord, config: GenesisConfig, nextForger: string): ChainState {
  return {
    height: record.height,
    headHash: record.hash,
    balances: ImmutableMap(record.balances.map(([key, value]): [string, number] => [key, value])),
    stakes: OrderedMap(record.stakes.map(([key, value]): [string, number] => [key, value])),
    txIds: ImmutableSet(),
    maxTotalStake: maxTotalStakeOf(config),
    nextForger,
  };
}

/** Validated blocks, with their states, as the store keeps them. */
export function storedBlocks(blocks: readonly Block[], states: readonly ChainState[]): StoredBlock[] {
  return blocks.map((block, i) => ({
    height: block.blockCount,
    hash: (states[i] as ChainState).headHash,
    block,
  }));
}
