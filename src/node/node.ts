import { blockSigningBytes } from '../core/block';
import { networkIdOf, profileOf } from '../core/config';
import { decodeBlock } from '../core/decode';
import type { ChainError } from '../core/errors';
import { type LotteryResult, type LotteryRunner, runLotteryAtOnce } from '../core/lottery';
import { forgingTurn } from '../core/resilient/head';
import { type ChainState, nextForgerOf, stakeEntries } from '../core/state';
import type { Block, ChainJSON, ConsensusProfile, GenesisConfig, Transaction } from '../core/types';
import { extendChain, validateBlock, validateChain } from '../core/validate';
import type { CryptoProvider, KeyPair } from '../crypto/types';
import { type Clock, systemClock } from '../ports/clock';
import {
  type AccountTxRecord,
  type AggregateRange,
  accountTxRecords,
  type HistoryQuery,
  MAX_MY_TRANSACTIONS,
  type MyTransactionRecord,
  type Store,
} from '../ports/store';
import type { PeerId, Transport, TransportStatus } from '../ports/transport';
import { admitTransaction, blockSeenKey, NEVER_COVERED_PENALTY, type SubmitResult } from './admission';
import { ChainView } from './chain';
import { applyCommit, type CommitInput, planCommit } from './commit';
import { conflictsWith, EquivocationLog } from './equivocations';
import { chooseTransactions, forgeBlock } from './forge';
import { BlockGossip, extendTrail, pushCount, trailProblem } from './gossip';
import { PENALTY, PeerTable } from './peers';
import { GuardedStore, RECENT_BLOCKS, readAggregates, restoreChain, writeChainChange } from './persistence';
import { type PoolSource, TransactionPool, VerifiedSignatureCache } from './pool';
import { PropagationLog } from './propagation';
import {
  blockMessageEncoder,
  decodeMessage,
  encodeMessage,
  MAX_BLOCKS_PER_MESSAGE,
  MAX_DISCOVERY_PEERS,
  MAX_REFUSAL_CHARS,
  type Trail,
  type WireMessage,
} from './protocol';
import { PeerRateLimiter, RATE_LIMIT_PENALTY } from './rate-limit';
import { buildSnapshot } from './snapshot';
import { type SyncCommand, type SyncEvent, SyncMachine } from './sync';
import {
  forgingClaimBytes,
  signTakeover,
  TAKEOVER_RELEASE_MS,
  type TakeoverMessage,
  verifyTakeover,
} from './takeover';
import { TopologyMap } from './topology';
import {
  DEFAULT_LIMITS,
  type NodeLimits,
  type NodeLogEvent,
  type NodePhase,
  type NodeSnapshot,
} from './types';

export type { SubmitError, SubmitResult } from './admission';
export {
  DEFAULT_LIMITS,
  type Equivocation,
  type NodeLimits,
  type NodeLogEvent,
  type NodePhase,
  type NodeSnapshot,
  type PeerView,
  type SyncProgress,
  type WaitingFor,
} from './types';

/**
 * A full node: the reference's `Node`, `SocketCommunication` and `PeerDiscoveryHandler` in one
 * service over injected ports (transport, clock, store, crypto). Everything it does happens in
 * one serial queue (peer messages, local commands, timers), so the chain never sees two
 * changes at once and a seeded simulation replays exactly. The parts with state or rules of
 * their own live beside it (`peers.ts`, `sync.ts`, `commit.ts`, `forge.ts`,
 * `equivocations.ts`, `persistence.ts`, `snapshot.ts`); this class owns the queue, carries out
 * the sync machine's commands, and runs every chain change through `commit`.
 */

/** Pushed blocks awaiting their receiver's STATUS (see `pushedHops`): 16 blocks × 64 peers. */
const MAX_PUSHED_HOPS = 1024;

/** What a node is built from. */
export interface NodeOptions {
  readonly genesis: GenesisConfig;
  readonly transport: Transport;
  readonly crypto: CryptoProvider;
  readonly clock?: Clock;
  /** Uniform [0, 1); seeded in the simulator. Picks peers to dial and peers to push blocks to. */
  readonly random?: () => number;
  /** Where the chain, pool and wallet persist; none keeps everything in memory. */
  readonly store?: Store;
  readonly limits?: Partial<NodeLimits>;
  /** The wallet to forge with, if any. */
  readonly wallet?: KeyPair | null;
  /** Diagnostics (peer penalties, syncs, reorgs); silent by default. */
  readonly log?: (event: NodeLogEvent) => void;
  /**
   * Draws each new chain state's next forger (one hash per staked coin). Default: at once. A
   * browser page passes `slicedLotteryRunner`, so the draw never blocks the page.
   */
  readonly lottery?: LotteryRunner;
  /**
   * Whether the wallet may forge at start (default true). A browser tab starts with false and
   * allows it once it holds its key's forging lock (`setForging`).
   */
  readonly forging?: boolean;
  /**
   * Lets the page run between slices of long background work (a restored chain's index). Default:
   * no yield. A browser page passes `yieldThroughMessageChannel`.
   */
  readonly yieldToPage?: () => Promise<void>;
  /**
   * Called by validation between batches of work (the core's `pause` hook): a page passes a
   * pacer (`createPacer`) that yields once a slice used its budget. Default: never pauses.
   */
  readonly pause?: () => Promise<void> | undefined;
  /**
   * This is an always-on node (`npm run node`), not a browser tab: it says so in its STATUS, and
   * forges with its key even when a tab holds the same one (the tab yields to it; see
   * `forgingNow`). Default false.
   */
  readonly alwaysOn?: boolean;
}

/** `resilient`: blocks from the future held per peer, and in all (see `holdFutureBlock`). */
export const FUTURE_BLOCKS_PER_PEER = 4;
export const FUTURE_BLOCKS_HELD = 64;

/** A refused peer's channel stays open this long, so our REFUSED reaches it (ms). */
const REFUSAL_GRACE_MS = 1_000;

/** A peer id as a notice names it. */
const shortId = (peer: PeerId): string => (peer.length > 12 ? `${peer.slice(0, 12)}…` : peer);

/** Pending transactions gossiped again per heartbeat, at most. */
const REGOSSIP_PER_HEARTBEAT = 64;

/**
 * Where one of this node's user's transactions is: `landed` in block `height`; `pending` in the
 * pool; `returned` to the pool by a reorg that orphaned its block; `expired` or `evicted` from
 * the pool unmined; `dropped` when it is neither on chain nor pooled and the node saw no reason
 * (the pool did not survive a reload, say). The last three can be sent again.
 */
export type MyTransactionState = 'landed' | 'pending' | 'returned' | 'expired' | 'evicted' | 'dropped';

/** One of "my transactions" with its state. */
export interface MyTransaction extends MyTransactionRecord {
  readonly state: MyTransactionState;
  /** The block holding it, when `landed`. */
  readonly height: number | null;
}

/**
 * A lottery as the explorer shows it: the state it was drawn over and its result. On
 * `resilient` the result is null and the state's `resilient` head holds the ranking.
 */
export interface LotteryReading {
  readonly state: ChainState;
  readonly result: LotteryResult | null;
}

/** A running tabchain node. */
export class TabchainNode {
  private readonly transport: Transport;
  private readonly crypto: CryptoProvider;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly store: GuardedStore;
  private readonly limits: NodeLimits;
  private readonly log: (event: NodeLogEvent) => void;

