/**
 * The signaling server: brokers WebRTC offers, answers and candidates between the tabs of one
 * network, and nothing else (blocks and transactions never pass through it). One Node `http`
 * server carries:
 *   - `/`          the tabchain signaling WebSocket (protocol in src/net/signaling-protocol.ts);
 *   - `/peerjs`    a PeerJS server (`peer`'s ExpressPeerServer) for the PeerJS transport;
 *   - the app:     static files of a build (`serveStatic`), or a dev middleware such as Vite's.
 * Every frame is decoded with one schema and capped; each socket has a token-bucket rate limit
 * and an error budget; dead sockets are dropped by ping/pong heartbeat. Sockets are capped per
 * client address (client-address.ts says how the address is found), per room and in all; a
 * refused client is told why with a close code of `SIGNALING_CLOSE_CODES` and a reason.
 */
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { Duplex } from 'node:stream';
import express from 'express';
import { ExpressPeerServer } from 'peer';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import {
  type ClientMessage,
  decodeClientMessage,
  type JoinKey,
  joinProofBytes,
  MAX_ROOM_PEERS,
  MAX_SIGNALING_MESSAGE_BYTES,
  peerIdOfPublicKey,
  type ServerMessage,
  SIGNALING_CLOSE_CODES,
  type SignalingErrorCode,
} from '../src/net/signaling-protocol';
import { clientAddressResolver } from './client-address';
import { type Admission, createConnectionLedger } from './connection-ledger';

/** A connect-style request handler (Vite's `server.middlewares`, for one). */
export type Middleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/** How to run the server; every field has a safe default. */
export interface SignalingServerOptions {
  /** Interface to listen on; default 127.0.0.1 (a devnet should not be reachable from the LAN). */
  readonly host?: string;
  /** TCP port; default 0 (any free port). */
  readonly port?: number;
  /**
   * Browser origins allowed to open WebSockets besides the defaults (same host as the request,
   * and localhost/127.0.0.1/[::1] on any port); exact strings like `https://example.org`, or `*`.
   */
  readonly origins?: readonly string[];
  /** Ping every socket this often; a socket that has not answered the previous ping is dropped. */
  readonly heartbeatMs?: number;
  /** Per-socket rate limit: sustained messages per second and burst size. */
  readonly rate?: { readonly perSecond: number; readonly burst: number };
  /** Invalid messages a socket may send before it is disconnected. */
  readonly maxErrors?: number;
  /** Cap on one frame, in bytes (also `ws` maxPayload). */
  readonly maxMessageBytes?: number;
  /** Cap on concurrent sockets (signaling and PeerJS together). */
  readonly maxClients?: number;
  /**
   * Cap on concurrent sockets (signaling and PeerJS together) from one client address; default
   * 64. Every tab of one machine shares 127.0.0.1 and a class behind NAT shares one address, so
   * this is a cap per machine or per NAT, not per person.
   */
  readonly maxPerAddress?: number;
  /** Cap on the peers of one room; default and most `MAX_ROOM_PEERS` (256). */
  readonly maxPerRoom?: number;
  /**
   * Proxies in front of this server whose X-Forwarded-For is trusted to name the client
   * (`loopback`, `uniquelocal`, addresses, CIDRs); default none: the TCP peer is the client.
   */
  readonly trustProxy?: readonly string[];
  /** Cap on live rooms. */
  readonly maxRooms?: number;
  /** Mount path of the PeerJS server, or false for none; default `/peerjs`. */
  readonly peerjsPath?: string | false;
  /** A build folder to serve (production mode), with index.html for unknown page routes. */
  readonly serveStatic?: string;
  /** A handler for every HTTP request the server does not answer itself (dev mode: Vite). */
  readonly middleware?: Middleware;
  /** Serve HTTPS (and WSS) with this PEM key and certificate instead of plain HTTP. */
  readonly https?: { readonly key: string; readonly cert: string };
  /** Where to report errors and refused clients; default: nowhere. */
  readonly log?: (line: string) => void;
}

