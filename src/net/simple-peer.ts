/**
 * The default transport: one simple-peer data channel per pair of tabs, brokered by our
 * signaling server (signaling/server.ts). Exactly one connection per pair: the smaller id makes
 * the offer; the larger asks it to with a `hello` signal. Established channels do not depend on
 * the signaling server: when it goes away the client reconnects with backoff and resumes its id.
 *
 * Signals between peers (opaque to the server) are `{t:'hello'}`, `{t:'busy'}` (at the peer
 * cap) or `{t:'rtc', n, s}`: `s` is simple-peer's offer/answer/candidate and `n` names the
 * connection attempt, so late candidates of an abandoned attempt cannot leak into a new one.
 */
import SimplePeer from 'simple-peer';
import { z } from 'zod';
import { type Clock, systemClock } from '../node/clock';
import {
  dataChannelSink,
  FramedSender,
  Reassembler,
  type ResolvedOptions,
  randomHex,
  resolveOptions,
  type WebRtcTransportOptions,
} from './channel';
import { SignalingClient } from './signaling-client';
import { PEER_ID_PATTERN } from './signaling-protocol';
import type { PeerId, Transport, TransportHandlers, TransportStatus } from './transport';

/** Options of the simple-peer transport. */
export type SimplePeerTransportOptions = WebRtcTransportOptions;

const rtcSignal = z.union([
  z.object({ type: z.enum(['offer', 'answer']), sdp: z.string().max(60_000) }),
  z.object({
    type: z.literal('candidate'),
    candidate: z.object({
      candidate: z.string().max(2048),
      sdpMLineIndex: z.number().int().min(0).max(1024).nullable().optional(),
      sdpMid: z.string().max(256).nullable().optional(),
      usernameFragment: z.string().max(256).nullable().optional(),
    }),
  }),
  z.object({ type: z.literal('renegotiate'), renegotiate: z.literal(true) }),
]);

// The one decoder for what other peers send us through the signaling server.
const peerSignal = z.discriminatedUnion('t', [
  z.strictObject({ t: z.literal('hello') }),
  z.strictObject({ t: z.literal('busy') }),
  z.strictObject({ t: z.literal('rtc'), n: z.string().regex(/^[0-9a-f]{16}$/), s: rtcSignal }),
]);

interface Link {
  readonly peer: PeerId;
  readonly rtc: SimplePeer.Instance;
  readonly nonce: string;
  connected: boolean;
  sender?: FramedSender;
  readonly reassembler: Reassembler;
  cancelTimeout: () => void;
}

/** The transport over simple-peer and the tabchain signaling server. */
export class SimplePeerTransport implements Transport {
  private readonly options: ResolvedOptions;
  private readonly clock: Clock;
  private readonly links = new Map<PeerId, Link>();
  /** When we last asked a larger-id peer to connect to us, to not repeat it on every event. */
  private readonly helloSent = new Map<PeerId, number>();
  private handlers: TransportHandlers | undefined;
  private signaling: SignalingClient | undefined;
  private ownId = '';
  private stopped = false;

  constructor(options: SimplePeerTransportOptions = {}) {
    this.options = resolveOptions(options);
    this.clock = options.clock ?? systemClock;
  }

  /** This node's id (the signaling server's, kept across its restarts). */
  get localId(): PeerId {
    return this.ownId;
  }

