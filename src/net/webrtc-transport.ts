/**
 * What the two WebRTC transports (simple-peer and PeerJS) share beyond framing: the table of
 * links to peers, the peer cap, start/stop plumbing, and what happens to a link as it opens,
 * carries frames and closes. Each transport adds how its library brokers and makes connections.
 */
import { type Clock, systemClock } from '../ports/clock';
import type { PeerId, Transport, TransportHandlers, TransportStatus } from '../ports/transport';
import {
  CONTROL_FRAME_KIND,
  FramedSender,
  type FrameSink,
  Reassembler,
  type ResolvedOptions,
  resolveOptions,
  type WebRtcTransportOptions,
} from './channel';
import { StatusReporter } from './status';

/** One peer's connection as both transports track it; `X` is what the library adds (its handle). */
export type Link<X> = X & {
  readonly peer: PeerId;
  connected: boolean;
  sender?: FramedSender;
  readonly reassembler: Reassembler;
  cancelTimeout: () => void;
};

/** A transport over WebRTC data channels: links to peers, framed messages, a peer cap. */
export abstract class WebRtcTransport<X extends object> implements Transport {
  protected readonly options: ResolvedOptions;
  protected readonly clock: Clock;
  protected readonly links = new Map<PeerId, Link<X>>();
  protected handlers: TransportHandlers | undefined;
  protected ownId = '';
  protected stopped = false;
  private readonly statusReporter = new StatusReporter();
  /**
   * A page being unloaded (its tab closed or navigated away) closes every channel itself, so
   * each peer's data channel reports its close at once instead of the peer waiting for ICE to
   * time out (which left a closed tab in peer lists for about 20 s).
   */
  private readonly onPageHide = (): void => void this.stop();

  constructor(options: WebRtcTransportOptions) {
    this.options = resolveOptions(options);
    this.clock = options.clock ?? systemClock;
  }

  /** This node's id; valid once `start` has resolved. */
  get localId(): PeerId {
    return this.ownId;
  }

  /** Starts the library; resolves once `begin` reports this node is reachable (it retries meanwhile). */
  start(handlers: TransportHandlers, signal?: AbortSignal): Promise<void> {
    if (this.handlers !== undefined)
      return Promise.reject(new Error('transport: start() was already called'));
    this.handlers = handlers;
    return new Promise<void>((resolve, reject) => {
      const abort = () => {
        void this.stop();
        reject(signal?.reason ?? new Error('transport stopped'));
      };
      if (signal?.aborted) return abort();
      signal?.addEventListener('abort', abort, { once: true });
      globalThis.addEventListener?.('pagehide', this.onPageHide);
      this.begin(resolve);
      // `begin` may have reported a change already; otherwise this is the first status.
      this.statusChanged();
    });
  }

  /** Closes every link and the library's connection to its server. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    globalThis.removeEventListener?.('pagehide', this.onPageHide);
    this.shutdown();
  }

  /** Peers with an open channel. */
  connectedPeers(): PeerId[] {
    return [...this.links.values()].filter((link) => link.connected).map((link) => link.peer);
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
  abstract status(): TransportStatus;

  /** Pushes `status()` to the node if it changed; implementations call it whenever signaling does. */
  protected statusChanged(): void {
    if (!this.stopped && this.handlers !== undefined)
      this.statusReporter.report(this.handlers, this.status());
  }

  /** Opens a channel to `peer` (or asks it to), within the peer cap. */
  abstract connect(peer: PeerId): void;

  /** Starts the library's signaling; calls `ready` once this node has its id (from inside `start`). */
  protected abstract begin(ready: () => void): void;

  /** Stops the library, calling `closeAllLinks` where its teardown order wants it (from `stop`, once). */
  protected abstract shutdown(): void;

  /** Closes the library's side of a link (listeners, connection); the shared part is done. */
  protected abstract release(link: Link<X>): void;

  /** Whether the links, open and pending, are at the peer cap. */
  protected atCap(): boolean {
    return this.links.size >= this.options.maxPeers;
  }

  /** Whether `link` is still the one held for its peer and the transport runs. */
  protected isCurrent(link: Link<X>): boolean {
    return this.links.get(link.peer) === link && !this.stopped;
  }

  /**
   * Holds a new link for `peer`, abandoned if it is not open within the connect timeout
   * (`onTimeout` runs first then).
   */
  protected addLink(peer: PeerId, handle: X, onTimeout?: () => void): Link<X> {
    const link: Link<X> = {
      ...handle,
      peer,
      connected: false,
      reassembler: new Reassembler(),
      cancelTimeout: () => {},
    };
    this.links.set(peer, link);
    link.cancelTimeout = this.clock.setTimeout(() => {
      if (link.connected) return;
      onTimeout?.();
      this.drop(link);
    }, this.options.connectTimeoutMs);
    return link;
  }

  /** Marks `link` open, writing frames to `sink`, and tells the node. */
  protected opened(link: Link<X>, sink: FrameSink): void {
    link.cancelTimeout();
    link.connected = true;
    link.sender = new FramedSender(sink, () => this.drop(link));
    this.handlers?.onPeerConnected(link.peer);
  }

  /** Takes one frame from `link`'s channel: a whole message goes to the node; a bad frame drops the peer. */
  protected received(link: Link<X>, frame: unknown): void {
    if (!this.isCurrent(link) || !link.connected) return;
    if (typeof frame === 'string' && frame.startsWith(CONTROL_FRAME_KIND)) {
      this.controlFrame(link.peer, frame.slice(1));
      return;
    }
    const result = link.reassembler.push(frame);
    if (!result.ok) this.drop(link);
    else if (result.message !== null) this.handlers?.onMessage(link.peer, result.message);
  }

  /** A control frame (its text, kind stripped) from a connected peer; transports without any ignore it. */
  protected controlFrame(_peer: PeerId, _text: string): void {}

  /** Writes a control frame to a connected peer; false when there is no open channel or it is backed up. */
  protected sendControl(peer: PeerId, text: string): boolean {
    const link = this.links.get(peer);
    if (link?.sender === undefined || !link.connected) return false;
    return link.sender.sendControl(text);
  }

  /** Forgets a link and tells the node if it was open. */
  protected drop(link: Link<X>): void {
    if (this.links.get(link.peer) !== link) return;
    this.links.delete(link.peer);
    this.close(link);
    this.dropped(link);
    if (link.connected && !this.stopped) this.handlers?.onPeerDisconnected(link.peer);
  }

  /** A link was forgotten (open or pending); transports drop what they kept about it. */
  protected dropped(_link: Link<X>): void {}

  /** Closes every link without telling the node (it is stopping). */
  protected closeAllLinks(): void {
    for (const link of this.links.values()) this.close(link);
    this.links.clear();
  }

  private close(link: Link<X>): void {
    link.cancelTimeout();
    link.sender?.close();
    this.release(link);
  }
}
