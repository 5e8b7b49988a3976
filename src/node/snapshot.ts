import { nextForgerOf } from '../core/state';
import type { KeyPair } from '../crypto/types';
import type { PeerId, TransportStatus } from '../ports/transport';
import type { ChainView } from './chain';
import type { PoolEntry } from './pool';
import type {
  BlockPropagation,
  Equivocation,
  NetworkTopology,
  NodePhase,
  NodeSnapshot,
  PeerView,
  SyncProgress,
} from './types';

/** What a snapshot is built from: the node's parts as they are now. */
export interface SnapshotParts {
  readonly nodeId: PeerId;
  readonly phase: NodePhase;
  readonly running: boolean;
  readonly chain: Pick<ChainView, 'height' | 'headHash' | 'head' | 'headState'>;
  readonly pool: readonly PoolEntry[];
  readonly peers: readonly PeerView[];
  readonly sync: SyncProgress | null;
  readonly equivocations: readonly Equivocation[];
  readonly wallet: KeyPair | null;
  readonly forgingAllowed: boolean;
  readonly forging: boolean;
  readonly alwaysOn: boolean;
  readonly forgingElsewhere: PeerId | null;
  readonly forgingTakenOverBy: PeerId | null;
  readonly transport: TransportStatus;
  readonly notices: readonly string[];
  readonly topology: NetworkTopology;
  readonly propagation: readonly BlockPropagation[];
  /** The time now (ms). */
  readonly now: number;
  /** When the head last changed (ms). */
  readonly headSince: number;
  /** Pending transactions this old with no new block mean the chain is stalled (ms). */
  readonly stallAfterMs: number;
}

/** Builds the frozen value the UI reads; copies the node's own lists so later changes do not show through. */
export function buildSnapshot(parts: SnapshotParts): NodeSnapshot {
  const { chain, pool, peers, wallet, now } = parts;
  const state = chain.headState;
  const nextForger = nextForgerOf(state);
  const pendingSince = pool.length === 0 ? null : Math.min(...pool.map((e) => e.receivedAt));
  const isMe = wallet?.publicKeyPem === nextForger;
  return Object.freeze({
    nodeId: parts.nodeId,
    phase: parts.phase,
    running: parts.running,
    height: chain.height,
    headHash: chain.headHash,
    head: chain.head,
    state,
    nextForger,
    waitingFor: {
      forger: nextForger,
      isMe,
      online: isMe || peers.some((p) => p.forgerKey === nextForger),
      stalled: pendingSince !== null && now - Math.max(pendingSince, parts.headSince) > parts.stallAfterMs,
      pendingSince,
    },
    pool,
    peers,
    sync: parts.sync,
    equivocations: [...parts.equivocations],
    wallet: wallet ? { publicKeyPem: wallet.publicKeyPem, extractable: wallet.extractable } : null,
    forgingAllowed: parts.forgingAllowed,
    forging: parts.forging,
    alwaysOn: parts.alwaysOn,
    forgingElsewhere: parts.forgingElsewhere,
    forgingTakenOverBy: parts.forgingTakenOverBy,
    transport: parts.transport,
    notices: [...parts.notices],
    topology: parts.topology,
    propagation: [...parts.propagation],
  });
}
