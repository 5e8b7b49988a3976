import { z } from 'zod';
import type { AcquireOptions, HeldLock, Locks } from '../ports/locks';

/**
 * The fallback `Locks` where Web Locks are missing (an insecure context, an old browser): a
 * lease per name in localStorage, renewed every second, with a BroadcastChannel to hear a steal
 * at once. It is best effort, never exact: a claim is written, left to settle, and read back, and
 * a lease that cannot be proven free (live, or unreadable) is treated as held. Callers then open
 * a new node and do not forge, which is always safe.
 */

/** Every lease is stored under this prefix plus the lock name. */
export const LEASE_PREFIX = 'tabchain.lease.';

const leaseSchema = z.object({
  owner: z.string().min(1).max(64),
  expires: z.number().finite(),
});
type Lease = z.infer<typeof leaseSchema>;

const channelMessageSchema = z.object({
  type: z.enum(['stolen', 'released']),
  name: z.string().max(256),
  by: z.string().max(64),
});
type ChannelMessage = z.infer<typeof channelMessageSchema>;

/** The few localStorage methods a lease needs. */
export type LeaseStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem' | 'key' | 'length'>;

/** A broadcast channel between the tabs of a browser (BroadcastChannel in a page). */
export interface LeaseChannel {
  post(message: unknown): void;
  /** Calls `listener` with each message from other tabs; returns a function that stops it. */
  listen(listener: (message: unknown) => void): () => void;
}

export interface LeaseOptions {
  readonly storage: LeaseStorage;
  /** Tells the other tabs about steals and releases; without one they notice at their next renewal. */
  readonly channel?: LeaseChannel;
  readonly now?: () => number;
  /** How often a held lease is renewed (ms). */
  readonly renewMs?: number;
  /** How long a lease lives without renewal (ms): a closed tab's leases free up after this. */
  readonly ttlMs?: number;
  /** How long a fresh claim is left before it is read back (ms): a later racing claim wins. */
  readonly settleMs?: number;
  /** This tab's id in the leases; random by default. */
  readonly owner?: string;
}

/** A BroadcastChannel as a `LeaseChannel`, or none where the page has no BroadcastChannel. */
export function broadcastLeaseChannel(name = 'tabchain.locks'): LeaseChannel | undefined {
  if (typeof BroadcastChannel !== 'function') return undefined;
  const channel = new BroadcastChannel(name);
  return {
    post: (message) => channel.postMessage(message),
    listen: (listener) => {
      const handler = (event: MessageEvent) => listener(event.data);
      channel.addEventListener('message', handler);
      return () => channel.removeEventListener('message', handler);
    },
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Leases in `options.storage`: the `Locks` of one tab. `close()` releases all it holds. */
export function createLeaseLocks(options: LeaseOptions): Locks & { close(): Promise<void> } {
  const { storage, channel } = options;
  const now = options.now ?? (() => Date.now());
  const renewMs = options.renewMs ?? 1_000;
  const ttlMs = options.ttlMs ?? 3 * renewMs;
  const settleMs = options.settleMs ?? 50;
  const owner = options.owner ?? Math.random().toString(36).slice(2, 14);
  const mine = new Map<string, { controller: AbortController; timer: ReturnType<typeof setInterval> }>();

  /** The stored lease, `'unreadable'` when a record exists that does not decode, or null. */
  const read = (name: string): Lease | 'unreadable' | null => {
    let raw: string | null;
    try {
      raw = storage.getItem(LEASE_PREFIX + name);
    } catch {
      return 'unreadable';
    }
    if (raw === null) return null;
    try {
      const decoded = leaseSchema.safeParse(JSON.parse(raw));
      return decoded.success ? decoded.data : 'unreadable';
    } catch {
      return 'unreadable';
    }
  };
  const write = (name: string): boolean => {
    try {
      storage.setItem(LEASE_PREFIX + name, JSON.stringify({ owner, expires: now() + ttlMs } satisfies Lease));
      return true;
    } catch {
      return false;
    }
  };
  const isLive = (lease: Lease | 'unreadable' | null): boolean =>
    lease === 'unreadable' || (lease !== null && lease.expires > now());

  const lose = (name: string) => {
    const held = mine.get(name);
    if (!held) return;
    mine.delete(name);
    clearInterval(held.timer);
    held.controller.abort();
  };

  const stopListening = channel?.listen((raw) => {
    const message = channelMessageSchema.safeParse(raw);
    if (message.success && message.data.type === 'stolen' && message.data.by !== owner)
      lose(message.data.name);
  });

  const release = async (name: string, controller: AbortController) => {
    if (mine.get(name)?.controller !== controller) return;
    lose(name);
    const lease = read(name);
    if (lease !== null && lease !== 'unreadable' && lease.owner === owner) {
      try {
        storage.removeItem(LEASE_PREFIX + name);
      } catch {
        // It expires by itself.
      }
    }
    channel?.post({ type: 'released', name, by: owner } satisfies ChannelMessage);
  };

  return {
    kind: 'lease',
    async tryAcquire(name: string, acquire: AcquireOptions = {}): Promise<HeldLock | null> {
      if (mine.has(name)) return null;
      if (!acquire.steal && isLive(read(name))) return null;
      if (!write(name)) return null;
      if (acquire.steal) channel?.post({ type: 'stolen', name, by: owner } satisfies ChannelMessage);
      // A racing claim written meanwhile overwrote ours: the last writer holds the lease.
      await sleep(settleMs);
      const check = read(name);
      if (check === null || check === 'unreadable' || check.owner !== owner || mine.has(name)) return null;
      const controller = new AbortController();
      const timer = setInterval(() => {
        const lease = read(name);
        // Someone else's lease (a steal we did not hear) or a failed renewal: we hold nothing.
        if (lease === null || lease === 'unreadable' || lease.owner !== owner || !write(name)) lose(name);
      }, renewMs);
      mine.set(name, { controller, timer });
      return { name, signal: controller.signal, release: () => release(name, controller) };
    },
    async held(): Promise<ReadonlySet<string>> {
      const names = new Set<string>();
      for (let index = 0; index < storage.length; index++) {
        const key = storage.key(index);
        if (!key?.startsWith(LEASE_PREFIX)) continue;
        const name = key.slice(LEASE_PREFIX.length);
        if (isLive(read(name))) names.add(name);
      }
      return names;
    },
    async close(): Promise<void> {
      for (const [name, held] of [...mine]) await release(name, held.controller);
      stopListening?.();
    },
  };
}
