/**
 * Picks and builds the browser's transport: simple-peer over our signaling server by default,
 * PeerJS over the PeerServer beside it as the alternative (`?transport=peerjs`, or the
 * `tabchain.transport` setting in localStorage).
 */
import { z } from 'zod';
import type { PeerId, Transport, TransportHandlers, TransportStatus } from '../ports/transport';
import type { PeerJsTransportOptions } from './peerjs';
import { SimplePeerTransport } from './simple-peer';

/** The WebRTC transports a tab can use. */
export type TransportKind = 'simple-peer' | 'peerjs';

/** Options for either kind (PeerJS-only fields are ignored by simple-peer). */
export type TransportOptions = PeerJsTransportOptions;

/** The localStorage key of the transport setting. */
export const TRANSPORT_SETTING_KEY = 'tabchain.transport';

const kindSchema = z.enum(['simple-peer', 'peerjs']);

/** Builds a transport of the given kind. */
export function createTransport(kind: TransportKind, options: TransportOptions = {}): Transport {
  return kind === 'peerjs' ? new LazyPeerJsTransport(options) : new SimplePeerTransport(options);
}

/**
 * The PeerJS transport, its module (and the PeerJS library) imported when `start` is called, so
 * tabs on the default transport never download it: Vite puts it in a chunk of its own. Before
 * `start` resolves it is a transport with no peers, as the real one is.
 */
class LazyPeerJsTransport implements Transport {
  private inner: Transport | undefined;
  private started = false;
  private stopped = false;

  constructor(private readonly options: PeerJsTransportOptions) {}

  get localId(): PeerId {
    return this.inner?.localId ?? '';
  }

  async start(handlers: TransportHandlers, signal?: AbortSignal): Promise<void> {
    if (this.started) throw new Error('transport: start() was already called');
    this.started = true;
    const { PeerJsTransport } = await import('./peerjs');
    // Stopped (or aborted) while the chunk loaded: nothing was started, nothing is reported.
    if (this.stopped || signal?.aborted) return;
    this.inner = new PeerJsTransport(this.options);
    await this.inner.start(handlers, signal);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.inner?.stop();
  }

  connectedPeers(): PeerId[] {
    return this.inner?.connectedPeers() ?? [];
  }

  connect(peer: PeerId): void {
    this.inner?.connect(peer);
  }

  disconnect(peer: PeerId): void {
    this.inner?.disconnect(peer);
  }

  send(peer: PeerId, data: string): boolean {
    return this.inner?.send(peer, data) ?? false;
  }

  status(): TransportStatus {
    return this.inner?.status() ?? { kind: 'peerjs', signaling: 'down' };
  }
}

/**
 * The transport this tab should use: `?transport=` in the URL, else the localStorage setting,
 * else simple-peer. Unknown values fall through to the next source.
 */
export function transportKindFromSettings(
  search: string = globalThis.location?.search ?? '',
  storage: Pick<Storage, 'getItem'> | undefined = globalThis.localStorage,
): TransportKind {
  const fromUrl = kindSchema.safeParse(new URLSearchParams(search).get('transport'));
  if (fromUrl.success) return fromUrl.data;
  let stored: string | null = null;
  try {
    stored = storage?.getItem(TRANSPORT_SETTING_KEY) ?? null;
  } catch {
    // Storage can throw (disabled cookies, sandboxed frames): use the default.
  }
  const fromStorage = kindSchema.safeParse(stored);
  return fromStorage.success ? fromStorage.data : 'simple-peer';
}
