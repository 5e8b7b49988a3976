import type { Transaction } from '../core/types';
import type { VerifiedSignatures } from '../core/validate';
import type { PeerId } from '../ports/transport';

/** A pooled transaction and when this node first saw it (ms since epoch). */
export interface PoolEntry {
  readonly transaction: Transaction;
  readonly receivedAt: number;
}

/** Where a pooled transaction came from. */
export interface PoolSource {
  /** The peer that relayed it; null for this node's own user, a restored pool or an orphaned block. */
  readonly peer: PeerId | null;
  /** Submitted by this node's own user: outranks relayed uncovered transactions when the pool is full. */
  readonly local: boolean;
}

/** A transaction of unknown origin: a restored pool, or a block that was orphaned. */
export const UNKNOWN_SOURCE: PoolSource = Object.freeze({ peer: null, local: false });

/** Why `add` took or refused a transaction. */
export type PoolAddOutcome = 'added' | 'duplicate' | 'full' | 'sender-full';

/** How the pool reads the head: the balance an account holds there. */
export type BalanceAtHead = (publicKey: string) => number;

/** Options of a `TransactionPool` beyond its size and expiry. */
export interface PoolOptions {
  /** Transactions one sender may hold in the pool; default: no cap of its own. */
  readonly perSender?: number;
  /** Balances at the head; default: every account can cover everything. */
  readonly balanceOf?: BalanceAtHead;
}

interface Slot {
  readonly entry: PoolEntry;
  readonly source: PoolSource;
  /** The head covers it after the sender's earlier covered transactions. */
  covered: boolean;
  /** It was covered at some point (a relayer is not blamed for a later double-spend). */
  everCovered: boolean;
  /** Already handed out for gossip. */
  gossiped: boolean;
}

/**
 * Eviction rank: a covered transaction outranks an uncovered one, and this node's own uncovered
 * transaction outranks one a peer relayed.
 */
function rankOf(covered: boolean, source: PoolSource): number {
  return covered ? 2 : source.local ? 1 : 0;
}

/**
 * The transaction pool: what this node has seen but no block holds yet, in arrival order.
 *
 * **Covered or not.** A transaction is covered when the sender's balance at the head pays for
 * it after the sender's earlier covered pooled transactions (EXCHANGE is always covered: the
 * exchange sells coins). Money still on its way in (a pending purchase) does not count: as in
 * the reference, a spend waits in the pool until a block covers it. Only covered transactions
 * are gossiped and put in blocks; coverage is recomputed whenever the head changes
 * (`recheck`), and the transactions that became covered are handed out for gossip once.
 *
 * **Limits.** At most `perSender` transactions per sender (Nimiq's mempool also caps per
 * sender), `maxSize` in all, each dropped `ttlMs` after it arrived.
 *
 * **Eviction when full.** The victim is taken from the lowest rank present (relayed uncovered,
 * then local uncovered, then covered): the newest transaction of the sender that holds the most
 * transactions of that rank. The newcomer takes its place if it ranks higher, or ranks the same
 * and its sender would still hold fewer of that rank than the victim's sender holds; otherwise
 * it is refused (`full`). So a flood of unaffordable transactions never keeps out a covered
 * one, and a flooder with coins loses its own newest transactions before anyone else's.
 *
 * **Blame.** A relayed transaction that leaves the pool (expired or evicted) without ever having
 * been covered is charged to the peer that relayed it; `takeCharges` hands the counts out.
 */
/** Why a transaction left the pool without a block taking it. */
export type PoolDeparture = 'expired' | 'evicted';

/** Departures remembered at most (the oldest are forgotten first). */
export const MAX_DEPARTURES = 1024;

export class TransactionPool {
  /** Id → slot; Map order is arrival order. */
  private readonly slots = new Map<string, Slot>();
  /** Sender → its slots in arrival order. */
  private readonly bySender = new Map<string, Slot[]>();
  /** Sender → what its covered non-EXCHANGE transactions spend. */
  private readonly spent = new Map<string, number>();
  /** Ids of covered transactions not yet handed out for gossip. */
  private readonly toGossip = new Set<string>();
  /** Peer → relayed transactions that left the pool never covered, since the last `takeCharges`. */
  private readonly charges = new Map<PeerId, number>();
  private coveredSlots = 0;
  private readonly perSender: number;
  private readonly balanceOf: BalanceAtHead;

  /** `maxSize` transactions at most; each expires `ttlMs` after it arrived. */
  constructor(
    private readonly maxSize: number,
    private readonly ttlMs: number,
    options: PoolOptions = {},
  ) {
    this.perSender = options.perSender ?? Number.POSITIVE_INFINITY;
    this.balanceOf = options.balanceOf ?? (() => Number.POSITIVE_INFINITY);
  }

