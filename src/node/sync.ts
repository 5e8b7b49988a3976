import { decodeBlock } from '../core/decode';
import type { LotteryRunner } from '../core/lottery';
import type { ChainState } from '../core/state';
import type { Block } from '../core/types';
import { extendChain } from '../core/validate';
import type { CryptoProvider } from '../crypto/types';
import type { Clock } from '../ports/clock';
import type { PeerId } from '../ports/transport';
import type { ChainView } from './chain';
import { PENALTY } from './peers';
import type { VerifiedSignatureCache } from './pool';
import { MAX_BLOCKS_PER_MESSAGE, type WireMessage } from './protocol';
import type { NodeLimits, NodeLogEvent, SyncProgress } from './types';

/*
 * Ranged sync: one peer at a time, chunk by chunk, first stepping back to where its chain
 * forks from ours, then validating forward and adopting the candidate as soon as it is the
 * longer chain. The node runs every call here from its serial queue.
 */

/** What a sync needs from its node. */
export interface SyncHost {
  /** Our chain; only read here (changes go through `adopt`). */
  readonly chain: Pick<ChainView, 'height' | 'hashAt' | 'stateAt'>;
  readonly crypto: CryptoProvider;
  readonly verified: VerifiedSignatureCache;
  /** Draws each new state's next forger. */
  readonly lottery: LotteryRunner;
  readonly clock: Clock;
  readonly limits: Pick<NodeLimits, 'syncChunk' | 'syncTimeoutMs'>;
  /** Whether the node runs (a stopped node starts no sync). */
  isRunning(): boolean;
  /** The highest connected peer above `height`, if any. */
  highestPeerAbove(height: number): { readonly peer: PeerId; readonly height: number } | null;
  /** Sends `peer` a BLOCKCHAINREQUEST, noting its reply as expected. */
  request(peer: PeerId, from: number, count: number): void;
  /** Lowers a peer's score; may ban it, which ends the sync through `endWith`. */
  penalize(peer: PeerId, points: number, reason: string): void;
  /** Switches to our chain up to `forkHeight` followed by `blocks` (validated, with their states). */
  adopt(forkHeight: number, blocks: readonly Block[], states: readonly ChainState[]): Promise<void>;
  /** Runs `task` on the node's queue. */
  enqueue(task: () => Promise<void>): void;
  log(event: NodeLogEvent): void;
  /** Something the snapshot shows changed. */
  changed(): void;
  /** A sync finished and its chain was adopted: the node may forge again. */
  synced(): Promise<void>;
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
  cancelTimer: () => void;
}

/** The node's sync: at most one runs at a time. */
export class Syncer {
  private sync: SyncRun | null = null;

  /** `host` is what the sync reads and does through; see `SyncHost`. */
  constructor(private readonly host: SyncHost) {}

  /** Whether a sync runs (the node does not forge meanwhile). */
  get active(): boolean {
    return this.sync !== null;
  }

  /** The sync in progress, as the UI sees it. */
  progress(): SyncProgress | null {
    return this.sync
      ? {
          peer: this.sync.peer,
          forkHeight: this.sync.forkHeight,
          targetHeight: this.sync.target,
          validatedHeight: this.sync.forkHeight + this.sync.candidate.length,
        }
      : null;
  }

  /** Starts a sync with the highest peer that is ahead of us, unless one runs. */
  maybeStart(): void {
    const { host } = this;
    if (this.sync || !host.isRunning()) return;
    const best = host.highestPeerAbove(host.chain.height);
    if (!best) return;
    const { peer } = best;
    const from = host.chain.height + 1;
    this.sync = {
      peer,
      from,
      requested: 0,
      stepBack: host.limits.syncChunk,
      linked: false,
      forkHeight: host.chain.height,
      target: best.height,
      candidate: [],
      candidateStates: [],
      cancelTimer: () => {},
    };
    host.log({ kind: 'sync', peer, message: `syncing from ${from} towards ${best.height}` });
    this.requestChunk(from);
    host.changed();
  }

  /** Ends the sync, if it runs with `peer` (which left or was banned). */
  endWith(peer: PeerId, reason: string): void {
    if (this.sync?.peer === peer) this.end(reason);
  }

  /** Drops the sync without a word (the node stops). */
  stop(): void {
    this.sync?.cancelTimer();
    this.sync = null;
  }

  /** Whether the running sync waits for `peer`'s blocks from `from` on. */
  awaits(peer: PeerId, from: number): boolean {
    return this.sync !== null && this.sync.peer === peer && from === this.sync.from;
  }