  /** Connects to the signaling server; resolves once the room has welcomed this node (retrying meanwhile). */
  start(handlers: TransportHandlers, signal?: AbortSignal): Promise<void> {
    if (this.handlers !== undefined)
      return Promise.reject(new Error('transport: start() was already called'));
    this.handlers = handlers;
    const url = new URL('/', this.options.serverUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    return new Promise<void>((resolve, reject) => {
      const abort = () => {
        void this.stop();
        reject(signal?.reason ?? new Error('transport stopped'));
      };
      if (signal?.aborted) return abort();
      signal?.addEventListener('abort', abort, { once: true });
      this.signaling = new SignalingClient(
        {
          url: url.href,
          room: this.options.room,
          minBackoffMs: this.options.minBackoffMs,
          maxBackoffMs: this.options.maxBackoffMs,
          random: this.options.random,
          clock: this.clock,
        },
        {
          onWelcome: (id, peers) => {
            this.ownId = id;
            resolve();
            this.discovered(peers);
          },
          onPeerJoined: (id) => this.discovered([id]),
          onPeerLeft: (id) => {
            // Its open channels live on; an attempt still being brokered cannot finish.
            const link = this.links.get(id);
            if (link !== undefined && !link.connected) this.drop(link);
          },
          onSignal: (from, data) => this.onSignal(from, data),
        },
      );
      this.signaling.start();
    });
  }

  /** Closes every channel and the signaling connection. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.signaling?.stop();
    for (const link of this.links.values()) this.close(link);
    this.links.clear();
  }

  /** Peers with an open channel. */
  connectedPeers(): PeerId[] {
    return [...this.links.values()].filter((link) => link.connected).map((link) => link.peer);
  }

  /** Opens a channel to `peer` (or asks it to, when its id is the smaller). */
  connect(peer: PeerId): void {
    if (!this.running() || peer === this.ownId || !PEER_ID_PATTERN.test(peer) || this.links.has(peer)) return;
    if (this.links.size >= this.options.maxPeers) return;
    if (this.ownId < peer) {
      this.open(peer, true, randomHex(8));
      return;
    }
    const now = this.clock.now();
    if (now - (this.helloSent.get(peer) ?? -Infinity) < this.options.connectTimeoutMs) return;
    if (this.signaling?.send(peer, { t: 'hello' })) this.helloSent.set(peer, now);
  }

  /** Closes the channel to `peer`. */
  disconnect(peer: PeerId): void {
    const link = this.links.get(peer);
    if (link !== undefined) this.drop(link);
  }

  /** Queues one message; it is sent in chunks as fast as the channel drains. */
  send(peer: PeerId, data: string): boolean {
    const link = this.links.get(peer);
    if (link?.sender === undefined || !link.connected) return false;
    return link.sender.enqueue(data);
  }

  /** Kind and signaling state. */
  status(): TransportStatus {
    return { kind: 'simple-peer', signaling: this.signaling?.status ?? 'down' };
  }

  private running(): boolean {
    return this.handlers !== undefined && !this.stopped && this.ownId !== '';
  }

  private discovered(peers: readonly PeerId[]): void {
    const others = peers.filter((peer) => peer !== this.ownId);
    if (others.length === 0 || this.stopped) return;
    this.handlers?.onPeersDiscovered?.(others);
    if (this.options.autoConnect) for (const peer of others) this.connect(peer);
  }

  private onSignal(from: PeerId, data: unknown): void {
    if (!this.running()) return;
    const parsed = peerSignal.safeParse(data);
    if (!parsed.success) return;
    const message = parsed.data;
    const link = this.links.get(from);
    if (message.t === 'hello') {
      if (this.ownId > from || link !== undefined) return;
      if (this.links.size >= this.options.maxPeers) this.signaling?.send(from, { t: 'busy' });
      else this.open(from, true, randomHex(8));
      return;
    }
    if (message.t === 'busy') {
      if (link !== undefined && !link.connected) this.drop(link);
      return;
    }
    if (link !== undefined && link.nonce === message.n) {
      this.signalInto(link, message.s);
      return;
    }
    // A new attempt: only an offer from the smaller id starts one. Anything else is a leftover.
    if (message.s.type !== 'offer' || from > this.ownId) return;
    if (link !== undefined) this.drop(link); // the peer gave up on the old one (e.g. it reloaded)
    if (this.links.size >= this.options.maxPeers) {
      this.signaling?.send(from, { t: 'busy' });
      return;
    }
    this.signalInto(this.open(from, false, message.n), message.s);
  }

  private signalInto(link: Link, signal: z.infer<typeof rtcSignal>): void {
    try {
      link.rtc.signal(signal as SimplePeer.SignalData);
    } catch {
      this.drop(link);
    }
  }

  private open(peer: PeerId, initiator: boolean, nonce: string): Link {
    const rtc = new SimplePeer({
      initiator,
      trickle: true,
      // Strings stay strings (not Buffers) on the way in.
      objectMode: true,
      config: { iceServers: this.options.iceServers },
    });
    const link: Link = {
      peer,
      rtc,
      nonce,
      connected: false,
      reassembler: new Reassembler(),
      cancelTimeout: () => {},
    };
    this.links.set(peer, link);
    link.cancelTimeout = this.clock.setTimeout(() => {
      if (!link.connected) this.drop(link);
    }, this.options.connectTimeoutMs);
    rtc.on('signal', (signal: SimplePeer.SignalData) => {
      if (this.links.get(peer) === link) this.signaling?.send(peer, { t: 'rtc', n: nonce, s: signal });
    });
    rtc.on('connect', () => {
      if (this.links.get(peer) !== link || this.stopped) return;
      link.cancelTimeout();
      link.connected = true;
      this.helloSent.delete(peer);
      // simple-peer keeps its RTCDataChannel private; it is read only to wait for drain events.
      const channel = (rtc as unknown as { _channel?: RTCDataChannel })._channel;
      link.sender = new FramedSender(
        dataChannelSink(
          channel,
          (frame) => rtc.send(frame),
          () => rtc.bufferSize,
        ),
        () => this.drop(link),
      );
      this.handlers?.onPeerConnected(peer);
    });
    rtc.on('data', (frame: unknown) => {
      if (this.links.get(peer) !== link || !link.connected || this.stopped) return;
      const result = link.reassembler.push(frame);
      if (!result.ok) this.drop(link);
      else if (result.message !== null) this.handlers?.onMessage(peer, result.message);
    });
    rtc.on('close', () => this.drop(link));
    // Errors are followed by close; listening keeps them from being thrown.
    rtc.on('error', () => {});
    return link;
  }

  /** Forgets a link and tells the node if it was open. */
  private drop(link: Link): void {
    if (this.links.get(link.peer) !== link) return;
    this.links.delete(link.peer);
    this.close(link);
    if (link.connected && !this.stopped) this.handlers?.onPeerDisconnected(link.peer);
  }

  private close(link: Link): void {
    link.cancelTimeout();
    link.sender?.close();
    link.rtc.removeAllListeners('data');
    link.rtc.removeAllListeners('signal');
    link.rtc.destroy();
  }
}