  /** Why recent transactions left without a block (a bounded record, for the user's history). */
  private readonly departures = new Map<string, PoolDeparture>();

  /** Why `id` last left the pool without a block taking it, if it did (and is not pooled again). */
  departureOf(id: string): PoolDeparture | undefined {
    return this.slots.has(id) ? undefined : this.departures.get(id);
  }

  private recordDeparture(id: string, why: PoolDeparture): void {
    this.departures.delete(id);
    this.departures.set(id, why);
    if (this.departures.size > MAX_DEPARTURES) {
      const oldest = this.departures.keys().next();
      if (!oldest.done) this.departures.delete(oldest.value);
    }
  }

  /** Number of pooled transactions. */
  get size(): number {
    return this.slots.size;
  }

  /** Number of pooled transactions the head covers. */
  get coveredCount(): number {
    return this.coveredSlots;
  }

  /** True when a transaction with this id is pooled. */
  has(id: string): boolean {
    return this.slots.has(id);
  }

  /** True when this id is pooled and covered. */
  isCovered(id: string): boolean {
    return this.slots.get(id)?.covered ?? false;
  }

  /** Transactions `sender` holds in the pool. */
  countOf(sender: string): number {
    return this.bySender.get(sender)?.length ?? 0;
  }

  /**
   * Whether `add` could take a transaction from this sender at all (a cheap check before its
   * signature is verified): not when the sender is at its quota.
   */
  hasRoomFor(sender: string): boolean {
    return this.countOf(sender) < this.perSender;
  }

  /** Whether the head covers `transaction` after its sender's covered pooled ones. */
  wouldCover(transaction: Transaction): boolean {
    if (transaction.type === 'EXCHANGE') return true;
    const sender = transaction.senderPublicKey;
    return this.balanceOf(sender) - (this.spent.get(sender) ?? 0) >= transaction.amount;
  }

  /**
   * Adds a transaction: `duplicate` when its id is pooled, `sender-full` when its sender is at
   * its quota, `full` when the pool is full and the eviction rule keeps what it holds.
   */
  add(transaction: Transaction, receivedAt: number, source: PoolSource = UNKNOWN_SOURCE): PoolAddOutcome {
    if (this.slots.has(transaction.id)) return 'duplicate';
    const sender = transaction.senderPublicKey;
    if (!this.hasRoomFor(sender)) return 'sender-full';
    const covered = this.wouldCover(transaction);
    if (this.slots.size >= this.maxSize) {
      const victim = this.victimFor(sender, rankOf(covered, source));
      if (!victim) return 'full';
      this.drop(victim);
      this.recordDeparture(victim.entry.transaction.id, 'evicted');
      this.recover(victim.entry.transaction.senderPublicKey);
    }
    // A transaction of unknown source (a restored pool, an orphaned block) was announced
    // before: it goes out again only through the heartbeat's regossip, so a forger that just
    // re-pooled it forges it before its peers hear of it twice.
    const announced = source.peer === null && !source.local;
    const slot: Slot = {
      entry: { transaction, receivedAt },
      source,
      covered,
      everCovered: covered,
      gossiped: announced,
    };
    this.slots.set(transaction.id, slot);
    this.departures.delete(transaction.id);
    const own = this.bySender.get(sender);
    if (own) own.push(slot);
    else this.bySender.set(sender, [slot]);
    if (covered) {
      this.coveredSlots++;
      if (!announced) this.toGossip.add(transaction.id);
      if (transaction.type !== 'EXCHANGE')
        this.spent.set(sender, (this.spent.get(sender) ?? 0) + transaction.amount);
    }
    return 'added';
  }

  /** Removes these ids (a block took them); returns how many were pooled. */
  remove(ids: Iterable<string>): number {
    const senders = new Set<string>();
    let removed = 0;
    for (const id of ids) {
      const slot = this.slots.get(id);
      if (!slot) continue;
      // A block took it: whoever relayed it is not to blame.
      this.drop(slot, false);
      senders.add(slot.entry.transaction.senderPublicKey);
      removed++;
    }
    for (const sender of senders) this.recover(sender);
    return removed;
  }

  /**
   * Recomputes coverage against the head as it is now (call after the head changed): each
   * sender's transactions are taken in arrival order while its balance covers them.
   */
  recheck(): void {
    for (const sender of this.bySender.keys()) this.recover(sender);
  }

  /** Drops transactions older than the expiry; returns them. */
  expire(now: number): Transaction[] {
    const expired: Slot[] = [];
    for (const slot of this.slots.values()) if (now - slot.entry.receivedAt > this.ttlMs) expired.push(slot);
    for (const slot of expired) {
      this.drop(slot);
      this.recordDeparture(slot.entry.transaction.id, 'expired');
    }
    for (const sender of new Set(expired.map((s) => s.entry.transaction.senderPublicKey)))
      this.recover(sender);
    return expired.map((s) => s.entry.transaction);
  }

