/**
 * The browser's side of the signaling protocol (src/net/signaling-protocol.ts): joins a room,
 * reports the room's peers, and carries opaque signals to and from them. When the server goes
 * away it reconnects with exponential backoff and jitter, and resumes its id with the session
 * token, so that peers it is already connected to keep knowing it by the same id. A server at a
 * cap refuses with a close code (`SIGNALING_REFUSAL_CODES`); the client then reports why and
 * waits much longer before it tries again, so that refused tabs do not hammer it.
 */
import { type Clock, systemClock } from '../ports/clock';
import { backoffDelay, randomHex, type WebSocketConstructor } from './channel';
import {
  decodeServerMessage,
  type JoinKey,
  MAX_SIGNALING_MESSAGE_BYTES,
  SIGNALING_CLOSE_CODES,
  SIGNALING_REFUSAL_CODES,
} from './signaling-protocol';

/** The signaling connection's state. */
export type SignalingStatus = 'connecting' | 'connected' | 'down';

/** What the client reports; every callback is optional. */
export interface SignalingEvents {
  /** The connection's state changed. */
  onStatus?(status: SignalingStatus): void;
  /** Joined (or re-joined) the room: this client's id and the room's other live peers. */
  onWelcome?(id: string, peers: readonly string[]): void;
  /** A peer joined the room. */
  onPeerJoined?(id: string): void;
  /** A peer left the room (its signaling socket closed; its data channels may live on). */
  onPeerLeft?(id: string): void;
  /** A signal from a peer of the room; `data` is untrusted. */
  onSignal?(from: string, data: Readonly<Record<string, unknown>>): void;
  /** The server refused something we sent. */
  onServerError?(code: string, message: string): void;
  /**
   * The server refused the connection itself (at a cap: see `SIGNALING_CLOSE_CODES`); `reason`
   * is its text for people. The client retries only after a long backoff (`refusedBackoffMs`).
   */
  onRefused?(refusal: SignalingRefusal): void;
}

/** Why the server refused the connection: its close code and reason. */
export interface SignalingRefusal {
  readonly code: number;
  readonly reason: string;
}

/** The WebSocket constructor to use (the browser's, or `ws` in Node tests). */
export type { WebSocketConstructor } from './channel';

/** How the client connects. */
export interface SignalingClientOptions {
  /** The signaling WebSocket URL, e.g. `ws://localhost:5173/`. */
  readonly url: string;
  /** The room (network) to join. */
  readonly room: string;
  /** First reconnection delay; doubles per failure up to `maxBackoffMs`. Default 250 ms. */
  readonly minBackoffMs?: number;
  /** Largest reconnection delay; default 10 s. */
  readonly maxBackoffMs?: number;
  /**
   * Retry delay after the server refused us at a cap (jittered to between half and all of it);
   * doubles per refusal up to 8 times. Default 30 s: a slot frees only when another tab leaves,
   * so trying sooner only adds load.
   */
  readonly refusedBackoffMs?: number;
  /** A socket not open after this long is abandoned and retried; default 10 s. */
  readonly connectTimeoutMs?: number;
  /** Jitter source in [0, 1); default Math.random. */
  readonly random?: () => number;
  /** Timers; default the system clock. */
  readonly clock?: Clock;
  /** WebSocket implementation; default the global one. */
  readonly WebSocket?: WebSocketConstructor;
  /**
   * Proves a relay identity's key on each join (relay-identity.ts): the server then derives this
   * client's id from the key, the same id on every reconnection. Each join uses a fresh token.
   */
  readonly joinKey?: (room: string, token: string) => Promise<JoinKey>;
}

/** A signaling connection with automatic reconnection. Start once, stop once. */
export class SignalingClient {
  private socket: WebSocket | undefined;
  private currentStatus: SignalingStatus = 'down';
  private token: string | undefined;
  private ownId: string | undefined;
  private failures = 0;
  private refusals = 0;
  private lastRefusal: SignalingRefusal | undefined;
  private cancelTimer: (() => void) | undefined;
  private stopped = false;
  private started = false;
  private readonly clock: Clock;

  constructor(
    private readonly options: SignalingClientOptions,
    private readonly events: SignalingEvents,
  ) {
    this.clock = options.clock ?? systemClock;
  }

  /** The connection's state. */
  get status(): SignalingStatus {
    return this.currentStatus;
  }

  /** Why the server refused the last connection, until a connection is welcomed again. */
  get refusal(): SignalingRefusal | undefined {
    return this.lastRefusal;
  }

  /** This client's id once welcomed (kept across reconnections). */
  get id(): string | undefined {
    return this.ownId;
  }

  /** Starts connecting; aborting `signal` stops the client. */
  start(signal?: AbortSignal): void {
    if (this.started) throw new Error('signaling client: start() was already called');
    this.started = true;
    if (signal?.aborted) {
      this.stop();
      return;
    }
    signal?.addEventListener('abort', () => this.stop(), { once: true });
    this.open();
  }

