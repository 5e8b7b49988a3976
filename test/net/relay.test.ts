import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_RELAY_RATE,
  decodeRelayFrame,
  encodeRelayFrame,
  MAX_RELAY_FRAME_CHARS,
  MAX_RELAY_HOPS,
  MAX_RELAY_PAYLOAD_CHARS,
  RELAY_MAX_AGE_MS,
  type RelayFrame,
  type RelayOutcome,
  RelayRouter,
  type RelaySignalFrame,
  relaySignedBytes,
} from '../../src/net/relay';
import { createRelayIdentity, type RelayIdentity, verifyRelaySignature } from '../../src/net/relay-identity';
import { joinProofBytes, peerIdOfPublicKey } from '../../src/net/signaling-protocol';
import type { PeerId } from '../../src/ports/transport';
import { connect, startServer, stopAll } from '../signaling/harness';

async function identity(): Promise<RelayIdentity> {
  const made = await createRelayIdentity();
  if (made === undefined) throw new Error('WebCrypto is missing in this Node');
  return made;
}

/**
 * Routers wired by hand: `link(a, b)` is a data channel; a frame written to a channel is handed
 * to the other router's `receive`, and every outcome is logged with who had it.
 */
class RelayNet {
  readonly routers = new Map<string, RelayRouter>();
  readonly ids = new Map<string, PeerId>();
  readonly delivered: { at: string; from: PeerId; payload: string; via: PeerId }[] = [];
  readonly unroutable: { at: string; to: PeerId; via: PeerId }[] = [];
  readonly outcomes: { at: string; neighbour: string; outcome: RelayOutcome }[] = [];
  /** Every frame written, as [writer, reader, text]. */
  readonly wire: [string, string, string][] = [];
  private readonly links = new Set<string>();
  private pending: Promise<void>[] = [];
  now = 1_000_000;
  readonly clock = { now: () => this.now };

  async add(name: string, room = 'net', own?: RelayIdentity): Promise<RelayIdentity> {
    const id = own ?? (await identity());
    this.ids.set(name, id.id);
    this.routers.set(
      name,
      new RelayRouter({
        room,
        identity: id,
        clock: this.clock,
        isLinked: (peer) => this.links.has(this.key(name, this.nameOf(peer))),
        sendFrame: (peer, text) => this.write(name, this.nameOf(peer), text),
        onSignal: (from, payload, via) => this.delivered.push({ at: name, from, payload, via }),
        onUnroutable: (to, via) => this.unroutable.push({ at: name, to, via }),
      }),
    );
    return id;
  }

  link(a: string, b: string): void {
    this.links.add(this.key(a, b));
  }

  id(name: string): PeerId {
    const id = this.ids.get(name);
    if (id === undefined) throw new Error(`no node ${name}`);
    return id;
  }

  router(name: string): RelayRouter {
    const router = this.routers.get(name);
    if (router === undefined) throw new Error(`no node ${name}`);
    return router;
  }

  /** Hands `text` to `reader` as if `writer` (a neighbour) sent it, whether linked or not. */
  inject(writer: string, reader: string, text: string): Promise<RelayOutcome> {
    return this.router(reader).receive(this.id(writer), text);
  }

  async settle(): Promise<void> {
    while (this.pending.length > 0) await Promise.all(this.pending.splice(0));
  }

  outcomesAt(name: string): RelayOutcome[] {
    return this.outcomes.filter((entry) => entry.at === name).map((entry) => entry.outcome);
  }

  private write(writer: string, reader: string, text: string): boolean {
    if (!this.links.has(this.key(writer, reader))) return false;
    this.wire.push([writer, reader, text]);
    this.pending.push(
      this.router(reader)
        .receive(this.id(writer), text)
        .then((outcome) => {
          this.outcomes.push({ at: reader, neighbour: writer, outcome });
        }),
    );
    return true;
  }

  private nameOf(peer: PeerId): string {
    for (const [name, id] of this.ids) if (id === peer) return name;
    return `unknown:${peer}`;
  }

  private key(a: string, b: string): string {
    return [a, b].sort().join('|');
  }
}

/** A signed first-hop frame from `signer` to `to`, as `RelayRouter.send` makes it. */
async function signedFrame(
  signer: RelayIdentity,
  to: PeerId,
  payload: string,
  at: number,
  room = 'net',
): Promise<RelaySignalFrame> {
  const unsigned = { from: signer.id, to, nonce: '0123456789abcdef', at, payload };
  return {
    k: 'signal',
    ...unsigned,
    publicKey: signer.publicKey,
    hops: 0,
    signature: await signer.sign(relaySignedBytes(room, unsigned)),
  };
}

