/**
 * What the two WebRTC transports share: their options, message framing over a data channel
 * (large messages are cut into chunks and put back together) and backpressure on the channel's
 * send buffer, so that a 10 MB message neither overflows Chromium's send queue (which throws
 * once it holds 16 MB) nor arrives cut.
 */
import type SimplePeer from 'simple-peer';
import type { Clock } from '../ports/clock';

/** The WebSocket constructor to use (the browser's, or `ws` in Node tests). */
export type WebSocketConstructor = new (url: string) => WebSocket;

/** Options both WebRTC transports take. Every field has a default fit for a devnet. */
export interface WebRtcTransportOptions {
  /** The tabchain server's base URL (`http://localhost:5173/`); default: the page's origin. */
  readonly serverUrl?: string;
  /** The network's room on the signaling server; default `tabchain-devnet`. */
  readonly room?: string;
  /**
   * ICE servers; default none: a devnet's tabs share a machine or LAN, and the libraries'
   * defaults are public hosts.
   */
  readonly iceServers?: readonly RTCIceServer[];
  /** Open and pending channels at most; default 8. */
  readonly maxPeers?: number;
  /** Connect to peers the signaling server reports (up to `maxPeers`); default true. */
  readonly autoConnect?: boolean;
  /** A channel not open after this long is abandoned; default 15 s. */
  readonly connectTimeoutMs?: number;
  /** Reconnection backoff to the signaling server: first and largest delay; default 250 ms and 10 s. */
  readonly backoff?: { readonly minMs?: number; readonly maxMs?: number };
  /** Jitter source in [0, 1); default Math.random. */
  readonly random?: () => number;
  /** Timers; default the system clock. */
  readonly clock?: Clock;
  /** The WebSocket implementation for signaling; default the global one (`ws` in Node). */
  readonly WebSocket?: WebSocketConstructor;
  /**
   * A WebRTC implementation outside browsers (`@roamhq/wrtc` in Node), for simple-peer's `wrtc`
   * option: lets a Node process be a peer, and the transport run the shared compliance suite.
   */
  readonly wrtc?: SimplePeer.Options['wrtc'];
}

/** The network's room when none is given. */
export const DEFAULT_ROOM = 'tabchain-devnet';
/** Peers per node when no cap is given. */
export const DEFAULT_MAX_PEERS = 8;
/** Characters per frame: 16 Ki UTF-16 units are at most 48 KiB of UTF-8, under browsers' message limits. */
export const CHUNK_CHARS = 16 * 1024;
/** The largest message a peer may send us, in UTF-16 units; a longer one drops the peer. */
export const MAX_MESSAGE_CHARS = 64 * 1024 * 1024;
/** Stop writing while the channel buffers more than this many bytes. */
export const HIGH_WATER_BYTES = 1024 * 1024;
/** ...and resume once it is down to this. */
export const LOW_WATER_BYTES = 256 * 1024;
/** Messages queued for one peer at most (UTF-16 units); past it the peer is too slow and dropped. */
export const MAX_QUEUED_CHARS = 256 * 1024 * 1024;

/** Resolved options with defaults applied. */
export interface ResolvedOptions {
  readonly serverUrl: URL;
  readonly room: string;
  readonly iceServers: RTCIceServer[];
  readonly maxPeers: number;
  readonly autoConnect: boolean;
  readonly connectTimeoutMs: number;
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly random: () => number;
  readonly WebSocket: WebSocketConstructor | undefined;
  readonly wrtc: SimplePeer.Options['wrtc'] | undefined;
}

/** Applies the defaults; `serverUrl` defaults to the page's origin. */
export function resolveOptions(options: WebRtcTransportOptions): ResolvedOptions {
  const base = options.serverUrl ?? globalThis.location?.origin;
  if (base === undefined) throw new Error('transport: serverUrl is required outside a browser page');
  return {
    serverUrl: new URL(base),
    room: options.room ?? DEFAULT_ROOM,
    iceServers: [...(options.iceServers ?? [])],
    maxPeers: Math.max(1, options.maxPeers ?? DEFAULT_MAX_PEERS),
    autoConnect: options.autoConnect ?? true,
    connectTimeoutMs: options.connectTimeoutMs ?? 15_000,
    minBackoffMs: options.backoff?.minMs ?? 250,
    maxBackoffMs: options.backoff?.maxMs ?? 10_000,
    random: options.random ?? Math.random,
    WebSocket: options.WebSocket,
    wrtc: options.wrtc,
  };
}

/** Exponential backoff with equal jitter: half the delay fixed, half random. */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, random: () => number): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return base / 2 + random() * (base / 2);
}

