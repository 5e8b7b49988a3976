/**
 * An in-memory network and its transports, for tests and the seeded simulator (after libp2p's
 * transport-memory and yjs's test helper): every message, connection set-up and close notice is
 * an event on one `VirtualClock`, so the network and the nodes' own timers share one time line,
 * and a run replays exactly for a given seed.
 */
import type { Clock } from '../ports/clock';
import type { PeerId, Transport, TransportHandlers, TransportStatus } from '../ports/transport';
import { StatusReporter } from './status';

/** The default start of virtual time (ms since the Unix epoch), a fixed instant so traces replay. */
export const DEFAULT_VIRTUAL_START_MS = 1_795_670_000_000;

/** A small deterministic PRNG (mulberry32 on a 32-bit seed): the only randomness the simulator uses. */
export class SeededRandom {
  private state: number;

  /** Any number is reduced to its low 32 bits, so 0 and 2^32 are the same seed. */
  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** An integer in [min, max], both ends included. */
  int(min: number, max: number): number {
    if (!Number.isInteger(min) || !Number.isInteger(max) || min > max) {
      throw new RangeError(`int(${min}, ${max}): need integers with min <= max`);
    }
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty array');
    return items[this.int(0, items.length - 1)] as T;
  }

  /** A shuffled copy (Fisher-Yates); the input is left as it was. */
  shuffle<T>(items: readonly T[]): T[] {
    const copy = [...items];
    for (let i = copy.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      const tmp = copy[i] as T;
      copy[i] = copy[j] as T;
      copy[j] = tmp;
    }
    return copy;
  }

  /**
   * An independent generator seeded from this one: give each simulated node its own, so extra
   * draws in one node do not shift every other node's stream.
   */
  fork(): SeededRandom {
    return new SeededRandom(this.int(0, 0xffff_ffff));
  }
}

interface Timer {
  readonly at: number;
  /** Scheduling order: breaks ties between timers due at the same instant. */
  readonly seq: number;
  readonly callback: () => void;
  state: 'pending' | 'fired' | 'cancelled';
}

const earlier = (x: Timer, y: Timer): boolean => x.at < y.at || (x.at === y.at && x.seq < y.seq);

/** A guard against a timer that keeps re-arming itself with no delay inside one `advance`. */
const MAX_FIRINGS_PER_ADVANCE = 10_000_000;

/**
 * A `Clock` whose time only moves when the simulator advances it. Due timers fire in time order,
 * ties in scheduling order; time jumps straight to each timer as it fires.
 */
export class VirtualClock implements Clock {
  private current: number;
  private seq = 0;
  private pending = 0;
  /** A binary min-heap on (at, seq); cancelled timers stay in it until they reach the top. */
  private readonly heap: Timer[] = [];

  /** Virtual time starts at `startMs` (ms since the Unix epoch). */
  constructor(startMs: number = DEFAULT_VIRTUAL_START_MS) {
    this.current = startMs;
  }

  /** Milliseconds since the Unix epoch, virtual. */
  now(): number {
    return this.current;
  }

  /** Runs `callback` once `ms` of virtual time has passed; returns a function that cancels it. */
  setTimeout(callback: () => void, ms: number): () => void {
    // Like browsers: a negative, NaN or infinite delay means "as soon as possible".
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    const timer: Timer = { at: this.current + delay, seq: this.seq++, callback, state: 'pending' };
    this.push(timer);
    this.pending++;
    return () => {
      if (timer.state !== 'pending') return;
      timer.state = 'cancelled';
      this.pending--;
    };
  }

  /** When the earliest pending timer is due, or null when none is pending. */
  nextTimerAt(): number | null {
    return this.top()?.at ?? null;
  }

  /** How many timers are pending. */
  pendingTimers(): number {
    return this.pending;
  }

