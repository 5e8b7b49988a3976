/**
 * The alternative transport: PeerJS data connections brokered by the PeerServer that our
 * signaling server mounts at `/peerjs`. PeerJS has no rooms, so a node's id carries a tag of
 * its room (`tc-<tag>-<16 hex>`) and discovery (`GET <path>/peerjs/peers`, which needs the
 * server's `allow_discovery`) keeps only ids of the same tag.
 *
 * Traps handled here (see shared/chromium.md): PeerJS never reconnects to its server by itself
 * (we call `reconnect()` with backoff); `Peer.id` is null while disconnected (we keep our own);
 * connections are unordered unless `reliable: true`, which chunked messages cannot survive; and
 * both sides connecting makes two connections, so the smaller id initiates and a duplicate is
 * settled the same way on both sides.
 *
 * PeerJS signals only through its server: it does not relay signals through peers (relay.ts,
 * simple-peer only), since PeerJS brokers its connections itself and its ids are the server's,
 * not derived from a relay key. With the server down, a PeerJS tab keeps its open channels but
 * opens no new ones; relay frames a peer sends it are ignored.
 */
import { type DataConnection, Peer } from 'peerjs';
import { z } from 'zod';
import type { PeerId, TransportStatus } from '../ports/transport';
import { backoffDelay, dataChannelSink, randomHex, type WebRtcTransportOptions } from './channel';
import { type Link, WebRtcTransport } from './webrtc-transport';

/** Options of the PeerJS transport. */
export interface PeerJsTransportOptions extends WebRtcTransportOptions {
  /** Where the PeerServer is mounted on the tabchain server; default `/peerjs`. */
  readonly peerjsPath?: string;
  /**
   * How often to ask the PeerServer for its peers; default 1 s. It has no push, so a new peer
   * waits up to this long to be found by the smaller ids that must connect to it.
   */
  readonly discoveryIntervalMs?: number;
}

/** The PeerServer's key (its default; the server in signaling/server.ts uses it too). */
const KEY = 'peerjs';
/** Discovery answers larger than this are refused unread. */
const MAX_DISCOVERY_CHARS = 1024 * 1024;
/** A peer we failed to reach is not tried again automatically for this long. */
const RETRY_AFTER_MS = 30_000;

const discoverySchema = z.array(z.string().max(128)).max(10_000);

/** A short tag of a room name (FNV-1a, 32 bits): ids of one room share it. */
export function roomTag(room: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < room.length; i++) {
    hash ^= room.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, '0');
}

/** What a PeerJS link holds besides the shared bookkeeping. */
interface PeerJsHandle {
  readonly conn: DataConnection;
  /** True when this side made the offer. */
  readonly outgoing: boolean;
}

/** The transport over PeerJS and the PeerServer mounted on the tabchain server. */
export class PeerJsTransport extends WebRtcTransport<PeerJsHandle> {
  private readonly path: string;
  private readonly discoveryIntervalMs: number;
  private readonly tag: string;
  private readonly idPattern: RegExp;
  private readonly failedAt = new Map<PeerId, number>();
  private known = new Set<PeerId>();
  private peer: Peer | undefined;
  private signalingState: TransportStatus['signaling'] = 'down';
  private failures = 0;
  private cancelReconnect: (() => void) | undefined;
  private cancelDiscovery: (() => void) | undefined;

  constructor(options: PeerJsTransportOptions = {}) {
    super(options);
    this.path = `/${(options.peerjsPath ?? '/peerjs').replace(/^\/+|\/+$/g, '')}`;
    this.discoveryIntervalMs = options.discoveryIntervalMs ?? 1000;
    this.tag = roomTag(this.options.room);
    this.idPattern = new RegExp(`^tc-${this.tag}-[0-9a-f]{16}$`);
  }

  /** Opens a connection to `peer`. */
  connect(peer: PeerId): void {
    const own = this.peer;
    if (own === undefined || this.stopped || peer === this.ownId || !this.idPattern.test(peer)) return;
    if (this.links.has(peer) || this.atCap() || own.disconnected) return;
    const conn = own.connect(peer, { reliable: true, serialization: 'raw' }) as DataConnection | undefined;
    if (conn !== undefined) this.adopt(conn, true);
  }

  /** Kind and PeerServer state. */
  status(): TransportStatus {
    return { kind: 'peerjs', signaling: this.signalingState };
  }

  /** Registers with the PeerServer under a fresh id; `ready` runs once it has accepted the id. */
  protected begin(ready: () => void): void {
    this.ownId = `tc-${this.tag}-${randomHex(8)}`;
    this.createPeer(ready);
    this.scheduleDiscovery(0);
  }

  /** Stops retrying and discovering, closes every connection and leaves the PeerServer. */
  protected shutdown(): void {
    this.cancelReconnect?.();
    this.cancelDiscovery?.();
    this.closeAllLinks();
    const peer = this.peer;
    this.peer = undefined;
    peer?.removeAllListeners();
    peer?.on('error', () => {});
    peer?.destroy();
    this.signalingState = 'down';
  }

  /** Closes a link's DataConnection, keeping its late errors from being thrown. */
  protected release(link: Link<PeerJsHandle>): void {
    link.conn.removeAllListeners();
    link.conn.on('error', () => {});
    link.conn.close();
  }

  private setSignaling(state: TransportStatus['signaling']): void {
    if (this.stopped) return;
    this.signalingState = state;
    this.statusChanged();
  }

