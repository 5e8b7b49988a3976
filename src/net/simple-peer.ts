/**
 * The default transport: one simple-peer data channel per pair of tabs, brokered by our
 * signaling server (signaling/server.ts). Exactly one connection per pair: the smaller id makes
 * the offer; the larger asks it to with a `hello` signal. Established channels do not depend on
 * the signaling server: when it goes away the client reconnects with backoff and resumes its id.
 *
 * Signals between peers (opaque to the server) are `{t:'hello'}`, `{t:'busy'}` (at the peer
 * cap) or `{t:'rtc', n, s}`: `s` is simple-peer's offer/answer/candidate and `n` names the
 * connection attempt, so late candidates of an abandoned attempt cannot leak into a new one.
 *
 * The server is only the way in. A node's id is its relay key's (relay-identity.ts), and when
 * the server is down, or does not know a peer (one learned through peer exchange), the same
 * signals go signed through peers that have channels to both sides (relay.ts). Such a link
 * gathers its ICE candidates before it signals (no trickle), so an attempt costs the relay two
 * frames: one offer, one answer.
 */
import SimplePeer from 'simple-peer';
import { z } from 'zod';
import type { PeerId, TransportStatus } from '../ports/transport';
import { dataChannelSink, randomHex, type WebRtcTransportOptions } from './channel';
import { RelayRouter } from './relay';
import { createRelayIdentity, type RelayIdentity } from './relay-identity';
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
  /** Its signals go through peers (relay.ts) instead of the signaling server. */
  readonly relayed: boolean;
}

/** Peers whose relay route (the neighbour their signals came through) is remembered, at most. */
const MAX_RELAY_ROUTES = 256;

/** The transport over simple-peer and the tabchain signaling server. */
export class SimplePeerTransport extends WebRtcTransport<SimplePeerHandle> {
  /** When we last asked a larger-id peer to connect to us, to not repeat it on every event. */
  private readonly helloSent = new Map<PeerId, number>();
  private signaling: SignalingClient | undefined;
  /** This node's relay key; undefined without WebCrypto (then signals go only through the server). */
  private identity: RelayIdentity | undefined;
  /** Relays signals; set once the server gave us our key's id. */
  private relay: RelayRouter | undefined;
  /** Peers the signaling server reports in the room now: signals to others go through peers. */
  private readonly serverPeers = new Set<PeerId>();
  /** Through which neighbour each peer's relayed signals last came: ours to it go back that way. */
  private readonly relayRoutes = new Map<PeerId, PeerId>();
  /**
   * For each peer with a pending relayed attempt: the neighbours its latest signal went to that
   * have not answered UNROUTABLE. Once all have, the attempt is given up.
   */
  private readonly relayAsked = new Map<PeerId, Set<PeerId>>();

  constructor(options: SimplePeerTransportOptions = {}) {
    super(options);
  }

  /**
   * Opens a channel to `peer` (or asks it to, when its id is the smaller): through the signaling
   * server when it is up and knows `peer`, else through peers we have channels to (relay.ts).
   */
  connect(peer: PeerId): void {
    if (!this.running() || peer === this.ownId || !PEER_ID_PATTERN.test(peer) || this.links.has(peer)) return;
    if (this.atCap()) return;
    const relayed = !this.serverKnows(peer);
    if (relayed && this.relay === undefined) return;
    if (this.ownId < peer) {
      this.open(peer, true, randomHex(8), relayed);
      return;
    }
    const now = this.clock.now();
    if (now - (this.helloSent.get(peer) ?? -Infinity) < this.options.connectTimeoutMs) return;
    if (this.signal(peer, { t: 'hello' }, relayed)) this.helloSent.set(peer, now);
  }

  /** Kind and signaling state (`connecting` while the relay key is being made, before the server is tried). */
  status(): TransportStatus {
    const before = this.handlers !== undefined && !this.stopped ? 'connecting' : 'down';
    return { kind: 'simple-peer', signaling: this.signaling?.status ?? before };
  }

  /** Makes the relay key, then joins the room with it; `ready` runs once the server has welcomed this node. */
  protected begin(ready: () => void): void {
    createRelayIdentity()
      .catch(() => undefined)
      .then((identity) => {
        if (this.stopped) return;
        this.identity = identity;
        this.joinRoom(ready);
      });
  }

  /** A relay frame from a connected peer. */
  protected override controlFrame(peer: PeerId, text: string): void {
    void this.relay?.receive(peer, text).catch(() => {});
  }

  /** Forgets the relay state kept for a link's peer and routes through it. */
  protected override dropped(link: Link<SimplePeerHandle>): void {
    this.relayAsked.delete(link.peer);
    if (!link.connected) return;
    this.relay?.forget(link.peer);
    for (const [target, via] of this.relayRoutes) if (via === link.peer) this.relayRoutes.delete(target);
  }