  /** Fires the earliest pending timer, moving time to it; false when none is pending. */
  fireNext(): boolean {
    const timer = this.top();
    if (timer === undefined) return false;
    this.pop();
    timer.state = 'fired';
    this.pending--;
    this.current = timer.at;
    timer.callback();
    return true;
  }

  /** Moves time forward by `ms`, firing every timer due by then (including ones they schedule). */
  advance(ms: number): void {
    const target = this.current + Math.max(0, ms);
    let firings = 0;
    for (let next = this.top(); next !== undefined && next.at <= target; next = this.top()) {
      if (++firings > MAX_FIRINGS_PER_ADVANCE) throw new Error('VirtualClock.advance: runaway timers');
      this.fireNext();
    }
    this.current = target;
  }

  /** Fires timers one by one until `predicate` holds (true) or none is pending or `maxSteps` fired (false). */
  runUntil(predicate: () => boolean, maxSteps = 1_000_000): boolean {
    for (let steps = 0; steps < maxSteps; steps++) {
      if (predicate()) return true;
      if (!this.fireNext()) return false;
    }
    return predicate();
  }

  /** The earliest pending timer; discards cancelled ones on the way. */
  private top(): Timer | undefined {
    let head = this.heap[0];
    while (head !== undefined && head.state !== 'pending') {
      this.pop();
      head = this.heap[0];
    }
    return head;
  }

  private push(timer: Timer): void {
    const heap = this.heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const above = heap[parent] as Timer;
      if (!earlier(timer, above)) break;
      heap[i] = above;
      i = parent;
    }
    heap[i] = timer;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && earlier(heap[right] as Timer, heap[left] as Timer) ? right : left;
      const below = heap[child] as Timer;
      if (!earlier(below, last)) break;
      heap[i] = below;
      i = child;
    }
    heap[i] = last;
  }
}

/** Settings of a `MemoryNetwork`. */
export interface MemoryNetworkOptions {
  /** All the network's randomness (latencies, drops, discovery) comes from here. */
  readonly random: SeededRandom;
  /** The time line shared with the nodes' own timers. */
  readonly clock: VirtualClock;
  /** One-way delay of a message or a connection set-up, in whole ms; default 5..50. */
  readonly latency?: { readonly min: number; readonly max: number };
  /** Fraction of messages lost in transit, 0..1; default 0. */
  readonly dropRate?: number;
  /** Channels (open or being set up) a node may hold; default 8. */
  readonly maxPeersPerNode?: number;
  /** When true, messages on one link may overtake each other; default false (FIFO per link). */
  readonly reorder?: boolean;
  /** Called for every network event as it happens, for traces and debugging. */
  readonly trace?: (event: NetworkEvent) => void;
}

/** One thing that happened on the network, as passed to `MemoryNetworkOptions.trace`. */
export interface NetworkEvent {
  /** Virtual time of the event. */
  readonly at: number;
  /** `connect`: a channel opened; `disconnect`: `to` learned it closed; `message`/`drop`: a message arrived or was lost. */
  readonly kind: 'connect' | 'disconnect' | 'message' | 'drop';
  /** The initiator (connect), the side that went away (disconnect) or the sender. */
  readonly from: PeerId;
  /** The other side. */
  readonly to: PeerId;
  /** The message, for `message` and `drop`. */
  readonly data?: string;
}

/** Message counters of a `MemoryNetwork`. */
export interface NetworkStats {
  /** Messages accepted by `send` (returned true) or `inject`. */
  readonly sent: number;
  /** Messages handed to a recipient's `onMessage`. */
  readonly delivered: number;
  /** Messages lost: `dropRate`, a partition, or a channel closed under them. */
  readonly dropped: number;
  /** Messages still travelling. */
  readonly inFlight: number;
}

/** Options of `MemoryNetwork.partition`. */
export interface PartitionOptions {
  /** Also refuse new channels between groups (existing ones stay open but carry nothing). */
  readonly refuseConnections?: boolean;
}

