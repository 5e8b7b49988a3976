import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Transaction } from '../../src/core';
import { TransactionPool, VerifiedSignatureCache } from '../../src/node/pool';
import {
  blockMessageEncoder,
  decodeMessage,
  encodeMessage,
  MAX_MESSAGE_CHARS,
  MAX_REFUSAL_CHARS,
  MAX_TRAIL_HOPS,
  PROTOCOL_VERSION,
} from '../../src/node/protocol';

const HEAD = 'a'.repeat(64);

describe('wire protocol decoder', () => {
  it('round trips every message kind', () => {
    const messages: Parameters<typeof encodeMessage>[0][] = [
      { type: 'STATUS', height: 3, head: HEAD, forgerKey: null },
      { type: 'STATUS', height: 3, head: HEAD, forgerKey: null, network: HEAD, profile: 'resilient' },
      { type: 'REFUSED', reason: 'it runs the resilient profile on network aaaa…' },
      { type: 'DISCOVERY', peers: ['a', 'b'] },
      { type: 'TRANSACTION', transaction: { any: 'thing' } },
      { type: 'BLOCK', block: { blockCount: 1 } },
      {
        type: 'BLOCK',
        block: { blockCount: 1 },
        trail: [
          { node: 'a', delayMs: 0 },
          { node: 'b', delayMs: 12 },
        ],
      },
      {
        type: 'ANNOUNCE',
        hash: HEAD,
        height: 4,
        lastHash: HEAD,
        trail: [
          { node: 'a', delayMs: 0 },
          { node: 'b', delayMs: 12 },
        ],
      },
      { type: 'GETBLOCK', hash: HEAD },
      { type: 'BLOCKCHAINREQUEST', from: 1, count: 32 },
      { type: 'BLOCKCHAIN', from: 1, blocks: [], height: 0, head: HEAD },
      { type: 'PING', nonce: 7 },
      { type: 'PONG', nonce: 7 },
    ];
    for (const message of messages) {
      const decoded = decodeMessage(encodeMessage(message));
      expect(decoded.ok && decoded.value).toEqual({ v: PROTOCOL_VERSION, ...message });
    }
  });

  it('encodes one block for several peers, each with its trail, as encodeMessage does', () => {
    const block = { blockCount: 3, note: 'ünïcode "quoted"', amount: 1.5 };
    const encode = blockMessageEncoder(block);
    for (const to of ['b', 'c']) {
      const trail = [
        { node: 'a', delayMs: 0 },
        { node: to, delayMs: 9 },
      ];
      expect(decodeMessage(encode(trail))).toEqual(
        decodeMessage(encodeMessage({ type: 'BLOCK', block, trail })),
      );
      expect(decodeMessage(encode(trail)).ok).toBe(true);
    }
  });

  it.each([
    ['not text', 42, 'MALFORMED'],
    ['not JSON', '{"type": "STATUS"', 'NOT_JSON'],
    ['oversized', `"${'x'.repeat(MAX_MESSAGE_CHARS)}"`, 'OVERSIZED'],
    ['another version', JSON.stringify({ v: PROTOCOL_VERSION + 1, type: 'PING', nonce: 1 }), 'MALFORMED'],
    ['the version before the handshake', JSON.stringify({ v: 1, type: 'PING', nonce: 1 }), 'MALFORMED'],
    [
      'an unknown profile',
      JSON.stringify({
        v: 2,
        type: 'STATUS',
        height: 1,
        head: HEAD,
        forgerKey: null,
        network: HEAD,
        profile: 'x',
      }),
      'MALFORMED',
    ],
    [
      'a network that is no digest',
      JSON.stringify({ v: 2, type: 'STATUS', height: 1, head: HEAD, forgerKey: null, network: 'mine' }),
      'MALFORMED',
    ],
    ['an empty refusal', JSON.stringify({ v: 2, type: 'REFUSED', reason: '' }), 'MALFORMED'],
    ...(
      [
        ['a trail of one node', [{ node: 'a', delayMs: 0 }]],
        [
          'a trail too long',
          Array.from({ length: MAX_TRAIL_HOPS + 1 }, (_, i) => ({ node: `n${i}`, delayMs: 1 })),
        ],
        [
          'a negative hop delay',
          [
            { node: 'a', delayMs: 0 },
            { node: 'b', delayMs: -1 },
          ],
        ],
        [
          'a fractional hop delay',
          [
            { node: 'a', delayMs: 0 },
            { node: 'b', delayMs: 1.5 },
          ],
        ],
        [
          'an unknown hop field',
          [
            { node: 'a', delayMs: 0 },
            { node: 'b', delayMs: 1, x: 1 },
          ],
        ],
      ] as const
    ).map(([what, trail]): [string, string, string] => [
      `an announcement with ${what}`,
      JSON.stringify({ v: 2, type: 'ANNOUNCE', hash: HEAD, height: 1, lastHash: HEAD, trail }),
      'MALFORMED',
    ]),
    [
      'an announcement of the genesis block',
      JSON.stringify({
        v: 2,
        type: 'ANNOUNCE',
        hash: HEAD,
        height: 0,
        lastHash: HEAD,
        trail: [
          { node: 'a', delayMs: 0 },
          { node: 'b', delayMs: 0 },
        ],
      }),
      'MALFORMED',
    ],
    ['a GETBLOCK of no hash', JSON.stringify({ v: 2, type: 'GETBLOCK', hash: 'x' }), 'MALFORMED'],
    [
      'an overlong refusal',
      JSON.stringify({ v: 2, type: 'REFUSED', reason: 'x'.repeat(MAX_REFUSAL_CHARS + 1) }),
      'MALFORMED',
    ],
    ['an unknown kind', JSON.stringify({ v: PROTOCOL_VERSION, type: 'py/object', nonce: 1 }), 'MALFORMED'],
    [
      'an extra field',
      JSON.stringify({ v: PROTOCOL_VERSION, type: 'PING', nonce: 1, extra: true }),
      'MALFORMED',
    ],
    [
      'too many peers',
      JSON.stringify({
        v: PROTOCOL_VERSION,
        type: 'DISCOVERY',
        peers: Array.from({ length: 65 }, (_, i) => `p${i}`),
      }),
      'MALFORMED',
    ],
    [
      'a huge range request',
      JSON.stringify({ v: PROTOCOL_VERSION, type: 'BLOCKCHAINREQUEST', from: 1, count: 100000 }),
      'MALFORMED',
    ],
    [
      'a negative height',
      JSON.stringify({ v: PROTOCOL_VERSION, type: 'STATUS', height: -1, head: HEAD, forgerKey: null }),
      'MALFORMED',
    ],
    [
      'a bad head',
      JSON.stringify({ v: PROTOCOL_VERSION, type: 'STATUS', height: 1, head: 'zz', forgerKey: null }),
      'MALFORMED',
    ],
  ])('refuses %s', (_what, data, code) => {
    const decoded = decodeMessage(data);
    expect(decoded.ok ? 'ok' : decoded.error.code).toBe(code);
  });

  it('never throws on arbitrary text or JSON', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.jsonValue().map((v) => JSON.stringify({ v: PROTOCOL_VERSION, ...Object(v) })),
        ),
        (data) => {
          decodeMessage(data);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('transaction pool', () => {
  const tx = (id: string): Transaction => ({
    senderPublicKey: 's',
    receiverPublicKey: 'r',
    amount: 1,
    type: 'TRANSFER',
    id,
    timestamp: 1.5,
    signature: 'ab',
  });
  it('keeps arrival order, refuses duplicates, caps its size and expires old entries', () => {
    const pool = new TransactionPool(2, 1000);
    expect(pool.add(tx('a'), 0)).toBe('added');
    expect(pool.add(tx('a'), 1)).toBe('duplicate');
    expect(pool.add(tx('b'), 500)).toBe('added');
    expect(pool.add(tx('c'), 500)).toBe('full');
    expect(pool.list().map((e) => e.transaction.id)).toEqual(['a', 'b']);
    expect(pool.expire(1200).map((t) => t.id)).toEqual(['a']);
    expect(pool.remove(['b', 'zz'])).toBe(1);
    expect(pool.size).toBe(0);
  });
  it('verified-signature cache is bounded, oldest out first, and matches the whole transaction', () => {
    const cache = new VerifiedSignatureCache(2);
    cache.add('x', '{x}');
    cache.add('y', '{y}');
    cache.add('z', '{z}');
    expect([cache.has('x', '{x}'), cache.has('y', '{y}'), cache.has('z', '{z}')]).toEqual([
      false,
      true,
      true,
    ]);
    // Same id, any other content: not verified.
    expect(cache.has('y', '{y, amount changed}')).toBe(false);
  });
});
