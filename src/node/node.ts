import { Map as ImmutableMap, Set as ImmutableSet, OrderedMap } from 'immutable';
import { blockSigningBytes, createBlock, withBlockSignature } from '../core/block';
import { decodeBlock, decodeTransaction } from '../core/decode';
import type { ChainError } from '../core/errors';
import { runLottery } from '../core/lottery';
import {
  applyTransactions,
  type ChainState,
  checkTransactionRules,
  nextForgerOf,
  stakeEntries,
} from '../core/state';
import { transactionTimestamp } from '../core/transaction';
import type { Block, ChainJSON, GenesisConfig, Transaction } from '../core/types';
import {
  extendChain,
  validateBlock,
  validateChain,
  verifiedKey,
  verifyTransactionSignature,
} from '../core/validate';
import type { CryptoProvider, KeyPair } from '../crypto/types';
import type { PeerId, Transport, TransportStatus } from '../net/transport';
import type { HeadRecord, PoolEntry, Store } from '../storage/store';
import { ChainView } from './chain';
import { type Clock, systemClock } from './clock';
import { TransactionPool, VerifiedSignatureCache } from './pool';
import {
  decodeMessage,
  encodeMessage,
  MAX_BLOCKS_PER_MESSAGE,
  MAX_DISCOVERY_PEERS,
  type WireMessage,
} from './protocol';

/**
 * A full node: the reference's `Node`, `SocketCommunication` and `PeerDiscoveryHandler` in one
 * service over injected ports (transport, clock, store, crypto). Everything it does happens in
 * one serial queue (peer messages, local commands, timers), so the chain never sees two
 * changes at once and a seeded simulation replays exactly.
 */

/** Tunables; the defaults suit a browser tab on a devnet. */
export interface NodeLimits {
  /** Peers to hold channels with; more are not dialled. */
  readonly maxPeers: number;
  /** Pooled transactions at most. */
  readonly poolMax: number;
  /** A pooled transaction is dropped this long after it arrived (ms). */
  readonly poolTtlMs: number;
  /** Transactions a forged block takes at most. */
  readonly maxBlockTransactions: number;
  /** Blocks asked for per sync request. */
  readonly syncChunk: number;
  /** A sync request unanswered this long is abandoned (ms). */
  readonly syncTimeoutMs: number;
  /** STATUS and PING to every peer this often (ms). */
  readonly heartbeatMs: number;
  /** DISCOVERY to every peer this often (ms). */
  readonly discoveryMs: number;
  /** A peer whose score falls to this is dropped and never dialled again. */
  readonly banScore: number;
  /** Pending transactions this old with no new block mean the chain is stalled (ms). */
  readonly stallAfterMs: number;
  /** Signed transactions remembered as verified. */
  readonly verifiedCacheSize: number;
}

/** The defaults of `NodeLimits`. */
export const DEFAULT_LIMITS: NodeLimits = {
  maxPeers: 6,
  poolMax: 5000,
  poolTtlMs: 10 * 60_000,
  maxBlockTransactions: 1000,
  syncChunk: 32,
  syncTimeoutMs: 10_000,
  heartbeatMs: 5_000,
  discoveryMs: 10_000,
  banScore: -100,
  stallAfterMs: 15_000,
  verifiedCacheSize: 20_000,
};

/** What a node is built from. */
export interface NodeOptions {
  readonly genesis: GenesisConfig;
  readonly transport: Transport;
  readonly crypto: CryptoProvider;
  readonly clock?: Clock;
  /** Uniform [0, 1); seeded in the simulator. Used only to pick peers to dial. */
  readonly random?: () => number;
  /** Where the chain, pool and wallet persist; none keeps everything in memory. */
  readonly store?: Store;
  readonly limits?: Partial<NodeLimits>;
  /** The wallet to forge with, if any. */
  readonly wallet?: KeyPair | null;
  /** Diagnostics (peer penalties, syncs, reorgs); silent by default. */
  readonly log?: (event: NodeLogEvent) => void;
}

/** A diagnostic event. */
export interface NodeLogEvent {
  readonly kind: 'penalty' | 'ban' | 'sync' | 'reorg' | 'forge' | 'equivocation' | 'store' | 'error';
  readonly message: string;
  readonly peer?: PeerId;
}

/** A connected peer as the UI sees it. */
export interface PeerView {
  readonly id: PeerId;
  /** Starts at 0; invalid or malformed data lowers it; at `banScore` the peer is dropped. */
  readonly score: number;
  /** The peer's head as it last said (STATUS or BLOCKCHAIN). */
  readonly height: number;
  readonly head: string | null;
  /** The key the peer forges with, if it holds one. */
  readonly forgerKey: string | null;
  /** Last measured round-trip time (ms). */
  readonly rttMs: number | null;
}

/** A sync in progress. */
export interface SyncProgress {
  readonly peer: PeerId;
  /** The height the candidate chain forks from ours (its first block is this + 1). */
  readonly forkHeight: number;
  /** The peer's head height. */
  readonly targetHeight: number;
  /** Height validated so far on the candidate chain. */
  readonly validatedHeight: number;
}

/** Who must forge next, and whether the chain is waiting on them. */
export interface WaitingFor {
  readonly forger: string;
  /** This node holds the forger's key. */
  readonly isMe: boolean;
  /** This node, or a connected peer, holds the forger's key. */
  readonly online: boolean;
  /** Pending transactions have waited longer than `stallAfterMs` for a block. */
  readonly stalled: boolean;
  /** The oldest pending transaction's arrival (ms), or null with an empty pool. */
  readonly pendingSince: number | null;
}