/** Options of `MemoryNetwork.run`. */
export interface RunOptions {
  /** Stop as soon as this holds (checked before each event, after `settle`). */
  readonly until?: () => boolean;
  /** Stop after this many events; default 1,000,000 (a periodic timer never lets the queue empty). */
  readonly maxSteps?: number;
  /** Fire only events due within this many ms, then move the clock exactly that far. */
  readonly duration?: number;
  /** Awaited before the first event and after each one: resolves once every node's async work is done. */
  readonly settle?: () => Promise<void>;
}

/** How a `MemoryNetwork.run` ended. */
export interface RunResult {
  /** Events fired (message deliveries, connection events and timers alike). */
  readonly steps: number;
  /** `until` held, nothing was queued, `duration` was reached, or `maxSteps` ran out. */
  readonly stopped: 'until' | 'idle' | 'deadline' | 'maxSteps';
}

/** One channel between two nodes; both endpoints point to the same object. */
interface Link {
  readonly initiator: PeerId;
  readonly acceptor: PeerId;
  /** Both sides were told `onPeerConnected`. */
  opened: boolean;
  /** One side closed it; the other may not have been told yet. */
  closed: boolean;
  /** Per sender, the latest arrival time scheduled, to keep FIFO order and close after data. */
  readonly lastArrival: Map<PeerId, number>;
}

interface Endpoint {
  readonly id: PeerId;
  state: 'new' | 'running' | 'stopped';
  handlers: TransportHandlers | null;
  /** Channels this node holds a slot for: being set up, open, or closed by the peer but not yet noticed. */
  readonly links: Map<PeerId, Link>;
  detachAbort: (() => void) | null;
  readonly status: StatusReporter;
}

/** How many peers a starting transport learns from the "directory", like the signaling server's list. */
const DISCOVERED_PEERS = 3;

const otherEnd = (link: Link, id: PeerId): PeerId => (link.initiator === id ? link.acceptor : link.initiator);

/**
 * A simulated network: queue-based, seeded, deterministic. Nothing happens until the clock is
 * advanced (`step`, `run`, or the clock's own `advance`/`runUntil`).
 */
export class MemoryNetwork {
  /** Whether messages on one link may overtake each other. */
  readonly reorder: boolean;
  private readonly random: SeededRandom;
  private readonly clock: VirtualClock;
  private readonly latencyMin: number;
  private readonly latencyMax: number;
  private readonly dropRate: number;
  private readonly maxPeers: number;
  private readonly traceHook: ((event: NetworkEvent) => void) | undefined;
  private readonly endpoints = new Map<PeerId, Endpoint>();
  private groups: ReadonlyMap<PeerId, number> | null = null;
  private refuseAcross = false;
  private transportStatus: TransportStatus = Object.freeze({ kind: 'memory', signaling: 'n/a' });
  private sent = 0;
  private delivered = 0;
  private dropped = 0;

