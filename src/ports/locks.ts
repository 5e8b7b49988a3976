/**
 * The `Locks` port: named locks shared by the tabs of one browser. A tab holds a node's lock for
 * as long as it runs that node, and a forging key's lock for as long as it forges with it.
 * Implementations: Web Locks (`src/locks/web-locks.ts`), a localStorage lease for browsers
 * without them (`src/locks/lease.ts`), and an in-memory twin (`src/locks/memory.ts`); each runs
 * the compliance suite in test/ports/locks-compliance.ts.
 */

/** A lock this tab holds. */
export interface HeldLock {
  readonly name: string;
  /**
   * Aborted when the lock is no longer held: released here, stolen by another tab, or lost
   * (a lease that could not be renewed). Forging must stop at once when it fires.
   */
  readonly signal: AbortSignal;
  /** Gives the lock up; resolves once others can take it. Idempotent. */
  release(): Promise<void>;
}

export interface AcquireOptions {
  /** Take the lock even when another tab holds it; that holder's `signal` aborts. */
  readonly steal?: boolean;
}

export interface Locks {
  /** Which mechanism backs these locks, for the user: Web Locks are exact, a lease is best effort. */
  readonly kind: 'web-locks' | 'lease' | 'memory';
  /**
   * Takes `name` if no one holds it (or, with `steal`, whoever holds it), and holds it until
   * released or stolen. Resolves null, never waiting, when another holder keeps it.
   */
  tryAcquire(name: string, options?: AcquireOptions): Promise<HeldLock | null>;
  /** The names held right now by any tab of this browser (this one included). */
  held(): Promise<ReadonlySet<string>>;
}

/** The lock name of a node's identity. */
export function nodeLockName(nodeId: string): string {
  return `tabchain.node.${nodeId}`;
}

/** The lock name of a forging key, from its fingerprint (hex digest of the public key). */
export function forgingLockName(keyFingerprint: string): string {
  return `tabchain.forging.${keyFingerprint}`;
}

/**
 * `this-tab`: this tab forges with its key; `other-tab`: another tab of this browser does;
 * `other-node`: a connected always-on node forges with it, so this tab does not; `off`: no key.
 */
export type ForgingStatus = 'this-tab' | 'other-tab' | 'other-node' | 'off';

/** What the UI reads and does. */
export interface ForgingControl {
  status(): ForgingStatus;
  subscribe(listener: () => void): () => void;
  /**
   * Takes forging over: the forging lock from the tab that holds it (`other-tab`), or forging
   * from the always-on node that forges with the key (`other-node`).
   */
  takeOver(): Promise<void>;
}