let keys: { a: RelayIdentity; b: RelayIdentity; c: RelayIdentity };
beforeAll(async () => {
  keys = { a: await identity(), b: await identity(), c: await identity() };
});

describe('relay identity', () => {
  it('derives the peer id from the public key, in the signaling id shape, and signs verifiably', async () => {
    const { a, b } = keys;
    expect(a.id).toBe(peerIdOfPublicKey(a.publicKey));
    expect(a.id).toMatch(/^[0-9a-f]{16}$/);
    expect(a.id).not.toBe(b.id);
    const bytes = new TextEncoder().encode('hello');
    const signature = await a.sign(bytes);
    expect(await verifyRelaySignature(a.publicKey, signature, bytes)).toBe(true);
    expect(await verifyRelaySignature(b.publicKey, signature, bytes)).toBe(false);
    expect(await verifyRelaySignature(a.publicKey, signature, new TextEncoder().encode('hellO'))).toBe(false);
    expect(await verifyRelaySignature(a.publicKey, 'zz', bytes)).toBe(false);
    expect(await verifyRelaySignature('00', signature, bytes)).toBe(false);
  });

  it('keeps the private key inside WebCrypto: a page without it gets no identity', async () => {
    expect(await createRelayIdentity(null)).toBeUndefined();
    // The key pair is made non-extractable: asking WebCrypto for the private key must fail.
    let made: CryptoKeyPair | undefined;
    const spy: SubtleCrypto = Object.create(crypto.subtle, {
      generateKey: {
        value: async (...args: Parameters<SubtleCrypto['generateKey']>) => {
          made = (await crypto.subtle.generateKey(...args)) as CryptoKeyPair;
          return made;
        },
      },
      exportKey: { value: crypto.subtle.exportKey.bind(crypto.subtle) },
      sign: { value: crypto.subtle.sign.bind(crypto.subtle) },
    });
    await createRelayIdentity(spy);
    expect(made?.privateKey.extractable).toBe(false);
    await expect(crypto.subtle.exportKey('pkcs8', made?.privateKey as CryptoKey)).rejects.toThrow();
  });
});

describe('relay frame codec', () => {
  it('round-trips both frames and refuses anything off the schema or over the caps', async () => {
    const frame = await signedFrame(keys.a, keys.c.id, '{"t":"hello"}', 5);
    expect(decodeRelayFrame(encodeRelayFrame(frame))).toEqual({ ok: true, value: frame });
    const unroutable: RelayFrame = { k: 'unroutable', to: keys.c.id, nonce: frame.nonce, reason: 'no-route' };
    expect(decodeRelayFrame(encodeRelayFrame(unroutable))).toEqual({ ok: true, value: unroutable });

    const bad = (value: unknown) => decodeRelayFrame(JSON.stringify(value)).ok;
    expect(bad({ ...frame, hops: MAX_RELAY_HOPS + 1 })).toBe(false);
    expect(bad({ ...frame, hops: -1 })).toBe(false);
    expect(bad({ ...frame, extra: 1 })).toBe(false);
    expect(bad({ ...frame, to: 'ABCDEF0123456789' })).toBe(false);
    expect(bad({ ...frame, publicKey: frame.publicKey.slice(2) })).toBe(false);
    expect(bad({ ...frame, signature: `${frame.signature}00` })).toBe(false);
    expect(bad({ ...frame, payload: 'x'.repeat(MAX_RELAY_PAYLOAD_CHARS + 1) })).toBe(false);
    expect(bad({ ...unroutable, reason: 'other' })).toBe(false);
    expect(bad({ k: 'forward' })).toBe(false);
    expect(decodeRelayFrame('{not json').ok).toBe(false);
    const huge = decodeRelayFrame(' '.repeat(MAX_RELAY_FRAME_CHARS + 1));
    expect(huge).toEqual({ ok: false, error: expect.stringContaining('over') });
  });
});