/** Two different valid blocks signed by one forger at one height; the first seen is kept. */
export interface Equivocation {
  readonly forger: string;
  readonly height: number;
  readonly keptHash: string;
  readonly otherBlock: Block;
  readonly seenAt: number;
}

/** Everything the UI reads, as one immutable value replaced on every change. */
export interface NodeSnapshot {
  readonly nodeId: PeerId;
  readonly running: boolean;
  readonly height: number;
  readonly headHash: string;
  readonly head: Block;
  readonly state: ChainState;
  readonly nextForger: string;
  readonly waitingFor: WaitingFor;
  readonly pool: readonly PoolEntry[];
  readonly peers: readonly PeerView[];
  readonly sync: SyncProgress | null;
  readonly equivocations: readonly Equivocation[];
  readonly wallet: { readonly publicKeyPem: string; readonly extractable: boolean } | null;
  readonly transport: TransportStatus;
  /** Messages for the user (storage trouble, a repaired store). */
  readonly notices: readonly string[];
}

/** Why a local transaction was not accepted. */
export type SubmitError =
  | ChainError
  | { readonly code: 'POOL_FULL' | 'DUPLICATE_TX' | 'NOT_RUNNING'; readonly message: string };

/** The outcome of submitting a transaction. */
export type SubmitResult = { readonly ok: true } | { readonly ok: false; readonly error: SubmitError };

/** Penalties, in score points. A malformed or invalid message costs a ban outright. */
const PENALTY = { malformed: 100, invalid: 100, timeout: 20, unsolicited: 5 } as const;

/** Peer ids remembered for dialling, at most. */
const MAX_KNOWN_PEERS = 256;

/** Pending transactions gossiped again per heartbeat, at most. */
const REGOSSIP_PER_HEARTBEAT = 64;

interface PeerRecord {
  score: number;
  height: number;
  head: string | null;
  forgerKey: string | null;
  rttMs: number | null;
  pingSentAt: Map<number, number>;
}

interface SyncRun {
  readonly peer: PeerId;
  /** Next height to validate (the next reply must start here). */
  from: number;
  /** Highest `from` asked for so far (one request runs ahead while a chunk is validated). */
  requested: number;
  /** How far back to step when the reply does not link to our chain. */
  stepBack: number;
  linked: boolean;
  forkHeight: number;
  target: number;
  candidate: Block[];
  candidateStates: ChainState[];
  candidateHashes: string[];
  cancelTimer: () => void;
}

/** A running tabchain node. */
export class TabchainNode {
  private readonly transport: Transport;
  private readonly crypto: CryptoProvider;
  private readonly clock: Clock;
  private readonly random: () => number;
  private store: Store | null;
  private readonly limits: NodeLimits;
  private readonly log: (event: NodeLogEvent) => void;

  private readonly chain: ChainView;
  private readonly pool: TransactionPool;
  private readonly verified: VerifiedSignatureCache;
  private readonly peers = new Map<PeerId, PeerRecord>();
  private readonly banned = new Set<PeerId>();
  private readonly knownPeers = new Set<PeerId>();
  private readonly seenBlocks = new Set<string>();
  /** `peer:from` of BLOCKCHAINREQUESTs sent and not yet answered. */
  private readonly expectedReplies = new Set<string>();
  private readonly equivocations: Equivocation[] = [];
  private readonly notices: string[] = [];
  private wallet: KeyPair | null;
  private sync: SyncRun | null = null;
  private headSince: number;
  private nextNonce = 1;
  private poolDirty = false;

  private running = false;
  private queue: Promise<void> = Promise.resolve();
  private pending = 0;
  private readonly timers: (() => void)[] = [];
  private readonly listeners = new Set<() => void>();
  private snapshot: NodeSnapshot | null = null;
  private notifyScheduled = false;

  /** Builds a node; nothing happens until `start`. */
  constructor(options: NodeOptions) {
    this.transport = options.transport;
    this.crypto = options.crypto;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.store = options.store ?? null;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.log = options.log ?? (() => {});
    this.chain = new ChainView(options.genesis);
    this.pool = new TransactionPool(this.limits.poolMax, this.limits.poolTtlMs);
    this.verified = new VerifiedSignatureCache(this.limits.verifiedCacheSize);
    this.wallet = options.wallet ?? null;
    this.headSince = this.clock.now();
  }

  // ---------------------------------------------------------------- lifecycle

