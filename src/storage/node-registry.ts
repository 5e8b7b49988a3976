import { z } from 'zod';
import { type HeldLock, type Locks, nodeLockName } from '../ports/locks';
import { databaseName, networkTag } from './network-scope';

/**
 * Which node a tab runs. A node outlives its tab: its chain, wallet and pool stay in its
 * IndexedDB database, and a registry in localStorage remembers each node's id, when it was last
 * used, its height and its wallet's public key. A tab runs a node only while it holds that node's
 * lock (`Locks` port), so a node never has two live tabs, a duplicated tab included.
 */

/** The localStorage key of the registry of nodes without a network (see `registryKey`). */
export const REGISTRY_KEY = 'tabchain.nodes';
/** The sessionStorage key of the node this tab ran last, without a network (see `sessionNodeKey`). */
export const SESSION_NODE_KEY = 'tabchain.nodeId';

/**
 * The localStorage key of network `networkId`'s registry (`tabchain.nodes.<tag>`): each network
 * keeps its own list of nodes, so a tab never reopens a node of another network.
 */
export function registryKey(networkId?: string): string {
  return networkId === undefined ? REGISTRY_KEY : `${REGISTRY_KEY}.${networkTag(networkId)}`;
}

/** The sessionStorage key of the node this tab ran last on network `networkId` (a reload tries it first). */
export function sessionNodeKey(networkId?: string): string {
  return networkId === undefined ? SESSION_NODE_KEY : `${SESSION_NODE_KEY}.${networkTag(networkId)}`;
}
/** The URL parameter that asks to open a saved node ("open this node"); honoured only if it is free. */
export const OPEN_NODE_PARAM = 'node';
/** Entries kept at most; the least recently used go first. */
export const MAX_REGISTRY_ENTRIES = 256;

const NODE_ID = /^[0-9a-f]{16}$/;

const entrySchema = z.object({
  id: z.string().regex(NODE_ID),
  lastUsed: z.number().finite(),
  height: z.number().int().nonnegative().optional(),
  publicKey: z.string().max(4_096).optional(),
});
/** What the registry knows of one node. */
export type RegistryEntry = z.infer<typeof entrySchema>;

/** True for a well-formed node id (16 lowercase hex characters). */
export function isNodeId(value: unknown): value is string {
  return typeof value === 'string' && NODE_ID.test(value);
}

/** A fresh random node id. */
export function newNodeId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/**
 * Decodes the stored registry: anything that is not a list of entries reads as empty, and each
 * malformed entry is dropped on its own (a damaged record never hides the others).
 */
export function decodeRegistry(raw: string | null): RegistryEntry[] {
  if (raw === null || raw.length > 2_000_000) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  const byId = new Map<string, RegistryEntry>();
  for (const item of parsed.slice(0, MAX_REGISTRY_ENTRIES * 2)) {
    const entry = entrySchema.safeParse(item);
    if (entry.success) byId.set(entry.data.id, entry.data);
  }
  return [...byId.values()];
}

/** The registry of the nodes of this browser. */
export interface NodeRegistry {
  /** Every known node, most recently used first. */
  entries(): RegistryEntry[];
  /** Records news of a node (creating its entry): its height, its wallet's key, its last use. */
  touch(id: string, patch: Partial<Omit<RegistryEntry, 'id'>>): void;
  remove(id: string): void;
}

/**
 * The registry of network `networkId`'s nodes (of nodes without a network when it is absent),
 * kept in `storage` (localStorage); without usable storage it remembers nothing.
 */
export function createNodeRegistry(
  storage: Pick<Storage, 'getItem' | 'setItem'> | undefined,
  now: () => number = () => Date.now(),
  networkId?: string,
): NodeRegistry {
  const key = registryKey(networkId);
  const load = (): RegistryEntry[] => {
    try {
      return decodeRegistry(storage?.getItem(key) ?? null);
    } catch {
      return [];
    }
  };
  const save = (entries: RegistryEntry[]) => {
    const kept = [...entries].sort((a, b) => b.lastUsed - a.lastUsed).slice(0, MAX_REGISTRY_ENTRIES);
    try {
      storage?.setItem(key, JSON.stringify(kept));
    } catch {
      // Storage full or denied: the registry is a convenience, the databases are the data.
    }
  };
  return {
    entries: () => load().sort((a, b) => b.lastUsed - a.lastUsed),
    touch(id, patch) {
      if (!isNodeId(id)) return;
      const entries = load();
      const index = entries.findIndex((entry) => entry.id === id);
      const base = entries[index] ?? { id, lastUsed: now() };
      const next: RegistryEntry = { ...base, lastUsed: now(), ...patch, id };
      if (index >= 0) entries[index] = next;
      else entries.push(next);
      save(entries);
    },
    remove(id) {
      save(load().filter((entry) => entry.id !== id));
    },
  };
}