describe('RelayRouter', () => {
  it('carries a signed signal A→B→C: B forwards (hops+1), C checks it and delivers it with the route', async () => {
    const net = new RelayNet();
    await net.add('a', 'net', keys.a);
    await net.add('b', 'net', keys.b);
    await net.add('c', 'net', keys.c);
    net.link('a', 'b');
    net.link('b', 'c');
    expect(await net.router('a').send(net.id('c'), '{"t":"hello"}', [net.id('b')])).toEqual([net.id('b')]);
    await net.settle();
    expect(net.outcomesAt('b')).toEqual([{ kind: 'forwarded', to: net.id('c') }]);
    expect(net.outcomesAt('c')).toEqual([{ kind: 'delivered', from: net.id('a') }]);
    expect(net.delivered).toEqual([
      { at: 'c', from: net.id('a'), payload: '{"t":"hello"}', via: net.id('b') },
    ]);
    const forwarded = net.wire.find(([writer]) => writer === 'b')?.[2] ?? '';
    expect(JSON.parse(forwarded).hops).toBe(1);
  });

  it('answers UNROUTABLE to the sender when it has no channel to the target', async () => {
    const net = new RelayNet();
    await net.add('a', 'net', keys.a);
    await net.add('b', 'net', keys.b);
    await net.add('c', 'net', keys.c);
    net.link('a', 'b');
    await net.router('a').send(net.id('c'), 'payload', [net.id('b')]);
    await net.settle();
    expect(net.outcomesAt('b')).toEqual([{ kind: 'unroutable-sent', reason: 'no-route' }]);
    expect(net.outcomesAt('a')).toEqual([{ kind: 'unroutable-received', to: net.id('c') }]);
    expect(net.unroutable).toEqual([{ at: 'a', to: net.id('c'), via: net.id('b') }]);
    expect(net.delivered).toEqual([]);
  });

  it(`passes a signal on at most ${MAX_RELAY_HOPS} times: one that has used them all gets UNROUTABLE`, async () => {
    const net = new RelayNet();
    await net.add('a', 'net', keys.a);
    await net.add('b', 'net', keys.b);
    await net.add('c', 'net', keys.c);
    net.link('b', 'c');
    const frame = await signedFrame(keys.a, keys.c.id, 'p', net.now);
    const atLimit = { ...frame, hops: MAX_RELAY_HOPS - 1 };
    expect(await net.inject('a', 'b', encodeRelayFrame(atLimit))).toEqual({
      kind: 'forwarded',
      to: keys.c.id,
    });
    const spent = { ...frame, hops: MAX_RELAY_HOPS };
    expect(await net.inject('a', 'b', encodeRelayFrame(spent))).toEqual({
      kind: 'unroutable-sent',
      reason: 'hops',
    });
  });

  it('lets no relay forge, redirect or re-sign a signal: the receiver drops it', async () => {
    const net = new RelayNet();
    await net.add('a', 'net', keys.a);
    await net.add('b', 'net', keys.b);
    await net.add('c', 'net', keys.c);
    const frame = { ...(await signedFrame(keys.a, keys.c.id, 'offer', net.now)), hops: 1 };
    // Sanity: the untouched frame is taken.
    expect(await net.inject('b', 'c', encodeRelayFrame(frame))).toEqual({
      kind: 'delivered',
      from: keys.a.id,
    });
    const tampered = { ...frame, nonce: 'fedcba9876543210', payload: 'evil offer' };
    expect(await net.inject('b', 'c', encodeRelayFrame(tampered))).toEqual({
      kind: 'dropped',
      reason: 'bad signature',
    });
    // Redirected: A's signal for C handed to B as if it were for B.
    const redirected = { ...frame, to: keys.b.id };
    expect(await net.inject('c', 'b', encodeRelayFrame(redirected))).toEqual({
      kind: 'dropped',
      reason: 'bad signature',
    });
    // B claims to be A with its own key: the id does not match the key.
    const own = await signedFrame(keys.b, keys.c.id, 'offer', net.now);
    const impersonating = { ...own, from: keys.a.id, hops: 1 };
    expect(await net.inject('b', 'c', encodeRelayFrame(impersonating))).toEqual({
      kind: 'dropped',
      reason: 'from is not the id of publicKey',
    });
    // A first hop (hops 0) must come from its signer itself.
    expect(
      await net.inject('b', 'c', encodeRelayFrame({ ...frame, nonce: '1111111111111111', hops: 0 })),
    ).toEqual({
      kind: 'dropped',
      reason: 'a first hop must come from its signer',
    });
    expect(net.delivered).toHaveLength(1);
  });

  it('binds a signature to its room: a signal from another network is dropped', async () => {
    const net = new RelayNet();
    await net.add('a', 'other-net', keys.a);
    await net.add('c', 'net', keys.c);
    net.link('a', 'c');
    const frame = await signedFrame(keys.a, keys.c.id, 'p', net.now, 'other-net');
    expect(await net.inject('a', 'c', encodeRelayFrame(frame))).toEqual({
      kind: 'dropped',
      reason: 'bad signature',
    });
  });

  it('takes each signal once, and none signed outside the age window', async () => {
    const net = new RelayNet();
    await net.add('a', 'net', keys.a);
    await net.add('c', 'net', keys.c);
    const text = encodeRelayFrame(await signedFrame(keys.a, keys.c.id, 'p', net.now));
    expect(await net.inject('a', 'c', text)).toEqual({ kind: 'delivered', from: keys.a.id });
    expect(await net.inject('a', 'c', text)).toEqual({ kind: 'dropped', reason: 'already taken' });
    const old = await signedFrame(keys.a, keys.c.id, 'q', net.now - RELAY_MAX_AGE_MS - 1);
    expect(await net.inject('a', 'c', encodeRelayFrame(old))).toEqual({ kind: 'dropped', reason: 'stale' });
    const future = await signedFrame(keys.a, keys.c.id, 'r', net.now + RELAY_MAX_AGE_MS + 1);
    expect(await net.inject('a', 'c', encodeRelayFrame(future))).toEqual({
      kind: 'dropped',
      reason: 'stale',
    });
    expect(net.delivered).toHaveLength(1);
  });

  it('rate-limits relay frames per neighbour with a token bucket, refilling with time', async () => {
    const net = new RelayNet();
    await net.add('a', 'net', keys.a);
    await net.add('b', 'net', keys.b);
    await net.add('c', 'net', keys.c);
    // B has channels to A and C but not to D: each signal for D that B takes costs it an UNROUTABLE.
    net.link('a', 'b');
    net.link('b', 'c');
    const d = await identity();
    const forD = encodeRelayFrame(await signedFrame(keys.a, d.id, 'p', net.now));
    const kinds: string[] = [];
    for (let i = 0; i < DEFAULT_RELAY_RATE.burst + 3; i++)
      kinds.push((await net.inject('a', 'b', forD)).kind);
    expect(kinds.filter((kind) => kind === 'unroutable-sent')).toHaveLength(DEFAULT_RELAY_RATE.burst);
    expect(kinds.slice(DEFAULT_RELAY_RATE.burst)).toEqual(['dropped', 'dropped', 'dropped']);
    expect(await net.inject('a', 'b', forD)).toEqual({ kind: 'dropped', reason: 'rate-limited' });
    // A rate-limited frame costs B nothing more: never answered.
    expect(net.wire.filter(([writer]) => writer === 'b')).toHaveLength(DEFAULT_RELAY_RATE.burst);
    // Another neighbour has its own bucket.
    const fromC = encodeRelayFrame(await signedFrame(keys.c, d.id, 'p', net.now));
    expect((await net.inject('c', 'b', fromC)).kind).toBe('unroutable-sent');
    // One second refills `perSecond` tokens.
    net.now += 1000;
    const after: string[] = [];
    for (let i = 0; i < DEFAULT_RELAY_RATE.perSecond + 1; i++)
      after.push((await net.inject('a', 'b', forD)).kind);
    expect(after.filter((kind) => kind === 'unroutable-sent')).toHaveLength(DEFAULT_RELAY_RATE.perSecond);
    expect(after.at(-1)).toBe('dropped');
  });
});