  /** Drops every never-covered transaction `peer` relayed (it was banned); returns how many. */
  dropRelayedBy(peer: PeerId): number {
    const dropped = [...this.slots.values()].filter((s) => s.source.peer === peer && !s.everCovered);
    for (const slot of dropped) {
      this.drop(slot, false);
      this.recordDeparture(slot.entry.transaction.id, 'evicted');
    }
    for (const sender of new Set(dropped.map((s) => s.entry.transaction.senderPublicKey)))
      this.recover(sender);
    return dropped.length;
  }

  /** The pooled entries in arrival order. */
  list(): PoolEntry[] {
    return [...this.slots.values()].map((s) => s.entry);
  }

  /** The covered entries in arrival order: what a block may take. */
  coveredEntries(): PoolEntry[] {
    const covered: PoolEntry[] = [];
    for (const slot of this.slots.values()) if (slot.covered) covered.push(slot.entry);
    return covered;
  }

  /**
   * The covered transactions not yet handed out for gossip, each with the peer it came from (not
   * to be sent back), in arrival order; each is handed out once.
   */
  takeGossip(): { readonly transaction: Transaction; readonly from: PeerId | null }[] {
    const out: { transaction: Transaction; from: PeerId | null }[] = [];
    for (const id of this.toGossip) {
      const slot = this.slots.get(id);
      if (!slot?.covered || slot.gossiped) continue;
      slot.gossiped = true;
      out.push({ transaction: slot.entry.transaction, from: slot.source.peer });
    }
    this.toGossip.clear();
    return out;
  }

  /** Peer → relayed transactions that left the pool never covered, since the last call. */
  takeCharges(): Map<PeerId, number> {
    const charges = new Map(this.charges);
    this.charges.clear();
    return charges;
  }

  // ---------------------------------------------------------------- internals

  /** Takes a slot out of every index; charges the relayer if it never was covered. */
  private drop(slot: Slot, charge = true): void {
    const tx = slot.entry.transaction;
    this.slots.delete(tx.id);
    this.toGossip.delete(tx.id);
    if (slot.covered) this.coveredSlots--;
    const own = this.bySender.get(tx.senderPublicKey);
    if (own) {
      const rest = own.filter((s) => s !== slot);
      if (rest.length === 0) this.bySender.delete(tx.senderPublicKey);
      else this.bySender.set(tx.senderPublicKey, rest);
    }
    if (charge && slot.source.peer !== null && !slot.everCovered)
      this.charges.set(slot.source.peer, (this.charges.get(slot.source.peer) ?? 0) + 1);
  }

  /** Recomputes one sender's coverage, in arrival order, against its balance at the head. */
  private recover(sender: string): void {
    const own = this.bySender.get(sender);
    if (!own) {
      this.spent.delete(sender);
      return;
    }
    const balance = this.balanceOf(sender);
    let spent = 0;
    for (const slot of own) {
      const tx = slot.entry.transaction;
      const covered = tx.type === 'EXCHANGE' || balance - spent >= tx.amount;
      if (covered && tx.type !== 'EXCHANGE') spent += tx.amount;
      if (covered !== slot.covered) {
        this.coveredSlots += covered ? 1 : -1;
        slot.covered = covered;
      }
      if (covered) {
        slot.everCovered = true;
        if (!slot.gossiped) this.toGossip.add(tx.id);
      }
    }
    this.spent.set(sender, spent);
  }

  /**
   * The slot to evict for a newcomer of rank `rank` from `sender`, or null when the newcomer
   * must be refused (see the class comment for the rule).
   */
  private victimFor(sender: string, rank: number): Slot | null {
    // The lowest rank present, and per sender how many slots of it it holds.
    let lowest = 3;
    for (const slot of this.slots.values()) lowest = Math.min(lowest, rankOf(slot.covered, slot.source));
    let victimSender: string | null = null;
    let victimCount = 0;
    let victimSlot: Slot | null = null;
    let newcomerCount = 0;
    for (const [key, own] of this.bySender) {
      let count = 0;
      let newest: Slot | null = null;
      for (const slot of own) {
        if (rankOf(slot.covered, slot.source) !== lowest) continue;
        count++;
        newest = slot;
      }
      if (key === sender) newcomerCount = count;
      // Ties go to the sender whose newest such transaction arrived last.
      if (
        newest &&
        (count > victimCount ||
          (count === victimCount && victimSlot && newest.entry.receivedAt >= victimSlot.entry.receivedAt))
      ) {
        victimSender = key;
        victimCount = count;
        victimSlot = newest;
      }
    }
    if (!victimSlot || victimSender === null) return null;
    if (rank > lowest) return victimSlot;
    if (rank === lowest && victimSender !== sender && newcomerCount + 1 < victimCount) return victimSlot;
    return null;
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