  private createPeer(onOpen: () => void): void {
    const server = this.options.serverUrl;
    const secure = server.protocol === 'https:';
    const peer = new Peer(this.ownId, {
      host: server.hostname.replace(/^\[|\]$/g, ''),
      port: Number(server.port || (secure ? 443 : 80)),
      path: this.path,
      secure,
      key: KEY,
      // Replaces PeerJS's default config, whose ICE servers are public hosts.
      config: { iceServers: this.options.iceServers },
      debug: 0,
    });
    this.peer = peer;
    this.setSignaling('connecting');
    peer.on('open', () => {
      if (this.peer !== peer || this.stopped) return;
      this.failures = 0;
      this.setSignaling('connected');
      onOpen();
      this.scheduleDiscovery(0);
    });
    peer.on('disconnected', () => {
      if (this.peer !== peer || this.stopped) return;
      this.setSignaling('down');
      this.scheduleReconnect(() => {
        this.setSignaling('connecting');
        try {
          peer.reconnect();
        } catch {
          this.replacePeer(onOpen);
        }
      });
    });
    peer.on('close', () => {
      // Destroyed (e.g. its very first registration failed): start over with a new Peer.
      if (this.peer !== peer || this.stopped) return;
      this.setSignaling('down');
      this.scheduleReconnect(() => this.replacePeer(onOpen));
    });
    peer.on('error', (error) => {
      // 'unavailable-id' is fatal for this id (PeerJS destroys the Peer next); take a fresh one.
      if (error.type === 'unavailable-id' && this.peer === peer)
        this.ownId = `tc-${this.tag}-${randomHex(8)}`;
    });
    peer.on('connection', (conn) => this.onIncoming(conn));
  }

  private replacePeer(onOpen: () => void): void {
    if (this.stopped) return;
    const old = this.peer;
    old?.removeAllListeners();
    old?.on('error', () => {});
    old?.destroy();
    this.createPeer(onOpen);
  }

  private scheduleReconnect(run: () => void): void {
    this.cancelReconnect?.();
    const delay = backoffDelay(
      this.failures,
      this.options.minBackoffMs,
      this.options.maxBackoffMs,
      this.options.random,
    );
    this.failures += 1;
    this.cancelReconnect = this.clock.setTimeout(() => {
      this.cancelReconnect = undefined;
      if (!this.stopped) run();
    }, delay);
  }

  private scheduleDiscovery(delay: number): void {
    this.cancelDiscovery?.();
    this.cancelDiscovery = this.clock.setTimeout(() => {
      void this.discover().finally(() => {
        if (!this.stopped) this.scheduleDiscovery(this.discoveryIntervalMs);
      });
    }, delay);
  }

  /** Asks the PeerServer for its peers; keeps those of our room. */
  private async discover(): Promise<void> {
    if (this.stopped || this.signalingState !== 'connected') return;
    const url = new URL(`${this.path}/${KEY}/peers`, this.options.serverUrl);
    let ids: string[];
    try {
      const response = await fetch(url, { cache: 'no-store' });
      if (!response.ok) return;
      const text = await response.text();
      if (text.length > MAX_DISCOVERY_CHARS) return;
      const parsed = discoverySchema.safeParse(JSON.parse(text));
      if (!parsed.success) return;
      ids = parsed.data.filter((id) => id !== this.ownId && this.idPattern.test(id));
    } catch {
      return; // The server is away; the next round will ask again.
    }
    if (this.stopped) return;
    const fresh = ids.filter((id) => !this.known.has(id));
    this.known = new Set(ids);
    if (fresh.length > 0) this.handlers?.onPeersDiscovered?.(fresh);
    if (!this.options.autoConnect) return;
    const now = this.clock.now();
    for (const id of ids) {
      // Only the smaller id initiates; the other side finds us in its own round.
      if (this.ownId > id || now - (this.failedAt.get(id) ?? -Infinity) < RETRY_AFTER_MS) continue;
      this.connect(id);
    }
  }

  private onIncoming(conn: DataConnection): void {
    if (this.accepts(conn.peer)) this.adopt(conn, false);
    else conn.close();
  }

  /** Whether to keep an incoming connection from `from` (dropping a duplicate it replaces). */
  private accepts(from: PeerId): boolean {
    if (this.stopped || from === this.ownId || !this.idPattern.test(from)) return false;
    const existing = this.links.get(from);
    if (existing !== undefined) {
      // Both sides connected at once: keep the connection the smaller id made, on both sides.
      if (existing.outgoing && this.ownId < from) return false;
      this.drop(existing);
    }
    return !this.atCap();
  }

  private adopt(conn: DataConnection, outgoing: boolean): void {
    const peer = conn.peer;
    // A peer that does not answer in time is not tried again automatically for a while.
    const link = this.addLink(peer, { conn, outgoing }, () => this.failedAt.set(peer, this.clock.now()));
    conn.on('open', () => {
      if (!this.isCurrent(link)) return;
      this.failedAt.delete(peer);
      this.opened(
        link,
        dataChannelSink(
          conn.dataChannel,
          (frame) => void conn.send(frame),
          () => conn.dataChannel?.bufferedAmount ?? 0,
        ),
      );
    });
    conn.on('data', (frame) => this.received(link, frame));
    conn.on('close', () => this.drop(link));
    conn.on('error', () => this.drop(link));
  }
}