  /** Joins the room on the signaling server, proving the relay key when there is one. */
  private joinRoom(ready: () => void): void {
    const identity = this.identity;
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
        ...(identity ? { joinKey: identity.joinKey } : {}),
      },
      {
        onStatus: () => this.statusChanged(),
        onWelcome: (id, peers) => {
          this.ownId = id;
          // Relaying needs the id to be our key's: a server that ignored the key gave another.
          if (identity !== undefined && id === identity.id && this.relay === undefined)
            this.relay = this.relayRouter(identity);
          this.serverPeers.clear();
          ready();
          this.discovered(peers);
        },
        onPeerJoined: (id) => this.discovered([id]),
        onPeerLeft: (id) => {
          this.serverPeers.delete(id);
          // Its open channels live on; an attempt still being brokered cannot finish.
          const link = this.links.get(id);
          if (link !== undefined && !link.connected && !link.relayed) this.drop(link);
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

  private relayRouter(identity: RelayIdentity): RelayRouter {
    return new RelayRouter({
      room: this.options.room,
      identity,
      clock: this.clock,
      isLinked: (peer) => this.links.get(peer)?.connected === true,
      sendFrame: (peer, text) => this.sendControl(peer, text),
      onSignal: (from, payload, via) => {
        let data: unknown;
        try {
          data = JSON.parse(payload);
        } catch {
          return;
        }
        this.onSignal(from, data, via);
      },
      onUnroutable: (to, via) => {
        if (this.relayRoutes.get(to) === via) this.relayRoutes.delete(to);
        const asked = this.relayAsked.get(to);
        if (asked === undefined || !asked.delete(via) || asked.size > 0) return;
        // Every neighbour we asked has no channel to `to`: this attempt cannot finish.
        const link = this.links.get(to);
        if (link !== undefined && !link.connected && link.relayed) this.drop(link);
      },
    });
  }

  /** Whether signals to `peer` can go through the signaling server now. */
  private serverKnows(peer: PeerId): boolean {
    return this.signaling?.status === 'connected' && this.serverPeers.has(peer);
  }

  /**
   * Sends one signal to `peer`: through the server, or (`relayed`) signed through the neighbour
   * its signals came through, or through every neighbour when none has yet. False when it
   * could not be sent at all.
   */
  private signal(peer: PeerId, data: Readonly<Record<string, unknown>>, relayed: boolean): boolean {
    if (!relayed) return this.signaling?.send(peer, data) ?? false;
    const relay = this.relay;
    if (relay === undefined) return false;
    const route = this.relayRoutes.get(peer);
    const open = this.connectedPeers().filter((neighbour) => neighbour !== peer);
    const via = route !== undefined && open.includes(route) ? [route] : open;
    if (via.length === 0) return false;
    void relay
      .send(peer, JSON.stringify(data), via)
      .then((sent) => {
        if (this.links.get(peer)?.connected === false) this.relayAsked.set(peer, new Set(sent));
      })
      .catch(() => {});
    return true;
  }

  private discovered(peers: readonly PeerId[]): void {
    for (const peer of peers) this.serverPeers.add(peer);
    const others = peers.filter((peer) => peer !== this.ownId);
    if (others.length === 0 || this.stopped) return;
    this.handlers?.onPeersDiscovered?.(others);
    if (this.options.autoConnect) for (const peer of others) this.connect(peer);
  }

  /** A signal from `from`: through the server, or relayed by neighbour `via` (then checked by relay.ts). */
  private onSignal(from: PeerId, data: unknown, via?: PeerId): void {
    if (!this.running()) return;
    const parsed = peerSignal.safeParse(data);
    if (!parsed.success) return;
    const message = parsed.data;
    const relayed = via !== undefined;
    if (via !== undefined) this.rememberRoute(from, via);
    const link = this.links.get(from);
    if (message.t === 'hello') {
      if (this.ownId > from || link !== undefined) return;
      if (this.atCap()) this.signal(from, { t: 'busy' }, relayed);
      else this.open(from, true, randomHex(8), relayed);
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
      this.signal(from, { t: 'busy' }, relayed);
      return;
    }
    this.signalInto(this.open(from, false, message.n, relayed), message.s);
  }

  private rememberRoute(peer: PeerId, via: PeerId): void {
    this.relayRoutes.delete(peer);
    this.relayRoutes.set(peer, via);
    if (this.relayRoutes.size > MAX_RELAY_ROUTES) {
      const oldest = this.relayRoutes.keys().next().value;
      if (oldest !== undefined) this.relayRoutes.delete(oldest);
    }
  }

  private signalInto(link: Link<SimplePeerHandle>, signal: z.infer<typeof rtcSignal>): void {
    try {
      link.rtc.signal(signal as SimplePeer.SignalData);
    } catch {
      this.drop(link);
    }
  }

  private open(peer: PeerId, initiator: boolean, nonce: string, relayed: boolean): Link<SimplePeerHandle> {
    const rtc = new SimplePeer({
      initiator,
      // Through relays, one offer and one answer with every candidate in them.
      trickle: !relayed,
      // Strings stay strings (not Buffers) on the way in.
      objectMode: true,
      config: { iceServers: this.options.iceServers },
      ...(this.options.wrtc ? { wrtc: this.options.wrtc } : {}),
    });
    const link = this.addLink(peer, { rtc, nonce, relayed });
    rtc.on('signal', (signal: SimplePeer.SignalData) => {
      if (this.links.get(peer) === link) this.signal(peer, { t: 'rtc', n: nonce, s: signal }, relayed);
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
