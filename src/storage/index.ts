/** Persistence: the `Store` port, its IndexedDB implementation and its in-memory twin. */

import { StorageUnavailableError, type Store } from '../ports/store';
import { openIndexedDbStore } from './indexeddb';
import { createMemoryStore } from './memory';

export * from '../ports/store';
export * from './indexeddb';
export * from './memory';
export { NETWORK_TAG_LENGTH, networkTag } from './network-scope';
export * from './write-checks';

/** The store a node should use, whether it survives a reload, and what to tell the user if not. */
export interface BestStore {
  readonly store: Store;
  /** True for IndexedDB; false for the in-memory fallback, which a reload empties. */
  readonly persistent: boolean;
  /** Why the node runs in memory, for the user; null when it is persistent. */
  readonly notice: string | null;
}

/**
 * Opens node `nodeId`'s IndexedDB store (on network `options.network`, a network id), or, when
 * IndexedDB is missing, refuses to open (some private windows) or is full, the in-memory store
 * with a notice: the tab still works as a node, it only loses its chain and wallet on reload.
 * Other errors are bugs and are rethrown.
 */
export async function openBestStore(
  nodeId: string,
  options?: { indexedDB?: IDBFactory; network?: string },
): Promise<BestStore> {
  try {
    return { store: await openIndexedDbStore(nodeId, options), persistent: true, notice: null };
  } catch (error) {
    if (!(error instanceof StorageUnavailableError)) throw error;
    return {
      store: createMemoryStore(),
      persistent: false,
      notice: `${error.message} This tab keeps its chain and wallet in memory only: they are lost when the tab reloads or closes.`,
    };
  }
}
