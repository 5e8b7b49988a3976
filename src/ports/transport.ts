/**
 * The `Transport` port: how a node reaches other nodes. Implementations: in-memory (tests and
 * the simulator), simple-peer over our signaling server, PeerJS over a PeerServer. The node
 * only ever sees this interface.
 *
 * Messages are strings (JSON text of the wire protocol). A transport delivers each message
 * whole and in order per peer (WebRTC data channels are reliable and ordered; transports chunk
 * large messages themselves), or drops the peer.
 */

/** A peer's id on the network (a signaling or PeerJS id, or a simulator name). */
export type PeerId = string;

/** What a transport tells its node. */
export interface TransportHandlers {
  /** A data channel to `peer` is open: it can be sent to now. */
  onPeerConnected(peer: PeerId): void;
  /** The channel to `peer` closed (either side, or the network). */
  onPeerDisconnected(peer: PeerId): void;
  /** A whole message from a connected peer. */
  onMessage(peer: PeerId, data: string): void;
  /** Peer ids learned outside the node's own peer exchange (e.g. a signaling directory). */
  onPeersDiscovered?(peers: readonly PeerId[]): void;
  /**
   * The transport's status, pushed: once when `start` is called (the status then), and again on
   * every change (the signaling server connects, drops, reconnects). `status` is what `status()`
   * returns at that moment; two consecutive events never carry equal statuses. Nothing is
   * reported after `stop`. Consumers keep the last one instead of polling `status()`.
   */
  onStatus?(status: TransportStatus): void;
}

/** The transport's own state, for the UI's network view; reported by `TransportHandlers.onStatus`. */
export interface TransportStatus {
  /** Which implementation. */
  readonly kind: 'memory' | 'simple-peer' | 'peerjs';
  /** The signaling server's state; `n/a` for transports without one. */
  readonly signaling: 'connected' | 'connecting' | 'down' | 'n/a';
}

/** A way to reach peers. Long-lived: `start` once, `stop` once. */
export interface Transport {
  /** This node's id; valid once `start` has resolved. */
  readonly localId: PeerId;
  /** Starts delivering events to `handlers`; aborting `signal` stops the transport. */
  start(handlers: TransportHandlers, signal?: AbortSignal): Promise<void>;
  /** Closes every channel and stops; no event is delivered after it resolves. */
  stop(): Promise<void>;
  /** Peers with an open channel now. */
  connectedPeers(): PeerId[];
  /** Asks for a channel to `peer`; a no-op when connected, connecting, or at the peer cap. */
  connect(peer: PeerId): void;
  /** Closes the channel to `peer`, if any. */
  disconnect(peer: PeerId): void;
  /** Sends one message; false when `peer` is not connected (the message is dropped). */
  send(peer: PeerId, data: string): boolean;
  /** The transport's state now; changes are also pushed to `TransportHandlers.onStatus`. */
  status(): TransportStatus;
}
