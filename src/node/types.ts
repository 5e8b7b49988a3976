import type { ChainState } from '../core/state';
import type { Block } from '../core/types';
import type { PeerId, TransportStatus } from '../ports/transport';
import type { PoolEntry } from './pool';
import { DEFAULT_RATE_LIMITS, type RateLimits } from './rate-limit';

/*
 * The types a node's parts share (limits, diagnostics and what the UI reads); `node.ts`
 * re-exports them, so callers keep importing from there.
 */

/** Tunables; the defaults suit a browser tab on a devnet. */
export interface NodeLimits {
  /** Peers to hold channels with; more are not dialled. */
  readonly maxPeers: number;
  /** Pooled transactions at most. */
  readonly poolMax: number;
  /** Pooled transactions one sender may hold (see `TransactionPool` for the eviction rule). */
  readonly poolPerSender: number;
  /** A pooled transaction is dropped this long after it arrived (ms). */
  readonly poolTtlMs: number;
  /** Transactions a forged block takes at most. */
  readonly maxBlockTransactions: number;
  /** Blocks asked for per sync request. */
  readonly syncChunk: number;
  /** A sync request unanswered this long is abandoned (ms). */
  readonly syncTimeoutMs: number;
  /** A peer whose sync failed (empty, useless or no reply) is not synced from for this long (ms). */
  readonly syncRetryAfterMs: number;
  /** STATUS to every peer this often (ms). */
  readonly heartbeatMs: number;
  /**
   * Liveness: a peer we have heard nothing from for this long gets a PING (ms); the check runs
   * this often too. Any message counts, so a busy network sends no extra pings.
   */
  readonly pingMs: number;
  /**
   * A peer silent this long (no PONG, no message of any kind) is dropped (ms). A closed tab's
   * channel normally reports its close at once; this catches the ones that vanish without a
   * close (a crashed tab, a sleeping laptop, a lost network). It must outlast a busy peer's
   * longest task (a node answers PING from its serial queue), hence a few pings' worth.
   */
  readonly peerSilenceMs: number;
  /**
   * A peer dropped for silence is redialled at every discovery round for this long (ms), even
   * with every slot taken: it may be across a network split that heals (see `PeerTable.markLost`).
   */
  readonly lostPeerRedialMs: number;
  /** DISCOVERY to every peer this often (ms). */
  readonly discoveryMs: number;
  /** A peer whose score falls to this is dropped and never dialled again. */
  readonly banScore: number;
  /** Pending transactions this old with no new block mean the chain is stalled (ms). */
  readonly stallAfterMs: number;
  /** Signed transactions remembered as verified. */
  readonly verifiedCacheSize: number;
  /** Messages per peer and type (token buckets); see `DEFAULT_RATE_LIMITS`. */
  readonly rateLimits: RateLimits;
  /** To how many peers a new block goes whole; the others get an ANNOUNCE (see `gossip.ts`). */
  readonly blockPush: BlockPush;
  /** A GETBLOCK unanswered this long moves on to the block's next announcer (ms). */
  readonly blockFetchTimeoutMs: number;
}

/** To how many peers a new block goes whole: every one, ⌈√peers⌉, or none (announced to all). */
export type BlockPush = 'all' | 'sqrt' | 'none';

/** The defaults of `NodeLimits`. */
export const DEFAULT_LIMITS: NodeLimits = {
  maxPeers: 6,
  poolMax: 5000,
  // Nimiq's mempool cap per sender. One sender legitimately queues many: the exchange sells to
  // every buyer from one key, and the throughput bench submits 500 purchases at once. A tenth
  // of the pool, so one flooding key can never hold more than that, and eviction takes its
  // newest first.
  poolPerSender: 500,
  poolTtlMs: 10 * 60_000,
  maxBlockTransactions: 1000,
  syncChunk: 32,
  syncTimeoutMs: 10_000,
  syncRetryAfterMs: 30_000,
  heartbeatMs: 5_000,
  pingMs: 1_000,
  peerSilenceMs: 5_000,
  lostPeerRedialMs: 5 * 60_000,
  discoveryMs: 10_000,
  banScore: -100,
  stallAfterMs: 15_000,
  verifiedCacheSize: 20_000,
  rateLimits: DEFAULT_RATE_LIMITS,
  // Chosen by `bench/sim.ts` (see `gossip.ts`): announcing instead of pushing costs a round trip per hop.
  blockPush: 'all',
  blockFetchTimeoutMs: 2_000,
};

/** A diagnostic event. */
export interface NodeLogEvent {
  readonly kind: 'penalty' | 'ban' | 'peer' | 'sync' | 'reorg' | 'forge' | 'equivocation' | 'store' | 'error';
  readonly message: string;
  readonly peer?: PeerId;
}

