import wrtc from '@roamhq/wrtc';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { createSignalingServer } from '../../signaling/server';
import { SimplePeerTransport } from '../../src/net/simple-peer';
import type { PeerId, TransportHandlers } from '../../src/ports/transport';

// Signaling relayed through peers with real WebRTC (@roamhq/wrtc) and the real signaling server,
// all on 127.0.0.1: once the server is gone, a link still forms through a peer both sides have.

interface Recording extends TransportHandlers {
  readonly connected: Set<PeerId>;
  readonly messages: { peer: PeerId; data: string }[];
}

function recorder(): Recording {
  const connected = new Set<PeerId>();
  const messages: { peer: PeerId; data: string }[] = [];
  return {
    connected,
    messages,
    onPeerConnected: (peer) => connected.add(peer),
    onPeerDisconnected: (peer) => connected.delete(peer),
    onMessage: (peer, data) => messages.push({ peer, data }),
  };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Three started transports on a server of their own, linked A–B and B–C only. */
async function chain() {
  const server = createSignalingServer({ host: '127.0.0.1', port: 0, heartbeatMs: 1000 });
  const { port } = await server.start();
  let serverUp = true;
  const stopServer = async () => {
    if (serverUp) await server.stop();
    serverUp = false;
  };
  cleanups.push(stopServer);
  const make = () =>
    new SimplePeerTransport({
      serverUrl: `http://127.0.0.1:${port}/`,
      room: 'relay-test',
      autoConnect: false,
      connectTimeoutMs: 10_000,
      backoff: { minMs: 50, maxMs: 200 },
      WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
      wrtc,
    });
  const [a, b, c] = [make(), make(), make()];
  const [ra, rb, rc] = [recorder(), recorder(), recorder()];
  cleanups.push(async () => {
    await Promise.all([a.stop(), b.stop(), c.stop()]);
  });
  await Promise.all([a.start(ra), b.start(rb), c.start(rc)]);
  a.connect(b.localId);
  c.connect(b.localId);
  await vi.waitFor(
    () => {
      expect(rb.connected).toEqual(new Set([a.localId, c.localId]));
      expect(ra.connected.has(b.localId) && rc.connected.has(b.localId)).toBe(true);
    },
    { timeout: 15_000, interval: 50 },
  );
  return { a, b, c, ra, rb, rc, stopServer };
}

describe('signaling relayed through peers', () => {
  it.each([
    ['the smaller id offers through B', (ids: string[]) => ids[0] as string],
    [
      'the larger id asks through B with a hello, and the smaller offers back',
      (ids: string[]) => ids[1] as string,
    ],
  ])('with the server stopped, A links to C through B: %s; messages flow both ways', async (_, pickA) => {
    const { a, c, ra, rc, stopServer } = await chain();
    await stopServer();
    await vi.waitFor(() => expect(a.status().signaling).not.toBe('connected'), {
      timeout: 5_000,
      interval: 20,
    });
    // Either end may dial: the case picks whether the dialer's id is the smaller (it offers) or not.
    const ids = [a.localId, c.localId].sort();
    const [dialer, target] = pickA(ids) === a.localId ? [a, c] : [c, a];
    const dialedAt = Date.now();
    dialer.connect(target.localId);
    await vi.waitFor(
      () => {
        expect(ra.connected.has(c.localId)).toBe(true);
        expect(rc.connected.has(a.localId)).toBe(true);
      },
      { timeout: 15_000, interval: 50 },
    );
    console.log(`relayed link A–C open ${Date.now() - dialedAt} ms after connect`);
    expect(a.send(c.localId, 'from A, relayed link')).toBe(true);
    expect(c.send(a.localId, 'from C, relayed link')).toBe(true);
    await vi.waitFor(
      () => {
        expect(rc.messages).toContainEqual({ peer: a.localId, data: 'from A, relayed link' });
        expect(ra.messages).toContainEqual({ peer: c.localId, data: 'from C, relayed link' });
      },
      { timeout: 5_000, interval: 20 },
    );
  });

  it('gives up at once when no neighbour has a channel to the peer (UNROUTABLE)', async () => {
    const { a, b, ra, stopServer } = await chain();
    await stopServer();
    await vi.waitFor(() => expect(a.status().signaling).not.toBe('connected'), {
      timeout: 5_000,
      interval: 20,
    });
    // An id nobody holds, above A's so that A offers (and holds a pending link) rather than says hello.
    const nobody = 'f'.repeat(16);
    expect(a.localId < nobody).toBe(true);
    a.connect(nobody);
    expect(a.connectedPeers()).toEqual([b.localId]);
    // The pending attempt is dropped once B answers UNROUTABLE, long before the 10 s timeout:
    // a second connect is then not a no-op and makes a fresh attempt, which is dropped too.
    const dropped = vi.spyOn(a as unknown as { drop: (link: { peer: string }) => void }, 'drop');
    await vi.waitFor(() => expect(dropped.mock.calls.some(([link]) => link.peer === nobody)).toBe(true), {
      timeout: 5_000,
      interval: 20,
    });
    expect(ra.connected).toEqual(new Set([b.localId]));
  });
});
