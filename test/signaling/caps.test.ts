import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { readCapFlags } from '../../signaling/cap-flags';
import { addressKey } from '../../signaling/client-address';
import { createConnectionLedger, MAX_REFUSING_PER_ADDRESS } from '../../signaling/connection-ledger';
import { createSignalingServer } from '../../signaling/server';
import { SIGNALING_CLOSE_CODES } from '../../src/net/signaling-protocol';
import { connect, joined, startServer, stopAll, type TestClient, until } from './harness';

afterEach(stopAll);

// Linux routes all of 127.0.0.0/8 to loopback, so a socket bound to 127.0.0.2 is "another
// machine" to the server while all traffic stays on this one.
const OTHER = { localAddress: '127.0.0.2' };
const THIRD = { localAddress: '127.0.0.3' };

/**
 * How a new client fares: 'open' once welcomed into a room, the close code when refused after
 * the handshake, or `HTTP <status>` when refused at the upgrade.
 */
async function outcome(url: string, options = {}): Promise<'open' | number | string> {
  try {
    const client = await connect(url, options);
    client.send({ type: 'join', room: 'outcome' });
    const first = await Promise.race([client.closed, client.next('welcome', 10_000)]);
    return typeof first === 'number' ? first : 'open';
  } catch (error) {
    return String((error as Error).message);
  }
}

/** A client that gets a refusal: its error frame, close code and close reason. */
async function refused(client: TestClient) {
  const { code, reason } = await client.closing;
  return { code, reason, error: client.received.find((message) => message.type === 'error') };
}

describe('signaling caps per client address', () => {
  it('refuses the 65th socket of one address with 4001 and a reason, while another address joins', async () => {
    const { url } = await startServer();
    const held: TestClient[] = [];
    for (let i = 0; i < 64; i++) held.push(await connect(url));

    const over = await connect(url);
    const refusal = await refused(over);
    expect(refusal.code).toBe(SIGNALING_CLOSE_CODES.addressFull);
    expect(refusal.reason).toMatch(/too many connections from your address \(at most 64\)/);
    expect(refusal.error).toMatchObject({ type: 'error', code: 'address-full' });

    // Another address is not affected: it joins, and so does a held socket of the first one.
    const other = await joined(url, 'class', OTHER);
    held[0]?.send({ type: 'join', room: 'class' });
    expect((await held[0]?.next('welcome'))?.peers).toEqual([other.id]);

    // The cap is on live sockets: once one closes, the address may open one again. (The server
    // announces a departure only after it has stopped counting the socket.)
    held[1]?.send({ type: 'join', room: 'class' });
    const leaving = await held[1]?.next('welcome');
    held[1]?.ws.close();
    await until(() => other.client.received.some((m) => m.type === 'peer-left' && m.id === leaving?.id));
    await expect(joined(url, 'class')).resolves.toBeDefined();
    expect(await outcome(url)).toBe(SIGNALING_CLOSE_CODES.addressFull);
  });

  it('admits exactly the cap when one address opens many sockets at once', async () => {
    const { url } = await startServer({ maxPerAddress: 5 });
    const results = await Promise.all(Array.from({ length: 40 }, () => outcome(url)));
    expect(results.filter((result) => result === 'open')).toHaveLength(5);
    // The rest are refused: politely with the close code, or, past the refusals in flight that
    // one address may cost, with a bare HTTP 429.
    for (const result of results.filter((result) => result !== 'open')) {
      expect([SIGNALING_CLOSE_CODES.addressFull, 'HTTP 429']).toContain(result);
    }
    expect(await outcome(url, OTHER)).toBe('open');
  });

  it('counts PeerJS sockets under the same cap and refuses them in PeerJS terms', async () => {
    const { url, http } = await startServer({ maxPerAddress: 2 });
    const peerSocket = async (options = {}) => {
      const id = await (await fetch(`${http}/peerjs/peerjs/id`)).text();
      return connect(`${url}peerjs/peerjs?key=peerjs&id=${id}&token=t0`, options);
    };
    const signaling = await joined(url, 'mixed');
    const peer = await peerSocket();
    expect(await peer.next('OPEN' as never)).toEqual({ type: 'OPEN' });

    const overPeer = await peerSocket();
    expect(await overPeer.closed).toBe(SIGNALING_CLOSE_CODES.addressFull);
    // PeerJS's client turns an ERROR frame into a 'server-error' with this text.
    expect(overPeer.received[0]).toEqual({
      type: 'ERROR',
      payload: { msg: expect.stringMatching(/too many connections from your address/) },
    });
    expect(await outcome(url)).toBe(SIGNALING_CLOSE_CODES.addressFull);

    const otherPeer = await peerSocket(OTHER);
    expect(await otherPeer.next('OPEN' as never)).toEqual({ type: 'OPEN' });
    signaling.client.send({ type: 'signal', to: signaling.id, data: {} });
    expect((await signaling.client.next('error')).code).toBe('unknown-peer');
  });

  it('takes its cap from options and refuses bad values', async () => {
    const { url } = await startServer({ maxPerAddress: 1 });
    await joined(url, 'one');
    expect(await outcome(url)).toBe(SIGNALING_CLOSE_CODES.addressFull);
    expect(await outcome(url, OTHER)).toBe('open');
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() => createSignalingServer({ maxPerAddress: bad })).toThrow(/maxPerAddress/);
    }
    expect(() => createSignalingServer({ maxPerRoom: 257 })).toThrow(
      /maxPerRoom must be an integer 1\.\.256/,
    );
    expect(() => createSignalingServer({ trustProxy: ['not-an-address'] })).toThrow(/invalid IP address/);
  });

  it('is refused as a whole server with 4003 at the server-wide cap', async () => {
    const { url } = await startServer({ maxClients: 2 });
    await connect(url);
    await connect(url, OTHER);
    const third = await connect(url, THIRD);
    const refusal = await refused(third);
    expect(refusal.code).toBe(SIGNALING_CLOSE_CODES.serverFull);
    expect(refusal.error).toMatchObject({ code: 'server-full' });
  });
});