/** A connected peer as the UI sees it. */
export interface PeerView {
  readonly id: PeerId;
  /** Starts at 0; invalid or malformed data lowers it; at `banScore` the peer is dropped. */
  readonly score: number;
  /** The peer's head height as it last claimed (STATUS, BLOCKCHAIN or a relayed block). */
  readonly height: number;
  readonly head: string | null;
  /** The key the peer holds, if any (it may hold it and not forge: see `forging`). */
  readonly forgerKey: string | null;
  /** The peer says it is an always-on node (`npm run node`), not a browser tab. */
  readonly alwaysOn: boolean;
  /** The peer says it forges with `forgerKey` right now. */
  readonly forging: boolean;
  /** Last measured round-trip time (ms). */
  readonly rttMs: number | null;
}

/** A sync in progress. */
export interface SyncProgress {
  readonly peer: PeerId;
  /** The height the candidate chain forks from ours (its first block is this + 1). */
  readonly forkHeight: number;
  /** The peer's head height as it claims. */
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

/**
 * Where a node is in its life, for the UI (it reads this instead of guessing from outside):
 * - `stopped`: not started yet, or stopped;
 * - `restoring`: `start` is reading the store; the chain is still genesis alone;
 * - `ready`: the restored chain is usable (commands, forging, timers run) while the transport is
 *   still starting, e.g. waiting for the signaling server (a lone tab may stay here for good);
 * - `connected`: the transport has started: the node has its network id and peers can reach it.
 *   Whether the signaling server is up at this moment is `NodeSnapshot.transport.signaling`.
 *
 * The order is always stopped → restoring → ready → connected → stopped.
 */
export type NodePhase = 'stopped' | 'restoring' | 'ready' | 'connected';

/** A node this one knows of: a direct peer, or one a peer named in peer exchange (DISCOVERY). */
export interface KnownNode {
  readonly id: PeerId;
  /** The key it forges with, when it said so (direct peers' STATUS; null when unknown). */
  readonly forgerKey: string | null;
  readonly alwaysOn: boolean;
  /** Connected to this node right now. */
  readonly direct: boolean;
}

/** A link between two nodes, as one of them reported it (undirected: `a < b`). */
export interface NetworkLink {
  readonly a: PeerId;
  readonly b: PeerId;
}

/** The network as this node knows it, for the network map: itself, its peers and theirs. */
export interface NetworkTopology {
  readonly nodes: readonly KnownNode[];
  readonly links: readonly NetworkLink[];
}

/** One hop of a block's journey: `to` had the block `atMs` after its forger, `delayMs` after `from`. */
export interface PropagationHop {
  readonly from: PeerId;
  readonly to: PeerId;
  /** This hop's measured delay (ms): link time plus the relaying node's checks. */
  readonly delayMs: number;
  /** Sum of the hop delays from the forging node to `to` (ms). */
  readonly atMs: number;
}

/** How a recent block spread, as far as this node saw (its own hop and the trails peers announced). */
export interface BlockPropagation {
  readonly hash: string;
  readonly height: number;
  /** The forger's public key. */
  readonly forger: string;
  /** The node that forged it, when known (the first node of every trail). */
  readonly forgedBy: PeerId | null;
  /** When this node first had it (ms, this node's clock). */
  readonly seenAt: number;
  readonly hops: readonly PropagationHop[];
}

/** Recent blocks kept in `NodeSnapshot.propagation`. */
export const MAX_PROPAGATION_BLOCKS = 16;

/** Everything the UI reads, as one immutable value replaced on every change. */
export interface NodeSnapshot {
  readonly nodeId: PeerId;
  readonly phase: NodePhase;
  /** The node takes commands and messages (from `ready` until `stop` begins). */
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
  /** Whether the wallet may forge: a browser tab allows it only while it holds its key's forging lock. */
  readonly forgingAllowed: boolean;
  /** Whether this node forges with its wallet right now (what its STATUS says as `forging`). */
  readonly forging: boolean;
  /** This is an always-on node (`npm run node`). */
  readonly alwaysOn: boolean;
  /**
   * A tab: the connected always-on peer that forges with this node's key, so this node does not
   * (until the user takes over); null when none does.
   */
  readonly forgingElsewhere: PeerId | null;
  /** An always-on node: the tab that took forging with this node's key over, or null. */
  readonly forgingTakenOverBy: PeerId | null;
  /** The transport's status as it last reported it (`TransportHandlers.onStatus`). */
  readonly transport: TransportStatus;
  /** Messages for the user (storage trouble, a repaired store). */
  readonly notices: readonly string[];
  /** The network as this node knows it (the network map). */
  readonly topology: NetworkTopology;
  /** The last `MAX_PROPAGATION_BLOCKS` blocks' journeys, newest first. */
  readonly propagation: readonly BlockPropagation[];
}
