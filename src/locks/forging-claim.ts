import { z } from 'zod';
import { sha256Hex } from '../core/hash';
import {
  type ForgingControl,
  type ForgingStatus,
  forgingLockName,
  type HeldLock,
  type Locks,
} from '../ports/locks';
import type { LeaseChannel } from './lease';

/**
 * One forger per key in a browser. The tab whose node holds a wallet forges with it only while
 * it holds that key's forging lock; the other tabs with the same key show that it forges in
 * another tab, retry every second (so the key moves on when that tab closes), and can take over
 * in one click. A take-over steals the lock; the old holder stops forging at once, waits for any
 * block it was forging, then acknowledges over the channel; the new holder starts only after that
 * acknowledgement (or `ackTimeoutMs`), so no height is forged twice in between.
 *
 * Across machines, the node itself yields: while a connected always-on node announces that it
 * forges with the key, the tab's node does not (see `forgingNow` in src/node/node.ts; deciding
 * there, in the same task that reads the peer's STATUS, leaves no moment in which both forge).
 * The claim reports that as `other-node`, and its take-over then asks the node to take forging
 * back from the always-on node (`takeOverForging`), leaving the lock where it is.
 */

/** The node commands and reads the claim needs. */
export interface ForgingNode {
  setForging(allowed: boolean): Promise<void>;
  getSnapshot(): {
    readonly wallet: { readonly publicKeyPem: string } | null;
    /** The connected always-on peer that forges with the wallet's key, so the node does not. */
    readonly forgingElsewhere?: string | null;
  };
  subscribe(listener: () => void): () => void;
  /** Asks the always-on peers forging with the wallet's key to stop (see `TabchainNode`). */
  takeOverForging?(): Promise<number>;
}

export interface ForgingClaimOptions {
  readonly locks: Locks;
  readonly node: ForgingNode;
  /** Carries the old holder's acknowledgement of a take-over. */
  readonly channel?: LeaseChannel;
  /** The longest a take-over waits for the old holder's acknowledgement (ms). */
  readonly ackTimeoutMs?: number;
  /** How often a tab whose key forges elsewhere tries the lock again (ms). */
  readonly retryMs?: number;
}

const ackSchema = z.object({ type: z.literal('forging-stopped'), name: z.string().max(256) });

/** The forging lock name of a public key: SHA-256 of its PEM text. */
export function forgingLockNameOf(publicKeyPem: string): string {
  return forgingLockName(sha256Hex(new TextEncoder().encode(publicKeyPem)).slice(0, 32));
}

/** Keeps the node's forging in step with its key's forging lock. `stop()` releases the lock. */
export class ForgingClaim implements ForgingControl {
  private readonly locks: Locks;
  private readonly node: ForgingNode;
  private readonly channel: LeaseChannel | undefined;
  private readonly ackTimeoutMs: number;
  private readonly retryMs: number;
  private readonly listeners = new Set<() => void>();
  private current: ForgingStatus = 'off';
  /** Whether an always-on peer forged with the key at the last look at the node. */
  private elsewhere = false;
  private key: string | null = null;
  private lock: HeldLock | null = null;
  private retry: ReturnType<typeof setInterval> | null = null;
  /** Serialises claims, releases and take-overs. */
  private queue: Promise<void> = Promise.resolve();
  private readonly acks = new Map<string, () => void>();
  private unsubscribe: () => void = () => {};
  private stopListening: () => void = () => {};

  constructor(options: ForgingClaimOptions) {
    this.locks = options.locks;
    this.node = options.node;
    this.channel = options.channel;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 2_000;
    this.retryMs = options.retryMs ?? 1_000;
  }

  start(): void {
    this.stopListening =
      this.channel?.listen((raw) => {
        const ack = ackSchema.safeParse(raw);
        if (ack.success) this.acks.get(ack.data.name)?.();
      }) ?? (() => {});
    this.unsubscribe = this.node.subscribe(() => this.follow());
    this.follow();
  }

  async stop(): Promise<void> {
    this.unsubscribe();
    this.stopListening();
    this.key = null;
    await this.run(() => this.drop());
  }

  status(): ForgingStatus {
    // Holding the lock makes this tab the browser's forger for the key; the node still yields
    // to an always-on node that forges with it.
    return this.current === 'this-tab' && this.elsewhere ? 'other-node' : this.current;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  takeOver(): Promise<void> {
    if (this.status() === 'other-node') {
      const takeOverForging = this.node.takeOverForging?.bind(this.node);
      return takeOverForging ? takeOverForging().then(() => {}) : Promise.resolve();
    }
    return this.run(async () => {
      const key = this.key;
      if (!key || this.lock) return;
      const name = forgingLockNameOf(key);
      const acknowledged = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.ackTimeoutMs);
        this.acks.set(name, () => {
          clearTimeout(timer);
          resolve();
        });
      });
      const lock = await this.locks.tryAcquire(name, { steal: true });
      if (!lock) {
        this.acks.delete(name);
        return;
      }
      // Nothing forges twice: the old holder has stopped once it says so (or the bound passed).
      await acknowledged;
      this.acks.delete(name);
      await this.hold(key, lock);
    });
  }

  /** Follows the node's wallet: a new key is claimed, a forgotten one released. */
  private follow(): void {
    const snapshot = this.node.getSnapshot();
    const elsewhere = (snapshot.forgingElsewhere ?? null) !== null;
    if (elsewhere !== this.elsewhere) {
      this.elsewhere = elsewhere;
      this.notify();
    }
    const key = snapshot.wallet?.publicKeyPem ?? null;
    if (key === this.key) return;
    this.key = key;
    void this.run(async () => {
      await this.drop();
      if (key === null) return this.setStatus('off');
      await this.claim(key);
    });
  }

  private async claim(key: string): Promise<void> {
    if (this.key !== key || this.lock) return;
    const lock = await this.locks.tryAcquire(forgingLockNameOf(key));
    if (lock) return this.hold(key, lock);
    this.setStatus('other-tab');
    if (this.retry === null) {
      this.retry = setInterval(() => {
        const wanted = this.key;
        if (wanted && !this.lock) void this.run(() => this.claim(wanted));
      }, this.retryMs);
    }
  }

  private async hold(key: string, lock: HeldLock): Promise<void> {
    if (this.key !== key) {
      await lock.release();
      return;
    }
    this.stopRetry();
    this.lock = lock;
    lock.signal.addEventListener('abort', () => void this.lost(lock), { once: true });
    await this.node.setForging(true);
    this.setStatus('this-tab');
  }

  /** The lock went (stolen or lost): stop forging now, then acknowledge to the new holder. */
  private async lost(lock: HeldLock): Promise<void> {
    if (this.lock !== lock) return;
    this.lock = null;
    // Not queued behind other claim work: stopping must not wait.
    await this.node.setForging(false);
    this.channel?.post({ type: 'forging-stopped', name: lock.name });
    if (this.key) {
      this.setStatus('other-tab');
      const key = this.key;
      void this.run(() => this.claim(key));
    }
  }

  private async drop(): Promise<void> {
    this.stopRetry();
    const lock = this.lock;
    this.lock = null;
    await this.node.setForging(false);
    await lock?.release();
  }

  private stopRetry(): void {
    if (this.retry !== null) clearInterval(this.retry);
    this.retry = null;
  }

  private run(task: () => Promise<void>): Promise<void> {
    const next = this.queue.then(task, task);
    this.queue = next.catch(() => {});
    return next;
  }

  private setStatus(status: ForgingStatus): void {
    if (this.current === status) return;
    this.current = status;
    this.notify();
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}