  private readonly chain: ChainView;
  /** This node's network (`networkIdOf` its genesis config) and profile, named in every STATUS. */
  private readonly network: string;
  private readonly profile: ConsensusProfile;
  private readonly pool: TransactionPool;
  private readonly verified: VerifiedSignatureCache;
  private readonly lottery: LotteryRunner;
  private readonly yieldToPage: () => Promise<void>;
  private readonly pause: (() => Promise<void> | undefined) | undefined;
  /** Lotteries drawn for the explorer, per state (states are immutable, so a WeakMap). */
  private readonly lotteries = new WeakMap<ChainState, LotteryReading>();
  private readonly peers: PeerTable;
  /** Blocks found valid, by `blockSeenKey`: later copies are dropped before they are decoded. */
  private readonly seenBlocks = new Set<string>();
  /** Announce-then-pull bookkeeping of recent blocks (`gossip.ts`). */
  private readonly gossip = new BlockGossip();
  /** How recent blocks spread, from their trails (the network map). */
  private readonly propagation = new PropagationLog();
  /**
   * Blocks we pushed, by `hash>peer`: the trail we sent with each (ending at that peer). When the
   * peer's STATUS names the block as its head, the hop happened and joins our own map (the
   * forging tab sees its block reach its peers). Bounded: the oldest go first.
   */
  private readonly pushedHops = new Map<string, { readonly height: number; readonly trail: Trail }>();
  /** The peers' peer lists (the network map). */
  private readonly topology = new TopologyMap();
  private readonly rateLimiter: PeerRateLimiter;
  /** The head the pool's coverage was last computed against. */
  private poolHead: string;
  private readonly equivocations = new EquivocationLog();
  private readonly notices: string[] = [];
  /** Settles once a restored chain knows every hash and transaction id (and its pool is back). */
  private indexLoaded: Promise<void> = Promise.resolve();
  /** The transactions this node's user sent, newest first (saved in the store). */
  private mine: readonly MyTransactionRecord[] = [];
  private mineDirty = false;
  private wallet: KeyPair | null;
  /** Forging allowed by the tab's forging lock (`setForging`); the wallet forges only when true. */
  private forgingAllowed: boolean;
  private readonly alwaysOn: boolean;
  /** Always-on: the tab that took forging with our key over (`onTakeover`); we do not forge meanwhile. */
  private takenOverBy: PeerId | null = null;
  /** Always-on: the `at` of the last take-over accepted; only a later one counts. */
  private lastTakeoverAt: number | null = null;
  /** Always-on: the timer that gives forging back once the take-over's tab has been gone a while. */
  private cancelTakeoverRelease: () => void = () => {};
  /** Always-on: our signature over our id, proving in STATUS that we hold the key (`forgingClaimBytes`). */
  private forgingProof: { readonly node: PeerId; readonly key: string; readonly signature: string } | null =
    null;
  private forgingProofPending = false;
  /** A tab: `peer → key|proof` of always-on peers whose proof for our key verified (checked once). */
  private readonly provenForgers = new Map<PeerId, string>();
  private readonly sync: SyncMachine;
  private cancelSyncTimer: () => void = () => {};
  /** `resilient`: the one timer that runs `maybeForge` again when this node's next duty slot begins. */
  private cancelDutyTimer: () => void = () => {};
  /** `resilient`: blocks on our head stamped ahead of our clock, held until due (see `holdFutureBlock`). */
  private readonly futureBlocks: {
    readonly peer: PeerId;
    readonly block: Block;
    readonly dueAt: number;
    readonly trail: Trail | undefined;
  }[] = [];
  /** The one timer that checks the held future blocks again, and when it fires (whole seconds). */
  private cancelFutureTimer: () => void = () => {};
  private futureTimerAt: number | null = null;
  private headSince: number;
  private poolDirty = false;