/** Random lower-case hex from the browser's CSPRNG. */
export function randomHex(bytes: number): string {
  const buffer = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(buffer, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

// Frames: 'w' + a whole message; 's' + total length + ':' + first chunk; 'c' + next chunk. Data
// channels are reliable and ordered, so chunks need no message ids. 'r' + text is a transport
// control frame (a relayed signal, relay.ts): never a node message, and it may come between the
// chunks of one, so the transport takes it before the reassembler sees it.

/** The first character of a control frame. */
export const CONTROL_FRAME_KIND = 'r';

/** Cuts a message into frames. Never splits a surrogate pair: a lone half would not survive UTF-8. */
export function* frames(data: string, chunkChars = CHUNK_CHARS): Generator<string> {
  if (data.length <= chunkChars) {
    yield `w${data}`;
    return;
  }
  let start = 0;
  while (start < data.length) {
    let end = Math.min(data.length, start + chunkChars);
    const last = data.charCodeAt(end - 1);
    if (end < data.length && last >= 0xd800 && last <= 0xdbff) end = end - 1 > start ? end - 1 : end + 1;
    const chunk = data.slice(start, end);
    yield start === 0 ? `s${data.length}:${chunk}` : `c${chunk}`;
    start = end;
  }
}

/** Puts frames back together; one per channel. */
export class Reassembler {
  private parts: string[] = [];
  private expected = -1;
  private collected = 0;

  constructor(private readonly maxChars = MAX_MESSAGE_CHARS) {}

  /** Takes one frame: a message when one completes, `null` while incomplete, an error for a bad frame. */
  push(frame: unknown): { ok: true; message: string | null } | { ok: false; reason: string } {
    if (typeof frame !== 'string' || frame.length === 0) return { ok: false, reason: 'not a text frame' };
    const kind = frame[0];
    if (kind === 'w' && this.expected < 0) {
      if (frame.length - 1 > this.maxChars) return { ok: false, reason: 'message too large' };
      return { ok: true, message: frame.slice(1) };
    }
    if (kind === 's' && this.expected < 0) {
      const colon = frame.indexOf(':');
      const total = Number(frame.slice(1, colon));
      if (colon < 2 || colon > 12 || !Number.isSafeInteger(total) || !/^\d+$/.test(frame.slice(1, colon))) {
        return { ok: false, reason: 'bad chunk header' };
      }
      if (total > this.maxChars) return { ok: false, reason: 'message too large' };
      this.expected = total;
      return this.add(frame.slice(colon + 1));
    }
    if (kind === 'c' && this.expected >= 0) return this.add(frame.slice(1));
    return { ok: false, reason: `unexpected frame '${kind}'` };
  }

  private add(chunk: string): { ok: true; message: string | null } | { ok: false; reason: string } {
    this.collected += chunk.length;
    if (chunk.length === 0 || this.collected > this.expected) return { ok: false, reason: 'chunks overrun' };
    this.parts.push(chunk);
    if (this.collected < this.expected) return { ok: true, message: null };
    const message = this.parts.join('');
    this.parts = [];
    this.expected = -1;
    this.collected = 0;
    return { ok: true, message };
  }
}

/** Where a sender writes frames: one data channel. */
export interface FrameSink {
  /** Writes one frame; may throw when the channel has closed. */
  send(frame: string): void;
  /** Bytes the channel holds unsent. */
  bufferedAmount(): number;
  /** Resolves once the buffer may have drained (an event, or a short poll as a fallback). */
  waitForDrain(): Promise<void>;
}

/** A `FrameSink` over an RTCDataChannel, optionally writing through a library's own `send`. */
export function dataChannelSink(
  channel: RTCDataChannel | undefined,
  send: (frame: string) => void,
  bufferedAmount: () => number,
): FrameSink {
  if (channel !== undefined) channel.bufferedAmountLowThreshold = LOW_WATER_BYTES;
  return {
    send,
    bufferedAmount,
    waitForDrain: () =>
      new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          channel?.removeEventListener('bufferedamountlow', done);
          resolve();
        };
        // A poll as well as the event: a library may reset the threshold, and a closed channel
        // never fires it.
        const timer = setTimeout(done, 25);
        channel?.addEventListener('bufferedamountlow', done);
      }),
  };
}

/** Queues messages for one peer and writes their frames as fast as the channel drains. */
export class FramedSender {
  private readonly queue: string[] = [];
  private queuedChars = 0;
  private pumping = false;
  private closed = false;

  /** `onFailure` runs once if a write throws or the queue overflows: the peer should be dropped. */
  constructor(
    private readonly sink: FrameSink,
    private readonly onFailure: (reason: string) => void,
  ) {}

  /** Queues one message; false (and `onFailure`) when the peer cannot keep up. */
  enqueue(data: string): boolean {
    if (this.closed) return false;
    if (this.queuedChars + data.length > MAX_QUEUED_CHARS) {
      this.fail('send queue overflow');
      return false;
    }
    this.queue.push(data);
    this.queuedChars += data.length;
    if (!this.pumping) void this.pump();
    return true;
  }

  /**
   * Writes one control frame now, past the queue (it may land between a message's chunks), or
   * drops it when the channel is backed up: control frames are small and their senders retry.
   */
  sendControl(text: string): boolean {
    if (this.closed || this.sink.bufferedAmount() > HIGH_WATER_BYTES) return false;
    try {
      this.sink.send(`${CONTROL_FRAME_KIND}${text}`);
      return true;
    } catch (error) {
      this.fail(`send failed: ${error instanceof Error ? error.message : String(error)}`);
      return false;
    }
  }

  /** Drops whatever is queued; later messages are refused. */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.queuedChars = 0;
  }

  private fail(reason: string): void {
    if (this.closed) return;
    this.close();
    this.onFailure(reason);
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (!this.closed) {
        const data = this.queue.shift();
        if (data === undefined) break;
        this.queuedChars -= data.length;
        for (const frame of frames(data)) {
          while (!this.closed && this.sink.bufferedAmount() > HIGH_WATER_BYTES)
            await this.sink.waitForDrain();
          if (this.closed) return;
          this.sink.send(frame);
        }
      }
    } catch (error) {
      this.fail(`send failed: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      this.pumping = false;
    }
  }
}
