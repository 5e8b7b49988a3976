import type { Transaction } from '../core/types';
import type { VerifiedSignatures } from '../core/validate';

/** A pooled transaction and when this node first saw it (ms since epoch). */
export interface PoolEntry {
  readonly transaction: Transaction;
  readonly receivedAt: number;
}

/**
 * The transaction pool: what this node has seen but no block holds yet, in arrival order.
 * Beyond the reference: a size cap (a flood cannot exhaust memory) and an expiry (a transaction
 * that can never be covered does not stay forever).
 */
export class TransactionPool {
  private readonly entries = new Map<string, PoolEntry>();

  /** `maxSize` transactions at most; each expires `ttlMs` after it arrived. */
  constructor(
    private readonly maxSize: number,
    private readonly ttlMs: number,
  ) {}

  /** Number of pooled transactions. */
  get size(): number {
    return this.entries.size;
  }

  /** True when a transaction with this id is pooled. */
  has(id: string): boolean {
    return this.entries.has(id);
  }

  /** Adds a transaction; `full` when the cap is reached, `duplicate` when its id is pooled. */
  add(transaction: Transaction, receivedAt: number): 'added' | 'duplicate' | 'full' {
    if (this.entries.has(transaction.id)) return 'duplicate';
    if (this.entries.size >= this.maxSize) return 'full';
    this.entries.set(transaction.id, { transaction, receivedAt });
    return 'added';
  }

  /** Removes these ids (a block took them); returns how many were pooled. */
  remove(ids: Iterable<string>): number {
    let removed = 0;
    for (const id of ids) if (this.entries.delete(id)) removed++;
    return removed;
  }

  /** Drops transactions older than the expiry; returns them. */
  expire(now: number): Transaction[] {
    const expired: Transaction[] = [];
    for (const [id, entry] of this.entries) {
      if (now - entry.receivedAt > this.ttlMs) {
        this.entries.delete(id);
        expired.push(entry.transaction);
      }
    }
    return expired;
  }

  /** The pooled entries in arrival order. */
  list(): PoolEntry[] {
    return [...this.entries.values()];
  }
}

/**
 * A bounded set of signed transactions whose signatures verified: a transaction checked when it
 * entered the pool is not checked again when a block carries it. Oldest entries go first.
 */
export class VerifiedSignatureCache implements VerifiedSignatures {
  /** Transaction id → its verified signed JSON; Map order is age. */
  private readonly entries = new Map<string, string>();

  /** Remembers at most `maxSize` transactions. */
  constructor(private readonly maxSize: number) {}

  /** True when this exact signed transaction verified before. */
  has(id: string, signedJson: string): boolean {
    return this.entries.get(id) === signedJson;
  }

  /** Records a verified signed transaction, evicting the oldest when full. */
  add(id: string, signedJson: string): void {
    if (this.entries.has(id)) this.entries.delete(id);
    else if (this.entries.size >= this.maxSize) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(id, signedJson);
  }
}