  /** Closes the connection for good; no event is reported afterwards. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    const socket = this.socket;
    this.socket = undefined;
    if (socket !== undefined) {
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
      socket.close(1000, 'stopped');
    }
    this.currentStatus = 'down';
  }

  /** Sends a signal to a peer of the room; false when not connected or the signal is too large. */
  send(to: string, data: Readonly<Record<string, unknown>>): boolean {
    const socket = this.socket;
    if (this.currentStatus !== 'connected' || socket === undefined) return false;
    const text = JSON.stringify({ type: 'signal', to, data });
    if (
      text.length > MAX_SIGNALING_MESSAGE_BYTES / 3 &&
      new TextEncoder().encode(text).length > MAX_SIGNALING_MESSAGE_BYTES
    ) {
      return false;
    }
    socket.send(text);
    return true;
  }

  private setStatus(status: SignalingStatus): void {
    if (this.stopped || status === this.currentStatus) return;
    this.currentStatus = status;
    this.events.onStatus?.(status);
  }

  private open(): void {
    if (this.stopped) return;
    this.setStatus('connecting');
    const Impl = this.options.WebSocket ?? WebSocket;
    let socket: WebSocket;
    try {
      socket = new Impl(this.options.url);
    } catch {
      this.retry();
      return;
    }
    this.socket = socket;
    const cancelTimeout = this.clock.setTimeout(() => {
      if (this.socket === socket && socket.readyState !== 1) this.drop(socket);
    }, this.options.connectTimeoutMs ?? 10_000);
    socket.onopen = () => {
      cancelTimeout();
      const prove = this.options.joinKey;
      if (prove === undefined) {
        socket.send(
          JSON.stringify({
            type: 'join',
            room: this.options.room,
            ...(this.token ? { token: this.token } : {}),
          }),
        );
        return;
      }
      const token = randomHex(32);
      prove(this.options.room, token).then(
        (key) => {
          if (this.socket === socket && socket.readyState === 1)
            socket.send(JSON.stringify({ type: 'join', room: this.options.room, token, key }));
        },
        () => {
          if (this.socket === socket) this.drop(socket);
        },
      );
    };
    socket.onmessage = (event: MessageEvent) => {
      if (this.socket !== socket) return;
      if (typeof event.data !== 'string') return;
      this.onFrame(event.data);
    };
    socket.onclose = (event: CloseEvent) => {
      cancelTimeout();
      if (this.socket !== socket) return;
      this.socket = undefined;
      // A newer socket resumed our session: retrying would fight it.
      if (event.code === SIGNALING_CLOSE_CODES.replaced) {
        this.setStatus('down');
        return;
      }
      if (SIGNALING_REFUSAL_CODES.has(event.code)) {
        const refusal = { code: event.code, reason: event.reason || 'refused by the signaling server' };
        this.lastRefusal = refusal;
        const floor = this.options.refusedBackoffMs ?? 30_000;
        this.retry(backoffDelay(this.refusals, floor, floor * 8, this.options.random ?? Math.random));
        this.refusals += 1;
        if (!this.stopped) this.events.onRefused?.(refusal);
        return;
      }
      this.retry();
    };
    // A failed socket also fires close, which retries.
    socket.onerror = () => {};
  }

  private drop(socket: WebSocket): void {
    socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
    socket.close();
    if (this.socket === socket) this.socket = undefined;
    this.retry();
  }

  /** Tries again after `delay`, or after the next backoff step when no delay is given. */
  private retry(delay?: number): void {
    if (this.stopped) return;
    this.setStatus('down');
    delay ??= backoffDelay(
      this.failures,
      this.options.minBackoffMs ?? 250,
      this.options.maxBackoffMs ?? 10_000,
      this.options.random ?? Math.random,
    );
    this.failures += 1;
    this.cancelTimer?.();
    this.cancelTimer = this.clock.setTimeout(() => {
      this.cancelTimer = undefined;
      this.open();
    }, delay);
  }

  private onFrame(text: string): void {
    const decoded = decodeServerMessage(text);
    // A server that sends nonsense is not worth a crash; the frame is ignored.
    if (!decoded.ok) return;
    const message = decoded.value;
    switch (message.type) {
      case 'welcome':
        this.token = message.token;
        this.ownId = message.id;
        this.failures = 0;
        this.refusals = 0;
        this.lastRefusal = undefined;
        this.setStatus('connected');
        this.events.onWelcome?.(message.id, message.peers);
        break;
      case 'peer-joined':
        if (message.id !== this.ownId) this.events.onPeerJoined?.(message.id);
        break;
      case 'peer-left':
        this.events.onPeerLeft?.(message.id);
        break;
      case 'signal':
        this.events.onSignal?.(message.from, message.data);
        break;
      case 'error':
        this.events.onServerError?.(message.code, message.message);
        break;
    }
  }
}
