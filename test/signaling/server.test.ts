import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerMessage } from '../../src/net/signaling-protocol';
import { connect, joined, sleep, startServer, stopAll, until } from './harness';

afterEach(stopAll);

describe('signaling server', () => {
  it('keeps rooms isolated: directory, announcements and relaying stay within a room', async () => {
    const { url } = await startServer();
    const a = await joined(url, 'net-1');
    expect(a.welcome.peers).toEqual([]);
    expect(a.id).toMatch(/^[0-9a-f]{16}$/);
    const b = await joined(url, 'net-1');
    expect(b.welcome.peers).toEqual([a.id]);
    expect((await a.client.next('peer-joined')).id).toBe(b.id);
    const c = await joined(url, 'net-2');
    expect(c.welcome.peers).toEqual([]);

    a.client.send({ type: 'signal', to: b.id, data: { type: 'offer', sdp: 'v=0' } });
    expect(await b.client.next('signal')).toEqual({
      type: 'signal',
      from: a.id,
      data: { type: 'offer', sdp: 'v=0' },
    });

    // To a peer of another room: refused, never delivered.
    a.client.send({ type: 'signal', to: c.id, data: { secret: 1 } });
    expect((await a.client.next('error')).code).toBe('unknown-peer');
    c.client.send({ type: 'signal', to: a.id, data: { secret: 2 } });
    expect((await c.client.next('error')).code).toBe('unknown-peer');
    // To oneself or an unknown id: refused too.
    a.client.send({ type: 'signal', to: a.id, data: {} });
    expect((await a.client.next('error')).code).toBe('unknown-peer');
    await sleep(100);
    expect(c.client.received).toEqual([]);
    expect(a.client.received.filter((m) => m.type === 'peer-joined' || m.type === 'signal')).toEqual([]);
    expect(b.client.received).toEqual([]);
  });

  it('lists only live peers: a closed client and a client that misses heartbeats are dropped', async () => {
    const { url } = await startServer({ heartbeatMs: 100 });
    const a = await joined(url, 'live');
    const b = await joined(url, 'live');
    await a.client.next('peer-joined');
    b.client.ws.close();
    expect((await a.client.next('peer-left')).id).toBe(b.id);

    // A client that never answers pings (its socket stays open at the TCP level).
    const dead = await connect(url, { autoPong: false });
    dead.send({ type: 'join', room: 'live' });
    const deadId = (await dead.next('welcome')).id;
    expect((await a.client.next('peer-joined')).id).toBe(deadId);
    expect((await a.client.next('peer-left', 3000)).id).toBe(deadId);
    expect(await dead.closed).toBe(1006);

    const c = await joined(url, 'live');
    expect(c.welcome.peers).toEqual([a.id]);
  });

  it('resumes an id from its token on a new socket, replacing the old socket silently', async () => {
    const { url } = await startServer();
    const a = await joined(url, 'resume');
    const b = await joined(url, 'resume');
    await a.client.next('peer-joined');
    const again = await connect(url);
    again.send({ type: 'join', room: 'resume', token: b.welcome.token });
    const welcome = await again.next('welcome');
    expect(welcome.id).toBe(b.id);
    expect(welcome.peers).toEqual([a.id]);
    expect(await b.client.closed).toBe(4000);
    a.client.send({ type: 'signal', to: b.id, data: { n: 1 } });
    expect((await again.next('signal')).from).toBe(a.id);
    await sleep(50);
    expect(a.client.received.filter((m) => m.type === 'peer-left' || m.type === 'peer-joined')).toEqual([]);
  });

  it('refuses malformed JSON, wrong shapes, binary and oversized frames, and keeps serving others', async () => {
    const { url } = await startServer();
    const a = await joined(url, 'bad');
    const b = await joined(url, 'bad');

    const bad = await connect(url);
    bad.send('{not json');
    expect((await bad.next('error')).code).toBe('bad-json');
    bad.send({ type: 'join', room: 'no spaces allowed' });
    expect((await bad.next('error')).code).toBe('bad-message');
    bad.send({ type: 'signal', to: a.id, data: {} });
    expect((await bad.next('error')).code).toBe('not-joined');
    expect((await bad.next('error')).code).toBe('too-many-errors');
    expect(await bad.closed).toBe(1008);

    const shapes = await connect(url);
    shapes.send({ type: 'join', room: 'bad', extra: true });
    expect((await shapes.next('error')).code).toBe('bad-message');
    shapes.send({ type: 'join', room: 'x'.repeat(65) });
    expect((await shapes.next('error')).code).toBe('bad-message');
    shapes.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect((await shapes.next('error')).code).toBe('binary');
    expect(await shapes.closed).toBe(1008);

    const deep = await joined(url, 'bad');
    // Deep nesting within the size cap: decoded or refused, never a crash.
    deep.client.send(
      `{"type":"signal","to":"${a.id}","data":{"x":${'['.repeat(20_000)}${']'.repeat(20_000)}}}`,
    );
    await sleep(100);

    const big = await joined(url, 'bad');
    big.client.send({ type: 'signal', to: a.id, data: { blob: 'x'.repeat(70 * 1024) } });
    expect(await big.client.closed).toBe(1009);

    a.client.send({ type: 'signal', to: b.id, data: { still: 'here' } });
    expect((await b.client.next('signal')).data).toEqual({ still: 'here' });
  });

  it('disconnects a flooding client and keeps serving the others', async () => {
    // A refill so slow that no token comes back during the test: the limit is the burst alone,
    // however slowly a loaded machine runs the flood.
    const { url } = await startServer({ rate: { perSecond: 0.01, burst: 100 } });
    const a = await joined(url, 'flood');
    const b = await joined(url, 'flood');
    const flood = await joined(url, 'flood');
    for (let i = 0; i < 500; i++) flood.client.send({ type: 'signal', to: a.id, data: { i } });
    expect(await flood.client.closed).toBe(1008);
    expect(flood.client.received.some((m) => m.type === 'error' && m.code === 'rate-limited')).toBe(true);
    // The server relays in order, and announces the flooder's departure after its last signal.
    await until(() => a.client.received.some((m) => m.type === 'peer-left' && m.id === flood.id));
    const delivered = a.client.received.filter((m) => m.type === 'signal' && m.from === flood.id);
    // The burst of 100 messages, its join included.
    expect(delivered.map((m) => (m.type === 'signal' ? m.data.i : undefined))).toEqual(
      Array.from({ length: 99 }, (_, i) => i),
    );
    b.client.send({ type: 'signal', to: a.id, data: { ok: true } });
    await until(() => a.client.received.some((m) => m.type === 'signal' && m.from === b.id));
  });

  it('refuses WebSockets from foreign origins and accepts localhost and configured ones', async () => {
    const { url } = await startServer({ origins: ['https://tabchain.example'] });
    await expect(connect(url, { origin: 'https://evil.example' })).rejects.toThrow('HTTP 403');
    await expect(connect(url, { origin: 'null' })).rejects.toThrow('HTTP 403');
    await expect(connect(url, { origin: 'http://localhost:5173' })).resolves.toBeDefined();
    await expect(connect(url, { origin: 'http://127.0.0.1:1' })).resolves.toBeDefined();
    await expect(connect(url, { origin: 'https://tabchain.example' })).resolves.toBeDefined();
    // A page served by the same host (e.g. the LAN address the server was reached at).
    await expect(connect(url, { origin: `http://${new URL(url).host}` })).resolves.toBeDefined();
    await expect(connect(url.replace(/\/$/, '/elsewhere'))).rejects.toThrow('HTTP 404');
  });

  it('answers PeerJS on the same port: id, discovery and its WebSocket', { timeout: 10_000 }, async () => {
    const { url, http } = await startServer();
    const idResponse = await fetch(`${http}/peerjs/peerjs/id`);
    expect(idResponse.status).toBe(200);
    const id = await idResponse.text();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await (await fetch(`${http}/peerjs/peerjs/peers`)).json()).toEqual([]);

    const peer = await connect(`${url}peerjs/peerjs?key=peerjs&id=${id}&token=abc`);
    // PeerJS's own protocol, not ours: its first frame is OPEN.
    expect(await peer.next('OPEN' as ServerMessage['type'])).toEqual({ type: 'OPEN' });
    expect(await (await fetch(`${http}/peerjs/peerjs/peers`)).json()).toEqual([id]);
    // Garbage on PeerJS's socket is PeerJS's to ignore; it must not bring the server down.
    for (const junk of ['not json', '{"type":"OFFER"}', '{"type":"ANSWER","dst":42}', '[]', 'null']) {
      peer.ws.send(junk);
    }
    peer.ws.send(Buffer.from([0xff, 0xfe]), { binary: true });
    await sleep(50);
    expect((await fetch(`${http}/peerjs/peerjs/peers`)).status).toBe(200);
    // Signaling still works beside it.
    const a = await joined(url, 'both');
    expect(a.welcome.peers).toEqual([]);
    peer.ws.close();
    await peer.closed;
    await sleep(50);
    expect(await (await fetch(`${http}/peerjs/peerjs/peers`)).json()).toEqual([]);
  });

  it('serves a build folder with an index.html fallback for page routes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tabchain-static-'));
    try {
      await writeFile(join(dir, 'index.html'), '<!doctype html><title>tabchain</title>');
      await writeFile(join(dir, 'app.js'), 'console.log(1)');
      const { http } = await startServer({ serveStatic: dir });
      const index = await fetch(`${http}/`);
      expect(index.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await index.text()).toContain('<title>tabchain</title>');
      const script = await fetch(`${http}/app.js`);
      expect(script.headers.get('content-type')).toMatch(/javascript/);
      const route = await fetch(`${http}/blocks/12`, { headers: { accept: 'text/html' } });
      expect(await route.text()).toContain('<title>tabchain</title>');
      expect((await fetch(`${http}/missing.js`)).status).toBe(404);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('restarts on the same port after stop()', async () => {
    const first = await startServer();
    const a = await joined(first.url, 'restart');
    await first.server.stop();
    expect(await a.client.closed).toBe(1006);
    const second = await startServer({ port: first.port });
    expect(second.port).toBe(first.port);
    const b = await joined(second.url, 'restart');
    expect(b.welcome.peers).toEqual([]);
  });
});
