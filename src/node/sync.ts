import { blockHash } from '../core/block';
import { decodeBlock } from '../core/decode';
import type { ChainState } from '../core/state';
import type { Block } from '../core/types';
import type { ExtendResult } from '../core/validate';
import type { PeerId } from '../ports/transport';
import { decideBranch } from './branch-choice';
import { PENALTY } from './peers';
import type { SyncProgress } from './types';

/*
 * Ranged sync as a state machine: one peer at a time, chunk by chunk, first stepping back to
 * where the peer's chain forks from ours, then validating forward and adopting the candidate
 * as soon as it is the longer chain. `SyncMachine.step` takes an event and returns commands;
 * the node carries them out (sends, validates, commits, penalizes, arms timers) and feeds the
 * results back as events.
 *
 * Which chain wins is `decideBranch` (branch-choice.ts): the longer one, and between equal
 * lengths the branch whose first block after the fork has the smaller hash (on `resilient`, the
 * lower rank first; and there a branch that would replace more than `MAX_REORG_DEPTH` of our
 * blocks is refused with a `refuse` command, never adopted, and never held against the peer). So a peer at
 * our own height with a different head (two forgers holding one key each extended their own
 * block) is worth a sync too: the `tie` event fetches its branch back to the fork point and
 * adopts it only if the rule prefers it. Heads judged that way are remembered, so a losing head
 * is fetched once, not at every STATUS. The machine reads our chain (through `SyncChainReader`) but never
 * changes anything outside itself, so its tests need no node, no network and no crypto.
 *
 * What counts against the peer (every sync peer is first a claim, see `peers.ts`):
 * - an empty reply: we only ask for heights the peer claimed, and an honest peer's height never
 *   falls (it only ever switches to a longer chain), so "nothing there" is a lie;
 * - a reply that does not start at the height asked for (blocks we already hold, say);
 * - a first block that is malformed, a chain that does not link even to our genesis block, or a
 *   block that fails validation (the valid prefix before it still counts);
 * - no reply within the timeout.
 * Each of these ends the sync with `done { failed: true }`; the node then benches the peer for a
 * while and syncs with another.
 */

/** What the machine reads of our chain; the node's `ChainView` is one. */
export interface SyncChainReader {
  readonly height: number;
  hashAt(height: number): string | undefined;
  stateAt(height: number): ChainState;
  /**
   * Our block at `height`, if held. On `resilient` the fork choice reads the forger of our first
   * block after the fork point (its rank breaks ties); without it that block counts as unranked.
   */
  blockAt?(height: number): Block | undefined;
}

/** A BLOCKCHAIN reply, as decoded by the protocol (its blocks still untrusted). */
export interface SyncReply {
  readonly peer: PeerId;
  readonly from: number;
  readonly blocks: readonly unknown[];
  /** The peer's height as it says: a claim. */
  readonly height: number;
}

/** What happens to a sync. */
export type SyncEvent =
  /** Start syncing with `peer`, which claims `claimedHeight` (above ours). Ignored while one runs. */
  | { readonly kind: 'start'; readonly peer: PeerId; readonly claimedHeight: number }
  /**
   * `peer` says it is at our height with head `head`, not ours: fetch its branch and keep the
   * one the fork choice prefers. Ignored while a sync runs, and for a head already judged.
   */
  | { readonly kind: 'tie'; readonly peer: PeerId; readonly height: number; readonly head: string }
  | ({ readonly kind: 'reply' } & SyncReply)
  /** The result of the last `validate` command. */
  | { readonly kind: 'validated'; readonly result: ExtendResult }
  /** The timer armed with `token` fired. */
  | { readonly kind: 'timeout'; readonly token: number }
  /** `peer` disconnected or was banned. */
  | { readonly kind: 'peerGone'; readonly peer: PeerId; readonly reason: string }
  /** The node stops: drop the sync without a word. */
  | { readonly kind: 'stop' };

