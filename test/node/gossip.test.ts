import { describe, expect, it } from 'vitest';
import type { Block } from '../../src/core';
import { BlockGossip, extendTrail, pushCount, trailProblem } from '../../src/node/gossip';
import { PropagationLog } from '../../src/node/propagation';
import { MAX_TRAIL_HOPS, type Trail } from '../../src/node/protocol';
import { MAX_MAP_LINKS, MAX_MAP_NODES, TopologyMap } from '../../src/node/topology';
import type { PeerView } from '../../src/node/types';

const H1 = '1'.repeat(64);
const H2 = '2'.repeat(64);
const block = { blockCount: 1, forger: 'K' } as unknown as Block;
const hops = (...nodes: string[]): Trail => nodes.map((node, i) => ({ node, delayMs: i === 0 ? 0 : 10 }));

describe('block trails', () => {
  it('must end at the receiver, come from the sender, start at delay 0 and visit no node twice', () => {
    expect(trailProblem(hops('a', 'b', 'me'), 'b', 'me')).toBeNull();
    expect(trailProblem(hops('a', 'b', 'c'), 'b', 'me')).toMatch(/end at this node/);
    expect(trailProblem(hops('a', 'b', 'me'), 'a', 'me')).toMatch(/from its sender/);
    expect(
      trailProblem(
        [
          { node: 'b', delayMs: 4 },
          { node: 'me', delayMs: 1 },
        ],
        'b',
        'me',
      ),
    ).toMatch(/forging node/);
    expect(trailProblem(hops('b', 'x', 'b', 'me'), 'b', 'me')).toMatch(/twice/);
  });

  it('grow by one hop per relay, and at the cap fold the first relay into the next, keeping the forger and the total', () => {
    expect(extendTrail(hops('a'), 'b', 7.6)).toEqual([
      { node: 'a', delayMs: 0 },
      { node: 'b', delayMs: 8 },
    ]);
    const full = hops(...Array.from({ length: MAX_TRAIL_HOPS }, (_, i) => `n${i}`));
    const longer = extendTrail(full, 'next', 5);
    expect(longer).toHaveLength(MAX_TRAIL_HOPS);
    expect(longer[0]?.node).toBe('n0');
    expect(longer[1]).toEqual({ node: 'n2', delayMs: 20 });
    const total = (trail: Trail) => trail.reduce((sum, hop) => sum + hop.delayMs, 0);
    expect(total(longer)).toBe(total(full) + 5);
  });

  it('push to all, none, or ⌈√peers⌉', () => {
    expect(pushCount('all', 9)).toBe(9);
    expect(pushCount('none', 9)).toBe(0);
    expect(pushCount('sqrt', 10)).toBe(4);
    expect(pushCount('sqrt', 0)).toBe(0);
  });
});

describe('block gossip bookkeeping', () => {
  it('sends a block to no peer known to have it, and answers a GETBLOCK once per announcement', () => {
    const gossip = new BlockGossip();
    expect(gossip.announced(H1, 1, 'a')).toBe(true);
    expect(gossip.announced(H1, 1, 'a')).toBe(false);
    gossip.had(H1, block, hops('f', 'b', 'me'), 100, 'b');
    expect(gossip.holds(H1)).toBe(true);
    const plan = gossip.planRelay(H1, ['a', 'b', 'c', 'd', 'e'], 1, () => 0);
    expect(plan.push).toEqual(['c']);
    expect(plan.announce).toEqual(['d', 'e']);
    expect(gossip.planRelay(H1, ['a', 'b', 'c', 'd', 'e'], 1, () => 0)).toEqual({ push: [], announce: [] });
    expect(gossip.request(H1, 'd')).toEqual({ block });
    expect(gossip.request(H1, 'd')).toBe('unsolicited');
    expect(gossip.request(H1, 'c')).toBe('unsolicited');
    expect(gossip.request(H2, 'd')).toBe('unsolicited');
    expect(gossip.ownTrail(H1)).toEqual({ trail: hops('f', 'b', 'me'), hadAt: 100 });
  });

  it('fetches a block from one announcer, moves on to the next after the timeout, and gives up with none left', () => {
    const gossip = new BlockGossip();
    expect(gossip.startFetch(H1, 2, 'a', 0)).toBe(true);
    expect(gossip.startFetch(H1, 2, 'b', 10)).toBe(false);
    expect(gossip.isFetchingFrom('a')).toBe(true);
    expect(gossip.expire(1_000, 2_000)).toEqual([]);
    expect(gossip.expire(2_000, 2_000)).toEqual([{ hash: H1, height: 2, peer: 'a', next: 'b' }]);
    expect(gossip.isFetchingFrom('b')).toBe(true);
    gossip.forget('b');
    expect(gossip.expire(2_001, 2_000)).toEqual([{ hash: H1, height: 2, peer: 'b', next: null }]);
    expect(gossip.fetching(H1)).toBe(false);
    // A block that arrives ends its fetch.
    gossip.startFetch(H2, 2, 'a', 0);
    gossip.had(H2, block, hops('a', 'me'), 5, 'a');
    expect(gossip.fetching(H2)).toBe(false);
  });
});

