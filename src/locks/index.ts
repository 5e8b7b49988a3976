/**
 * Locks: the `Locks` port's implementations (Web Locks; a localStorage lease where the browser
 * has none; an in-memory twin) and the choice between them for a tab, as `storage/index.ts`
 * chooses a store. The composition root (src/main.tsx) calls `createTabLocks`.
 */
import type { Locks } from '../ports/locks';
import { broadcastLeaseChannel, createLeaseLocks, type LeaseChannel, type LeaseStorage } from './lease';
import { createWebLocks, hasWebLocks } from './web-locks';

/** A page storage area, or none where reading it throws (sandboxed frames, disabled cookies). */
export function tabStorage(area: 'localStorage' | 'sessionStorage'): Storage | undefined {
  try {
    return globalThis[area] ?? undefined;
  } catch {
    return undefined;
  }
}

/** A storage that refuses everything: leases over it are never free, so nothing is shared or forged. */
const NO_STORAGE: LeaseStorage = {
  length: 0,
  key: () => null,
  getItem: () => {
    throw new Error('no storage');
  },
  setItem: () => {
    throw new Error('no storage');
  },
  removeItem: () => {},
};

/**
 * This tab's locks: Web Locks where the browser has them; else a localStorage lease with a
 * notice that says so. Also the channel over which a forging take-over is acknowledged.
 */
export function createTabLocks(): {
  locks: Locks;
  notice: string | null;
  forgingChannel: LeaseChannel | undefined;
} {
  const forgingChannel = broadcastLeaseChannel('tabchain.forging');
  if (hasWebLocks()) return { locks: createWebLocks(), notice: null, forgingChannel };
  return {
    locks: createLeaseLocks({
      storage: tabStorage('localStorage') ?? NO_STORAGE,
      channel: broadcastLeaseChannel(),
    }),
    notice:
      'This browser has no Web Locks: tabs claim nodes and forging keys with a lease in localStorage, renewed every second. ' +
      'A node or key whose lease cannot be proven free is not used: this tab then opens a new node, and does not forge with that key.',
    forgingChannel,
  };
}