/** What the node must do, in order. */
export type SyncCommand =
  | { readonly kind: 'request'; readonly peer: PeerId; readonly from: number; readonly count: number }
  /** Validate `blocks` on top of `base` (`extendChain`) and feed the result back as `validated`. */
  | { readonly kind: 'validate'; readonly base: ChainState; readonly blocks: readonly unknown[] }
  /** Switch to our chain up to `forkHeight` followed by `blocks` (validated, with their states). */
  | {
      readonly kind: 'adopt';
      readonly peer: PeerId;
      readonly forkHeight: number;
      readonly blocks: readonly Block[];
      readonly states: readonly ChainState[];
    }
  | { readonly kind: 'penalize'; readonly peer: PeerId; readonly points: number; readonly reason: string }
  /**
   * `resilient`: the peer's valid branch is preferred but would replace `depth` of our blocks,
   * more than the bound `maxDepth`. Not the peer's fault (an honest peer long partitioned serves
   * such a branch): the node keeps its chain, benches the peer from sync for a while and says
   * so (`message`). The sync ends with it.
   */
  | {
      readonly kind: 'refuse';
      readonly peer: PeerId;
      readonly depth: number;
      readonly maxDepth: number;
      readonly message: string;
    }
  /** `peer` has shown a valid chain, linked to ours, up to `height`. */
  | { readonly kind: 'proven'; readonly peer: PeerId; readonly height: number }
  /**
   * A tie sync kept our branch over the peer's valid one; `rival` is the first block of the
   * peer's branch (the node checks it for an equivocation: same forger, same height as ours).
   */
  | { readonly kind: 'kept'; readonly peer: PeerId; readonly rival: Block }
  /** (Re)arm the one sync timer; when it fires, feed back `timeout` with this `token`. */
  | { readonly kind: 'armTimer'; readonly token: number; readonly ms: number }
  | { readonly kind: 'cancelTimer' }
  | { readonly kind: 'log'; readonly peer: PeerId; readonly message: string }
  /** The sync ended; `failed` when the peer is to blame (the node benches it). */
  | { readonly kind: 'done'; readonly peer: PeerId; readonly reason: string; readonly failed: boolean };

/** The machine's tunables. */
export interface SyncSettings {
  /** Blocks asked for per request. */
  readonly chunk: number;
  /** A request unanswered this long ends the sync (ms). */
  readonly timeoutMs: number;
}

interface SyncRun {
  readonly peer: PeerId;
  /** The height the peer claimed when the sync started. */
  readonly claim: number;
  /** The peer's height as it last said. */
  target: number;
  /** Next height to take (the next reply must start here). */
  from: number;
  /** Highest `from` asked for so far (one request runs ahead while a chunk is validated). */
  requested: number;
  /** For a `tie` sync, the head the peer claimed at our height (judged once the sync ends). */
  tie: string | null;
  /** How far back to step when a reply does not link to our chain. */
  stepBack: number;
  linked: boolean;
  /** Our height the candidate forks from, and our hash there. */
  forkHeight: number;
  forkHash: string | undefined;
  /** The state at `forkHeight`, when this machine adopted up to it (the chain may not show it yet). */
  forkState: ChainState | null;
  candidate: Block[];
  candidateStates: ChainState[];
  /** A `validate` is out: the height it started at, and where the next reply starts. */
  validating: { readonly startHeight: number; readonly next: number } | null;
  /** The reply to the request running ahead, if it came while we were still busy. */
  early: SyncReply | null;
  /** The peer delivered valid blocks beyond our head (see `holdsForging`). */
  provenAhead: boolean;
  timerToken: number;
}

/** Heads judged by a `tie` sync that are remembered (oldest forgotten first). */
export const JUDGED_HEADS_KEPT = 256;

/** The node's sync: at most one runs at a time. */
export class SyncMachine {
  private run: SyncRun | null = null;
  private nextToken = 1;
  /** Heads at our height that a `tie` sync has fetched and judged: never fetched again. */
  private readonly judged = new Set<string>();

  constructor(private readonly settings: SyncSettings) {}

  /** Whether `head` was already fetched and judged by a `tie` sync (so is not worth another). */
  hasJudged(head: string): boolean {
    return this.judged.has(head);
  }

  /** Whether a sync runs. */
  get active(): boolean {
    return this.run !== null;
  }

  /** The peer the running sync is with, if any. */
  get peer(): PeerId | null {
    return this.run?.peer ?? null;
  }

  /**
   * Whether the node should hold off forging. The rule: an unproven claim never pauses forging;
   * only a sync whose peer has already delivered valid blocks beyond our head does, and only
   * while that sync runs. Such a sync ends within one timeout of its last progress, and it can
   * only progress with valid blocks we lack, which a liar cannot make. So any number of peers
   * (fresh ids included) claiming false heights cost the forger nothing, and a peer proven ahead
   * costs it at most one timeout after it stops delivering. Forging on a head that a proven
   * longer chain is about to replace would only make a block that is orphaned at once.
   */
  get holdsForging(): boolean {
    return this.run?.provenAhead === true;
  }