describe('signaling client address', () => {
  it('ignores X-Forwarded-For unless --trust-proxy names the proxy', async () => {
    const forwarded = (address: string) => ({ headers: { 'x-forwarded-for': address } });
    const plain = await startServer({ maxPerAddress: 1 });
    await joined(plain.url, 'xff', forwarded('203.0.113.1'));
    // Both sockets come from 127.0.0.1; the header is the client's to invent.
    expect(await outcome(plain.url, forwarded('203.0.113.2'))).toBe(SIGNALING_CLOSE_CODES.addressFull);

    // The proxy is 127.0.0.1 only (`loopback` would trust 127.0.0.2 as a proxy too).
    const proxied = await startServer({ maxPerAddress: 1, trustProxy: ['127.0.0.1'] });
    await joined(proxied.url, 'xff', forwarded('203.0.113.1'));
    expect(await outcome(proxied.url, forwarded('203.0.113.2'))).toBe('open');
    expect(await outcome(proxied.url, forwarded('203.0.113.1'))).toBe(SIGNALING_CLOSE_CODES.addressFull);
    // A client cannot prepend its way out: the rightmost untrusted hop is the client.
    expect(await outcome(proxied.url, forwarded('198.51.100.7, 203.0.113.1'))).toBe(
      SIGNALING_CLOSE_CODES.addressFull,
    );
    // A connection that is not from a trusted proxy is its own client, header or not.
    expect(await outcome(proxied.url, { ...OTHER, ...forwarded('203.0.113.1') })).toBe('open');
  });

  it('keys IPv4 as itself, IPv4-mapped IPv6 as IPv4, and other IPv6 by its /64', () => {
    expect(addressKey('127.0.0.1')).toBe('127.0.0.1');
    expect(addressKey('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(addressKey('2001:db8:1:2:3:4:5:6')).toBe(addressKey('2001:db8:1:2::9'));
    expect(addressKey('2001:db8:1:2::9')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:3::1')).not.toBe(addressKey('2001:db8:1:2::1'));
    expect(addressKey('not an address')).toBeUndefined();
  });
});

describe('signaling connection ledger', () => {
  it('refuses politely up to a budget of refusals in flight, then with a bare status', async () => {
    const ledger = createConnectionLedger({ maxPerAddress: 1, maxClients: 100 });
    const held = new PassThrough();
    expect(ledger.admit('a')).toEqual({ kind: 'accept' });
    expect(ledger.track('a', 'held', held)).toBe(true);
    expect(ledger.admit('a')).toMatchObject({ kind: 'refuse', code: SIGNALING_CLOSE_CODES.addressFull });
    const refusing = Array.from({ length: MAX_REFUSING_PER_ADDRESS }, () => new PassThrough());
    for (const socket of refusing) ledger.track('a', 'refusing', socket);
    expect(ledger.admit('a')).toEqual({ kind: 'drop', status: 429, text: 'Too Many Requests' });
    expect(ledger.admit('b')).toEqual({ kind: 'accept' });

    // Closed sockets stop counting.
    held.destroy();
    await new Promise((resolve) => held.once('close', resolve));
    expect(ledger.heldBy('a')).toBe(0);
    expect(ledger.admit('a')).toEqual({ kind: 'accept' });
    // A socket destroyed before it is tracked would never report its close: not counted.
    const dead = new PassThrough();
    dead.destroy();
    expect(ledger.track('a', 'held', dead)).toBe(false);
    expect(ledger.heldBy('a')).toBe(0);
  });
});

describe('signaling caps per room', () => {
  it('refuses a join past the room cap with 4002, while other rooms and other joins go on', async () => {
    const { url } = await startServer({ maxPerRoom: 2 });
    const a = await joined(url, 'small');
    const b = await joined(url, 'small', OTHER);

    const late = await connect(url, THIRD);
    late.send({ type: 'join', room: 'small' });
    const refusal = await refused(late);
    expect(refusal.code).toBe(SIGNALING_CLOSE_CODES.roomFull);
    expect(refusal.reason).toBe('the room small is full (at most 2 peers)');
    expect(refusal.error).toMatchObject({ code: 'room-full' });
    // The peers inside never heard of it.
    await a.client.next('peer-joined');
    expect(a.client.received).toEqual([]);

    expect((await joined(url, 'elsewhere', THIRD)).welcome.peers).toEqual([]);
    // Resuming a session does not take a new place.
    const again = await connect(url);
    again.send({ type: 'join', room: 'small', token: a.welcome.token });
    expect((await again.next('welcome')).peers).toEqual([b.id]);
    // A place frees when a peer leaves.
    b.client.ws.close();
    await b.client.closed;
    await again.next('peer-left');
    expect((await joined(url, 'small', THIRD)).welcome.peers).toEqual([a.id]);
  });
});

describe('cap flags', () => {
  it('reads the caps from flags, then the environment, and rejects bad values', () => {
    expect(readCapFlags({}, {})).toEqual({});
    expect(
      readCapFlags(
        { 'max-per-address': '128', 'trust-proxy': 'loopback, 10.0.0.0/8' },
        { TABCHAIN_MAX_PER_ADDRESS: '7', TABCHAIN_MAX_PER_ROOM: '32' },
      ),
    ).toEqual({ maxPerAddress: 128, maxPerRoom: 32, trustProxy: ['loopback', '10.0.0.0/8'] });
    expect(() => readCapFlags({ 'max-per-address': '0' }, {})).toThrow('--max-per-address: at least 1');
    expect(() => readCapFlags({ 'max-per-room': '300' }, {})).toThrow('--max-per-room: at most 256');
    expect(() => readCapFlags({}, { TABCHAIN_MAX_PER_ROOM: 'many' })).toThrow(/--max-per-room/);
  });
});