/** What picking a node needs. */
export interface NodeChoiceInput {
  readonly locks: Locks;
  readonly registry: NodeRegistry;
  /** The node databases in this browser (ids); may be empty where the browser cannot list them. */
  readonly databaseIds: readonly string[];
  /** A node asked for by "open this node" (the URL parameter), if any. */
  readonly requested?: string | null;
  /** The node this tab ran before a reload (sessionStorage), if any. */
  readonly previous?: string | null;
  /**
   * How long to keep trying the previous node's lock (ms): on a reload the old document's locks
   * may be released a moment after the new one asks. A duplicated tab waits this long in vain.
   */
  readonly previousWaitMs?: number;
  readonly newId?: () => string;
}

/** The node this tab runs, and its lock (null only when even a new node's lock could not be held). */
export interface NodeChoice {
  readonly nodeId: string;
  readonly lock: HeldLock | null;
  /** True when an existing node was reopened. */
  readonly resumed: boolean;
  /** Something to tell the user (a requested node was busy). */
  readonly notice: string | null;
}

/**
 * Picks this tab's node: the requested one if free, else the one this tab ran before a reload
 * if free, else the most recently used free node, else a new one. "Free" means its lock could
 * be taken now, so two tabs racing for one node never both get it.
 */
export async function chooseNode(input: NodeChoiceInput): Promise<NodeChoice> {
  const { locks, registry } = input;
  const registered = registry.entries().map((entry) => entry.id);
  const candidates: string[] = [];
  const add = (id: string | null | undefined) => {
    if (isNodeId(id) && !candidates.includes(id)) candidates.push(id);
  };
  add(input.requested);
  add(input.previous);
  for (const id of registered) add(id);
  for (const id of input.databaseIds) add(id);

  let notice: string | null = null;
  for (const id of candidates) {
    const lock =
      id === input.previous && id !== input.requested
        ? await retryAcquire(locks, nodeLockName(id), input.previousWaitMs ?? 0)
        : await locks.tryAcquire(nodeLockName(id));
    if (lock) return { nodeId: id, lock, resumed: true, notice };
    if (id === input.requested) {
      notice = `Node ${id} is open in another tab (or its lease could not be proven free): this tab opened another node.`;
    }
  }
  const nodeId = (input.newId ?? newNodeId)();
  const lock = await locks.tryAcquire(nodeLockName(nodeId));
  return { nodeId, lock, resumed: false, notice };
}

/** Tries `name` now and then every 100 ms for up to `waitMs`. */
async function retryAcquire(locks: Locks, name: string, waitMs: number): Promise<HeldLock | null> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const lock = await locks.tryAcquire(name);
    if (lock || Date.now() >= deadline) return lock;
    await new Promise((resolve) => setTimeout(resolve, Math.min(100, Math.max(1, deadline - Date.now()))));
  }
}

/** A saved node no live tab holds. */
export interface OldNode {
  readonly nodeId: string;
  readonly name: string;
  readonly height: number | null;
  /** Its wallet's public key: '' when it has none, null when the registry does not know. */
  readonly publicKey: string | null;
  /** Other nodes of this browser whose wallet holds the same key. */
  readonly keyAlsoIn: readonly string[];
}

/** The saved nodes that no live tab holds (never `selfId`), most recently used first. */
export async function listOldNodes(input: {
  readonly locks: Locks;
  readonly registry: NodeRegistry;
  readonly databases: readonly { readonly nodeId: string; readonly name: string }[];
  readonly selfId: string;
  /** The network the registry and databases belong to (names a database the browser did not list). */
  readonly networkId?: string;
}): Promise<OldNode[]> {
  const held = await input.locks.held();
  const entries = input.registry.entries();
  const byId = new Map(entries.map((entry) => [entry.id, entry]));
  const names = new Map(input.databases.map((db) => [db.nodeId, db.name]));
  const ids = [...entries.map((entry) => entry.id), ...input.databases.map((db) => db.nodeId)];
  const seen = new Set<string>();
  const old: OldNode[] = [];
  for (const id of ids) {
    if (seen.has(id) || id === input.selfId || held.has(nodeLockName(id))) continue;
    seen.add(id);
    const entry = byId.get(id);
    const publicKey = entry?.publicKey ?? null;
    old.push({
      nodeId: id,
      name: names.get(id) ?? databaseName(id, input.networkId),
      height: entry?.height ?? null,
      publicKey,
      keyAlsoIn: !publicKey
        ? []
        : entries
            .filter((other) => other.id !== id && other.publicKey === publicKey)
            .map((other) => other.id),
    });
  }
  return old;
}

/** Raised when a node to delete is open in a tab. */
export class LiveNodeError extends Error {
  override readonly name = 'LiveNodeError';
}

/**
 * Deletes a saved node: takes its lock first (so no tab can open it meanwhile, and a live node,
 * whose lock a tab holds, is refused), deletes its database and registry entry inside the lock.
 */
export async function deleteOldNode(
  input: {
    readonly locks: Locks;
    readonly registry: NodeRegistry;
    readonly deleteDatabase: (nodeId: string) => Promise<void>;
  },
  nodeId: string,
): Promise<void> {
  const lock = await input.locks.tryAcquire(nodeLockName(nodeId));
  if (!lock) {
    throw new LiveNodeError(`Node ${nodeId} is open in a tab: close that tab first. Nothing was deleted.`);
  }
  try {
    await input.deleteDatabase(nodeId);
    input.registry.remove(nodeId);
  } finally {
    await lock.release();
  }
}