describe('propagation log', () => {
  it('keeps every trail’s hops once, in order of arrival, for the blocks this node had, newest first', () => {
    const log = new PropagationLog();
    log.trail(H1, 1, hops('f', 'a', 'me'));
    log.trail(H1, 1, hops('f', 'b', 'me'));
    log.trail(H1, 1, hops('f', 'a', 'me'));
    // Heard of, not had: not listed.
    expect(log.list()).toEqual([]);
    log.had(H1, 1, 'K', 500, null);
    log.had(H2, 2, 'K', 900, 'me');
    const [newest, older] = log.list();
    expect(newest).toMatchObject({ hash: H2, forgedBy: 'me', hops: [] });
    expect(older).toMatchObject({ hash: H1, height: 1, forger: 'K', forgedBy: 'f', seenAt: 500 });
    expect(older?.hops.map((hop) => [hop.from, hop.to, hop.atMs])).toEqual([
      ['f', 'a', 10],
      ['f', 'b', 10],
      ['a', 'me', 20],
      ['b', 'me', 20],
    ]);
  });

  it('says how long a block took to reach a node: its fastest hop there, 0 for its forger, null unknown', () => {
    const log = new PropagationLog();
    log.trail(H1, 1, [
      { node: 'f', delayMs: 0 },
      { node: 'a', delayMs: 30 },
      { node: 'me', delayMs: 12 },
    ]);
    log.trail(H1, 1, [
      { node: 'f', delayMs: 0 },
      { node: 'me', delayMs: 25 },
    ]);
    log.had(H1, 1, 'K', 500, null);
    log.had(H2, 2, 'K', 900, 'me');
    expect(log.reachedAfter(H1, 'me')).toBe(25);
    expect(log.reachedAfter(H1, 'a')).toBe(30);
    expect(log.reachedAfter(H2, 'me')).toBe(0);
    expect(log.reachedAfter(H1, 'nobody')).toBeNull();
    expect(log.reachedAfter('unknown', 'me')).toBeNull();
  });
});

describe('topology map', () => {
  const peer = (id: string, forgerKey: string | null = null): PeerView => ({
    id,
    score: 0,
    height: 0,
    head: null,
    forgerKey,
    alwaysOn: false,
    forging: false,
    rttMs: null,
  });
  const self = { id: 'me', forgerKey: 'K', alwaysOn: true };

  it('links this node to its peers and each peer to those it lists; forgets a peer’s list when it leaves', () => {
    const map = new TopologyMap();
    map.listedBy('a', ['a', 'x', 'me', 'x']);
    const built = map.build(self, [peer('a', 'KA')]);
    expect(built.nodes).toEqual([
      { id: 'me', forgerKey: 'K', alwaysOn: true, direct: false },
      { id: 'a', forgerKey: 'KA', alwaysOn: false, direct: true },
      { id: 'x', forgerKey: null, alwaysOn: false, direct: false },
    ]);
    expect(built.links).toEqual([
      { a: 'a', b: 'me' },
      { a: 'a', b: 'x' },
    ]);
    map.forget('a');
    expect(map.build(self, []).links).toEqual([]);
  });

  it('stays within its bounds however many ids peers list', () => {
    const map = new TopologyMap();
    const peers = Array.from({ length: 30 }, (_, p) => peer(`p${p}`));
    for (const { id } of peers)
      map.listedBy(
        id,
        Array.from({ length: 64 }, (_, i) => `${id}-${i}`),
      );
    const built = map.build(self, peers);
    expect(built.nodes.length).toBe(MAX_MAP_NODES);
    expect(built.links.length).toBeLessThanOrEqual(MAX_MAP_LINKS);
    expect(built.nodes.filter((node) => node.direct)).toHaveLength(30);
  });
});
