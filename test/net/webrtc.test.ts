import wrtc from '@roamhq/wrtc';
import { afterAll, beforeAll } from 'vitest';
import WebSocket from 'ws';
import { createSignalingServer, type SignalingServer } from '../../signaling/server';
import { SimplePeerTransport } from '../../src/net/simple-peer';
import type { Transport } from '../../src/ports/transport';
import { transportCompliance } from './transport-compliance';

// The same compliance suite as the in-memory transport, run against the real simple-peer
// transport: real WebRTC data channels (@roamhq/wrtc, Node peers) and our real signaling server,
// everything on 127.0.0.1 with no ICE servers. (The browser runs are in test/e2e.)
let server: SignalingServer;
let url: string;
let room = 0;

beforeAll(async () => {
  server = createSignalingServer({ host: '127.0.0.1', port: 0, heartbeatMs: 1000 });
  url = `http://127.0.0.1:${(await server.start()).port}/`;
});
afterAll(() => server.stop());

/** A signaling server of one test's own, which it can take away and bring back on the same port. */
async function ownSignalingServer() {
  let current = createSignalingServer({ host: '127.0.0.1', port: 0, heartbeatMs: 1000 });
  const { port } = await current.start();
  let running = true;
  return {
    url: `http://127.0.0.1:${port}/`,
    interrupt: async () => {
      running = false;
      await current.stop();
    },
    restore: async () => {
      current = createSignalingServer({ host: '127.0.0.1', port, heartbeatMs: 1000 });
      await current.start();
      running = true;
    },
    close: async () => {
      if (running) await current.stop();
      running = false;
    },
  };
}

transportCompliance('simple-peer over wrtc', async (options) => {
  // A room per test, so one test's peers never meet another's.
  const name = `compliance-${room++}`;
  const own = options?.signalingOutage ? await ownSignalingServer() : null;
  const make = (): Transport =>
    new SimplePeerTransport({
      serverUrl: own?.url ?? url,
      room: name,
      autoConnect: false,
      maxPeers: options?.maxPeersPerNode ?? 8,
      // Reconnect quickly once the outage ends.
      ...(own ? { backoff: { minMs: 50, maxMs: 200 } } : {}),
      WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
      wrtc,
    });
  const transports: [Transport, Transport, Transport] = [make(), make(), make()];
  return {
    transports,
    pump: () => new Promise((resolve) => setTimeout(resolve, 50)),
    cleanup: async () => {
      await Promise.all(transports.map((transport) => transport.stop()));
      await own?.close();
    },
    ...(own ? { signaling: { interrupt: own.interrupt, restore: own.restore } } : {}),
  };
});