  /** The sync in progress, as the UI sees it. */
  progress(): SyncProgress | null {
    const run = this.run;
    return run
      ? {
          peer: run.peer,
          forkHeight: run.forkHeight,
          targetHeight: run.target,
          validatedHeight: run.forkHeight + run.candidate.length,
        }
      : null;
  }

  /**
   * Whether a BLOCKCHAIN reply from `peer` starting at `from` is one this sync asked for and
   * still wants (the next chunk, or the one requested ahead of it).
   */
  awaits(peer: PeerId, from: number): boolean {
    const run = this.run;
    if (!run || run.peer !== peer) return false;
    return from === run.from || (run.linked && from === run.requested && run.requested > run.from);
  }

  /** Takes one event; returns what the node must do. `chain` is our chain as it is now. */
  step(event: SyncEvent, chain: SyncChainReader): SyncCommand[] {
    switch (event.kind) {
      case 'start':
        return this.start(event.peer, event.claimedHeight, chain);
      case 'tie':
        return this.startTie(event.peer, event.height, event.head, chain);
      case 'reply':
        return this.onReply(event, chain);
      case 'validated':
        return this.onValidated(event.result, chain);
      case 'timeout': {
        const run = this.run;
        if (!run || event.token !== run.timerToken) return [];
        return [
          { kind: 'penalize', peer: run.peer, points: PENALTY.timeout, reason: 'sync request timed out' },
          ...this.end('timeout', true),
        ];
      }
      case 'peerGone':
        return this.run?.peer === event.peer ? this.end(event.reason, false) : [];
      case 'stop':
        this.run = null;
        return [{ kind: 'cancelTimer' }];
    }
  }

  private start(peer: PeerId, claimedHeight: number, chain: SyncChainReader): SyncCommand[] {
    if (this.run || claimedHeight <= chain.height) return [];
    return this.begin(peer, claimedHeight, chain.height + 1, null, chain);
  }

  /**
   * A peer at our height with another head: ask for its head block first (`from` = our height),
   * which steps back like any sync until it links, then validate its branch up to our height
   * and let the fork choice decide (`adoptIfPreferred`).
   */
  private startTie(peer: PeerId, height: number, head: string, chain: SyncChainReader): SyncCommand[] {
    if (this.run || height !== chain.height || height < 1) return [];
    if (head === chain.hashAt(height) || this.judged.has(head)) return [];
    return this.begin(peer, height, height, head, chain);
  }

  private begin(
    peer: PeerId,
    claimedHeight: number,
    from: number,
    tie: string | null,
    chain: SyncChainReader,
  ): SyncCommand[] {
    this.run = {
      peer,
      claim: claimedHeight,
      target: claimedHeight,
      from,
      requested: 0,
      tie,
      stepBack: this.settings.chunk,
      linked: false,
      forkHeight: chain.height,
      forkHash: chain.hashAt(chain.height),
      forkState: null,
      candidate: [],
      candidateStates: [],
      validating: null,
      early: null,
      provenAhead: false,
      timerToken: 0,
    };
    const what = tie ? `judging its head ${tie.slice(0, 10)} at our height` : `syncing from ${from}`;
    return [
      { kind: 'log', peer, message: `${what} towards ${claimedHeight} (claimed)` },
      ...this.request(this.run, from),
    ];
  }

  private onReply(reply: SyncReply, chain: SyncChainReader): SyncCommand[] {
    const run = this.run;
    if (!run || !this.awaits(reply.peer, reply.from)) return [];
    if (run.validating || reply.from !== run.from) {
      // The reply to the request running ahead, before we are done with the one before it.
      run.early = reply;
      return [];
    }
    return this.take(run, reply, chain);
  }