  private running = false;
  private phase: NodePhase = 'stopped';
  /** The transport's status as it last reported it. */
  private transportStatus: TransportStatus;
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
    this.store = new GuardedStore(options.store ?? null, (error) => this.storageFailed(error));
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.log = options.log ?? (() => {});
    this.chain = new ChainView(options.genesis);
    this.network = networkIdOf(options.genesis);
    this.profile = profileOf(options.genesis);
    this.pool = new TransactionPool(this.limits.poolMax, this.limits.poolTtlMs, {
      perSender: this.limits.poolPerSender,
      balanceOf: (key) => this.chain.headState.balances.get(key, 0),
    });
    this.poolHead = this.chain.headHash;
    this.rateLimiter = new PeerRateLimiter(this.limits.rateLimits);
    this.verified = new VerifiedSignatureCache(this.limits.verifiedCacheSize);
    this.peers = new PeerTable(this.limits.banScore);
    this.lottery = options.lottery ?? runLotteryAtOnce;
    this.yieldToPage = options.yieldToPage ?? (async () => {});
    this.pause = options.pause;
    this.sync = new SyncMachine({
      chunk: Math.min(this.limits.syncChunk, MAX_BLOCKS_PER_MESSAGE),
      timeoutMs: this.limits.syncTimeoutMs,
    });
    this.wallet = options.wallet ?? null;
    this.forgingAllowed = options.forging ?? true;
    this.alwaysOn = options.alwaysOn ?? false;
    this.headSince = this.clock.now();
    this.transportStatus = this.transport.status();
  }

  // ---------------------------------------------------------------- lifecycle

  /** Restores from the store, starts the transport and the timers. `signal` stops the node. */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.running || this.phase !== 'stopped') return;
    this.setPhase('restoring');
    if (this.store.available) await this.restore();
    this.running = true;
    this.setPhase('ready');
    // The restored chain and pool are usable at once: timers run, the UI is told, and a restored
    // pool may be forged, all before the transport has reached its signaling server (which may
    // take a while, or never happen on a lone tab).
    this.every(this.limits.heartbeatMs, () => this.heartbeat());
    this.every(this.limits.discoveryMs, () => this.discover());
    this.every(this.limits.pingMs, () => this.checkLiveness());
    signal?.addEventListener('abort', () => void this.stop(), { once: true });
    this.changed();
    void this.enqueue(() => this.maybeForge());
    await this.transport.start(
      {
        onPeerConnected: (peer) => this.enqueue(() => this.onPeerConnected(peer)),
        onPeerDisconnected: (peer) => this.enqueue(() => this.onPeerDisconnected(peer)),
        onMessage: (peer, data) => {
          // When it arrived, before it waited in the queue: a relayed block's hop counts from here.
          const receivedAt = this.clock.now();
          return this.enqueue(() => this.onMessage(peer, data, receivedAt));
        },
        onPeersDiscovered: (ids) => this.enqueue(() => this.learnPeers(ids)),
        onStatus: (status) => {
          this.transportStatus = status;
          this.changed();
        },
      },
      signal,
    );
    if (this.running) this.setPhase('connected');
  }

  /**
   * Resolves once the restored chain knows every older hash and transaction id, and its pool is
   * back: what `start` leaves to load in the background, before anything is validated.
   */
  whenRestored(): Promise<void> {
    return this.indexLoaded;
  }

  /** Stops timers and the transport, waits for queued work, and closes the store. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const cancel of this.timers.splice(0)) cancel();
    this.sync.step({ kind: 'stop' }, this.chain);
    this.cancelSyncTimer();
    this.cancelDutyTimer();
    this.cancelFutureTimer();
    this.cancelTakeoverRelease();
    this.futureBlocks.length = 0;
    await this.transport.stop();
    // A stopped transport reports nothing more: take its final status once.
    this.transportStatus = this.transport.status();
    await this.whenIdle();
    await this.store.close();
    this.setPhase('stopped');
  }

  private setPhase(phase: NodePhase): void {
    this.phase = phase;
    this.changed();
  }

  /** Resolves once every queued message and command has been handled. */
  async whenIdle(): Promise<void> {
    while (this.pending > 0) await this.queue;
  }
  /** True while messages or commands are queued or being handled (simulators settle on it). */
  isBusy(): boolean {
    return this.pending > 0;
  }

  // ---------------------------------------------------------------- observable state

  /** The current snapshot; the same object until something changes (for useSyncExternalStore). */
  getSnapshot(): NodeSnapshot {
    if (this.snapshot) return this.snapshot;
    const peers = this.peers.views();
    this.snapshot = buildSnapshot({
      nodeId: this.transport.localId,
      phase: this.phase,
      running: this.running,
      chain: this.chain,
      pool: this.pool.list(),
      peers,
      sync: this.sync.progress(),
      equivocations: this.equivocations.list(),
      wallet: this.wallet,
      forgingAllowed: this.forgingAllowed,
      forging: this.forgingNow(),
      alwaysOn: this.alwaysOn,
      forgingElsewhere: this.forgingElsewhere(),
      forgingTakenOverBy: this.takenOverBy,
      transport: this.transportStatus,
      notices: this.notices,
      topology: this.topology.build(
        { id: this.transport.localId, forgerKey: this.wallet?.publicKeyPem ?? null, alwaysOn: this.alwaysOn },
        peers,
      ),
      propagation: this.propagation.list(),
      now: this.clock.now(),
      headSince: this.headSince,
      stallAfterMs: this.limits.stallAfterMs,
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

  /** Blocks `from`..`to` inclusive. */
  blocks(from: number, to: number): Block[] {
    return this.chain.range(from, to);
  }

  /**
   * The chain in the reference's `GET /blockchain` shape. Runs in the queue, so the blocks read
   * from the store and those held are of one chain.
   */
  exportChain(): Promise<ChainJSON> {
    return this.enqueue(async () => ({ blocks: await this.chain.readRange(0, this.chain.height) }));
  }

  // Reads that may reach the store: a restored node keeps only recent blocks in memory and
  // loads older ones when asked. The UI and the API use these, never the synchronous ones below
  // for anything but the head.

  /** Blocks `from`..`to` inclusive (clamped to the chain), oldest first. */
  async readBlocks(from: number, to: number): Promise<readonly Block[]> {
    return this.chain.readRange(from, to);
  }

  /** The block at `height` with its hash, if on this chain. */
  async readBlock(height: number): Promise<{ readonly block: Block; readonly hash: string } | undefined> {
    return this.chain.readBlock(height);
  }

  /** A transaction on chain with its block height, if any. */
  async readTransaction(id: string): Promise<{ transaction: Transaction; height: number } | undefined> {
    return this.chain.readTransaction(id);
  }

  /**
   * The lottery drawn after block `height` (it named block `height + 1`'s forger), with the
   * state it was drawn over, for the explorer. The state may come from the store (an old block
   * on a restored node), and the draw runs through the node's lottery runner, in slices in a
   * page, so showing an old block's lottery never freezes it. Drawn once per state.
   */
  async readLottery(height: number): Promise<LotteryReading> {
    const state = await this.chain.readStateAt(Math.max(0, Math.min(height, this.chain.height)));
    const known = this.lotteries.get(state);
    if (known) return known;
    // On `resilient` there is no lottery: the state's `resilient` head ranks the next block's
    // forgers (the UI reads a block's rank with `readBlockTurn` from its parent's head).
    const result = state.resilient ? null : await this.lottery(stakeEntries(state), state.headHash);
    const reading = { state, result };
    this.lotteries.set(state, reading);
    return reading;
  }

  /** Blocks `from`..`to`'s aggregates, for the charts over time (see `readAggregates`). */
  readBlockAggregates(from: number, to: number): Promise<AggregateRange> {
    return readAggregates(this.store, this.chain, from, to);
  }

  /** `publicKey`'s transactions on this chain, newest first, a page at a time (from the store's index). */
  async readAccountHistory(publicKey: string, query: HistoryQuery): Promise<readonly AccountTxRecord[]> {
    return this.enqueue(async () => {
      if (this.store.available) {
        return this.store.read((store) => store.readAccountHistory(publicKey, query), []);
      }
      // No store (none given, or it failed): the same lines from the blocks this node holds.
      const blocks = await this.chain.readRange(1, this.chain.height);
      const { before } = query;
      return accountTxRecords(blocks.map((block) => ({ height: block.blockCount, hash: '', block })))
        .filter(
          (line) =>
            line.publicKey === publicKey &&
            (!before ||
              line.height < before.height ||
              (line.height === before.height && line.txIndex < before.txIndex)),
        )
        .reverse()
        .slice(0, Math.max(0, Math.floor(query.limit)));
    });
  }

  /**
   * The transactions this node's user sent, newest first, each with its state from the chain,
   * the pool and what the node saw happen to it (reorgs, expiry, eviction).
   */
  readMyTransactions(): Promise<readonly MyTransaction[]> {
    return this.enqueue(async () => {
      const out: MyTransaction[] = [];
      for (const record of this.mine) {
        const onChain = await this.chain.readTransaction(record.id);
        const state: MyTransactionState = onChain
          ? 'landed'
          : this.pool.has(record.id)
            ? record.note === 'returned'
              ? 'returned'
              : 'pending'
            : record.note === 'expired' || record.note === 'evicted'
              ? record.note
              : 'dropped';
        out.push({ ...record, state, height: onChain?.height ?? null });
      }
      return out;
    });
  }

  /** Changes the notes of my transactions `ids` (a no-op for ids that are not mine). */
  private noteMine(ids: Iterable<string>, note: MyTransactionRecord['note'] | null): void {
    const wanted = new Set(ids);
    if (wanted.size === 0) return;
    this.mine = this.mine.map((record) => {
      if (!wanted.has(record.id) || record.note === (note ?? undefined)) return record;
      this.mineDirty = true;
      const { note: _old, ...rest } = record;
      return note ? { ...rest, note } : rest;
    });
  }

  /** Notes which of my transactions left the pool unmined since the last look. */
  private noteDepartures(): void {
    for (const record of this.mine) {
      const departure = this.pool.departureOf(record.id);
      if (departure && record.note !== departure) this.noteMine([record.id], departure);
    }
  }

  // ---------------------------------------------------------------- commands

  /**
   * Takes a transaction from this tab's user: decoded and checked exactly as one from a peer,
   * then pooled. One the head cannot cover yet is accepted as pending: it waits in this node's
   * pool, not gossiped, until a block covers it (so a purchase and a spend of it can be posted
   * back to back) or it expires.
   */
  submitTransaction(input: unknown): Promise<SubmitResult> {
    return this.enqueue(async () => {
      if (!this.running)
        return { ok: false, error: { code: 'NOT_RUNNING', message: 'the node is not running' } };
      return this.admitTransaction(input, { peer: null, local: true });
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

  /**
   * Allows or denies forging with the wallet. Queued like every command, so once the promise
   * resolves no block is being forged any more (a denied tab can acknowledge a handover).
   */
  setForging(allowed: boolean): Promise<void> {
    return this.enqueue(async () => {
      if (this.forgingAllowed === allowed) return;
      const before = this.forgingNow();
      this.forgingAllowed = allowed;
      this.changed();
      await this.forgingMayHaveChanged(before);
    });
  }

  /**
   * Takes forging with this tab's key over from the always-on peers that forge with it: sends
   * each a FORGING_TAKEOVER signed by the key. This node forges once they announce `forging:
   * false` (or are gone). Returns how many peers were asked (0: none forges with our key).
   */
  takeOverForging(): Promise<number> {
    return this.enqueue(async () => {
      const wallet = this.wallet;
      if (!this.running || !wallet || this.alwaysOn) return 0;
      const targets = this.peers.alwaysOnForging(wallet.publicKeyPem);
      for (const target of targets) {
        const message = await signTakeover(this.crypto, wallet, this.network, target, this.clock.now());
        this.sendTo(target, encodeMessage(message));
        this.log({
          kind: 'forge',
          peer: target,
          message: 'asked the always-on node to stop forging with our key',
        });
      }
      return targets.length;
    });
  }

  /**
   * Whether this node forges with its wallet right now: a wallet, forging allowed (a tab's
   * forging lock), and nobody it yields to. The rule for one key in two places:
   * - a tab yields to a connected always-on peer that announces `forging: true` with the same
   *   key (`forgingElsewhere`): the always-on node keeps the key's blocks, the tab forges none;
   * - an always-on node yields to a tab that took over with a signed FORGING_TAKEOVER
   *   (`onTakeover`), until that tab has been disconnected for `TAKEOVER_RELEASE_MS` (unless
   *   another connected tab then forges with the key: it inherits the hold), or says it no
   *   longer holds the key, or this node restarts (the take-over is kept in memory only);
   * - the tab, having taken over, forges once the always-on node announces `forging: false`
   *   (or is gone): its last block reached the tab before that STATUS (channels are ordered),
   *   so the tab forges on top of it, never beside it.
   * Two always-on nodes with one key do not yield to each other (run one per key).
   */
  private forgingNow(): boolean {
    return (
      this.wallet !== null &&
      this.forgingAllowed &&
      this.takenOverBy === null &&
      this.forgingElsewhere() === null
    );
  }

  /** A tab: the connected always-on peer that forges with our key (we yield to it), or null. */
  private forgingElsewhere(): PeerId | null {
    if (this.alwaysOn || !this.wallet) return null;
    return this.peers.alwaysOnForging(this.wallet.publicKeyPem)[0] ?? null;
  }

  /** After anything `forgingNow` reads changed: peers hear of a change, and a new forger looks at once. */
  private async forgingMayHaveChanged(before: boolean): Promise<void> {
    const now = this.forgingNow();
    if (now === before) return;
    this.broadcast(this.statusMessage());
    this.changed();
    if (now) await this.maybeForge();
  }

  /**
   * A FORGING_TAKEOVER from a tab: checked (key, clock, replay, signature; see `takeover.ts`),
   * then this node stops forging with its key and says so, until the rule in `forgingNow` gives
   * the key back. A refused one costs the peer: a bad key or signature like an invalid message,
   * a stale or replayed one like a wasted request (an honest tab's clock may be off).
   */
  private async onTakeover(peer: PeerId, message: TakeoverMessage): Promise<void> {
    if (!this.alwaysOn) return this.penalize(peer, PENALTY.unsolicited, 'FORGING_TAKEOVER sent to a tab');
    const verdict = await verifyTakeover(message, {
      verifier: this.crypto,
      network: this.network,
      localId: this.transport.localId,
      forgingKey: this.wallet?.publicKeyPem ?? null,
      now: this.clock.now(),
      lastAcceptedAt: this.lastTakeoverAt,
    });
    if (!verdict.ok) {
      const { code, message: reason } = verdict.error;
      const points = code === 'STALE' || code === 'REPLAYED' ? PENALTY.useless : PENALTY.invalid;
      return this.penalize(peer, points, reason);
    }
    const before = this.forgingNow();
    this.lastTakeoverAt = message.at;
    this.takenOverBy = peer;
    this.cancelTakeoverRelease();
    this.cancelTakeoverRelease = () => {};
    this.log({ kind: 'forge', peer, message: 'a tab took forging with this key over' });
    this.changed();
    await this.forgingMayHaveChanged(before);
  }

  /** Always-on: forging with our key comes back from the tab that took it over. */
  private async releaseTakeover(reason: string): Promise<void> {
    if (this.takenOverBy === null) return;
    const before = this.forgingNow();
    this.cancelTakeoverRelease();
    this.cancelTakeoverRelease = () => {};
    this.log({ kind: 'forge', peer: this.takenOverBy, message: `forging again: ${reason}` });
    this.takenOverBy = null;
    this.changed();
    await this.forgingMayHaveChanged(before);
  }

  /** Sets (or forgets) the wallet this node forges with. */
  setWallet(wallet: KeyPair | null): Promise<void> {
    return this.enqueue(async () => {
      this.wallet = wallet;
      await this.store.use((store) => store.saveWallet(wallet && { ...wallet }));
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
      const result = await validateChain(blocks, this.chain.config, this.crypto, {
        cache: this.verified,
        lottery: this.lottery,
        ...(this.pause ? { pause: this.pause } : {}),
      });
      const validHeight = result.height - 1;
      let adopted = false;
      if (validHeight > this.chain.height) {
        // On `resilient` the fork choice may refuse it (a reorg past the bound): not adopted.
        adopted = await this.commit({
          forkHeight: 0,
          blocks: result.validBlocks.slice(1),
          states: result.validStates.slice(1),
        });
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
    this.settlePool();
    this.noteDepartures();
    this.pending--;
    if (this.poolDirty) {
      this.poolDirty = false;
      await this.store.use((store) => store.savePool(this.pool.list()));
    }
    if (this.mineDirty) {
      this.mineDirty = false;
      const mine = this.mine;
      await this.store.use((store) => store.saveMyTransactions(mine));
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

  /** The ids remembered for dialling, which the peer table owns. */
  /** Peer ids this node has heard of and may dial (bounded), for diagnostics. */
  knownPeerIds(): PeerId[] {
    return [...this.peers.known];
  }

  private async onPeerConnected(peer: PeerId): Promise<void> {
    if (!this.peers.connected(peer, this.clock.now())) {
      this.transport.disconnect(peer);
      return;
    }
    this.sendTo(peer, this.statusMessage());
    this.sendTo(peer, this.discoveryMessage());
    // The tab that took over is back within the grace: it keeps the key.
    if (peer === this.takenOverBy) {
      this.cancelTakeoverRelease();
      this.cancelTakeoverRelease = () => {};
    }
    this.changed();
  }

  private async onPeerDisconnected(peer: PeerId): Promise<void> {
    const before = this.forgingNow();
    this.peers.disconnected(peer);
    this.provenForgers.delete(peer);
    this.gossip.forget(peer);
    this.topology.forget(peer);
    if (peer === this.takenOverBy) this.armTakeoverRelease(peer);
    await this.driveSync({ kind: 'peerGone', peer, reason: 'the peer left' });
    // A tab whose always-on peer left forges again.
    await this.forgingMayHaveChanged(before);
    this.changed();
  }

  /** The take-over's tab left: forging comes back in `TAKEOVER_RELEASE_MS` unless it reconnects. */
  private armTakeoverRelease(peer: PeerId): void {
    this.cancelTakeoverRelease();
    this.cancelTakeoverRelease = this.clock.setTimeout(
      () =>
        void this.enqueue(async () => {
          if (this.takenOverBy !== peer || this.peers.has(peer)) return;
          // Another tab forges with our key now (the key's forging lock moved to another tab of
          // that browser): it keeps the hold, rather than both of us forging. A claim can only
          // prolong a take-over the key's holder signed, never start one.
          const heir = this.wallet ? this.peers.tabsForging(this.wallet.publicKeyPem)[0] : undefined;
          if (heir !== undefined) {
            this.takenOverBy = heir;
            this.log({
              kind: 'forge',
              peer: heir,
              message: 'the take-over passed to another tab with this key',
            });
            this.changed();
            return;
          }
          await this.releaseTakeover(`the tab that took over has been gone ${TAKEOVER_RELEASE_MS} ms`);
        }),
      TAKEOVER_RELEASE_MS,
    );
  }

  private async learnPeers(ids: readonly PeerId[]): Promise<void> {
    this.peers.learn(ids, this.transport.localId);
    this.dialMore();
  }

  /** Dials known peers we have no channel with, up to the peer cap (peer exchange). */
  private dialMore(): void {
    // Known always-on peers first, even with every slot taken (bounded: `MAX_EXTRA_ALWAYS_ON`).
    const steady = this.peers.alwaysOnToDial(this.transport.localId);
    for (const id of steady) this.transport.connect(id);
    const candidates = this.peers.dialCandidates(this.transport.localId).filter((id) => !steady.includes(id));
    let free = this.limits.maxPeers - this.peers.size - steady.length;
    while (free > 0 && candidates.length > 0) {
      const [id] = candidates.splice(Math.floor(this.random() * candidates.length), 1);
      if (id !== undefined) this.transport.connect(id);
      free--;
    }
  }

  private penalize(peer: PeerId, points: number, reason: string): void {
    this.log({ kind: 'penalty', peer, message: `${reason} (-${points})` });
    if (this.peers.penalize(peer, points)) {
      // A sync with it ends (the forger resumes); queued, since a penalty may come mid-task.
      if (this.sync.peer === peer)
        void this.enqueue(() => this.driveSync({ kind: 'peerGone', peer, reason: 'the peer was banned' }));
      if (this.pool.dropRelayedBy(peer) > 0) this.poolDirty = true;
      this.transport.disconnect(peer);
      this.log({ kind: 'ban', peer, message: `dropped: ${reason}` });
    }
    this.changed();
  }

  private sendTo(peer: PeerId, data: string): void {
    this.transport.send(peer, data);
  }

  private broadcast(data: string, except?: PeerId): void {
    for (const peer of this.peers.ids()) if (peer !== except) this.transport.send(peer, data);
  }

  private statusMessage(): string {
    return encodeMessage({
      type: 'STATUS',
      height: this.chain.height,
      head: this.chain.headHash,
      forgerKey: this.wallet?.publicKeyPem ?? null,
      network: this.network,
      profile: this.profile,
      alwaysOn: this.alwaysOn,
      forging: this.forgingNow(),
      ...this.forgingProofField(),
    });
  }

  /**
   * Always-on: the `forgingProof` STATUS field for our id and key, once signed. The first
   * STATUS after a start or a new key goes without it; the signature is made in the queue and
   * the STATUS sent again with it.
   */
  private forgingProofField(): { forgingProof?: string } {
    const wallet = this.wallet;
    if (!this.alwaysOn || !wallet) return {};
    const node = this.transport.localId;
    const proof = this.forgingProof;
    if (proof && proof.node === node && proof.key === wallet.publicKeyPem)
      return { forgingProof: proof.signature };
    if (!this.forgingProofPending && this.running) {
      this.forgingProofPending = true;
      void this.enqueue(async () => {
        try {
          const key = wallet.publicKeyPem;
          const bytes = forgingClaimBytes({ network: this.network, node, key });
          this.forgingProof = { node, key, signature: await this.crypto.sign(wallet, bytes) };
        } finally {
          this.forgingProofPending = false;
        }
        this.broadcast(this.statusMessage());
      });
    }
    return {};
  }

  /**
   * A tab: whether a STATUS from an always-on `peer` claiming to forge with our key proves it
   * holds the key (`forgingProof`). Verified once per peer, key and proof. A wrong proof is an
   * invalid message (the peer is penalized); a missing one is a claim we do not act on.
   */
  private async provesOurKey(
    peer: PeerId,
    message: Extract<WireMessage, { type: 'STATUS' }>,
  ): Promise<boolean> {
    const { forgerKey, forgingProof } = message;
    if (forgerKey === null || forgingProof === undefined) return false;
    const entry = `${forgerKey}|${forgingProof}`;
    if (this.provenForgers.get(peer) === entry) return true;
    const bytes = forgingClaimBytes({ network: this.network, node: peer, key: forgerKey });
    if (!(await this.crypto.verify(forgerKey, bytes, forgingProof))) {
      this.penalize(peer, PENALTY.invalid, 'STATUS: forging proof does not verify under its key');
      return false;
    }
    this.provenForgers.set(peer, entry);
    return true;
  }

  private discoveryMessage(): string {
    const peers = [...this.peers.ids()].slice(0, MAX_DISCOVERY_PEERS - 1);
    return encodeMessage({ type: 'DISCOVERY', peers: [this.transport.localId, ...peers] });
  }

  /**
   * Peer liveness: a peer silent for `peerSilenceMs` (no PONG, no message at all) is dropped
   * as if its channel had closed; one quiet for `pingMs` gets a PING, which a live peer answers.
   * So a tab that vanished without a close is gone from the peer list within a few seconds.
   */
  private async checkLiveness(): Promise<void> {
    const now = this.clock.now();
    for (const peer of this.peers.silentSince(now - this.limits.peerSilenceMs)) {
      this.log({ kind: 'peer', peer, message: `silent for ${this.limits.peerSilenceMs} ms: dropped` });
      this.transport.disconnect(peer);
      await this.onPeerDisconnected(peer);
      this.peers.markLost(peer, now + this.limits.lostPeerRedialMs);
    }
    for (const peer of this.peers.silentSince(now - this.limits.pingMs)) {
      const nonce = this.peers.pingSent(peer, now);
      this.sendTo(peer, encodeMessage({ type: 'PING', nonce }));
    }
    await this.expireFetches(now);
  }

  private async heartbeat(): Promise<void> {
    const now = this.clock.now();
    // Every peer's round-trip time, for the peer list (liveness pings only go to quiet peers).
    for (const peer of this.peers.ids()) {
      const nonce = this.peers.pingSent(peer, now);
      this.sendTo(peer, encodeMessage({ type: 'PING', nonce }));
    }
    this.broadcast(this.statusMessage());
    if (this.pool.expire(now).length > 0) this.poolDirty = true;
    this.regossipPending(now);
    this.settlePool();
    await this.maybeSync();
    this.changed();
  }

  /**
   * Gossips again the transactions that have waited more than two heartbeats: a message lost on
   * the way to the forger would otherwise leave a transaction pending forever. Receivers drop
   * what they already hold, so this costs bandwidth only.
   */
  private regossipPending(now: number): void {
    let sent = 0;
    // Uncovered transactions stay local: only what the head covers goes out.
    for (const { transaction, receivedAt } of this.pool.coveredEntries()) {
      if (sent >= REGOSSIP_PER_HEARTBEAT) break;
      if (now - receivedAt < 2 * this.limits.heartbeatMs) continue;
      this.broadcast(encodeMessage({ type: 'TRANSACTION', transaction }));
      sent++;
    }
  }

  private async discover(): Promise<void> {
    this.broadcast(this.discoveryMessage());
    this.dialMore();
    // Peers lost to silence are redialled beyond the slot count (the transport's cap bounds it).
    for (const peer of this.peers.lostCandidates(this.clock.now())) this.transport.connect(peer);
  }

  // ---------------------------------------------------------------- messages

  private async onMessage(peer: PeerId, data: string, receivedAt: number): Promise<void> {
    if (this.peers.isBanned(peer) || !this.peers.has(peer)) return;
    this.peers.heard(peer, this.clock.now());
    const decoded = decodeMessage(data);
    if (!decoded.ok) {
      this.penalize(peer, PENALTY.malformed, decoded.error.message);
      return;
    }
    const message = decoded.value;
    if (!this.rateLimiter.take(peer, message.type, this.clock.now())) {
      this.penalize(peer, RATE_LIMIT_PENALTY, `${message.type} over its rate limit`);
      return;
    }
    switch (message.type) {
      case 'STATUS':
        return this.onStatus(peer, message);
      case 'DISCOVERY':
        this.topology.listedBy(peer, message.peers);
        this.changed();
        return this.learnPeers(message.peers);
      case 'TRANSACTION':
        await this.admitTransaction(message.transaction, { peer, local: false });
        return;
      case 'BLOCK':
        return this.onBlock(peer, message.block, message.trail, receivedAt);
      case 'ANNOUNCE':
        return this.onAnnounce(peer, message);
      case 'GETBLOCK':
        return this.onGetBlock(peer, message.hash);
      case 'BLOCKCHAINREQUEST':
        return this.onBlockchainRequest(peer, message.from, message.count);
      case 'BLOCKCHAIN':
        return this.onBlockchain(peer, message);
      case 'PING':
        this.sendTo(peer, encodeMessage({ type: 'PONG', nonce: message.nonce }));
        return;
      case 'PONG':
        if (this.peers.pongReceived(peer, message.nonce, this.clock.now())) this.changed();
        return;
      case 'REFUSED':
        // The peer found our network not its own (we may not have noticed: say it here too).
        return this.refusePeer(peer, `peer ${shortId(peer)} refused this node: ${message.reason}`, null);
      case 'FORGING_TAKEOVER':
        return this.onTakeover(peer, message);
    }
  }

  /**
   * The handshake: what is wrong with a peer's STATUS for this node's network, as the notice for
   * our user and the reason to send it; null when it names our network (or names none).
   */
  private handshakeProblem(
    peer: PeerId,
    message: Extract<WireMessage, { type: 'STATUS' }>,
  ): { readonly notice: string; readonly reason: string } | null {
    const { network, profile } = message;
    const profileDiffers = profile !== undefined && profile !== this.profile;
    if (!profileDiffers && (network === undefined || network === this.network)) return null;
    // Said from the refusing side, read on the refused one: "it" is us, "this node" is them.
    const ours = `the ${this.profile} profile on network ${this.network.slice(0, 12)}…`;
    const theirs = `${profile ?? 'unnamed'} profile on network ${network === undefined ? '(unnamed)' : `${network.slice(0, 12)}…`}`;
    const notice = profileDiffers
      ? `refused peer ${shortId(peer)}: it runs the ${profile} profile on another network; this node runs ${this.profile}`
      : `refused peer ${shortId(peer)}: it runs another genesis config (genesis key or stake cap) of the ${this.profile} profile; this node's network is ${this.network.slice(0, 12)}…`;
    return { notice, reason: `it runs ${ours}, not this node's ${theirs}` };
  }

  /**
   * Refuses a peer of another network for good: one REFUSED saying why (when `reason` is given),
   * then the channel closes after a short grace (so the message gets through), and the peer is
   * never synced, gossiped with, dialled or accepted again. Not a ban: it did nothing wrong.
   * The user sees `notice`.
   */
  private refusePeer(peer: PeerId, notice: string, reason: string | null): void {
    if (reason !== null)
      this.sendTo(peer, encodeMessage({ type: 'REFUSED', reason: reason.slice(0, MAX_REFUSAL_CHARS) }));
    this.peers.refuse(peer);
    if (this.sync.peer === peer)
      void this.enqueue(() =>
        this.driveSync({ kind: 'peerGone', peer, reason: 'the peer runs another network' }),
      );
    this.timers.push(this.clock.setTimeout(() => this.transport.disconnect(peer), REFUSAL_GRACE_MS));
    this.log({ kind: 'peer', peer, message: notice });
    this.addNotice(notice);
  }

  private async onStatus(peer: PeerId, message: Extract<WireMessage, { type: 'STATUS' }>): Promise<void> {
    const problem = this.handshakeProblem(peer, message);
    if (problem) return this.refusePeer(peer, problem.notice, problem.reason);
    const before = this.forgingNow();
    // A tab yields to an always-on peer forging with its key only once the peer proves it holds it.
    let forging = message.forging ?? false;
    if (
      forging &&
      message.alwaysOn === true &&
      !this.alwaysOn &&
      this.wallet !== null &&
      message.forgerKey === this.wallet.publicKeyPem
    ) {
      forging = await this.provesOurKey(peer, message);
      if (!this.peers.has(peer)) return;
    }
    // The height is a claim: it may start a sync, which is where it gets proven (or costs the peer).
    const flags = { alwaysOn: message.alwaysOn ?? false, forging };
    if (!this.peers.noteStatus(peer, message.height, message.head, message.forgerKey, flags)) return;
    const pushed = this.pushedHops.get(`${message.head}>${peer}`);
    if (pushed) {
      this.pushedHops.delete(`${message.head}>${peer}`);
      this.propagation.trail(message.head, pushed.height, pushed.trail);
    }
    this.changed();
    // The tab that took over no longer holds our key: nobody would forge with it.
    if (peer === this.takenOverBy && message.forgerKey !== this.wallet?.publicKeyPem)
      await this.releaseTakeover('the tab that took over no longer holds this key');
    // A tab yields to (or, once it says `forging: false`, takes over from) an always-on peer.
    await this.forgingMayHaveChanged(before);
    await this.maybeSync();
  }

  /**
   * Decodes and checks a transaction (admission.ts) and pools it. A peer that sent something no
   * honest node relays is penalized. Gossip happens after the task (`settlePool`), for the
   * covered transactions only.
   */
  private async admitTransaction(input: unknown, source: PoolSource): Promise<SubmitResult> {
    this.syncPoolToHead();
    const admission = await admitTransaction(input, source, {
      state: this.chain.headState,
      pool: this.pool,
      verifier: this.crypto,
      verified: this.verified,
      now: this.clock.now(),
    });
    if (!admission.ok) {
      const { error, peerAtFault } = admission.error;
      if (source.peer !== null && peerAtFault) {
        this.penalize(
          source.peer,
          error.code === 'MALFORMED' ? PENALTY.malformed : PENALTY.invalid,
          error.message,
        );
      }
      return { ok: false, error };
    }
    this.poolDirty = true;
    if (source.local) this.rememberMine(admission.value.transaction);
    this.changed();
    if (admission.value.covered) await this.maybeForge();
    return { ok: true };
  }

  /** Records a transaction this tab's user sent (again: its note is cleared, its place kept). */
  private rememberMine(transaction: Transaction): void {
    const { id, type, amount, receiverPublicKey } = transaction;
    if (this.mine.some((record) => record.id === id)) {
      this.noteMine([id], null);
      return;
    }
    // Admission let only the three known types in.
    const kind = type as MyTransactionRecord['type'];
    const record = { id, type: kind, amount, receiverPublicKey, sentAt: this.clock.now(), transaction };
    this.mine = [record, ...this.mine].slice(0, MAX_MY_TRANSACTIONS);
    this.mineDirty = true;
  }

  /**
   * Brings the pool up to date after a task: coverage against the current head, gossip of the
   * transactions that became covered (after any block the task announced), and the peers
   * charged for relayed transactions that left the pool never covered.
   */
  private settlePool(): void {
    this.syncPoolToHead();
    for (const { transaction, from } of this.pool.takeGossip()) {
      if (this.running)
        this.broadcast(encodeMessage({ type: 'TRANSACTION', transaction }), from ?? undefined);
    }
    for (const [peer, count] of this.pool.takeCharges()) {
      if (!this.peers.isBanned(peer))
        this.penalize(peer, count * NEVER_COVERED_PENALTY, `${count} relayed transactions never covered`);
    }
  }

  /** Recomputes the pool's coverage when the head moved since it was last computed. */
  private syncPoolToHead(): void {
    if (this.poolHead === this.chain.headHash) return;
    this.poolHead = this.chain.headHash;
    this.pool.recheck();
    this.changed();
  }

  private async onBlock(
    peer: PeerId,
    raw: unknown,
    trail: Trail | undefined,
    receivedAt = this.clock.now(),
  ): Promise<void> {
    // A copy of a block we already hold is dropped before it is decoded (pushes and fetches may
    // cross).
    const seenKey = blockSeenKey(raw);
    if (seenKey !== null && this.holdsBlock(seenKey, raw)) return;
    const trailWrong = trail && trailProblem(trail, peer, this.transport.localId);
    if (trailWrong) return this.penalize(peer, PENALTY.invalid, trailWrong);
    const decoded = decodeBlock(raw);
    if (!decoded.ok) return this.penalize(peer, PENALTY.malformed, decoded.error.message);
    const block = decoded.value;

    if (block.blockCount === this.chain.height + 1 && block.lastHash === this.chain.headHash) {
      const result = await validateBlock(
        this.chain.headState,
        block,
        this.crypto,
        this.verified,
        this.lottery,
        this.nowSeconds(),
        this.pause ? { pause: this.pause } : undefined,
      );
      // `resilient`: stamped ahead of our clock is no verdict; it is checked again once due.
      if (!result.ok && result.error.code === 'FROM_THE_FUTURE')
        return this.holdFutureBlock(peer, block, result.error.dueAt, trail);
      if (!result.ok) {
        // The block builds on our head, so every rule is judged on the same state the forger
        // had: an honest peer never relays such a block.
        return this.penalize(
          peer,
          PENALTY.invalid,
          `invalid block ${block.blockCount}: ${result.error.message}`,
        );
      }
      // Seen only once valid: a decoy with this block's height and signature cannot shadow it.
      this.rememberSeen(blockSeenKey(block) as string);
      const hash = result.value.headHash;
      // The peer sends on the block it made its head (no STATUS follows to say so), and a valid
      // block on our head proves its chain this far (claims alone prove nothing).
      this.peers.noteAnnounced(peer, block.blockCount, hash);
      this.peers.proven(peer, block.blockCount);
      // Relayed before the commit's store write. A block that came with no trail (a hand-made
      // client's) starts its trail at its sender, the first node known to have had it.
      const hops = trail ?? [
        { node: peer, delayMs: 0 },
        { node: this.transport.localId, delayMs: 0 },
      ];
      this.hadBlock(hash, block, hops, peer, receivedAt, trail !== undefined);
      this.relayBlock(hash, block);
      await this.appendValidated([block], [result.value]);
      // Our new head goes to the peer that sent the block, and to it alone: it has the block, so
      // this STATUS races nothing (one to every peer would, see `commit`), and its view of us
      // (the peers table, whom to sync from) stays current instead of "behind".
      this.sendTo(peer, this.statusMessage());
      await this.maybeForge();
      return;
    }
    // Anywhere else the block is a claim (of a longer chain, or of an equivocation): its forger's
    // signature is checked before it costs more. Honest peers relay only blocks they validated.
    if (!(await this.crypto.verify(block.forger, blockSigningBytes(block), block.signature))) {
      return this.penalize(
        peer,
        PENALTY.invalid,
        `block ${block.blockCount}: the block signature does not verify under its forger key`,
      );
    }
    this.peers.noteHeight(peer, block.blockCount);
    if (block.blockCount > this.chain.height) {
      // A block from the future, or a longer fork: fetch the peer's chain.
      return this.maybeSync();
    }
    await this.checkEquivocation(block);
  }

  /**
   * This node has block `hash` since `at` (forged, or received from `from` and found valid),
   * having come along `trail` (ending here): remembered for GETBLOCK, relaying and the propagation map. `traced`: the
   * trail came from the sender (not made up for a block that came without one).
   */
  private hadBlock(
    hash: string,
    block: Block,
    trail: Trail,
    from: PeerId | null,
    at: number,
    traced = true,
  ): void {
    this.gossip.had(hash, block, trail, at, from);
    if (traced && trail.length > 1) this.propagation.trail(hash, block.blockCount, trail);
    this.propagation.had(
      hash,
      block.blockCount,
      block.forger,
      at,
      from === null ? this.transport.localId : null,
    );
    this.changed();
  }

  /**
   * Sends a block we just made our head on: whole to a few peers (`limits.blockPush`), announced
   * to the others, none to the peers known to have it.
   */
  private relayBlock(hash: string, block: Block): void {
    const own = this.gossip.ownTrail(hash);
    if (!own || !this.running) return;
    const peers = [...this.peers.ids()];
    const count = pushCount(this.limits.blockPush, peers.length);
    const plan = this.gossip.planRelay(hash, peers, count, this.random);
    const now = this.clock.now();
    const encode = plan.push.length > 0 ? blockMessageEncoder(block) : null;
    for (const peer of plan.push) {
      const trail = this.trailTo(own, peer, now);
      this.sendTo(peer, (encode as NonNullable<typeof encode>)(trail));
      if (this.pushedHops.size >= MAX_PUSHED_HOPS) {
        const oldest = this.pushedHops.keys().next();
        if (!oldest.done) this.pushedHops.delete(oldest.value);
      }
      this.pushedHops.set(`${hash}>${peer}`, { height: block.blockCount, trail });
    }
    for (const peer of plan.announce) {
      const trail = this.trailTo(own, peer, now);
      const { blockCount: height, lastHash } = block;
      this.sendTo(peer, encodeMessage({ type: 'ANNOUNCE', hash, height, lastHash, trail }));
    }
  }

  /**
   * Our trail of a block, extended by the hop to `peer`. That hop's delay is what this node can
   * measure of it: how long it held the block before sending it on (validation and the queue;
   * for a GETBLOCK's answer, the announcement's round trip too), plus half the last round trip
   * measured to `peer` by PING/PONG (0 until one is), for the way there.
   */
  private trailTo(own: { readonly trail: Trail; readonly hadAt: number }, peer: PeerId, now: number): Trail {
    return extendTrail(own.trail, peer, now - own.hadAt + (this.peers.rttOf(peer) ?? 0) / 2);
  }

  /**
   * An ANNOUNCE: the peer has a new head. Its trail is checked and kept (the propagation map),
   * a block we hold costs nothing more, one on our head is fetched (from this announcer, or
   * from the next when it does not answer), and any other is a claim of the peer's head, as a
   * STATUS is: it may start a sync, where it gets proven or costs the peer.
   */
  private async onAnnounce(peer: PeerId, message: Extract<WireMessage, { type: 'ANNOUNCE' }>): Promise<void> {
    const { hash, height, lastHash, trail } = message;
    const problem = trailProblem(trail, peer, this.transport.localId);
    if (problem) return this.penalize(peer, PENALTY.invalid, `ANNOUNCE: ${problem}`);
    if (!this.gossip.announced(hash, height, peer))
      return this.penalize(peer, PENALTY.unsolicited, 'ANNOUNCE of a block it announced before');
    this.propagation.trail(hash, height, trail);
    this.changed();
    if (this.chain.heightOf(hash) === undefined && !this.gossip.holds(hash)) {
      if (height === this.chain.height + 1 && lastHash === this.chain.headHash) {
        // Not yet the peer's head claim: a sync would race the fetch.
        if (this.gossip.startFetch(hash, height, peer, this.clock.now()))
          this.sendTo(peer, encodeMessage({ type: 'GETBLOCK', hash }));
        return;
      }
    }
    // The peer's head (its STATUS said an older one): kept current, so that no tie with a
    // stale head is judged, and a head ahead of ours starts a sync.
    this.peers.noteAnnounced(peer, height, hash);
    await this.maybeSync();
  }

  /** A GETBLOCK: answered once per block we announced to the peer; any other costs it. */
  private onGetBlock(peer: PeerId, hash: string): void {
    const answer = this.gossip.request(hash, peer);
    if (answer === 'unsolicited') {
      this.penalize(peer, PENALTY.unsolicited, 'GETBLOCK of a block not announced to it');
      return;
    }
    const own = this.gossip.ownTrail(hash);
    if (!answer.block || !own) return;
    this.sendTo(
      peer,
      encodeMessage({ type: 'BLOCK', block: answer.block, trail: this.trailTo(own, peer, this.clock.now()) }),
    );
  }

  /**
   * Block fetches unanswered for `blockFetchTimeoutMs`: the silent announcer pays a little (an
   * honest one answers at once), and the next announcer is asked. With none left, the last
   * one's announcement counts as its head claim, which a sync then proves or refutes.
   */
  private async expireFetches(now: number): Promise<void> {
    let claims = false;
    for (const { hash, height, peer, next } of this.gossip.expire(now, this.limits.blockFetchTimeoutMs)) {
      if (this.peers.has(peer))
        this.penalize(peer, PENALTY.unsolicited, `GETBLOCK ${hash.slice(0, 12)}… unanswered`);
      if (next !== null) this.sendTo(next, encodeMessage({ type: 'GETBLOCK', hash }));
      else if (this.chain.heightOf(hash) === undefined) {
        this.peers.noteAnnounced(peer, height, hash);
        claims = true;
      }
    }
    if (claims) await this.maybeSync();
  }

  /** Whether this block (by `blockSeenKey`) was found valid before or is on our chain. */
  private holdsBlock(seenKey: string, raw: unknown): boolean {
    if (this.seenBlocks.has(seenKey)) return true;
    const { blockCount, lastHash, signature } = raw as Block;
    const ours = this.chain.blockAt(blockCount);
    return !!ours && ours.lastHash === lastHash && ours.signature === signature && blockCount > 0;
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
    if (!conflictsWith(this.chain.blockAt(block.blockCount), block)) return;
    if (this.equivocations.has(block.forger, block.blockCount)) return;
    // The forger's signature was verified in onBlock: this is evidence.
    this.recordEquivocation(block, this.chain.hashAt(block.blockCount) as string);
  }

  private recordEquivocation(otherBlock: Block, keptHash: string): void {
    if (!this.equivocations.record(otherBlock, keptHash, this.clock.now())) return;
    this.log({
      kind: 'equivocation',
      message: `forger signed two blocks at height ${otherBlock.blockCount}`,
    });
    this.changed();
  }

  // ---------------------------------------------------------------- forging

  /**
   * Forges when this node holds the next forger's key and the pool holds a transaction the
   * head can cover (the reference forges as soon as the pool holds one transaction). A sync
   * pauses forging only once its peer has proven a longer chain (see `SyncMachine.holdsForging`):
   * a mere claim, however high, never does. Every sync's end calls this again.
   */
  private async maybeForge(): Promise<void> {
    this.syncPoolToHead();
    while (
      this.running &&
      this.wallet &&
      this.forgingNow() &&
      this.pool.coveredCount > 0 &&
      !this.sync.holdsForging
    ) {
      const state = this.chain.headState;
      if (state.resilient) {
        // Slots (docs/consensus-resilient.md §4): forge only on duty; else come back when the
        // next duty slot begins (one timer, replaced at every look).
        const turn = forgingTurn(state.resilient, this.wallet.publicKeyPem, this.nowSeconds());
        if (!turn.onDuty) return this.armDutyTimer(turn.nextDutyAt);
      } else if (nextForgerOf(state) !== this.wallet.publicKeyPem) return;
      // The rules run once, here; the forged block is checked for its signature only.
      const choice = chooseTransactions(state, this.pool.coveredEntries(), this.limits.maxBlockTransactions);
      if (choice.transactions.length === 0) return;
      const forged = await forgeBlock(
        state,
        choice,
        this.wallet,
        this.crypto,
        this.clock.now(),
        this.lottery,
      );
      if (!forged) {
        this.log({ kind: 'error', message: 'forged a block whose signature does not verify' });
        return;
      }
      const { block } = forged;
      this.rememberSeen(blockSeenKey(block) as string);
      // The trail starts here; sent before the commit's store write, as a relay is (see onBlock).
      const hash = forged.state.headHash;
      this.hadBlock(hash, block, [{ node: this.transport.localId, delayMs: 0 }], null, this.clock.now());
      this.relayBlock(hash, block);
      await this.appendValidated([block], [forged.state]);
      this.syncPoolToHead();
      this.log({
        kind: 'forge',
        message: `forged block ${block.blockCount} with ${choice.transactions.length} transactions`,
      });
    }
  }

  /** The clock in whole seconds, as the `resilient` profile's slots and drift bound count time. */
  private nowSeconds(): number {
    return Math.floor(this.clock.now() / 1000);
  }

  /** Runs `maybeForge` again at `at` (whole seconds), replacing any duty timer; none when null. */
  private armDutyTimer(at: number | null): void {
    this.cancelDutyTimer();
    this.cancelDutyTimer = () => {};
    if (at === null || !this.running) return;
    this.cancelDutyTimer = this.clock.setTimeout(
      () => void this.enqueue(() => this.maybeForge()),
      at * 1000 - this.clock.now(),
    );
  }

  /**
   * Holds a block on our head that is stamped more than the drift bound ahead of our clock
   * (`FROM_THE_FUTURE`, `resilient`): not adopted, not blamed, checked again once our clock
   * reaches `dueAt`. The buffer is small and bounded, per peer and in total, so a peer cannot
   * fill memory with blocks from the far future; past the bounds a block is dropped (an honest
   * one comes back by sync). One timer serves the earliest due block.
   */
  private holdFutureBlock(peer: PeerId, block: Block, dueAt: number, trail: Trail | undefined): void {
    const key = blockSeenKey(block);
    if (this.futureBlocks.some((held) => blockSeenKey(held.block) === key)) return;
    const fromPeer = this.futureBlocks.filter((held) => held.peer === peer).length;
    if (fromPeer >= FUTURE_BLOCKS_PER_PEER || this.futureBlocks.length >= FUTURE_BLOCKS_HELD) {
      this.log({
        kind: 'sync',
        peer,
        message: `block ${block.blockCount} from the future dropped: buffer full`,
      });
      return;
    }
    this.futureBlocks.push({ peer, block, dueAt, trail });
    this.log({
      kind: 'sync',
      peer,
      message: `block ${block.blockCount} is ahead of this clock: held until ${dueAt}`,
    });
    this.armFutureTimer();
  }

  /** (Re)arms the one timer for the earliest held future block. */
  private armFutureTimer(): void {
    if (this.futureBlocks.length === 0 || !this.running) return;
    const due = Math.min(...this.futureBlocks.map((held) => held.dueAt));
    if (this.futureTimerAt !== null && this.futureTimerAt <= due) return;
    this.cancelFutureTimer();
    this.futureTimerAt = due;
    this.cancelFutureTimer = this.clock.setTimeout(
      () => {
        this.futureTimerAt = null;
        void this.enqueue(() => this.recheckFutureBlocks());
      },
      due * 1000 - this.clock.now(),
    );
  }

  /** Takes the held blocks that are due now through `onBlock` again, oldest first. */
  private async recheckFutureBlocks(): Promise<void> {
    const now = this.nowSeconds();
    const due = this.futureBlocks.filter((held) => held.dueAt <= now);
    for (const held of due) this.futureBlocks.splice(this.futureBlocks.indexOf(held), 1);
    for (const held of due) if (this.running) await this.onBlock(held.peer, held.block, held.trail);
    this.armFutureTimer();
  }

  // ---------------------------------------------------------------- chain changes

  /**
   * Appends blocks validated on our head (gossip, forging): a commit at our height. Peers hear
   * of the new head from the block's announcement, not from a STATUS (which would race it).
   */
  private async appendValidated(blocks: readonly Block[], states: readonly ChainState[]): Promise<void> {
    await this.commit({ forkHeight: this.chain.height, blocks, states }, { announced: true });
  }

  /**
   * The one way the chain changes (gossip, forging, sync, import): append or reorg, the pool
   * (included transactions out, orphaned ones back), equivocations a reorg reveals, the store,
   * the STATUS announcement (unless the new head was announced as a block: `announced`) and the
   * snapshot. See `commit.ts`.
   */
  private async commit(input: CommitInput, { announced = false } = {}): Promise<boolean> {
    const plan = planCommit(this.chain, input);
    if (!plan) return false;
    const now = this.clock.now();
    const outcome = applyCommit(
      plan,
      { chain: this.chain, pool: this.pool, equivocations: this.equivocations },
      now,
    );
    for (const { otherBlock } of outcome.recorded) {
      this.log({
        kind: 'equivocation',
        message: `forger signed two blocks at height ${otherBlock.blockCount}`,
      });
    }
    this.noteMine(
      plan.returned.map((tx) => tx.id),
      'returned',
    );
    if (plan.orphaned.length > 0) {
      this.log({
        kind: 'reorg',
        message: `reorg at ${plan.forkHeight}: ${plan.orphaned.length} blocks orphaned, ${outcome.returnedToPool} transactions back in the pool`,
      });
    }
    this.poolDirty = true;
    this.headSince = now;
    if (plan.head.resilient) {
      // The duty slots count from the new head: the timer set for the old one goes, and the
      // forger looks again (it re-arms for the new head's slots).
      this.cancelDutyTimer();
      this.cancelDutyTimer = () => {};
      void this.enqueue(() => this.maybeForge());
    }
    await this.store.use((store) =>
      writeChainChange(store, {
        forkHeight: plan.forkHeight,
        orphaned: plan.orphaned,
        blocks: plan.blocks,
        states: plan.states,
        head: plan.head,
        // The chart of propagation times reads what this node measured (gossip's trails).
        propagationMs: (hash) => this.propagation.reachedAfter(hash, this.transport.localId),
      }),
    );
    // After a sync or an import, peers learn our new head now rather than at the next
    // heartbeat: their views of who is behind (and whom to sync from) stay current. A block from
    // gossip or forging was announced already; a STATUS too would race it to every peer and set
    // off a catch-up request for the block already on its way.
    if (!announced) this.broadcast(this.statusMessage());
    this.changed();
    return true;
  }

  // ---------------------------------------------------------------- sync

  private async onBlockchainRequest(peer: PeerId, from: number, count: number): Promise<void> {
    const blocks = await this.chain.readRange(from, from + Math.min(count, MAX_BLOCKS_PER_MESSAGE) - 1);
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
    this.peers.noteHead(peer, message.height, message.head);
    // A reply we asked for but no longer need (the sync ended or moved on) is not the peer's fault.
    const expected = this.peers.replyReceived(peer, message.from);
    if (!this.sync.awaits(peer, message.from)) {
      if (!expected) this.penalize(peer, PENALTY.unsolicited, 'unsolicited BLOCKCHAIN');
      return;
    }
    const { from, blocks, height } = message;
    // The sync machine reads the state at a fork point synchronously. On a restored node a fork
    // below the blocks held in memory needs a checkpoint and blocks from the store: read it now
    // (it stays cached in the chain view), so a deep fork is judged like a shallow one.
    if (from >= 1 && from - 1 < this.chain.height) {
      try {
        await this.chain.readStateAt(from - 1);
      } catch (error) {
        this.log({ kind: 'store', message: `fork state at ${from - 1}: ${String(error)}` });
      }
    }
    await this.driveSync({ kind: 'reply', peer, from, blocks, height });
  }

  /**
   * Starts a sync with the best peer claiming more than we hold, unless one runs; failing that,
   * with a peer at our height whose head differs and has not been judged yet (`tie`: the fork
   * choice decides, see src/core/fork-choice.ts), so two branches of one height never stay split.
   */
  private async maybeSync(): Promise<void> {
    if (!this.running || this.sync.active) return;
    const now = this.clock.now();
    const target = this.peers.syncTarget(this.chain.height, now);
    if (target) {
      await this.driveSync({ kind: 'start', peer: target.peer, claimedHeight: target.height });
      return;
    }
    const tie = this.peers.tieTarget(this.chain.height, this.chain.headHash, now, (head) =>
      this.sync.hasJudged(head),
    );
    if (tie) await this.driveSync({ kind: 'tie', peer: tie.peer, height: tie.height, head: tie.head });
  }

  /**
   * Feeds `event` to the sync machine and carries out the commands it returns, feeding their
   * results (a validated chunk) back in. When the sync ends, however it ends, the forger
   * resumes and the next sync may start.
   */
  private async driveSync(event: SyncEvent): Promise<void> {
    const events: SyncEvent[] = [event];
    let ended = false;
    for (let next = events.shift(); next; next = events.shift()) {
      for (const command of this.sync.step(next, this.chain)) {
        const result = await this.runSyncCommand(command);
        if (result) events.push(result);
        if (command.kind === 'done') ended = true;
      }
    }
    this.changed();
    if (ended) {
      await this.maybeForge();
      await this.maybeSync();
    }
  }

  /** Carries out one sync command; returns the event its result makes, if any. */
  private async runSyncCommand(command: SyncCommand): Promise<SyncEvent | null> {
    switch (command.kind) {
      case 'request':
        this.peers.expectReply(command.peer, command.from);
        this.sendTo(
          command.peer,
          encodeMessage({ type: 'BLOCKCHAINREQUEST', from: command.from, count: command.count }),
        );
        return null;
      case 'validate': {
        const result = await extendChain(command.base, command.blocks, this.crypto, {
          cache: this.verified,
          lottery: this.lottery,
          now: this.nowSeconds(),
          ...(this.pause ? { pause: this.pause } : {}),
        });
        return { kind: 'validated', result };
      }
      case 'adopt':
        await this.commit(command);
        return null;
      case 'penalize':
        this.penalize(command.peer, command.points, command.reason);
        return null;
      case 'refuse':
        this.refuseBranch(command.peer, command.message);
        return null;
      case 'proven':
        this.peers.proven(command.peer, command.height);
        return null;
      case 'kept':
        await this.checkEquivocation(command.rival);
        return null;
      case 'armTimer': {
        this.cancelSyncTimer();
        const { token } = command;
        this.cancelSyncTimer = this.clock.setTimeout(
          () => void this.enqueue(() => this.driveSync({ kind: 'timeout', token })),
          command.ms,
        );
        return null;
      }
      case 'cancelTimer':
        this.cancelSyncTimer();
        this.cancelSyncTimer = () => {};
        return null;
      case 'log':
        this.log({ kind: 'sync', peer: command.peer, message: command.message });
        return null;
      case 'done':
        if (command.failed) this.peers.bench(command.peer, this.clock.now() + this.limits.syncRetryAfterMs);
        return null;
    }
  }

  /**
   * A peer offered a valid, preferred branch that would replace more blocks than the reorg bound
   * (`resilient`): kept out, but the peer is not blamed (it may be honest, cut off for long). It
   * is benched from sync for a while, and the user is told once per distinct message.
   */
  private refuseBranch(peer: PeerId, message: string): void {
    this.peers.bench(peer, this.clock.now() + this.limits.syncRetryAfterMs);
    this.log({ kind: 'sync', peer, message });
    this.addNotice(message);
  }

  /** Adds a notice for the user, once. */
  private addNotice(notice: string): void {
    if (this.notices.includes(notice)) return;
    this.notices.push(notice);
    this.changed();
  }

  // ---------------------------------------------------------------- storage

  private async restore(): Promise<void> {
    let pool: readonly { readonly transaction: Transaction; readonly receivedAt: number }[] = [];
    await this.store.use(async (store) => {
      const stored = await store.load({ recentBlocks: RECENT_BLOCKS });
      this.notices.push(...stored.notices);
      // Older blocks stay in the store until something asks for them.
      const source = this.store.source((notice) => {
        if (this.notices.includes(notice)) return;
        this.notices.push(notice);
        this.changed();
      });
      const repair = await restoreChain(this.chain, stored, source, this.lottery);
      if (repair) await store.writeChain(repair);
      pool = stored.pool;
      if (stored.wallet && !this.wallet) this.wallet = { ...stored.wallet };
      this.mine = await store.readMyTransactions();
    });
    // The tab is interactive from here; every older hash and transaction id (what grows with the
    // chain) loads now, as the queue's first task: nothing is validated, forged or pooled before
    // the replay check has every id.
    this.indexLoaded = this.enqueue(async () => {
      // The restored head renders first; the index comes right after.
      await this.yieldToPage();
      const notice = await this.chain.loadIndex(this.yieldToPage);
      if (notice !== null) this.notices.push(notice);
      for (const entry of pool) {
        if (!this.chain.headState.txIds.has(entry.transaction.id))
          this.pool.add(entry.transaction, entry.receivedAt);
      }
      this.changed();
    });
  }

  /** The store failed (and was dropped): the node keeps running from memory, and tells the user. */
  private storageFailed(error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error);
    this.notices.push(
      `Storage failed (${reason}): this tab keeps running from memory and will not survive a reload.`,
    );
    this.log({ kind: 'store', message: reason });
    this.changed();
  }
}
