/**
 * Picks and builds the browser's transport: simple-peer over our signaling server by default,
 * PeerJS over the PeerServer beside it as the alternative (`?transport=peerjs`, or the
 * `tabchain.transport` setting in localStorage).
 */
import { z } from 'zod';
import type { Transport } from '../ports/transport';
import { PeerJsTransport, type PeerJsTransportOptions } from './peerjs';
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
  return kind === 'peerjs' ? new PeerJsTransport(options) : new SimplePeerTransport(options);
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