  /** See `MemoryNetworkOptions` for the defaults. */
  constructor(options: MemoryNetworkOptions) {
    const { min, max } = options.latency ?? { min: 5, max: 50 };
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || min > max) {
      throw new RangeError(`latency ${min}..${max}: need whole ms with 0 <= min <= max`);
    }
    const dropRate = options.dropRate ?? 0;
    if (!(dropRate >= 0 && dropRate <= 1)) throw new RangeError(`dropRate ${dropRate}: need 0..1`);
    const maxPeers = options.maxPeersPerNode ?? 8;
    if (!Number.isInteger(maxPeers) || maxPeers < 0) throw new RangeError(`maxPeersPerNode ${maxPeers}`);
    this.random = options.random;
    this.clock = options.clock;
    this.latencyMin = min;
    this.latencyMax = max;
    this.dropRate = dropRate;
    this.maxPeers = maxPeers;
    this.reorder = options.reorder ?? false;
    this.traceHook = options.trace;
  }

  /** Makes the transport of node `id` on this network; ids are unique. */
  createTransport(id: PeerId): Transport {
    if (this.endpoints.has(id)) throw new Error(`MemoryNetwork: transport ${id} already exists`);
    const endpoint: Endpoint = {
      id,
      state: 'new',
      handlers: null,
      links: new Map(),
      detachAbort: null,
      status: new StatusReporter(),
    };
    this.endpoints.set(id, endpoint);
    return Object.freeze({
      localId: id,
      start: async (handlers: TransportHandlers, signal?: AbortSignal) =>
        this.start(endpoint, handlers, signal),
      stop: async () => this.stop(endpoint),
      connectedPeers: () => this.openPeers(endpoint),
      connect: (peer: PeerId) => this.connect(endpoint, peer),
      disconnect: (peer: PeerId) => this.disconnect(endpoint, peer),
      send: (peer: PeerId, data: string) => this.send(endpoint, peer, data),
      status: () => this.transportStatus,
    });
  }

  /**
   * Simulates a signaling server for every transport of this network: from now on they report
   * `signaling` (`n/a`, the default, means there is none). Running transports are told at once
   * through `onStatus`; open channels are not affected, as with a real signaling server.
   */
  setSignaling(signaling: TransportStatus['signaling']): void {
    this.transportStatus = Object.freeze({ kind: 'memory', signaling });
    for (const endpoint of this.endpoints.values()) {
      if (endpoint.state === 'running') endpoint.status.report(endpoint.handlers, this.transportStatus);
    }
  }

  /** Fires the next event on the shared time line (a delivery or a clock timer); false when nothing is queued. */
  step(): boolean {
    return this.clock.fireNext();
  }

  /**
   * Fires events in time order until `until` holds, nothing is queued, `duration` is reached or
   * `maxSteps` ran out, awaiting `settle` before the first event and after each one, so the nodes'
   * async reactions finish before the next event and a seeded run replays exactly.
   */
  async run(options: RunOptions = {}): Promise<RunResult> {
    const { until, settle, duration } = options;
    const maxSteps = options.maxSteps ?? 1_000_000;
    const deadline = duration === undefined ? Number.POSITIVE_INFINITY : this.clock.now() + duration;
    // Without `settle`, still yield once per event so plain promise chains in handlers advance.
    const wait = settle ?? (() => Promise.resolve());
    let steps = 0;
    await wait();
    for (;;) {
      if (until?.()) return { steps, stopped: 'until' };
      if (steps >= maxSteps) return { steps, stopped: 'maxSteps' };
      const next = this.clock.nextTimerAt();
      if (next === null || next > deadline) {
        if (duration === undefined) return { steps, stopped: 'idle' };
        this.clock.advance(deadline - this.clock.now());
        return { steps, stopped: 'deadline' };
      }
      this.clock.fireNext();
      steps++;
      await wait();
    }
  }

  /**
   * Splits the network: messages between different groups are dropped (at send and on arrival)
   * until `heal`. Ids in no group form one more group together. Replaces any earlier partition.
   */
  partition(groups: readonly (readonly PeerId[])[], options: PartitionOptions = {}): void {
    const map = new Map<PeerId, number>();
    groups.forEach((group, index) => {
      for (const id of group) map.set(id, index);
    });
    this.groups = map;
    this.refuseAcross = options.refuseConnections ?? false;
  }

  /** Ends the partition. */
  heal(): void {
    this.groups = null;
    this.refuseAcross = false;
  }

  /** Message counters. */
  stats(): NetworkStats {
    const inFlight = this.sent - this.delivered - this.dropped;
    return { sent: this.sent, delivered: this.delivered, dropped: this.dropped, inFlight };
  }

  /**
   * Queues a raw message to `to` as if `from` had sent it over their open channel (for hostile-peer
   * tests): no drop, no partition, same latency and order. False when there is no such channel.
   */
  inject(from: PeerId, to: PeerId, data: string): boolean {
    const target = this.endpoints.get(to);
    if (target?.state !== 'running') return false;
    const link = target.links.get(from);
    if (link === undefined || !link.opened || link.closed) return false;
    this.sent++;
    this.queueMessage(link, from, to, data, true);
    return true;
  }

  /** The peers `id` has an open channel to, as `id` sees them. */
  peersOf(id: PeerId): PeerId[] {
    const endpoint = this.endpoints.get(id);
    return endpoint === undefined ? [] : this.openPeers(endpoint);
  }

  private async start(endpoint: Endpoint, handlers: TransportHandlers, signal?: AbortSignal): Promise<void> {
    if (endpoint.state !== 'new')
      throw new Error(`MemoryNetwork: transport ${endpoint.id} was already started`);
    if (signal?.aborted) {
      endpoint.state = 'stopped';
      return;
    }
    endpoint.state = 'running';
    endpoint.handlers = handlers;
    endpoint.status.report(handlers, this.transportStatus);
    if (signal !== undefined) {
      const onAbort = () => this.stop(endpoint);
      signal.addEventListener('abort', onAbort, { once: true });
      endpoint.detachAbort = () => signal.removeEventListener('abort', onAbort);
    }
    if (handlers.onPeersDiscovered !== undefined) {
      this.schedule(this.latency(), () => this.discover(endpoint));
    }
  }

  private stop(endpoint: Endpoint): void {
    if (endpoint.state === 'stopped') return;
    const wasRunning = endpoint.state === 'running';
    endpoint.state = 'stopped';
    endpoint.handlers = null;
    endpoint.detachAbort?.();
    endpoint.detachAbort = null;
    if (!wasRunning) return;
    for (const link of [...endpoint.links.values()]) this.close(endpoint, link, false);
  }

  private openPeers(endpoint: Endpoint): PeerId[] {
    if (endpoint.state !== 'running') return [];
    const peers: PeerId[] = [];
    for (const [peer, link] of endpoint.links) if (link.opened) peers.push(peer);
    return peers;
  }

  private connect(endpoint: Endpoint, peerId: PeerId): void {
    if (endpoint.state !== 'running' || peerId === endpoint.id) return;
    const peer = this.endpoints.get(peerId);
    if (peer?.state !== 'running') return;
    // One channel per pair: the peer may still hold a slot we have already let go of.
    if (endpoint.links.has(peerId) || peer.links.has(endpoint.id)) return;
    if (endpoint.links.size >= this.maxPeers || peer.links.size >= this.maxPeers) return;
    if (this.refuseAcross && this.separated(endpoint.id, peerId)) return;
    const link: Link = {
      initiator: endpoint.id,
      acceptor: peerId,
      opened: false,
      closed: false,
      lastArrival: new Map(),
    };
    // Slots are taken now, so a second connect from either side while this one is set up is a no-op.
    endpoint.links.set(peerId, link);
    peer.links.set(endpoint.id, link);
    this.schedule(this.latency(), () => this.open(link));
  }

  private open(link: Link): void {
    if (link.closed) return;
    const a = this.endpoints.get(link.initiator) as Endpoint;
    const b = this.endpoints.get(link.acceptor) as Endpoint;
    if (this.refuseAcross && this.separated(a.id, b.id)) {
      link.closed = true;
      a.links.delete(b.id);
      b.links.delete(a.id);
      return;
    }
    link.opened = true;
    this.emit({ at: this.clock.now(), kind: 'connect', from: a.id, to: b.id });
    a.handlers?.onPeerConnected(b.id);
    // `a`'s handler may have stopped `b`; otherwise `b` hears too, so events come in pairs.
    if (b.state === 'running' && b.links.get(a.id) === link) b.handlers?.onPeerConnected(a.id);
  }

  private disconnect(endpoint: Endpoint, peerId: PeerId): void {
    if (endpoint.state !== 'running') return;
    const link = endpoint.links.get(peerId);
    if (link !== undefined) this.close(endpoint, link, true);
  }

  /** `endpoint` lets go of `link`; the peer hears after the data already in flight to it. */
  private close(endpoint: Endpoint, link: Link, notifySelf: boolean): void {
    const peerId = otherEnd(link, endpoint.id);
    const peer = this.endpoints.get(peerId) as Endpoint;
    const wasClosed = link.closed;
    link.closed = true;
    endpoint.links.delete(peerId);
    if (!link.opened) {
      // Still being set up: nobody was told it opened, so nobody is told it closed.
      if (peer.links.get(endpoint.id) === link) peer.links.delete(endpoint.id);
      return;
    }
    if (notifySelf) {
      // Asynchronous like a data channel's close event, so handlers never re-enter `disconnect`.
      this.schedule(0, () => {
        if (endpoint.state !== 'running') return;
        this.emit({ at: this.clock.now(), kind: 'disconnect', from: peerId, to: endpoint.id });
        endpoint.handlers?.onPeerDisconnected(peerId);
      });
    }
    if (wasClosed) return; // the peer closed first and was told then
    const now = this.clock.now();
    const at = Math.max(now + this.latency(), link.lastArrival.get(endpoint.id) ?? now);
    this.schedule(at - now, () => {
      if (peer.state !== 'running' || peer.links.get(endpoint.id) !== link) return;
      peer.links.delete(endpoint.id);
      this.emit({ at: this.clock.now(), kind: 'disconnect', from: endpoint.id, to: peerId });
      peer.handlers?.onPeerDisconnected(endpoint.id);
    });
  }

  private send(endpoint: Endpoint, peerId: PeerId, data: string): boolean {
    if (endpoint.state !== 'running') return false;
    const link = endpoint.links.get(peerId);
    if (link === undefined || !link.opened) return false;
    this.sent++;
    // A channel the peer closed, not yet noticed here: the send looks fine and the data is lost.
    const lost =
      link.closed ||
      (this.dropRate > 0 && this.random.next() < this.dropRate) ||
      this.separated(endpoint.id, peerId);
    if (lost) this.drop(endpoint.id, peerId, data);
    else this.queueMessage(link, endpoint.id, peerId, data, false);
    return true;
  }

  private queueMessage(link: Link, from: PeerId, to: PeerId, data: string, raw: boolean): void {
    const now = this.clock.now();
    const last = link.lastArrival.get(from) ?? now;
    const drawn = now + this.latency();
    const at = this.reorder ? drawn : Math.max(drawn, last);
    link.lastArrival.set(from, Math.max(at, last));
    this.schedule(at - now, () => {
      const target = this.endpoints.get(to) as Endpoint;
      const open = target.state === 'running' && target.links.get(from) === link;
      if (!open || (!raw && this.separated(from, to))) {
        this.drop(from, to, data);
        return;
      }
      this.delivered++;
      this.emit({ at: this.clock.now(), kind: 'message', from, to, data });
      target.handlers?.onMessage(from, data);
    });
  }

  private drop(from: PeerId, to: PeerId, data: string): void {
    this.dropped++;
    this.emit({ at: this.clock.now(), kind: 'drop', from, to, data });
  }

  private discover(endpoint: Endpoint): void {
    if (endpoint.state !== 'running') return;
    const others: PeerId[] = [];
    for (const other of this.endpoints.values()) {
      if (other !== endpoint && other.state === 'running') others.push(other.id);
    }
    if (others.length === 0) return;
    endpoint.handlers?.onPeersDiscovered?.(this.random.shuffle(others).slice(0, DISCOVERED_PEERS));
  }

  private separated(a: PeerId, b: PeerId): boolean {
    if (this.groups === null) return false;
    return (this.groups.get(a) ?? -1) !== (this.groups.get(b) ?? -1);
  }

  private latency(): number {
    return this.random.int(this.latencyMin, this.latencyMax);
  }

  private schedule(ms: number, callback: () => void): void {
    this.clock.setTimeout(callback, ms);
  }

  private emit(event: NetworkEvent): void {
    this.traceHook?.(event);
  }
}