  /** Takes the reply the sync waits for (see `awaits`): validates it, and adopts or asks on. */
  async onReply(message: Extract<WireMessage, { type: 'BLOCKCHAIN' }>): Promise<void> {
    const { host } = this;
    const sync = this.sync;
    if (!sync) return;
    const { peer } = sync;
    sync.cancelTimer();
    sync.target = message.height;
    if (message.blocks.length === 0) return this.finish();

    if (!sync.linked) {
      const first = decodeBlock(message.blocks[0]);
      if (!first.ok) {
        host.penalize(peer, PENALTY.malformed, first.error.message);
        return this.end('malformed block');
      }
      const parentHeight = sync.from - 1;
      if (first.value.blockCount === sync.from && first.value.lastHash === host.chain.hashAt(parentHeight)) {
        sync.linked = true;
        sync.forkHeight = parentHeight;
      } else if (parentHeight === 0) {
        // Nothing links to our genesis block: the peer's chain is another network's, or forged.
        host.penalize(peer, PENALTY.invalid, 'its chain does not link to genesis');
        return this.end('no common ancestor');
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

    const base = sync.candidateStates[sync.candidateStates.length - 1] ?? host.chain.stateAt(sync.forkHeight);
    const result = await extendChain(base, message.blocks, host.crypto, {
      cache: host.verified,
      lottery: host.lottery,
    });
    if (this.sync !== sync) return; // ended while validating
    sync.candidate.push(...result.validBlocks);
    sync.candidateStates.push(...result.validStates);
    host.changed();
    if (result.error) {
      host.penalize(
        peer,
        PENALTY.invalid,
        `invalid chain at block ${sync.from + (result.firstInvalid ?? 0)}: ${result.error.message}`,
      );
      // The valid prefix still counts: the longest valid chain wins.
      return this.finish();
    }
    sync.from = next;
    // Switch as soon as the validated candidate is longer than our chain, and from then on
    // append each validated chunk: a long sync shows progress on the head, and a tab closed
    // mid-sync keeps what it had validated (each chunk is one atomic store write).
    await this.adoptCandidate(sync);
    if (this.sync !== sync) return;
    if (sync.from > sync.target) return this.finish();
    if (sync.requested < sync.from) this.requestChunk(sync.from);
    else this.armTimer(sync);
  }

  /** Asks the sync peer for the blocks from `from` on, and arms the reply timeout. */
  private requestChunk(from: number): void {
    const sync = this.sync;
    if (!sync) return;
    sync.requested = Math.max(sync.requested, from);
    this.host.request(sync.peer, from, Math.min(this.host.limits.syncChunk, MAX_BLOCKS_PER_MESSAGE));
    this.armTimer(sync);
  }

  private armTimer(sync: SyncRun): void {
    const { host } = this;
    sync.cancelTimer();
    sync.cancelTimer = host.clock.setTimeout(() => {
      host.enqueue(async () => {
        if (this.sync !== sync) return;
        host.penalize(sync.peer, PENALTY.timeout, 'sync request timed out');
        this.end('timeout');
      });
    }, host.limits.syncTimeoutMs);
  }

  private end(reason: string): void {
    if (!this.sync) return;
    this.sync.cancelTimer();
    this.host.log({ kind: 'sync', peer: this.sync.peer, message: `sync ended: ${reason}` });
    this.sync = null;
    this.host.changed();
  }

  /**
   * Adopts the validated candidate of `sync` if it is longer than our chain; afterwards the
   * candidate is empty and forks from our new head, so later chunks simply extend it.
   */
  private async adoptCandidate(sync: SyncRun): Promise<void> {
    const { chain } = this.host;
    const candidateHeight = sync.forkHeight + sync.candidate.length;
    if (candidateHeight <= chain.height) return;
    // Blocks we already hold (gossip may have brought them while the sync ran) are not a fork.
    let forkHeight = sync.forkHeight;
    let skip = 0;
    while (
      skip < sync.candidate.length &&
      chain.hashAt(forkHeight + 1) === sync.candidateStates[skip]?.headHash
    ) {
      forkHeight++;
      skip++;
    }
    await this.host.adopt(forkHeight, sync.candidate.slice(skip), sync.candidateStates.slice(skip));
    this.host.log({ kind: 'sync', peer: sync.peer, message: `adopted the chain up to ${candidateHeight}` });
    sync.forkHeight = chain.height;
    sync.candidate = [];
    sync.candidateStates = [];
  }

  private async finish(): Promise<void> {
    const sync = this.sync;
    if (!sync) return;
    this.sync = null;
    sync.cancelTimer();
    await this.adoptCandidate(sync);
    this.host.changed();
    this.maybeStart();
    await this.host.synced();
  }
}
