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

transportCompliance('simple-peer over wrtc', async (options) => {
  // A room per test, so one test's peers never meet another's.
  const name = `compliance-${room++}`;
  const make = (): Transport =>
    new SimplePeerTransport({
      serverUrl: url,
      room: name,
      autoConnect: false,
      maxPeers: options?.maxPeersPerNode ?? 8,
      WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
      wrtc,
    });
  const transports: [Transport, Transport, Transport] = [make(), make(), make()];
  return {
    transports,
    pump: () => new Promise((resolve) => setTimeout(resolve, 50)),
    cleanup: async () => {
      await Promise.all(transports.map((transport) => transport.stop()));
    },
  };
});