  /** Handles the reply that starts at `run.from`. */
  private take(run: SyncRun, reply: SyncReply, chain: SyncChainReader): SyncCommand[] {
    run.target = reply.height;
    if (reply.blocks.length === 0) {
      return this.fail(run, chain, PENALTY.useless, `empty reply from ${reply.from} (claimed ${run.claim})`);
    }
    if (!run.linked) {
      const first = decodeBlock(reply.blocks[0]);
      if (!first.ok) return this.fail(run, chain, PENALTY.malformed, first.error.message);
      if (first.value.blockCount !== run.from) {
        return this.fail(
          run,
          chain,
          PENALTY.useless,
          `reply starts at block ${first.value.blockCount}, not at ${run.from} as asked`,
        );
      }
      const parentHeight = run.from - 1;
      const parentHash = chain.hashAt(parentHeight);
      if (first.value.lastHash === parentHash) {
        run.linked = true;
        run.forkHeight = parentHeight;
        run.forkHash = parentHash;
        run.forkState = null;
      } else if (parentHeight === 0) {
        // Nothing links to our genesis block: the peer's chain is another network's, or forged.
        return this.fail(run, chain, PENALTY.invalid, 'its chain does not link to genesis');
      } else {
        // The peer's chain forks below `from`: step back, twice as far each time, to find where.
        run.from = Math.max(1, run.from - run.stepBack);
        run.stepBack *= 2;
        run.requested = 0;
        return this.request(run, run.from);
      }
    }

    // Linked. Blocks we already hold (stepping back overshot the fork, or gossip brought them
    // meanwhile) move the fork point up without being validated again.
    let skip = 0;
    if (run.candidate.length === 0) {
      for (const raw of reply.blocks) {
        const ours = chain.hashAt(run.forkHeight + 1);
        if (ours === undefined) break;
        const decoded = decodeBlock(raw);
        if (!decoded.ok || decoded.value.blockCount !== run.forkHeight + 1) break;
        if (blockHash(decoded.value) !== ours) break;
        run.forkHeight++;
        run.forkHash = ours;
        run.forkState = null;
        skip++;
      }
    }
    const next = run.from + reply.blocks.length;
    const commands: SyncCommand[] = [];
    // Ask for the next chunk now, so the peer serves it while this one is validated.
    if (next <= run.target && run.requested < next) commands.push(...this.request(run, next));
    if (skip === reply.blocks.length) {
      run.from = next;
      return [...commands, ...this.advance(run, chain)];
    }
    const base = this.baseState(run, chain);
    if (!base) return [...commands, ...this.end('our chain changed under the sync', false)];
    run.validating = { startHeight: base.height + 1, next };
    return [...commands, { kind: 'validate', base, blocks: reply.blocks.slice(skip) }];
  }

  private onValidated(result: ExtendResult, chain: SyncChainReader): SyncCommand[] {
    const run = this.run;
    const validating = run?.validating;
    if (!run || !validating) return [];
    run.validating = null;
    run.candidate.push(...result.validBlocks);
    run.candidateStates.push(...result.validStates);
    const commands: SyncCommand[] = [];
    if (result.validBlocks.length > 0) {
      commands.push({ kind: 'proven', peer: run.peer, height: run.forkHeight + run.candidate.length });
    }
    if (result.error?.code === 'FROM_THE_FUTURE') {
      // Not a verdict (`resilient`): a block stamped ahead of our clock ends the valid prefix
      // without blame; the prefix counts, and the rest is fetched again once it is due.
      const at = validating.startHeight + (result.firstInvalid ?? 0);
      commands.push(...this.adoptIfPreferred(run, chain));
      return [...commands, ...this.end(`block ${at} is ahead of this clock; fetched again later`, false)];
    }
    if (result.error) {
      const at = validating.startHeight + (result.firstInvalid ?? 0);
      commands.push({
        kind: 'penalize',
        peer: run.peer,
        points: PENALTY.invalid,
        reason: `invalid chain at block ${at}: ${result.error.message}`,
      });
      // The valid prefix still counts: the longest valid chain wins.
      commands.push(...this.adoptIfPreferred(run, chain));
      return [...commands, ...this.end('invalid block', true)];
    }
    run.from = validating.next;
    // Switch as soon as the validated candidate is longer than our chain, and from then on
    // adopt each validated chunk: a long sync shows progress on the head, and a tab closed
    // mid-sync keeps what it had validated.
    commands.push(...this.adoptIfPreferred(run, chain));
    if (this.run !== run) return commands;
    return [...commands, ...this.advance(run, chain)];
  }

  /** After a chunk: done, or take the reply that came early, or ask on, or wait. */
  private advance(run: SyncRun, chain: SyncChainReader): SyncCommand[] {
    if (run.from > run.target) {
      const reached = run.forkHeight + run.candidate.length;
      const adopted = this.adoptIfPreferred(run, chain);
      const commands: SyncCommand[] = [...adopted];
      if (run.tie) {
        this.judge(run.tie);
        const rival = run.candidate[0];
        if (adopted.length === 0 && rival) commands.push({ kind: 'kept', peer: run.peer, rival });
      }
      return [...commands, ...this.end(`reached ${Math.max(reached, chain.height)}`, false)];
    }
    const early = run.early;
    run.early = null;
    if (early && early.from === run.from) return this.take(run, early, chain);
    if (run.requested < run.from) return this.request(run, run.from);
    return this.arm(run);
  }