/** Where a started server listens. */
export interface SignalingAddress {
  /** The bound port (useful with port 0). */
  readonly port: number;
  /** The signaling WebSocket's URL, e.g. `ws://127.0.0.1:8787/` (`wss://` over HTTPS). */
  readonly url: string;
}

/** A signaling server; start once, stop once (make a new one to restart). */
export interface SignalingServer {
  /** The HTTP server, before and after `start` (dev mode hands it to Vite for HMR). */
  readonly httpServer: Server | HttpsServer;
  /** Listens; aborting `signal` stops the server. */
  start(signal?: AbortSignal): Promise<SignalingAddress>;
  /** Closes every socket and the listener. */
  stop(): Promise<void>;
}

const DEFAULTS = {
  host: '127.0.0.1',
  port: 0,
  heartbeatMs: 15_000,
  rate: { perSecond: 50, burst: 100 },
  maxErrors: 3,
  maxClients: 2048,
  maxPerAddress: 64,
  // A class of ~30 machines with a few tabs each is ~100 peers; 256 leaves room for that 2.5
  // times over, is the most a welcome's peer list can carry, and lets one network hold at most
  // an eighth of the server's 2,048 sockets.
  maxPerRoom: MAX_ROOM_PEERS,
  maxRooms: 1024,
  peerjsPath: '/peerjs',
};
/** A refused socket that has not answered our close frame by then is cut. */
const REFUSAL_LINGER_MS = 2000;
/** A client that reads this slowly (bytes queued for it) is dropped rather than buffered. */
const MAX_QUEUED_BYTES = 4 * 1024 * 1024;
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

interface Bucket {
  tokens: number;
  last: number;
}

/** A per-socket token bucket; `take()` is false once the socket has outrun its rate. */
function tokenBucket(rate: { perSecond: number; burst: number }): { take(): boolean } {
  const bucket: Bucket = { tokens: rate.burst, last: performance.now() };
  return {
    take() {
      const now = performance.now();
      bucket.tokens = Math.min(rate.burst, bucket.tokens + ((now - bucket.last) / 1000) * rate.perSecond);
      bucket.last = now;
      if (bucket.tokens < 1) return false;
      bucket.tokens -= 1;
      return true;
    },
  };
}

interface Client {
  readonly ws: WebSocket;
  readonly bucket: { take(): boolean };
  errors: number;
  id?: string;
  room?: string;
}

/** True when `origin` may open a WebSocket on a request addressed to `host`. */
function originAllowed(
  origin: string | undefined,
  host: string | undefined,
  extra: readonly string[],
): boolean {
  // Non-browser clients send no Origin; the check exists to stop other web pages, which always do.
  if (origin === undefined) return true;
  if (extra.includes('*') || extra.includes(origin)) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  return LOOPBACK_HOSTS.has(url.hostname) || (host !== undefined && url.host === host);
}

/** Ends an upgrade request with a bare HTTP status. */
function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  if (socket.writable) {
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  }
  socket.destroy();
}

/**
 * Runs `mount` with `setTimeout` swapped for a version that tracks (and unrefs) the timers it
 * schedules, and those their callbacks schedule in turn. `peer` 1.0.2 starts two
 * self-rescheduling timers when it is mounted and offers no way to stop them; without this a
 * stopped server would keep its process alive forever. Safe because the swap only lasts for
 * synchronous code: nothing else can run in between.
 */
function withTrackedTimers(mount: () => void): () => void {
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let stopped = false;
  const realSetTimeout = globalThis.setTimeout;
  const during = (run: () => void) => {
    const previous = globalThis.setTimeout;
    globalThis.setTimeout = tracked;
    try {
      run();
    } finally {
      globalThis.setTimeout = previous;
    }
  };
  const tracked = ((callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const timer = realSetTimeout(() => {
      timers.delete(timer);
      if (!stopped) during(() => callback(...args));
    }, ms);
    timer.unref();
    timers.add(timer);
    return timer;
  }) as typeof setTimeout;
  during(mount);
  return () => {
    stopped = true;
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
  };
}

/** Reads a cap option: a positive integer, at most `max`; throws on anything else. */
function capOption(name: string, value: number | undefined, fallback: number, max = Infinity): number {
  const cap = value ?? fallback;
  if (!Number.isSafeInteger(cap) || cap < 1 || cap > max) {
    throw new RangeError(`signaling server: ${name} must be an integer 1..${max}, got ${cap}`);
  }
  return cap;
}

