import {
  type AccountRecord,
  type AccountTxRecord,
  accountTxRecords,
  type BlockAggregate,
  type CheckpointRecord,
  DEFAULT_RECENT_BLOCKS,
  type HeadPointer,
  MAX_MY_TRANSACTIONS,
  type MyTransactionRecord,
  type Store,
  type StoredBlock,
  type StoredNode,
  type StoredPoolEntry,
  type WalletRecord,
} from '../ports/store';
import {
  type ChainTip,
  checkAggregates,
  checkChainWrite,
  checkCheckpoints,
  checkFromHeight,
  GENESIS_TIP,
} from './write-checks';

/**
 * The in-memory twin of the IndexedDB store: same preconditions, same errors, same answers,
 * nothing survives a reload. Values are structured-cloned on the way in and out, as IndexedDB
 * does, so callers cannot change stored data through a reference, and a value IndexedDB would
 * refuse (a function) is refused here too. Every write builds its new state first and swaps it
 * in, so a write that throws changes nothing.
 */
export function createMemoryStore(): Store {
  /** Everything a write replaces at once. */
  interface ChainData {
    // blocks[i] holds height i + 1.
    readonly blocks: readonly StoredBlock[];
    /** aggregates[i] is blocks[i]'s. */
    readonly aggregates: readonly BlockAggregate[];
    readonly txHeights: ReadonlyMap<string, number>;
    /** Each account's history lines, oldest first. */
    readonly history: ReadonlyMap<string, readonly AccountTxRecord[]>;
    readonly accounts: ReadonlyMap<string, AccountRecord>;
    readonly checkpoints: ReadonlyMap<number, CheckpointRecord>;
    readonly head: HeadPointer | null;
  }
  let chain: ChainData = {
    blocks: [],
    aggregates: [],
    txHeights: new Map(),
    history: new Map(),
    accounts: new Map(),
    checkpoints: new Map(),
    head: null,
  };
  let pool: readonly StoredPoolEntry[] = [];
  let wallet: WalletRecord | null = null;
  let mine: readonly MyTransactionRecord[] = [];
  let closed = false;

  const ensureOpen = (): void => {
    if (closed) throw new Error('the memory store is closed');
  };
  const tipAt = (blocks: readonly StoredBlock[], height: number): ChainTip => {
    const stored = blocks[height - 1];
    return stored ? { height, hash: stored.hash } : GENESIS_TIP;
  };
  const newestCheckpoint = (height: number): CheckpointRecord | null => {
    let best: CheckpointRecord | null = null;
    for (const checkpoint of chain.checkpoints.values()) {
      if (checkpoint.height <= height && (!best || checkpoint.height > best.height)) best = checkpoint;
    }
    return best;
  };
  const byKey = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

  return {
    async load(options): Promise<StoredNode> {
      ensureOpen();
      const recent = options?.recentBlocks ?? DEFAULT_RECENT_BLOCKS;
      const { blocks, head } = chain;
      const base = newestCheckpoint(blocks.length - recent);
      return structuredClone({
        head,
        base,
        blocks: blocks.slice(base?.height ?? 0),
        accounts: [...chain.accounts.values()].sort((a, b) => byKey(a.publicKey, b.publicKey)),
        pool,
        wallet,
        notices: [],
      });
    },

    async writeChain(write) {
      ensureOpen();
      const { blocks } = chain;
      checkFromHeight(write.fromHeight, blocks.length);
      checkChainWrite(tipAt(blocks, write.fromHeight - 1), write.blocks, write.head);
      await checkCheckpoints(write.checkpoints, write.blocks, write.head, (h) => blocks[h - 1]?.hash);
      checkAggregates(write.aggregates, write.blocks);
      const copy = structuredClone(write);
      const kept = blocks.slice(0, write.fromHeight - 1);
      const newBlocks = [...kept, ...copy.blocks];
      const txHeights = new Map<string, number>();
      for (const stored of newBlocks) {
        for (const tx of stored.block.transactions) txHeights.set(tx.id, stored.height);
      }
      const history = new Map<string, AccountTxRecord[]>();
      for (const line of accountTxRecords(newBlocks)) {
        const lines = history.get(line.publicKey);
        if (lines) lines.push(line);
        else history.set(line.publicKey, [line]);
      }
      const accounts = new Map(copy.resetAccounts ? [] : chain.accounts);
      for (const account of copy.accounts) {
        if (account.balance === null && account.stake === null) accounts.delete(account.publicKey);
        else accounts.set(account.publicKey, account);
      }
      const checkpoints = new Map([...chain.checkpoints].filter(([h]) => h < write.fromHeight));
      for (const checkpoint of copy.checkpoints) checkpoints.set(checkpoint.height, checkpoint);
      chain = {
        blocks: newBlocks,
        aggregates: [...chain.aggregates.slice(0, write.fromHeight - 1), ...copy.aggregates],
        txHeights,
        history,
        accounts,
        checkpoints,
        // A head at height 0 is genesis alone, which `load` reports as null.
        head: copy.head.height === 0 ? null : copy.head,
      };
    },

    async readBlocks(from, to) {
      ensureOpen();
      const start = Math.max(1, Math.ceil(from));
      const end = Math.min(chain.blocks.length, Math.floor(to));
      return structuredClone({
        blocks: chain.blocks.slice(start - 1, Math.max(start - 1, end)),
        problem: null,
      });
    },

    async readBlockAggregates(from, to) {
      ensureOpen();
      const start = Math.max(1, Math.ceil(from));
      const end = Math.min(chain.aggregates.length, Math.floor(to));
      return structuredClone({
        aggregates: chain.aggregates.slice(start - 1, Math.max(start - 1, end)),
        problem: null,
      });
    },

    async readTransactionHeight(id) {
      ensureOpen();
      return chain.txHeights.get(id);
    },

    async readChainIndex(to) {
      ensureOpen();
      const end = Math.max(0, Math.min(chain.blocks.length, Math.floor(to)));
      const upTo = chain.blocks.slice(0, end);
      return {
        hashes: upTo.map((stored) => stored.hash),
        txIds: upTo.flatMap((stored) => stored.block.transactions.map((tx) => tx.id)).sort(byKey),
        problem: null,
      };
    },

    async readTransactionIds(from, to) {
      ensureOpen();
      const start = Math.max(1, Math.ceil(from));
      const end = Math.min(chain.blocks.length, Math.floor(to));
      return chain.blocks
        .slice(start - 1, Math.max(start - 1, end))
        .flatMap((stored) => stored.block.transactions.map((tx) => tx.id).sort(byKey));
    },

    async readCheckpoint(height) {
      ensureOpen();
      return structuredClone(newestCheckpoint(height));
    },

    async readAccountHistory(publicKey, query) {
      ensureOpen();
      const { before } = query;
      const lines = (chain.history.get(publicKey) ?? []).filter(
        (line) =>
          !before ||
          line.height < before.height ||
          (line.height === before.height && line.txIndex < before.txIndex),
      );
      // `filter` made a new array: reversing it in place changes nothing stored.
      return structuredClone(lines.reverse().slice(0, Math.max(0, Math.floor(query.limit))));
    },

    async readMyTransactions() {
      ensureOpen();
      return structuredClone(mine);
    },

    async saveMyTransactions(list) {
      ensureOpen();
      mine = structuredClone(list.slice(0, MAX_MY_TRANSACTIONS));
    },

    async savePool(newPool) {
      ensureOpen();
      pool = structuredClone(newPool);
    },

    async saveWallet(newWallet) {
      ensureOpen();
      wallet = structuredClone(newWallet);
    },

    async close() {
      closed = true;
    },
  };
}