describe('the signaling server and relay keys', () => {
  afterEach(stopAll);

  it('gives a join that proves its key the id of that key; refuses a bad proof', async () => {
    const { url } = await startServer();
    const { a, b } = keys;
    const token = 'ab'.repeat(32);
    const good = await connect(url);
    good.send({ type: 'join', room: 'net', token, key: await a.joinKey('net', token) });
    expect((await good.next('welcome')).id).toBe(a.id);

    // A's proof replayed for another token, or another room, or with B's key: refused.
    const forged = [
      { room: 'net', token: 'cd'.repeat(32), key: await a.joinKey('net', token) },
      { room: 'other', token, key: await a.joinKey('net', token) },
      {
        room: 'net',
        token,
        key: { publicKey: b.publicKey, signature: (await a.joinKey('net', token)).signature },
      },
    ];
    for (const join of forged) {
      const client = await connect(url);
      client.send({ type: 'join', ...join });
      expect((await client.next('error')).code).toBe('bad-message');
      expect(client.received.some((message) => message.type === 'welcome')).toBe(false);
    }
    // A key needs the token it signs.
    const tokenless = await connect(url);
    tokenless.send({ type: 'join', room: 'net', key: await a.joinKey('net', token) });
    expect((await tokenless.next('error')).code).toBe('bad-message');
    expect(joinProofBytes('net', token)).toEqual(
      new TextEncoder().encode(`tabchain-signaling-join\nnet\n${token}`),
    );
  });
});