/**
 * A log for events a flood produces by the thousand: at most one line per `intervalMs`, the
 * next one saying how many were left out.
 */
function throttledLog(log: (line: string) => void, intervalMs: number): (line: string) => void {
  let last = -Infinity;
  let skipped = 0;
  return (line) => {
    const now = performance.now();
    if (now - last < intervalMs) {
      skipped += 1;
      return;
    }
    last = now;
    log(skipped === 0 ? line : `${line} (and ${skipped} more refusals not logged)`);
    skipped = 0;
  };
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
/** The id a token resumes: the first 64 bits of its SHA-256, so ids cannot be chosen, only kept. */
const idOfToken = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex').slice(0, 16);

/**
 * The id a join's relay key earns (`peerIdOfPublicKey`), or undefined when the key is not a
 * P-256 key or its signature over the room and token does not check out.
 */
function idOfJoinKey(key: JoinKey, room: string, token: string): string | undefined {
  try {
    const publicKey = createPublicKey({
      key: Buffer.from(key.publicKey, 'hex'),
      format: 'der',
      type: 'spki',
    });
    if (publicKey.asymmetricKeyType !== 'ec' || publicKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
      return undefined;
    const signed = joinProofBytes(room, token);
    const good = verify(
      'sha256',
      signed,
      { key: publicKey, dsaEncoding: 'ieee-p1363' },
      Buffer.from(key.signature, 'hex'),
    );
    return good ? peerIdOfPublicKey(key.publicKey) : undefined;
  } catch {
    return undefined;
  }
}

/** Creates a signaling server (not yet listening). */
export function createSignalingServer(options: SignalingServerOptions = {}): SignalingServer {
  const host = options.host ?? DEFAULTS.host;
  const rate = options.rate ?? DEFAULTS.rate;
  const maxErrors = options.maxErrors ?? DEFAULTS.maxErrors;
  const maxMessageBytes = Math.min(options.maxMessageBytes ?? MAX_SIGNALING_MESSAGE_BYTES, 1024 * 1024);
  const maxClients = capOption('maxClients', options.maxClients, DEFAULTS.maxClients);
  const maxPerAddress = capOption('maxPerAddress', options.maxPerAddress, DEFAULTS.maxPerAddress);
  const maxPerRoom = capOption('maxPerRoom', options.maxPerRoom, DEFAULTS.maxPerRoom, MAX_ROOM_PEERS);
  const maxRooms = capOption('maxRooms', options.maxRooms, DEFAULTS.maxRooms);
  const addressOf = clientAddressResolver(options.trustProxy);
  const ledger = createConnectionLedger({ maxPerAddress, maxClients });
  const heartbeatMs = options.heartbeatMs ?? DEFAULTS.heartbeatMs;
  const extraOrigins = options.origins ?? [];
  const peerjsPath = options.peerjsPath === undefined ? DEFAULTS.peerjsPath : options.peerjsPath;
  const log = options.log ?? (() => {});
  const logRefusal = throttledLog(log, 1000);

  const rooms = new Map<string, Map<string, Client>>();
  const clients = new Map<WebSocket, Client>();
  /** Sockets (ours and PeerJS's) that answered the last ping. */
  const alive = new WeakSet<WebSocket>();

  const wss = new WebSocketServer({ noServer: true, maxPayload: maxMessageBytes, perMessageDeflate: false });
  /** Sockets accepted only to be told why they are refused. */
  const refusals = new WebSocketServer({ noServer: true, maxPayload: 1024, perMessageDeflate: false });
  let peerWss: WebSocketServer | undefined;
  let peerWsPath: string | undefined;

  const app = express();
  app.disable('x-powered-by');
  const httpServer = options.https ? createHttpsServer(options.https, app) : createServer(app);
  let stopPeerTimers = () => {};

  if (peerjsPath !== false) {
    const peerApp = ExpressPeerServer(httpServer, {
      path: '/',
      key: 'peerjs',
      allow_discovery: true,
      concurrent_limit: maxClients,
      // The PeerJS client sends a HEARTBEAT every 5 s; our ping/pong catches dead sockets sooner.
      alive_timeout: 60_000,
      corsOptions: {
        origin: (origin: string | undefined, done: (error: Error | null, allow?: boolean) => void) =>
          done(null, originAllowed(origin, undefined, extraOrigins)),
      },
      // Our own WebSocketServer without a `server`: a `ws` server attached with a path answers
      // 400 to every other upgrade on the same HTTP server (our signaling, Vite's HMR), so the
      // upgrade router below hands PeerJS only its own path.
      createWebSocketServer: (wsOptions) => {
        peerWsPath = wsOptions.path;
        peerWss = new WebSocketServer({
          noServer: true,
          path: wsOptions.path,
          maxPayload: maxMessageBytes,
          perMessageDeflate: false,
        });
        // Registered before peer's own listener, so a flooding socket is cut before peer sees more.
        peerWss.on('connection', (ws) => {
          alive.add(ws);
          ws.on('pong', () => alive.add(ws));
          const bucket = tokenBucket(rate);
          ws.on('message', () => {
            if (!bucket.take()) {
              log('signaling: PeerJS client over its rate limit; disconnecting');
              ws.terminate();
            }
          });
        });
        return peerWss;
      },
    });
    // An 'error' event nobody listens to would throw and take the process down.
    peerApp.on('error', (error: unknown) => log(`signaling: PeerJS error: ${String(error)}`));
    stopPeerTimers = withTrackedTimers(() => {
      app.use(peerjsPath, peerApp);
    });
  }
  if (options.serveStatic !== undefined) {
    const root = resolve(options.serveStatic);
    app.use(express.static(root, { index: ['index.html'] }));
    // Page routes of the single-page app fall back to index.html; files that are missing stay 404.
    app.get('*', (req, res, next) => {
      if (req.accepts('html') && !/\.[A-Za-z0-9]+$/.test(req.path)) res.sendFile(resolve(root, 'index.html'));
      else next();
    });
  }
  if (options.middleware !== undefined) {
    const middleware = options.middleware;
    app.use((req, res, next) => middleware(req, res, next));
  }
  app.use((_req, res) => {
    res.status(404).type('text/plain').send('Not found');
  });
  app.use((error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    log(`signaling: HTTP error: ${String(error)}`);
    if (!res.headersSent) res.status(500).type('text/plain').send('Internal error');
  });

  const send = (client: Client, message: ServerMessage) => {
    if (client.ws.readyState !== WebSocket.OPEN) return;
    if (client.ws.bufferedAmount > MAX_QUEUED_BYTES) {
      client.ws.terminate();
      return;
    }
    client.ws.send(JSON.stringify(message));
  };
  const sendError = (client: Client, code: SignalingErrorCode, message: string) =>
    send(client, { type: 'error', code, message });

  /** Counts an invalid message against the socket's error budget. */
  const strike = (client: Client, code: SignalingErrorCode, message: string) => {
    client.errors += 1;
    sendError(client, code, message);
    if (client.errors >= maxErrors) {
      sendError(client, 'too-many-errors', `${client.errors} invalid messages; disconnecting`);
      client.ws.close(1008, 'too many errors');
    }
  };

  const broadcast = (room: Map<string, Client>, except: Client, message: ServerMessage) => {
    for (const other of room.values()) if (other !== except) send(other, message);
  };

  const join = (client: Client, message: Extract<ClientMessage, { type: 'join' }>) => {
    if (client.room !== undefined) return strike(client, 'already-joined', 'join is sent once per socket');
    const token = message.token ?? hex(32);
    // A relay key (checked before it costs a room slot) names the id; otherwise the token does.
    const keyId = message.key === undefined ? undefined : idOfJoinKey(message.key, message.room, token);
    if (message.key !== undefined && keyId === undefined)
      return strike(client, 'bad-message', 'key: not a P-256 key, or its signature does not match');
    let room = rooms.get(message.room);
    if (room === undefined) {
      if (rooms.size >= maxRooms) {
        sendError(client, 'server-full', `the server is full (${maxRooms} rooms); try again later`);
        return client.ws.close(SIGNALING_CLOSE_CODES.serverFull, 'the server is full (too many rooms)');
      }
      room = new Map();
      rooms.set(message.room, room);
    }
    const id = keyId ?? idOfToken(token);
    const previous = room.get(id);
    if (previous === undefined && room.size >= maxPerRoom) {
      const reason = `the room ${message.room} is full (at most ${maxPerRoom} peers)`;
      sendError(client, 'room-full', reason);
      return client.ws.close(SIGNALING_CLOSE_CODES.roomFull, reason);
    }
    client.id = id;
    client.room = message.room;
    room.set(id, client);
    if (previous !== undefined) {
      // The same session on a new socket (the old one is dead but not yet noticed): the new
      // socket takes the id over silently; the other peers already know it.
      previous.room = undefined;
      previous.ws.close(SIGNALING_CLOSE_CODES.replaced, 'replaced by a newer connection');
    } else {
      broadcast(room, client, { type: 'peer-joined', id });
    }
    const peers = [...room.keys()].filter((peer) => peer !== id);
    send(client, { type: 'welcome', id, token, room: message.room, peers });
  };

  const relay = (client: Client, message: Extract<ClientMessage, { type: 'signal' }>) => {
    const room = client.room === undefined ? undefined : rooms.get(client.room);
    if (room === undefined || client.id === undefined)
      return strike(client, 'not-joined', 'join a room first');
    const target = message.to === client.id ? undefined : room.get(message.to);
    // Not a strike: the peer may just have left. Peers of other rooms are simply unknown here.
    if (target === undefined) return sendError(client, 'unknown-peer', `no peer ${message.to} in this room`);
    send(target, { type: 'signal', from: client.id, data: message.data });
  };

  const onMessage = (client: Client, raw: RawData, isBinary: boolean) => {
    if (!client.bucket.take()) {
      sendError(client, 'rate-limited', `over ${rate.perSecond} messages/s; disconnecting`);
      client.ws.close(1008, 'rate limited');
      return;
    }
    if (isBinary) return strike(client, 'binary', 'frames are JSON text');
    const text = (
      Array.isArray(raw) ? Buffer.concat(raw) : raw instanceof ArrayBuffer ? Buffer.from(raw) : raw
    ).toString('utf8');
    const decoded = decodeClientMessage(text);
    if (!decoded.ok) return strike(client, decoded.error.code, decoded.error.reason);
    if (decoded.value.type === 'join') join(client, decoded.value);
    else relay(client, decoded.value);
  };

  const onClose = (client: Client) => {
    clients.delete(client.ws);
    if (client.room === undefined || client.id === undefined) return;
    const room = rooms.get(client.room);
    if (room?.get(client.id) !== client) return;
    room.delete(client.id);
    if (room.size === 0) rooms.delete(client.room);
    else broadcast(room, client, { type: 'peer-left', id: client.id });
  };

  wss.on('connection', (ws: WebSocket) => {
    const client: Client = { ws, bucket: tokenBucket(rate), errors: 0 };
    clients.set(ws, client);
    alive.add(ws);
    ws.on('pong', () => alive.add(ws));
    ws.on('message', (raw, isBinary) => {
      try {
        onMessage(client, raw, isBinary);
      } catch (error) {
        // Whatever a message does, the server keeps serving everyone else.
        log(`signaling: message handler failed: ${String(error)}`);
        try {
          strike(client, 'bad-message', 'could not process the message');
        } catch {
          ws.terminate();
        }
      }
    });
    // `ws` reports oversized frames and protocol violations here, then closes the socket.
    ws.on('error', (error) => log(`signaling: socket error: ${error.message}`));
    ws.on('close', () => onClose(client));
  });
  wss.on('error', (error) => log(`signaling: server error: ${error.message}`));

  httpServer.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    try {
      socket.on('error', () => {});
      const protocols = String(req.headers['sec-websocket-protocol'] ?? '');
      // Vite's HMR socket (dev mode, same server) is Vite's to answer.
      if (/(^|,)\s*vite-/.test(protocols)) return;
      if (!originAllowed(req.headers.origin, req.headers.host, extraOrigins)) {
        log(`signaling: refused a WebSocket from origin ${String(req.headers.origin)}`);
        return refuseUpgrade(socket, 403, 'Forbidden');
      }
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      const target = path === '/' ? wss : path === peerWsPath ? peerWss : undefined;
      if (target === undefined) return refuseUpgrade(socket, 404, 'Not Found');
      const address = addressOf(req);
      if (address === undefined) return socket.destroy();
      const admission = ledger.admit(address);
      if (admission.kind === 'drop') {
        logRefusal(`signaling: dropped an upgrade from ${address}: ${admission.text}`);
        return refuseUpgrade(socket, admission.status, admission.text);
      }
      if (admission.kind === 'refuse') {
        logRefusal(`signaling: refused a WebSocket from ${address}: ${admission.reason}`);
        if (!ledger.track(address, 'refusing', socket)) return;
        return refusals.handleUpgrade(req, socket, head, (ws) => refuse(ws, target === wss, admission));
      }
      if (!ledger.track(address, 'held', socket)) return;
      target.handleUpgrade(req, socket, head, (ws) => target.emit('connection', ws, req));
    } catch (error) {
      log(`signaling: upgrade failed: ${String(error)}`);
      socket.destroy();
    }
  });
  httpServer.on('clientError', (_error, socket) => socket.destroy());

  /**
   * Tells a socket why it is refused, in its own protocol (our `error` frame, or PeerJS's
   * `ERROR`, which the PeerJS client reports as a server error), then closes it with the
   * refusal's code and reason; cut after a moment if the client does not finish the close.
   */
  function refuse(
    ws: WebSocket,
    signaling: boolean,
    admission: Extract<Admission, { kind: 'refuse' }>,
  ): void {
    ws.on('error', () => {});
    const frame = signaling
      ? ({ type: 'error', code: admission.error, message: admission.reason } satisfies ServerMessage)
      : { type: 'ERROR', payload: { msg: admission.reason } };
    ws.send(JSON.stringify(frame));
    ws.close(admission.code, admission.reason);
    setTimeout(() => ws.terminate(), REFUSAL_LINGER_MS).unref();
  }

  const heartbeat = () => {
    for (const ws of [...wss.clients, ...(peerWss?.clients ?? [])]) {
      if (!alive.has(ws)) {
        ws.terminate();
        continue;
      }
      alive.delete(ws);
      try {
        ws.ping();
      } catch {
        ws.terminate();
      }
    }
  };

  let heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  let started = false;
  let stopping: Promise<void> | undefined;

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      clearInterval(heartbeatTimer);
      stopPeerTimers();
      for (const ws of wss.clients) ws.terminate();
      for (const ws of peerWss?.clients ?? []) ws.terminate();
      for (const ws of refusals.clients) ws.terminate();
      wss.close();
      peerWss?.close();
      refusals.close();
      rooms.clear();
      if (!httpServer.listening) return;
      await new Promise<void>((done) => {
        httpServer.close(() => done());
        // Keep-alive HTTP connections would otherwise hold close() open until they time out.
        httpServer.closeAllConnections();
      });
    })();
    return stopping;
  };

  const start = async (signal?: AbortSignal): Promise<SignalingAddress> => {
    if (started) throw new Error('signaling server: start() was already called; create a new server');
    started = true;
    signal?.throwIfAborted();
    await new Promise<void>((done, fail) => {
      httpServer.once('error', fail);
      httpServer.listen(options.port ?? DEFAULTS.port, host, () => {
        httpServer.off('error', fail);
        done();
      });
    });
    httpServer.on('error', (error) => log(`signaling: HTTP server error: ${error.message}`));
    heartbeatTimer = setInterval(heartbeat, heartbeatMs);
    heartbeatTimer.unref();
    signal?.addEventListener('abort', () => void stop(), { once: true });
    const port = (httpServer.address() as AddressInfo).port;
    const urlHost = host.includes(':') ? `[${host}]` : host;
    return { port, url: `${options.https ? 'wss' : 'ws'}://${urlHost}:${port}/` };
  };

  return { httpServer, start, stop };
}