  /** The state the next chunk builds on, or null if our chain no longer holds the fork point. */
  private baseState(run: SyncRun, chain: SyncChainReader): ChainState | null {
    const last = run.candidateStates[run.candidateStates.length - 1];
    if (last) return last;
    if (run.forkState) return run.forkState;
    if (chain.hashAt(run.forkHeight) !== run.forkHash) return null;
    return chain.stateAt(run.forkHeight);
  }

  /** Remembers a judged head, forgetting the oldest past `JUDGED_HEADS_KEPT`. */
  private judge(head: string | undefined): void {
    if (head === undefined) return;
    this.judged.delete(head);
    this.judged.add(head);
    if (this.judged.size > JUDGED_HEADS_KEPT) {
      const oldest = this.judged.values().next();
      if (!oldest.done) this.judged.delete(oldest.value);
    }
  }

  /**
   * Adopts the validated candidate if the fork choice prefers it to our chain (`decideBranch`:
   * longer, or as long with a smaller first block after the fork; on `resilient` the lower first
   * rank before the hash); afterwards the candidate is empty and forks from the adopted head, so
   * later chunks simply extend it. On `resilient` a preferred branch that would replace more than
   * `MAX_REORG_DEPTH` of our blocks is refused instead, and the sync ends.
   */
  private adoptIfPreferred(run: SyncRun, chain: SyncChainReader): SyncCommand[] {
    const height = run.forkHeight + run.candidate.length;
    const head = run.candidateStates[run.candidateStates.length - 1];
    const first = run.candidateStates[0];
    if (!head || !first || height < chain.height) return [];
    const forkHeight = run.forkHeight;
    const forkState = run.forkState;
    const decision = decideBranch({
      forkHeight,
      ours: {
        height: chain.height,
        firstHash: chain.hashAt(forkHeight + 1) ?? '',
        firstForger: chain.blockAt?.(forkHeight + 1)?.forger,
      },
      theirs: { height, firstHash: first.headHash, firstForger: run.candidate[0]?.forger },
      forkState: () => forkState ?? chain.stateAt(forkHeight),
      resilient: first.resilient !== undefined,
    });
    if (decision.kind === 'keep') return [];
    if (decision.kind === 'refuse') {
      const { depth, maxDepth, message } = decision;
      return [{ kind: 'refuse', peer: run.peer, depth, maxDepth, message }, ...this.end(message, false)];
    }
    // Something else (a chain import) may have replaced our blocks at the fork point meanwhile.
    // (The chain always shows our own earlier adopts here: the node carries out each command
    // before it feeds back the next event, and the candidate is empty right after an adopt.)
    if (chain.hashAt(run.forkHeight) !== run.forkHash) {
      return this.end('our chain changed under the sync', false);
    }
    const adopt: SyncCommand = {
      kind: 'adopt',
      peer: run.peer,
      forkHeight: run.forkHeight,
      blocks: run.candidate,
      states: run.candidateStates,
    };
    run.provenAhead = true;
    run.forkHeight = height;
    run.forkHash = head.headHash;
    run.forkState = head;
    run.candidate = [];
    run.candidateStates = [];
    return [adopt, { kind: 'log', peer: run.peer, message: `adopted the chain up to ${height}` }];
  }

  private request(run: SyncRun, from: number): SyncCommand[] {
    run.requested = Math.max(run.requested, from);
    return [{ kind: 'request', peer: run.peer, from, count: this.settings.chunk }, ...this.arm(run)];
  }

  private arm(run: SyncRun): SyncCommand[] {
    run.timerToken = this.nextToken++;
    return [{ kind: 'armTimer', token: run.timerToken, ms: this.settings.timeoutMs }];
  }

  /** Penalizes the peer and ends the sync, keeping what it validated if that is the longer chain. */
  private fail(run: SyncRun, chain: SyncChainReader, points: number, reason: string): SyncCommand[] {
    return [
      { kind: 'penalize', peer: run.peer, points, reason },
      ...this.adoptIfPreferred(run, chain),
      ...this.end(reason, true),
    ];
  }

  private end(reason: string, failed: boolean): SyncCommand[] {
    const run = this.run;
    if (!run) return [];
    this.run = null;
    return [
      { kind: 'cancelTimer' },
      { kind: 'log', peer: run.peer, message: `sync ended: ${reason}` },
      { kind: 'done', peer: run.peer, reason, failed },
    ];
  }
}