  /** Restores from the store, starts the transport and the timers. `signal` stops the node. */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.running) return;
    if (this.store) await this.restore();
    this.running = true;
    // The restored chain and pool are usable at once: timers run, the UI is told, and a restored
    // pool may be forged, all before the transport has reached its signaling server (which may
    // take a while, or never happen on a lone tab).
    this.every(this.limits.heartbeatMs, () => this.heartbeat());
    this.every(this.limits.discoveryMs, () => this.discover());
    signal?.addEventListener('abort', () => void this.stop(), { once: true });
    this.changed();
    void this.enqueue(() => this.maybeForge());
    await this.transport.start(
      {
        onPeerConnected: (peer) => this.enqueue(() => this.onPeerConnected(peer)),
        onPeerDisconnected: (peer) => this.enqueue(() => this.onPeerDisconnected(peer)),
        onMessage: (peer, data) => this.enqueue(() => this.onMessage(peer, data)),
        onPeersDiscovered: (ids) => this.enqueue(() => this.learnPeers(ids)),
      },
      signal,
    );
    this.changed();
  }

  /** Stops timers and the transport, waits for queued work, and closes the store. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const cancel of this.timers.splice(0)) cancel();
    this.sync?.cancelTimer();
    this.sync = null;
    await this.transport.stop();
    await this.whenIdle();
    await this.store?.close();
    this.changed();
  }

  /** Resolves once every queued message and command has been handled. */
  async whenIdle(): Promise<void> {
    while (this.pending > 0) await this.queue;
  }

  // ---------------------------------------------------------------- observable state

  /** The current snapshot; the same object until something changes (for useSyncExternalStore). */
  getSnapshot(): NodeSnapshot {
    if (this.snapshot) return this.snapshot;
    const state = this.chain.headState;
    const nextForger = nextForgerOf(state);
    const poolEntries = this.pool.list();
    const pendingSince = poolEntries.length === 0 ? null : Math.min(...poolEntries.map((e) => e.receivedAt));
    const isMe = this.wallet?.publicKeyPem === nextForger;
    const peers = [...this.peers.entries()].map(
      ([id, p]): PeerView => ({
        id,
        score: p.score,
        height: p.height,
        head: p.head,
        forgerKey: p.forgerKey,
        rttMs: p.rttMs,
      }),
    );
    const now = this.clock.now();
    this.snapshot = Object.freeze({
      nodeId: this.transport.localId,
      running: this.running,
      height: this.chain.height,
      headHash: this.chain.headHash,
      head: this.chain.head,
      state,
      nextForger,
      waitingFor: {
        forger: nextForger,
        isMe,
        online: isMe || peers.some((p) => p.forgerKey === nextForger),
        stalled:
          pendingSince !== null && now - Math.max(pendingSince, this.headSince) > this.limits.stallAfterMs,
        pendingSince,
      },
      pool: poolEntries,
      peers,
      sync: this.sync
        ? {
            peer: this.sync.peer,
            forkHeight: this.sync.forkHeight,
            targetHeight: this.sync.target,
            validatedHeight: this.sync.forkHeight + this.sync.candidate.length,
          }
        : null,
      equivocations: [...this.equivocations],
      wallet: this.wallet
        ? { publicKeyPem: this.wallet.publicKeyPem, extractable: this.wallet.extractable }
        : null,
      transport: this.transport.status(),
      notices: [...this.notices],
    });
    return this.snapshot;
  }

  /** Calls `listener` after every change; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The block at `height` on this node's chain. */
  blockAt(height: number): Block | undefined {
    return this.chain.blockAt(height);
  }

  /** The hash of the block at `height`. */
  hashAt(height: number): string | undefined {
    return this.chain.hashAt(height);
  }

  /** Height of the block with this hash, if on this chain. */
  heightOf(hash: string): number | undefined {
    return this.chain.heightOf(hash);
  }

  /** A transaction on chain, with its block height. */
  findTransaction(id: string): { transaction: Transaction; height: number } | undefined {
    return this.chain.findTransaction(id);
  }

  /** The state after block `height` (balances and stakes then). */
  stateAt(height: number): ChainState {
    return this.chain.stateAt(Math.max(0, Math.min(height, this.chain.height)));
  }

  /** Blocks `from`..`to` inclusive. */
  blocks(from: number, to: number): Block[] {
    return this.chain.range(from, to);
  }

  /** The chain in the reference's `GET /blockchain` shape. */
  exportChain(): ChainJSON {
    return { blocks: [...this.chain.allBlocks()] };
  }

  /** The lottery over the head: the winning lot and each staker's lot count, for the explorer. */
  lotteryAt(height: number): ReturnType<typeof runLottery> {
    const state = this.stateAt(height);
    return runLottery(stakeEntries(state), state.headHash);
  }

  // ---------------------------------------------------------------- commands

  /** Validates a local transaction, pools it and gossips it. */
  submitTransaction(transaction: Transaction): Promise<SubmitResult> {
    return this.enqueue(async () => {
      if (!this.running)
        return { ok: false, error: { code: 'NOT_RUNNING', message: 'the node is not running' } };
      // A local sender gets told at once when the head cannot cover it (the pool would hold it).
      if (transaction.type !== 'EXCHANGE') {
        const balance = this.chain.headState.balances.get(transaction.senderPublicKey, 0);
        const pendingSpend = this.pool
          .list()
          .filter(
            (e) =>
              e.transaction.senderPublicKey === transaction.senderPublicKey &&
              e.transaction.type !== 'EXCHANGE',
          )
          .reduce((sum, e) => sum + e.transaction.amount, 0);
        if (balance - pendingSpend < transaction.amount) {
          return {
            ok: false,
            error: {
              code: 'INSUFFICIENT_BALANCE',
              txIndex: 0,
              txId: transaction.id,
              message: `the sender holds ${balance - pendingSpend} (after pending transactions), needs ${transaction.amount}`,
            },
          };
        }
      }
      return this.admitTransaction(transaction, null);
    });
  }

  /**
   * The key pair this node forges with (set, or restored from the store), for this tab's own
   * signing: its private key is a CryptoKey that stays non-extractable unless it was imported
   * or created exportable.
   */
  walletKeyPair(): KeyPair | null {
    return this.wallet;
  }

  /** Sets (or forgets) the wallet this node forges with. */
  setWallet(wallet: KeyPair | null): Promise<void> {
    return this.enqueue(async () => {
      this.wallet = wallet;
      await this.persist(() => this.store?.saveWallet(wallet && { ...wallet }));
      this.broadcast(this.statusMessage());
      this.changed();
      await this.maybeForge();
    });
  }

  /**
   * Validates an imported chain (the reference's JSON shape) and adopts it if it is valid and
   * longer than ours. Returns what validation found: the first invalid block, if any.
   */
  importChain(blocks: readonly unknown[]): Promise<{
    adopted: boolean;
    validHeight: number;
    firstInvalidBlock: number | null;
    error: ChainError | null;
  }> {
    return this.enqueue(async () => {
      const result = await validateChain(blocks, this.chain.config, this.crypto, { cache: this.verified });
      const validHeight = result.height - 1;
      let adopted = false;
      if (validHeight > this.chain.height) {
        await this.adopt(0, result.validBlocks.slice(1), result.validStates.slice(1));
        adopted = true;
      }
      return { adopted, validHeight, firstInvalidBlock: result.firstInvalid, error: result.error };
    });
  }

  // ---------------------------------------------------------------- the queue

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    this.pending++;
    const run = this.queue.then(task);
    this.queue = run.then(
      () => this.afterTask(),
      (error: unknown) => {
        // A bug must not wedge the node: log it and keep serving.
        this.log({
          kind: 'error',
          message: error instanceof Error ? (error.stack ?? error.message) : String(error),
        });
        return this.afterTask();
      },
    );
    return run;
  }

  private async afterTask(): Promise<void> {
    this.pending--;
    if (this.poolDirty) {
      this.poolDirty = false;
      await this.persist(() => this.store?.savePool(this.pool.list()));
    }
  }

  /** Runs `task` through the queue every `ms` until the node stops. */
  private every(ms: number, task: () => Promise<void>): void {
    let cancel = () => {};
    const tick = () => {
      if (!this.running) return;
      void this.enqueue(task);
      cancel = this.clock.setTimeout(tick, ms);
    };
    cancel = this.clock.setTimeout(tick, ms);
    this.timers.push(() => cancel());
  }

  private changed(): void {
    this.snapshot = null;
    if (this.notifyScheduled) return;
    this.notifyScheduled = true;
    queueMicrotask(() => {
      this.notifyScheduled = false;
      for (const listener of this.listeners) listener();
    });
  }

  // ---------------------------------------------------------------- peers

  private async onPeerConnected(peer: PeerId): Promise<void> {
    if (this.banned.has(peer)) {
      this.transport.disconnect(peer);
      return;
    }
    this.knownPeers.add(peer);
    this.peers.set(peer, {
      score: 0,
      height: 0,
      head: null,
      forgerKey: null,
      rttMs: null,
      pingSentAt: new Map(),
    });
    this.sendTo(peer, this.statusMessage());
    this.sendTo(peer, this.discoveryMessage());
    this.changed();
  }

  private async onPeerDisconnected(peer: PeerId): Promise<void> {
    this.peers.delete(peer);
    for (const key of this.expectedReplies) if (key.startsWith(`${peer}:`)) this.expectedReplies.delete(key);
    if (this.sync?.peer === peer) this.endSync('the peer left');
    this.changed();
  }

  private async learnPeers(ids: readonly PeerId[]): Promise<void> {
    for (const id of ids) {
      if (id === this.transport.localId || this.banned.has(id) || this.knownPeers.has(id)) continue;
      // Bounded: a peer could announce endless made-up ids; the oldest unconnected ones go first.
      if (this.knownPeers.size >= MAX_KNOWN_PEERS) {
        const stale = [...this.knownPeers].find((known) => !this.peers.has(known));
        if (stale === undefined) break;
        this.knownPeers.delete(stale);
      }
      this.knownPeers.add(id);
    }
    this.dialMore();
  }

  /** Dials known peers we have no channel with, up to the peer cap (peer exchange). */
  private dialMore(): void {
    const candidates = [...this.knownPeers].filter(
      (id) => !this.peers.has(id) && !this.banned.has(id) && id !== this.transport.localId,
    );
    let free = this.limits.maxPeers - this.peers.size;
    while (free > 0 && candidates.length > 0) {
      const [id] = candidates.splice(Math.floor(this.random() * candidates.length), 1);
      if (id !== undefined) this.transport.connect(id);
      free--;
    }
  }

  private penalize(peer: PeerId, points: number, reason: string): void {
    const record = this.peers.get(peer);
    this.log({ kind: 'penalty', peer, message: `${reason} (-${points})` });
    const score = (record?.score ?? 0) - points;
    if (record) record.score = score;
    if (score <= this.limits.banScore) {
      this.banned.add(peer);
      this.knownPeers.delete(peer);
      this.peers.delete(peer);
      if (this.sync?.peer === peer) this.endSync('the peer was banned');
      this.transport.disconnect(peer);
      this.log({ kind: 'ban', peer, message: `dropped: ${reason}` });
    }
    this.changed();
  }

  private sendTo(peer: PeerId, data: string): void {
    this.transport.send(peer, data);
  }

  private broadcast(data: string, except?: PeerId): void {
    for (const peer of this.peers.keys()) if (peer !== except) this.transport.send(peer, data);
  }

  private statusMessage(): string {
    return encodeMessage({
      type: 'STATUS',
      height: this.chain.height,
      head: this.chain.headHash,
      forgerKey: this.wallet?.publicKeyPem ?? null,
    });
  }

  private discoveryMessage(): string {
    const peers = [...this.peers.keys()].slice(0, MAX_DISCOVERY_PEERS - 1);
    return encodeMessage({ type: 'DISCOVERY', peers: [this.transport.localId, ...peers] });
  }

  private async heartbeat(): Promise<void> {
    const now = this.clock.now();
    for (const [peer, record] of this.peers) {
      const nonce = this.nextNonce++;
      record.pingSentAt.set(nonce, now);
      // Unanswered pings are forgotten after a few rounds.
      for (const old of record.pingSentAt.keys()) if (old < nonce - 4) record.pingSentAt.delete(old);
      this.sendTo(peer, encodeMessage({ type: 'PING', nonce }));
    }
    this.broadcast(this.statusMessage());
    if (this.pool.expire(now).length > 0) this.poolDirty = true;
    this.regossipPending(now);
    this.maybeSync();
    this.changed();
  }

  /**
   * Gossips again the transactions that have waited more than two heartbeats: a message lost on
   * the way to the forger would otherwise leave a transaction pending forever. Receivers drop
   * what they already hold, so this costs bandwidth only.
   */
  private regossipPending(now: number): void {
    let sent = 0;
    for (const { transaction, receivedAt } of this.pool.list()) {
      if (sent >= REGOSSIP_PER_HEARTBEAT) break;
      if (now - receivedAt < 2 * this.limits.heartbeatMs) continue;
      this.broadcast(encodeMessage({ type: 'TRANSACTION', transaction }));
      sent++;
    }
  }

  private async discover(): Promise<void> {
    this.broadcast(this.discoveryMessage());
    this.dialMore();
  }

  // ---------------------------------------------------------------- messages

  private async onMessage(peer: PeerId, data: string): Promise<void> {
    if (this.banned.has(peer) || !this.peers.has(peer)) return;
    const decoded = decodeMessage(data);
    if (!decoded.ok) {
      this.penalize(peer, PENALTY.malformed, decoded.error.message);
      return;
    }
    const message = decoded.value;
    switch (message.type) {
      case 'STATUS':
        return this.onStatus(peer, message);
      case 'DISCOVERY':
        return this.learnPeers(message.peers);
      case 'TRANSACTION': {
        const tx = decodeTransaction(message.transaction);
        if (!tx.ok) return this.penalize(peer, PENALTY.malformed, tx.error.message);
        await this.admitTransaction(tx.value, peer);
        return;
      }
      case 'BLOCK':
        return this.onBlock(peer, message.block);
      case 'BLOCKCHAINREQUEST':
        return this.onBlockchainRequest(peer, message.from, message.count);
      case 'BLOCKCHAIN':
        return this.onBlockchain(peer, message);
      case 'PING':
        this.sendTo(peer, encodeMessage({ type: 'PONG', nonce: message.nonce }));
        return;
      case 'PONG': {
        const record = this.peers.get(peer);
        const sentAt = record?.pingSentAt.get(message.nonce);
        if (record && sentAt !== undefined) {
          record.pingSentAt.delete(message.nonce);
          record.rttMs = this.clock.now() - sentAt;
          this.changed();
        }
        return;
      }
    }
  }

  private async onStatus(peer: PeerId, message: Extract<WireMessage, { type: 'STATUS' }>): Promise<void> {
    const record = this.peers.get(peer);
    if (!record) return;
    record.height = message.height;
    record.head = message.head;
    record.forgerKey = message.forgerKey;
    this.changed();
    this.maybeSync();
  }

  /** Pools a transaction that passes every check, then gossips it once. */
  private async admitTransaction(tx: Transaction, from: PeerId | null): Promise<SubmitResult> {
    if (this.pool.has(tx.id) || this.chain.headState.txIds.has(tx.id)) {
      return { ok: false, error: { code: 'DUPLICATE_TX', message: `transaction ${tx.id} is already known` } };
    }
    const ruleError = checkTransactionRules(tx);
    if (ruleError) {
      if (from) this.penalize(from, PENALTY.invalid, ruleError.message);
      return { ok: false, error: ruleError };
    }
    const key = verifiedKey(tx);
    if (!this.verified.has(tx.id, key)) {
      if (!(await verifyTransactionSignature(tx, this.crypto))) {
        const error: ChainError = {
          code: 'BAD_TX_SIGNATURE',
          txIndex: 0,
          txId: tx.id,
          message: `transaction ${tx.id}: signature does not verify`,
        };
        if (from) this.penalize(from, PENALTY.invalid, error.message);
        return { ok: false, error };
      }
      this.verified.add(tx.id, key);
    }
    const added = this.pool.add(tx, this.clock.now());
    if (added === 'full')
      return { ok: false, error: { code: 'POOL_FULL', message: 'the transaction pool is full' } };
    if (added === 'duplicate')
      return { ok: false, error: { code: 'DUPLICATE_TX', message: 'already pooled' } };
    this.poolDirty = true;
    this.broadcast(encodeMessage({ type: 'TRANSACTION', transaction: tx }), from ?? undefined);
    this.changed();
    await this.maybeForge();
    return { ok: true };
  }

  private async onBlock(peer: PeerId, raw: unknown): Promise<void> {
    const decoded = decodeBlock(raw);
    if (!decoded.ok) return this.penalize(peer, PENALTY.malformed, decoded.error.message);
    const block = decoded.value;
    // The forger's signature is deterministic over the payload: it identifies the block as
    // well as its hash does, without hashing a possibly large block first.
    const seenKey = `${block.blockCount}:${block.signature}`;
    if (this.seenBlocks.has(seenKey)) return;
    this.rememberSeen(seenKey);
    const record = this.peers.get(peer);
    if (record && block.blockCount > record.height) record.height = block.blockCount;

    if (block.blockCount === this.chain.height + 1 && block.lastHash === this.chain.headHash) {
      const result = await validateBlock(this.chain.headState, block, this.crypto, this.verified);
      if (!result.ok) {
        // The block builds on our head, so every rule is judged on the same state the forger
        // had: an honest peer never relays such a block.
        return this.penalize(
          peer,
          PENALTY.invalid,
          `invalid block ${block.blockCount}: ${result.error.message}`,
        );
      }
      await this.appendValidated([block], [result.value]);
      this.broadcast(encodeMessage({ type: 'BLOCK', block }), peer);
      await this.maybeForge();
      return;
    }
    if (block.blockCount > this.chain.height) {
      // A block from the future, or a longer fork: fetch the peer's chain.
      this.maybeSync();
      return;
    }
    await this.checkEquivocation(block);
  }

  private rememberSeen(key: string): void {
    if (this.seenBlocks.size >= 4096) {
      const oldest = this.seenBlocks.values().next();
      if (!oldest.done) this.seenBlocks.delete(oldest.value);
    }
    this.seenBlocks.add(key);
  }

  /** A second, different block by the same forger at a height we already hold. */
  private async checkEquivocation(block: Block): Promise<void> {
    const ours = this.chain.blockAt(block.blockCount);
    if (!ours || ours.forger !== block.forger || ours.signature === block.signature || block.blockCount === 0)
      return;
    if (this.equivocations.some((e) => e.height === block.blockCount && e.forger === block.forger)) return;
    const signed = await this.crypto.verify(block.forger, blockSigningBytes(block), block.signature);
    if (!signed) return; // not evidence: anyone can make an unsigned copy
    this.recordEquivocation(block, this.chain.hashAt(block.blockCount) as string);
  }

  private recordEquivocation(otherBlock: Block, keptHash: string): void {
    const { forger, blockCount: height } = otherBlock;
    if (this.equivocations.some((e) => e.height === height && e.forger === forger)) return;
    this.equivocations.push({ forger, height, keptHash, otherBlock, seenAt: this.clock.now() });
    this.log({ kind: 'equivocation', message: `forger signed two blocks at height ${height}` });
    this.changed();
  }

  // ---------------------------------------------------------------- forging

  /**
   * Forges when this node holds the next forger's key and the pool holds a transaction the
   * head can cover (the reference forges as soon as the pool holds one transaction).
   */
  private async maybeForge(): Promise<void> {
    while (this.running && this.wallet && this.pool.size > 0 && !this.sync) {
      const state = this.chain.headState;
      if (nextForgerOf(state) !== this.wallet.publicKeyPem) return;
      const chosen: Transaction[] = [];
      let running: Pick<ChainState, 'balances' | 'stakes' | 'txIds'> = state;
      for (const { transaction } of this.pool.list()) {
        if (chosen.length >= this.limits.maxBlockTransactions) break;
        // Take each transaction the state so far covers; leave the rest pooled for later.
        const applied = applyTransactions({ ...state, ...running }, [transaction]);
        if (!applied.ok) continue;
        running = applied.value;
        chosen.push(transaction);
      }
      if (chosen.length === 0) return;
      const unsigned = createBlock(
        chosen,
        state.headHash,
        this.wallet.publicKeyPem,
        state.height + 1,
        transactionTimestamp(this.clock.now()),
      );
      const block = withBlockSignature(
        unsigned,
        await this.crypto.sign(this.wallet, blockSigningBytes(unsigned)),
      );
      // Our own block still goes through full validation: cheap (its transactions are cached
      // as verified) and it guards against a pool bug forging an invalid block.
      const result = await validateBlock(state, block, this.crypto, this.verified);
      if (!result.ok) {
        this.log({ kind: 'error', message: `forged an invalid block: ${result.error.message}` });
        return;
      }
      this.rememberSeen(`${block.blockCount}:${block.signature}`);
      await this.appendValidated([block], [result.value]);
      this.log({
        kind: 'forge',
        message: `forged block ${block.blockCount} with ${chosen.length} transactions`,
      });
      this.broadcast(encodeMessage({ type: 'BLOCK', block }));
    }
  }

  // ---------------------------------------------------------------- chain changes

  private async appendValidated(blocks: readonly Block[], states: readonly ChainState[]): Promise<void> {
    const stored = blocks.map((block, i) => ({
      height: block.blockCount,
      hash: (states[i] as ChainState).headHash,
      block,
    }));
    for (const [i, block] of blocks.entries()) {
      const state = states[i] as ChainState;
      this.chain.append(block, state.headHash, state);
      this.pool.remove(block.transactions.map((tx) => tx.id));
    }
    this.poolDirty = true;
    this.headSince = this.clock.now();
    await this.persist(() => this.store?.appendBlocks(stored, headRecord(this.chain.headState)));
    this.changed();
  }

  /**
   * Switches to a longer valid chain that forks after `forkHeight`: the orphaned blocks'
   * transactions that the new chain does not hold go back to the pool.
   */
  private async adopt(
    forkHeight: number,
    blocks: readonly Block[],
    states: readonly ChainState[],
  ): Promise<void> {
    const orphaned = this.chain.truncate(forkHeight);
    for (const [i, block] of blocks.entries()) {
      const state = states[i] as ChainState;
      this.chain.append(block, state.headHash, state);
      this.pool.remove(block.transactions.map((tx) => tx.id));
    }
    const head = this.chain.headState;
    for (const old of orphaned) {
      // One forger, one height, two validly signed blocks: the orphan and its replacement.
      const replacement = this.chain.blockAt(old.blockCount);
      if (replacement && replacement.forger === old.forger && replacement.signature !== old.signature) {
        this.recordEquivocation(old, this.chain.hashAt(old.blockCount) as string);
      }
    }
    let returned = 0;
    for (const block of orphaned) {
      for (const tx of block.transactions) {
        // Orphaned transactions were verified when their block arrived; only replays are dropped.
        if (!head.txIds.has(tx.id) && this.pool.add(tx, this.clock.now()) === 'added') returned++;
      }
    }
    if (orphaned.length > 0) {
      this.log({
        kind: 'reorg',
        message: `reorg at ${forkHeight}: ${orphaned.length} blocks orphaned, ${returned} transactions back in the pool`,
      });
    }
    this.poolDirty = true;
    this.headSince = this.clock.now();
    const stored = blocks.map((block, i) => ({
      height: block.blockCount,
      hash: (states[i] as ChainState).headHash,
      block,
    }));
    await this.persist(() =>
      orphaned.length > 0
        ? this.store?.replaceBlocks(forkHeight + 1, stored, headRecord(head))
        : this.store?.appendBlocks(stored, headRecord(head)),
    );
    this.broadcast(this.statusMessage());
    this.changed();
  }

  // ---------------------------------------------------------------- sync

  /** Starts a sync with the highest peer that is ahead of us, unless one runs. */
  private maybeSync(): void {
    if (this.sync || !this.running) return;
    let best: [PeerId, PeerRecord] | null = null;
    for (const entry of this.peers)
      if (entry[1].height > (best?.[1].height ?? this.chain.height)) best = entry;
    if (!best) return;
    const [peer, record] = best;
    const from = this.chain.height + 1;
    this.sync = {
      peer,
      from,
      requested: 0,
      stepBack: this.limits.syncChunk,
      linked: false,
      forkHeight: this.chain.height,
      target: record.height,
      candidate: [],
      candidateStates: [],
      candidateHashes: [],
      cancelTimer: () => {},
    };
    this.log({ kind: 'sync', peer, message: `syncing from ${from} towards ${record.height}` });
    this.requestChunk(from);
    this.changed();
  }

  /** Asks the sync peer for the blocks from `from` on, and arms the reply timeout. */
  private requestChunk(from: number): void {
    const sync = this.sync;
    if (!sync) return;
    sync.requested = Math.max(sync.requested, from);
    this.expectedReplies.add(`${sync.peer}:${from}`);
    this.sendTo(
      sync.peer,
      encodeMessage({
        type: 'BLOCKCHAINREQUEST',
        from,
        count: Math.min(this.limits.syncChunk, MAX_BLOCKS_PER_MESSAGE),
      }),
    );
    this.armSyncTimer(sync);
  }

  private armSyncTimer(sync: SyncRun): void {
    sync.cancelTimer();
    sync.cancelTimer = this.clock.setTimeout(() => {
      void this.enqueue(async () => {
        if (this.sync !== sync) return;
        this.penalize(sync.peer, PENALTY.timeout, 'sync request timed out');
        this.endSync('timeout');
      });
    }, this.limits.syncTimeoutMs);
  }

  private endSync(reason: string): void {
    if (!this.sync) return;
    this.sync.cancelTimer();
    this.log({ kind: 'sync', peer: this.sync.peer, message: `sync ended: ${reason}` });
    this.sync = null;
    this.changed();
  }

  private async onBlockchainRequest(peer: PeerId, from: number, count: number): Promise<void> {
    const blocks = this.chain.range(from, from + Math.min(count, MAX_BLOCKS_PER_MESSAGE) - 1);
    this.sendTo(
      peer,
      encodeMessage({
        type: 'BLOCKCHAIN',
        from,
        blocks,
        height: this.chain.height,
        head: this.chain.headHash,
      }),
    );
  }

  private async onBlockchain(
    peer: PeerId,
    message: Extract<WireMessage, { type: 'BLOCKCHAIN' }>,
  ): Promise<void> {
    const sync = this.sync;
    const record = this.peers.get(peer);
    if (record) {
      record.height = message.height;
      record.head = message.head;
    }
    // A reply we asked for but no longer need (the sync ended or moved on) is not the peer's fault.
    const expected = this.expectedReplies.delete(`${peer}:${message.from}`);
    if (!sync || sync.peer !== peer || message.from !== sync.from) {
      if (!expected) this.penalize(peer, PENALTY.unsolicited, 'unsolicited BLOCKCHAIN');
      return;
    }
    sync.cancelTimer();
    sync.target = message.height;
    if (message.blocks.length === 0) return this.finishSync();

    if (!sync.linked) {
      const first = decodeBlock(message.blocks[0]);
      if (!first.ok) {
        this.penalize(peer, PENALTY.malformed, first.error.message);
        return this.endSync('malformed block');
      }
      const parentHeight = sync.from - 1;
      if (first.value.blockCount === sync.from && first.value.lastHash === this.chain.hashAt(parentHeight)) {
        sync.linked = true;
        sync.forkHeight = parentHeight;
      } else if (parentHeight === 0) {
        // Nothing links to our genesis block: the peer's chain is another network's, or forged.
        this.penalize(peer, PENALTY.invalid, 'its chain does not link to genesis');
        return this.endSync('no common ancestor');
      } else {
        // The peer's chain forks below `from`: step back, further each time, to find where.
        sync.from = Math.max(1, sync.from - sync.stepBack);
        sync.stepBack *= 2;
        this.requestChunk(sync.from);
        return;
      }
    }
    // Linked: ask for the next chunk now, so the peer serves it while this one is validated.
    const next = sync.from + message.blocks.length;
    if (next <= sync.target && sync.requested < next) this.requestChunk(next);

    const base = sync.candidateStates[sync.candidateStates.length - 1] ?? this.chain.stateAt(sync.forkHeight);
    const result = await extendChain(base, message.blocks, this.crypto, { cache: this.verified });
    if (this.sync !== sync) return; // ended while validating
    sync.candidate.push(...result.validBlocks);
    sync.candidateStates.push(...result.validStates);
    this.changed();
    if (result.error) {
      this.penalize(
        peer,
        PENALTY.invalid,
        `invalid chain at block ${sync.from + (result.firstInvalid ?? 0)}: ${result.error.message}`,
      );
      // The valid prefix still counts: the longest valid chain wins.
      return this.finishSync();
    }
    sync.from = next;
    // Switch as soon as the validated candidate is longer than our chain, and from then on
    // append each validated chunk: a long sync shows progress on the head, and a tab closed
    // mid-sync keeps what it had validated (each chunk is one atomic store write).
    await this.adoptCandidate(sync);
    if (this.sync !== sync) return;
    if (sync.from > sync.target) return this.finishSync();
    if (sync.requested < sync.from) this.requestChunk(sync.from);
    else this.armSyncTimer(sync);
  }

  /**
   * Adopts the validated candidate of `sync` if it is longer than our chain; afterwards the
   * candidate is empty and forks from our new head, so later chunks simply extend it.
   */
  private async adoptCandidate(sync: SyncRun): Promise<void> {
    const candidateHeight = sync.forkHeight + sync.candidate.length;
    if (candidateHeight <= this.chain.height) return;
    // Blocks we already hold (gossip may have brought them while the sync ran) are not a fork.
    let forkHeight = sync.forkHeight;
    let skip = 0;
    while (
      skip < sync.candidate.length &&
      this.chain.hashAt(forkHeight + 1) === sync.candidateStates[skip]?.headHash
    ) {
      forkHeight++;
      skip++;
    }
    await this.adopt(forkHeight, sync.candidate.slice(skip), sync.candidateStates.slice(skip));
    this.log({ kind: 'sync', peer: sync.peer, message: `adopted the chain up to ${candidateHeight}` });
    sync.forkHeight = this.chain.height;
    sync.candidate = [];
    sync.candidateStates = [];
  }

  private async finishSync(): Promise<void> {
    const sync = this.sync;
    if (!sync) return;
    this.sync = null;
    sync.cancelTimer();
    await this.adoptCandidate(sync);
    this.changed();
    this.maybeSync();
    await this.maybeForge();
  }

  // ---------------------------------------------------------------- storage

  private async restore(): Promise<void> {
    const store = this.store;
    if (!store) return;
    try {
      const stored = await store.load();
      this.notices.push(...stored.notices);
      const head: ChainState | null = stored.head
        ? {
            height: stored.head.height,
            headHash: stored.head.hash,
            balances: ImmutableMap(
              stored.head.balances.map(([key, value]): [string, number] => [key, value]),
            ),
            stakes: OrderedMap(stored.head.stakes.map(([key, value]): [string, number] => [key, value])),
            txIds: ImmutableSet(),
          }
        : null;
      this.chain.restore(stored.blocks, head);
      for (const entry of stored.pool) {
        if (!this.chain.headState.txIds.has(entry.transaction.id))
          this.pool.add(entry.transaction, entry.receivedAt);
      }
      if (stored.wallet && !this.wallet) this.wallet = { ...stored.wallet };
    } catch (error) {
      this.storageFailed(error);
    }
  }

  /** Runs a store write; on failure keeps running from memory and tells the user. */
  private async persist(write: () => Promise<void> | undefined): Promise<void> {
    if (!this.store) return;
    try {
      await write();
    } catch (error) {
      this.storageFailed(error);
    }
  }

  private storageFailed(error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error);
    this.notices.push(
      `Storage failed (${reason}): this tab keeps running from memory and will not survive a reload.`,
    );
    this.log({ kind: 'store', message: reason });
    this.store = null;
    this.changed();
  }
}

/** The head state as the store keeps it. */
function headRecord(state: ChainState): HeadRecord {
  return {
    height: state.height,
    hash: state.headHash,
    balances: [...state.balances.entries()],
    stakes: [...state.stakes.entries()],
  };
}
