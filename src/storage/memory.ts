import type {
  HeadRecord,
  Store,
  StoredBlock,
  StoredNode,
  StoredPoolEntry,
  WalletRecord,
} from '../ports/store';
import { type ChainTip, checkChainWrite, checkFromHeight, GENESIS_TIP } from './write-checks';

/**
 * The in-memory twin of the IndexedDB store: same preconditions, same errors, nothing survives
 * a reload. Values are structured-cloned on the way in and out, as IndexedDB does, so callers
 * cannot change stored data through a reference, and a value IndexedDB would refuse (a function)
 * is refused here too. Every write builds its new state first and swaps it in, so a write that
 * throws changes nothing.
 */
export function createMemoryStore(): Store {
  // blocks[i] holds height i + 1.
  let blocks: readonly StoredBlock[] = [];
  let head: HeadRecord | null = null;
  let pool: readonly StoredPoolEntry[] = [];
  let wallet: WalletRecord | null = null;
  let closed = false;

  const ensureOpen = (): void => {
    if (closed) throw new Error('the memory store is closed');
  };
  const tipAt = (chain: readonly StoredBlock[], height: number): ChainTip => {
    const stored = chain[height - 1];
    return stored ? { height, hash: stored.hash } : GENESIS_TIP;
  };
  // A head at height 0 describes genesis alone, which `load` reports as null.
  const headOrNull = (record: HeadRecord): HeadRecord | null => (record.height === 0 ? null : record);

  return {
    async load(): Promise<StoredNode> {
      ensureOpen();
      return structuredClone({ blocks, head, pool, wallet, notices: [] });
    },

    async appendBlocks(newBlocks, newHead) {
      ensureOpen();
      checkChainWrite(tipAt(blocks, blocks.length), newBlocks, newHead);
      const copy = structuredClone({ newBlocks, newHead });
      blocks = [...blocks, ...copy.newBlocks];
      head = headOrNull(copy.newHead);
    },

    async replaceBlocks(fromHeight, newBlocks, newHead) {
      ensureOpen();
      checkFromHeight(fromHeight, blocks.length);
      checkChainWrite(tipAt(blocks, fromHeight - 1), newBlocks, newHead);
      const copy = structuredClone({ newBlocks, newHead });
      blocks = [...blocks.slice(0, fromHeight - 1), ...copy.newBlocks];
      head = headOrNull(copy.newHead);
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
