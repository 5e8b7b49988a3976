/** Shared by the signaling server tests: servers on 127.0.0.1 and `ws` clients that queue what they get. */
import { WebSocket } from 'ws';
import {
  createSignalingServer,
  type SignalingServer,
  type SignalingServerOptions,
} from '../../signaling/server';
import type { ServerMessage } from '../../src/net/signaling-protocol';

/** A `ws` client that queues what it receives, for step-by-step assertions. */
export interface TestClient {
  readonly ws: WebSocket;
  readonly received: ServerMessage[];
  /** The next message of `type` (waits for it; consumes it and those before it). */
  next<T extends ServerMessage['type']>(
    type: T,
    timeoutMs?: number,
  ): Promise<Extract<ServerMessage, { type: T }>>;
  /** Resolves with the close code. */
  closed: Promise<number>;
  /** Resolves with the close code and reason. */
  closing: Promise<{ readonly code: number; readonly reason: string }>;
  send(value: unknown): void;
}

/** Options of a test client's socket (`localAddress`, `headers`, `origin`, ...). */
export type ConnectOptions = ConstructorParameters<typeof WebSocket>[2];

const servers: SignalingServer[] = [];
const sockets: WebSocket[] = [];

/** Closes every client and server the harness made; run it after each test. */
export async function stopAll(): Promise<void> {
  for (const ws of sockets.splice(0)) ws.terminate();
  await Promise.all(servers.splice(0).map((server) => server.stop()));
}

/** A signaling server on 127.0.0.1 and a free port. */
export async function startServer(options: SignalingServerOptions = {}) {
  const server = createSignalingServer({ host: '127.0.0.1', port: 0, ...options });
  servers.push(server);
  const address = await server.start();
  return { server, ...address, http: `http://127.0.0.1:${address.port}` };
}

/** An open socket to `url`; rejects with `HTTP <status>` when the upgrade is refused. */
export function connect(url: string, options: ConnectOptions = {}): Promise<TestClient> {
  const ws = new WebSocket(url, options);
  sockets.push(ws);
  const received: ServerMessage[] = [];
  let wake: (() => void) | undefined;
  ws.on('message', (data) => {
    received.push(JSON.parse(String(data)) as ServerMessage);
    wake?.();
  });
  const closing = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') })),
  );
  const client: TestClient = {
    ws,
    received,
    closing,
    closed: closing.then(({ code }) => code),
    send: (value) => ws.send(typeof value === 'string' ? value : JSON.stringify(value)),
    async next(type, timeoutMs = 2000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const index = received.findIndex((message) => message.type === type);
        if (index >= 0) {
          const [message] = received.splice(0, index + 1).slice(-1);
          return message as never;
        }
        if (Date.now() > deadline) throw new Error(`no ${type} message within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 20);
        });
      }
    },
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(client));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

/** A client that has joined `room`, with its id and welcome. */
export async function joined(url: string, room: string, options: ConnectOptions = {}) {
  const client = await connect(url, options);
  client.send({ type: 'join', room });
  const welcome = await client.next('welcome');
  return { client, id: welcome.id, welcome };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `check()` holds; throws after `timeoutMs` (a bound for a hung test, not a timing). */
export async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}
