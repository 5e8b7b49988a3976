/**
 * Browser harness for the WebRTC transports (test/e2e/transport.e2e.ts, bench/tabs.ts): one
 * transport per tab, driven from Node through `window.__transport`. Large messages are made and
 * hashed in the page, so that 10 MB never crosses the DevTools protocol.
 */
import { createTransport, type TransportKind } from '../../../src/net/index';
import type { PeerId, Transport } from '../../../src/ports/transport';

// Every RTCPeerConnection the libraries create, to check there is one per connected pair.
// Installed before any transport exists; the libraries look the constructor up when they connect.
const peerConnections: RTCPeerConnection[] = [];
const NativePeerConnection = window.RTCPeerConnection;
class CountedPeerConnection extends NativePeerConnection {
  constructor(configuration?: RTCConfiguration) {
    super(configuration);
    peerConnections.push(this);
  }
}
window.RTCPeerConnection = CountedPeerConnection;

/** What a test may set; everything else takes the transport's defaults. */
export interface HarnessOptions {
  readonly room?: string;
  readonly maxPeers?: number;
  readonly backoffMaxMs?: number;
  readonly discoveryIntervalMs?: number;
  readonly connectTimeoutMs?: number;
}

/** One received message, as the test sees it. */
export interface Received {
  readonly from: PeerId;
  readonly length: number;
  readonly sha256: string;
  /** The text itself when short. */
  readonly text?: string;
}

/** One transport event with its time (ms since the epoch). */
export interface HarnessEvent {
  readonly type: 'connected' | 'disconnected' | 'discovered';
  readonly peer: PeerId;
  readonly at: number;
}

const now = () => performance.timeOrigin + performance.now();

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** A deterministic text of about `chars` UTF-16 units, dense in surrogate pairs and accents. */
function makeText(chars: number, seed: number): string {
  const parts: string[] = [];
  let length = 0;
  for (let i = 0; length < chars; i++) {
    const part = `${(seed + i).toString(36)}🙂é—`;
    parts.push(part);
    length += part.length;
  }
  let text = parts.join('').slice(0, chars);
  const last = text.charCodeAt(text.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) text = text.slice(0, -1);
  return text;
}

let transport: Transport | undefined;
let startedAt = 0;
const received: Received[] = [];
const events: HarnessEvent[] = [];
let hashing: Promise<void> = Promise.resolve();

function log(line: string): void {
  const element = document.getElementById('log');
  if (element) element.textContent = line;
}

function current(): Transport {
  if (transport === undefined) throw new Error('call start() first');
  return transport;
}

const harness = {
  /** Starts a transport of `kind` against this page's server; resolves with its id. */
  async start(kind: TransportKind, options: HarnessOptions = {}): Promise<PeerId> {
    if (transport !== undefined) throw new Error('already started');
    startedAt = now();
    transport = createTransport(kind, {
      serverUrl: location.origin,
      room: options.room ?? 'e2e',
      iceServers: [],
      ...(options.maxPeers === undefined ? {} : { maxPeers: options.maxPeers }),
      ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
      ...(options.discoveryIntervalMs === undefined
        ? {}
        : { discoveryIntervalMs: options.discoveryIntervalMs }),
      backoff: { minMs: 100, maxMs: options.backoffMaxMs ?? 1000 },
    });
    await transport.start({
      onPeerConnected: (peer) => events.push({ type: 'connected', peer, at: now() }),
      onPeerDisconnected: (peer) => events.push({ type: 'disconnected', peer, at: now() }),
      onPeersDiscovered: (peers) => {
        for (const peer of peers) events.push({ type: 'discovered', peer, at: now() });
      },
      onMessage: (from, data) => {
        hashing = hashing.then(async () => {
          received.push({
            from,
            length: data.length,
            sha256: await sha256(data),
            ...(data.length <= 256 ? { text: data } : {}),
          });
        });
      },
    });
    log(`${kind} ${transport.localId}`);
    return transport.localId;
  },
  /** This tab's id. */
  id: (): PeerId => current().localId,
  /** Connected peers, sorted. */
  peers: (): PeerId[] => current().connectedPeers().sort(),
  /** The transport's status. */
  status: () => current().status(),
  /** Sends a short text. */
  send: (peer: PeerId, text: string): boolean => current().send(peer, text),
  /** Sends a generated text of `chars` units; returns what the receiver should see. */
  async sendLarge(peer: PeerId, chars: number, seed: number) {
    const text = makeText(chars, seed);
    const ok = current().send(peer, text);
    return { ok, length: text.length, sha256: await sha256(text) };
  },
  /** Messages received so far (each listed once its hash is computed). */
  received: (): Received[] => [...received],
  /** Connect/disconnect/discovery events. */
  events: (): HarnessEvent[] => [...events],
  /** When `start()` was called (ms since the epoch). */
  startedAt: (): number => startedAt,
  /** RTCPeerConnections whose state is `connected` (one per connected peer if no duplicates). */
  rtcConnected: (): number => peerConnections.filter((pc) => pc.connectionState === 'connected').length,
  /** Stops the transport. */
  async stop(): Promise<void> {
    await transport?.stop();
  },
};

declare global {
  interface Window {
    /** The harness, for tests driving this page. */
    __transport: typeof harness;
  }
}

window.__transport = harness;
log('ready');
