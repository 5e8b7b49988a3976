/**
 * Views derived from one snapshot (or one chain state), computed once per snapshot however many
 * components render them: snapshots and states are immutable and replaced on change, so the
 * object itself is the cache key, and a cache entry goes when the object does.
 */
import type { StakeEntry } from '../core/lottery';
import { stakeEntries } from '../core/state';
import type { NodeSnapshot } from '../node/node';

/** A one-argument function memoised per argument object (weakly held). */
export interface MemoPerObject<K extends object, V> {
  (key: K): V;
  /** Whether `key`'s value is computed already. */
  has(key: K): boolean;
}

/** Memoises `compute` per argument object. */
export function memoPerObject<K extends object, V>(compute: (key: K) => V): MemoPerObject<K, V> {
  const cache = new WeakMap<K, V>();
  const memoised = (key: K): V => {
    if (cache.has(key)) return cache.get(key) as V;
    const value = compute(key);
    cache.set(key, value);
    return value;
  };
  return Object.assign(memoised, { has: (key: K) => cache.has(key) });
}

/** The ids of the pooled transactions. */
export const pooledIds = memoPerObject(
  (snapshot: NodeSnapshot): ReadonlySet<string> =>
    new Set(snapshot.pool.map((entry) => entry.transaction.id)),
);

/** The stakers at the head in lottery order, with the total stake and the largest one. */
export const stakersAtHead = memoPerObject((snapshot: NodeSnapshot) => {
  const stakers: readonly StakeEntry[] = stakeEntries(snapshot.state);
  return {
    stakers,
    total: stakers.reduce((sum, [, stake]) => sum + stake, 0),
    largest: Math.max(1, ...stakers.map(([, stake]) => stake)),
  };
});
