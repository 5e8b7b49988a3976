import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createSignalingServer, type SignalingServer } from '../../signaling/server';
import {
  SignalingClient,
  type SignalingStatus,
  type WebSocketConstructor,
} from '../../src/net/signaling-client';

const servers: SignalingServer[] = [];
const clients: SignalingClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.stop();
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

async function startServer(port = 0) {
  const server = createSignalingServer({ host: '127.0.0.1', port });
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

describe('signaling client', () => {
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
