import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  createSignalingServer,
  type SignalingServer,
  type SignalingServerOptions,
} from '../../signaling/server';
import {
  SignalingClient,
  type SignalingRefusal,
  type SignalingStatus,
  type WebSocketConstructor,
} from '../../src/net/signaling-client';
import { SIGNALING_CLOSE_CODES } from '../../src/net/signaling-protocol';
import type { Clock } from '../../src/ports/clock';

const servers: SignalingServer[] = [];
const clients: SignalingClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.stop();
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

async function startServer(port = 0, options: SignalingServerOptions = {}) {
  const server = createSignalingServer({ host: '127.0.0.1', port, ...options });
  servers.push(server);
  return { server, ...(await server.start()) };
}

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function client(url: string, room: string) {
  const statuses: SignalingStatus[] = [];
  const welcomes: { id: string; peers: readonly string[] }[] = [];
  const signals: { from: string; data: unknown }[] = [];
  const joined: string[] = [];
  const signaling = new SignalingClient(
    {
      url,
      room,
      minBackoffMs: 20,
      maxBackoffMs: 200,
      random: () => 0.5,
      WebSocket: WebSocket as unknown as WebSocketConstructor,
    },
    {
      onStatus: (status) => statuses.push(status),
      onWelcome: (id, peers) => welcomes.push({ id, peers }),
      onPeerJoined: (id) => joined.push(id),
      onSignal: (from, data) => signals.push({ from, data }),
    },
  );
  clients.push(signaling);
  return { signaling, statuses, welcomes, signals, joined };
}

/** A clock whose timers run only when the test fires them. */
function manualClock() {
  const timers: { readonly ms: number; readonly run: () => void; live: boolean }[] = [];
  const clock: Clock = {
    now: () => 0,
    setTimeout(run, ms) {
      const timer = { ms, run, live: true };
      timers.push(timer);
      return () => {
        timer.live = false;
      };
    },
  };
  return {
    clock,
    pending: () => timers.filter((timer) => timer.live),
    fire(timer: { run: () => void; live: boolean }) {
      timer.live = false;
      timer.run();
    },
  };
}

describe('signaling client', () => {
  it('reports a refusal at the address cap and waits a long backoff before each retry', async () => {
    const { url } = await startServer(0, { maxPerAddress: 1 });
    const first = client(url, 'capped');
    first.signaling.start();
    await until(() => first.welcomes.length === 1);

    const { clock, pending, fire } = manualClock();
    let sockets = 0;
    const Counting = class extends WebSocket {
      constructor(address: string) {
        super(address);
        sockets += 1;
      }
    };
    const refusals: SignalingRefusal[] = [];
    const statuses: SignalingStatus[] = [];
    const welcomes: string[] = [];
    const second = new SignalingClient(
      {
        url,
        room: 'capped',
        refusedBackoffMs: 30_000,
        random: () => 0.5,
        clock,
        WebSocket: Counting as unknown as WebSocketConstructor,
      },
      {
        onRefused: (refusal) => refusals.push(refusal),
        onStatus: (status) => statuses.push(status),
        onWelcome: (id) => welcomes.push(id),
      },
    );
    clients.push(second);
    second.start();
    await until(() => refusals.length === 1);
    expect(refusals[0]).toEqual({
      code: SIGNALING_CLOSE_CODES.addressFull,
      reason: 'too many connections from your address (at most 1); close some tabs',
    });
    expect(second.refusal).toEqual(refusals[0]);
    expect(second.status).toBe('down');
    expect(statuses).toEqual(['connecting', 'down']);
    // One socket, and the only way to another is one timer of the refusal backoff (not 250 ms).
    expect(sockets).toBe(1);
    expect(pending().map((timer) => timer.ms)).toEqual([22_500]);

    fire(pending()[0] as never);
    await until(() => refusals.length === 2);
    expect(sockets).toBe(2);
    // Each refusal doubles the wait.
    expect(pending().map((timer) => timer.ms)).toEqual([45_000]);

    // Once the other tab leaves, the next retry gets in and the refusal is cleared.
    first.signaling.stop();
    // (The server may not have seen that close yet when the first retry arrives.)
    for (let attempt = 0; welcomes.length === 0; attempt++) {
      expect(attempt).toBeLessThan(5);
      const [retry] = pending().filter((timer) => timer.ms >= 15_000);
      fire(retry as never);
      const seen = refusals.length;
      await until(() => welcomes.length === 1 || refusals.length > seen);
    }
    expect(second.status).toBe('connected');
    expect(second.refusal).toBeUndefined();
  });

  it('joins, relays signals, and resumes its id after the server restarts', async () => {
    const first = await startServer();
    const a = client(first.url, 'net');
    const b = client(first.url, 'net');
    a.signaling.start();
    await until(() => a.welcomes.length === 1);
    b.signaling.start();
    await until(() => b.welcomes.length === 1);
    const idA = a.welcomes[0]?.id as string;
    const idB = b.welcomes[0]?.id as string;
    expect(b.welcomes[0]?.peers).toEqual([idA]);
    await until(() => a.joined.includes(idB));
    expect(b.signaling.send(idA, { hi: 1 })).toBe(true);
    await until(() => a.signals.length === 1);
    expect(a.signals[0]).toEqual({ from: idB, data: { hi: 1 } });

    await first.server.stop();
    await until(() => a.signaling.status !== 'connected' && b.signaling.status !== 'connected');
    expect(a.signaling.send(idB, { lost: true })).toBe(false);
    // Let a few retries fail against the closed port, then bring the server back.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await startServer(first.port);
    await until(() => a.welcomes.length === 2 && b.welcomes.length === 2);
    expect(a.welcomes[1]?.id).toBe(idA);
    expect(b.welcomes[1]?.id).toBe(idB);
    expect(a.signaling.id).toBe(idA);
    expect(a.statuses[0]).toBe('connecting');
    expect(a.statuses).toContain('down');
    expect(a.statuses.at(-1)).toBe('connected');
    a.signaling.send(idB, { back: true });
    await until(() => b.signals.length === 1);
    expect(b.signals[0]).toEqual({ from: idA, data: { back: true } });
  });

  it('stops on abort and reports nothing afterwards', async () => {
    const { url } = await startServer();
    const a = client(url, 'net');
    const controller = new AbortController();
    a.signaling.start(controller.signal);
    await until(() => a.welcomes.length === 1);
    controller.abort();
    const seen = a.statuses.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(a.statuses.length).toBe(seen);
    expect(a.signaling.status).toBe('down');
  });
});
