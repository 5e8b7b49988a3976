import wrtc from '@roamhq/wrtc';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { createSignalingServer, type SignalingServer } from '../../signaling/server';
import { SimplePeerTransport } from '../../src/net/simple-peer';
import type { Transport, TransportHandlers } from '../../src/ports/transport';
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

describe('a page going away (its tab closed)', () => {
  it("closes its channels at once: the peer's onPeerDisconnected comes within a second", async () => {
    const name = `pagehide-${room++}`;
    const make = () =>
      new SimplePeerTransport({
        serverUrl: url,
        room: name,
        autoConnect: false,
        maxPeers: 8,
        WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
        wrtc,
      });
    const disconnectedAt: number[] = [];
    const connected = new Set<string>();
    const handlers = (): TransportHandlers => ({
      onPeerConnected: (peer) => connected.add(peer),
      onPeerDisconnected: () => disconnectedAt.push(Date.now()),
      onMessage: () => {},
    });
    const survivor = make();
    await survivor.start(handlers());
    // The closing page's window: a stand-in that the transport listens on for `pagehide`.
    const page = new EventTarget();
    const global = globalThis as { addEventListener?: unknown; removeEventListener?: unknown };
    const saved = { add: global.addEventListener, remove: global.removeEventListener };
    global.addEventListener = page.addEventListener.bind(page);
    global.removeEventListener = page.removeEventListener.bind(page);
    const closing = make();
    try {
      await closing.start(handlers());
      closing.connect(survivor.localId);
      await vi.waitFor(() => expect(connected.size).toBe(2), { timeout: 10_000, interval: 50 });
      const hiddenAt = Date.now();
      page.dispatchEvent(new Event('pagehide'));
      await vi.waitFor(() => expect(disconnectedAt).toHaveLength(1), { timeout: 5_000, interval: 20 });
      expect((disconnectedAt[0] as number) - hiddenAt).toBeLessThan(1_000);
      expect(survivor.connectedPeers()).toEqual([]);
    } finally {
      global.addEventListener = saved.add;
      global.removeEventListener = saved.remove;
      await Promise.all([closing.stop(), survivor.stop()]);
    }
  });
});
