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
import type { PeerId, TransportStatus } from '../ports/transport';
import { dataChannelSink, randomHex, type WebRtcTransportOptions } from './channel';
import { SignalingClient } from './signaling-client';
import { PEER_ID_PATTERN } from './signaling-protocol';
import { type Link, WebRtcTransport } from './webrtc-transport';

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

/** What a simple-peer link holds besides the shared bookkeeping. */
interface SimplePeerHandle {
  readonly rtc: SimplePeer.Instance;
  /** Names the connection attempt in its signals. */
  readonly nonce: string;
}

/** The transport over simple-peer and the tabchain signaling server. */
export class SimplePeerTransport extends WebRtcTransport<SimplePeerHandle> {
  /** When we last asked a larger-id peer to connect to us, to not repeat it on every event. */
  private readonly helloSent = new Map<PeerId, number>();
  private signaling: SignalingClient | undefined;

  constructor(options: SimplePeerTransportOptions = {}) {
    super(options);
  }

  /** Opens a channel to `peer` (or asks it to, when its id is the smaller). */
  connect(peer: PeerId): void {
    if (!this.running() || peer === this.ownId || !PEER_ID_PATTERN.test(peer) || this.links.has(peer)) return;
    if (this.atCap()) return;
    if (this.ownId < peer) {
      this.open(peer, true, randomHex(8));
      return;
    }
    const now = this.clock.now();
    if (now - (this.helloSent.get(peer) ?? -Infinity) < this.options.connectTimeoutMs) return;
    if (this.signaling?.send(peer, { t: 'hello' })) this.helloSent.set(peer, now);
  }

  /** Kind and signaling state. */
  status(): TransportStatus {
    return { kind: 'simple-peer', signaling: this.signaling?.status ?? 'down' };
  }

  /** Joins the room on the signaling server; `ready` runs once it has welcomed this node (with its id). */
  protected begin(ready: () => void): void {
    const url = new URL('/', this.options.serverUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    this.signaling = new SignalingClient(
      {
        url: url.href,
        room: this.options.room,
        minBackoffMs: this.options.minBackoffMs,
        maxBackoffMs: this.options.maxBackoffMs,
        random: this.options.random,
        clock: this.clock,
        ...(this.options.WebSocket ? { WebSocket: this.options.WebSocket } : {}),
      },
      {
        onStatus: () => this.statusChanged(),
        onWelcome: (id, peers) => {
          this.ownId = id;
          ready();
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
  }

  /** Leaves the signaling server and closes every channel. */
  protected shutdown(): void {
    this.signaling?.stop();
    this.closeAllLinks();
  }

  /** Destroys a link's simple-peer instance, deaf to its late data and signals. */
  protected release(link: Link<SimplePeerHandle>): void {
    link.rtc.removeAllListeners('data');
    link.rtc.removeAllListeners('signal');
    link.rtc.destroy();
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
      if (this.atCap()) this.signaling?.send(from, { t: 'busy' });
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
    if (this.atCap()) {
      this.signaling?.send(from, { t: 'busy' });
      return;
    }
    this.signalInto(this.open(from, false, message.n), message.s);
  }

  private signalInto(link: Link<SimplePeerHandle>, signal: z.infer<typeof rtcSignal>): void {
    try {
      link.rtc.signal(signal as SimplePeer.SignalData);
    } catch {
      this.drop(link);
    }
  }

  private open(peer: PeerId, initiator: boolean, nonce: string): Link<SimplePeerHandle> {
    const rtc = new SimplePeer({
      initiator,
      trickle: true,
      // Strings stay strings (not Buffers) on the way in.
      objectMode: true,
      config: { iceServers: this.options.iceServers },
      ...(this.options.wrtc ? { wrtc: this.options.wrtc } : {}),
    });
    const link = this.addLink(peer, { rtc, nonce });
    rtc.on('signal', (signal: SimplePeer.SignalData) => {
      if (this.links.get(peer) === link) this.signaling?.send(peer, { t: 'rtc', n: nonce, s: signal });
    });
    rtc.on('connect', () => {
      if (!this.isCurrent(link)) return;
      this.helloSent.delete(peer);
      // simple-peer keeps its RTCDataChannel private; it is read only to wait for drain events.
      const channel = (rtc as unknown as { _channel?: RTCDataChannel })._channel;
      this.opened(
        link,
        dataChannelSink(
          channel,
          (frame) => rtc.send(frame),
          () => rtc.bufferSize,
        ),
      );
    });
    rtc.on('data', (frame: unknown) => this.received(link, frame));
    rtc.on('close', () => this.drop(link));
    // Errors are followed by close; listening keeps them from being thrown.
    rtc.on('error', () => {});
    return link;
  }
}
