import type { NodeSnapshot } from '../../src/node/node';
import type { BlockPropagation, PeerView, PropagationHop } from '../../src/node/types';
import type { NodeApi } from '../../src/ui/services';
import { withSnapshot } from './helpers';

/** A connected peer as the snapshot lists it. */
export function peerView(id: string, forgerKey: string | null = null, alwaysOn = false): PeerView {
  return { id, score: 0, height: 0, head: null, forgerKey, alwaysOn, forging: forgerKey !== null, rttMs: 1 };
}

/** One hop of a block's spread. */
export function hop(from: string, to: string, delayMs: number, atMs: number): PropagationHop {
  return { from, to, delayMs, atMs };
}

/** A block's spread from `forgedBy` along `hops`. */
export function spread(
  hops: readonly PropagationHop[],
  options: { hash?: string; height?: number; forger?: string; forgedBy?: string | null } = {},
): BlockPropagation {
  return {
    hash: options.hash ?? 'b'.repeat(64),
    height: options.height ?? 1,
    forger: options.forger ?? 'unknown forger',
    forgedBy: options.forgedBy === undefined ? (hops[0]?.from ?? null) : options.forgedBy,
    seenAt: 0,
    hops,
  };
}

/**
 * `node`'s snapshot with fields replaced, changeable after rendering: `set` patches the current
 * snapshot and tells the subscribers (call it inside `act`).
 */
export function liveSnapshot(node: NodeApi, patch: Partial<NodeSnapshot> = {}) {
  let current: NodeSnapshot = Object.freeze({ ...node.getSnapshot(), ...patch });
  const listeners = new Set<() => void>();
  const api: NodeApi = {
    ...withSnapshot(node, {}),
    getSnapshot: () => current,
    subscribe: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return {
    api,
    get: () => current,
    set(next: Partial<NodeSnapshot>) {
      current = Object.freeze({ ...current, ...next });
      for (const listener of listeners) listener();
    },
  };
}
