import { describe, expect, it } from 'vitest';
import {
  MAX_EXTRA_ALWAYS_ON,
  MAX_KNOWN_PEERS,
  MAX_LOST_PEERS,
  PENALTY,
  PeerTable,
} from '../../src/node/peers';
import { Simulation } from '../sim/harness';

const BAN_SCORE = -100;

describe('the peer table', () => {
  it('bans a peer whose score reaches the ban score, and forgets it', () => {
    const table = new PeerTable(BAN_SCORE);
    expect(table.connected('a', 0)).toBe(true);
    expect(table.penalize('a', PENALTY.timeout)).toBe(false);
    expect(table.views()[0]?.score).toBe(-PENALTY.timeout);
    expect(table.penalize('a', 80)).toBe(true);
    expect(table.isBanned('a')).toBe(true);
    expect(table.has('a')).toBe(false);
    expect(table.known.has('a')).toBe(false);
    // A banned peer gets no record again, nor is it dialled or learned.
    expect(table.connected('a', 0)).toBe(false);
    table.learn(['a'], 'me');
    expect(table.dialCandidates('me')).toEqual([]);
  });

  it('bans a peer it has no record of once the penalty alone reaches the ban score', () => {
    const table = new PeerTable(BAN_SCORE);
    expect(table.penalize('stranger', PENALTY.unsolicited)).toBe(false);
    expect(table.penalize('stranger', PENALTY.malformed)).toBe(true);
    expect(table.isBanned('stranger')).toBe(true);
  });

  it('dials known peers it has no channel with, never itself', () => {
    const table = new PeerTable(BAN_SCORE);
    table.connected('a', 0);
    table.learn(['me', 'a', 'b', 'c'], 'me');
    expect(table.dialCandidates('me')).toEqual(['b', 'c']);
  });

  it('keeps at most MAX_KNOWN_PEERS ids, dropping the oldest unconnected ones', () => {
    const table = new PeerTable(BAN_SCORE);
    table.connected('first', 0);
    table.learn(
      Array.from({ length: MAX_KNOWN_PEERS + 10 }, (_, i) => `p${i}`),
      'me',
    );
    expect(table.known.size).toBe(MAX_KNOWN_PEERS);
    expect(table.known.has('first')).toBe(true);
    expect(table.known.has('p0')).toBe(false);
    expect(table.known.has(`p${MAX_KNOWN_PEERS + 9}`)).toBe(true);
  });

  it('picks the highest claim above a height as sync target, the first to connect among equals', () => {
    const table = new PeerTable(BAN_SCORE);
    for (const id of ['a', 'b', 'c']) table.connected(id, 0);
    table.noteStatus('a', 5, 'h5', null);
    table.noteStatus('b', 7, 'h7', null);
    table.noteHead('c', 7, 'h7');
    expect(table.syncTarget(3, 0)).toEqual({ peer: 'b', height: 7 });
    expect(table.syncTarget(7, 0)).toBeNull();
    table.noteHeight('a', 9);
    table.noteHeight('a', 2); // a relayed block never lowers what the peer claims
    expect(table.syncTarget(3, 0)).toEqual({ peer: 'a', height: 9 });
    expect(table.noteStatus('nobody', 1, 'h1', null)).toBe(false);
  });

  it('prefers a peer that has proven blocks before over a higher unproven claim', () => {
    const table = new PeerTable(BAN_SCORE);
    table.connected('liar', 0);
    table.connected('honest', 0);
    table.noteStatus('liar', 1_000_000, 'f'.repeat(64), null);
    table.noteStatus('honest', 12, 'h12', null);
    expect(table.syncTarget(10, 0)).toEqual({ peer: 'liar', height: 1_000_000 });
    table.proven('honest', 10);
    expect(table.syncTarget(10, 0)).toEqual({ peer: 'honest', height: 12 });
    // Proof raises the claim too: the peer holds at least what it delivered.
    table.proven('honest', 15);
    expect(table.syncTarget(10, 0)).toEqual({ peer: 'honest', height: 15 });
  });

  it('does not pick a benched peer again until its bench ends', () => {
    const table = new PeerTable(BAN_SCORE);
    table.connected('liar', 0);
    table.connected('honest', 0);
    table.noteStatus('liar', 1_000_000, 'f'.repeat(64), null);
    table.noteStatus('honest', 12, 'h12', null);
    table.bench('liar', 30_000);
    expect(table.syncTarget(10, 1_000)).toEqual({ peer: 'honest', height: 12 });
    table.bench('honest', 30_000);
    expect(table.syncTarget(10, 29_999)).toBeNull();
    expect(table.syncTarget(10, 30_000)).toEqual({ peer: 'liar', height: 1_000_000 });
  });

  it('tries peers that have not failed before those that have', () => {
    const table = new PeerTable(BAN_SCORE);
    for (const id of ['first', 'second', 'third']) {
      table.connected(id, 0);
      table.noteStatus(id, 1_000_000, 'f'.repeat(64), null);
    }
    table.bench('first', 10);
    expect(table.syncTarget(0, 10)).toEqual({ peer: 'second', height: 1_000_000 });
    table.bench('second', 20);
    expect(table.syncTarget(0, 20)).toEqual({ peer: 'third', height: 1_000_000 });
    table.bench('third', 30);
    expect(table.syncTarget(0, 30)).toEqual({ peer: 'first', height: 1_000_000 });
  });

  it('measures round trips from answered pings only', () => {
    const table = new PeerTable(BAN_SCORE);
    table.connected('a', 0);
    const nonce = table.pingSent('a', 1000);
    expect(table.pongReceived('a', nonce + 1, 1010)).toBe(false);
    expect(table.pongReceived('a', nonce, 1042)).toBe(true);
    expect(table.views()[0]?.rttMs).toBe(42);
    expect(table.pongReceived('a', nonce, 1050)).toBe(false);
  });

  it('expects each BLOCKCHAIN reply once, and forgets them when the peer leaves', () => {
    const table = new PeerTable(BAN_SCORE);
    table.connected('a', 0);
    table.expectReply('a', 1);
    table.expectReply('a', 33);
    expect(table.replyReceived('a', 1)).toBe(true);
    expect(table.replyReceived('a', 1)).toBe(false);
    table.disconnected('a');
    expect(table.replyReceived('a', 33)).toBe(false);
  });
});

describe('always-on peers', () => {
  const ALWAYS_ON = { alwaysOn: true, forging: true };

  it('are the preferred sync source among peers that have proven as much, never above more proof', () => {
    const table = new PeerTable(BAN_SCORE);
    for (const id of ['tab', 'node']) table.connected(id, 0);
    table.noteStatus('tab', 20, 'h20', null);
    table.noteStatus('node', 12, 'h12', null, ALWAYS_ON);
    // Neither has proven anything: the always-on one first, though the tab claims more.
    expect(table.syncTarget(10, 0)).toEqual({ peer: 'node', height: 12 });
    // Proof outranks the flag (a claim, free to make).
    table.proven('tab', 11);
    expect(table.syncTarget(10, 0)).toEqual({ peer: 'tab', height: 20 });
    table.proven('node', 11);
    expect(table.syncTarget(10, 0)).toEqual({ peer: 'node', height: 12 });
    // A benched always-on node waits like any peer.
    table.bench('node', 1_000);
    expect(table.syncTarget(10, 0)).toEqual({ peer: 'tab', height: 20 });
  });

  it('are preferred for a tie at our height too', () => {
    const table = new PeerTable(BAN_SCORE);
    for (const id of ['tab', 'node']) table.connected(id, 0);
    table.noteStatus('tab', 5, 'a'.repeat(64), null);
    table.noteStatus('node', 5, 'b'.repeat(64), null, ALWAYS_ON);
    expect(table.tieTarget(5, 'c'.repeat(64), 0, () => false)).toEqual({
      peer: 'node',
      height: 5,
      head: 'b'.repeat(64),
    });
    // A later STATUS without the flag makes it a browser peer again.
    table.noteStatus('node', 5, 'b'.repeat(64), null);
    expect(table.tieTarget(5, 'c'.repeat(64), 0, () => false)?.peer).toBe('tab');
  });

  it('are dialled first, and beyond the slot count up to MAX_EXTRA_ALWAYS_ON', () => {
    const table = new PeerTable(BAN_SCORE);
    const steady = ['n1', 'n2', 'n3'];
    for (const id of steady) {
      table.connected(id, 0);
      table.noteStatus(id, 0, 'h0', null, { alwaysOn: true });
    }
    for (const id of steady) table.disconnected(id);
    table.learn(['t1', 't2'], 'me');
    // Learned before them, dialled after them.
    expect(table.dialCandidates('me')).toEqual(['n1', 'n2', 'n3', 't1', 't2']);
    expect(table.alwaysOnToDial('me')).toEqual(['n1', 'n2'].slice(0, MAX_EXTRA_ALWAYS_ON));
    table.connected('n1', 0);
    table.noteStatus('n1', 0, 'h0', null, { alwaysOn: true });
    expect(table.alwaysOnToDial('me')).toEqual(['n2']);
    table.connected('n2', 0);
    table.noteStatus('n2', 0, 'h0', null, { alwaysOn: true });
    expect(table.alwaysOnToDial('me')).toEqual([]);
  });

  it('stay known when the table is full of made-up ids', () => {
    const table = new PeerTable(BAN_SCORE);
    table.connected('steady', 0);
    table.noteStatus('steady', 0, 'h0', null, { alwaysOn: true });
    table.disconnected('steady');
    table.learn(
      Array.from({ length: MAX_KNOWN_PEERS + 10 }, (_, i) => `p${i}`),
      'me',
    );
    expect(table.known.has('steady')).toBe(true);
    expect(table.dialCandidates('me')[0]).toBe('steady');
  });

  it('name the key they forge with only while they say they forge', () => {
    const table = new PeerTable(BAN_SCORE);
    table.connected('node', 0);
    table.connected('tab', 0);
    table.noteStatus('node', 0, 'h0', 'KEY', ALWAYS_ON);
    table.noteStatus('tab', 0, 'h0', 'KEY', { forging: true });
    // Only always-on peers count: a tab that forges with the key is another tab's business.
    expect(table.alwaysOnForging('KEY')).toEqual(['node']);
    expect(table.alwaysOnForging('OTHER')).toEqual([]);
    table.noteStatus('node', 0, 'h0', 'KEY', { alwaysOn: true, forging: false });
    expect(table.alwaysOnForging('KEY')).toEqual([]);
    expect(table.views().map((v) => [v.id, v.alwaysOn, v.forging])).toEqual([
      ['node', true, false],
      ['tab', false, true],
    ]);
  });
});

describe('peer liveness', () => {
  it('lists the peers silent since a time; any message heard keeps a peer off the list', () => {
    const table = new PeerTable(BAN_SCORE);
    table.connected('a', 1_000);
    table.connected('b', 1_000);
    table.heard('b', 4_000);
    table.heard('b', 3_000); // out of order: the latest counts
    expect(table.silentSince(2_000)).toEqual(['a']);
    expect(table.silentSince(5_000)).toEqual(['a', 'b']);
    table.heard('a', 6_000);
    expect(table.silentSince(5_000)).toEqual(['b']);
    table.disconnected('b');
    expect(table.silentSince(10_000)).toEqual(['a']);
  });
});

describe('peers lost to silence', () => {
  it('are redialled until their time runs out, unless connected again or banned', () => {
    const table = new PeerTable(BAN_SCORE);
    table.markLost('split', 10_000);
    table.markLost('gone', 2_000);
    table.markLost('cheat', 10_000);
    table.penalize('cheat', 100);
    expect(table.lostCandidates(1_000)).toEqual(['split', 'gone']);
    expect(table.lostCandidates(5_000)).toEqual(['split']);
    table.connected('split', 6_000);
    expect(table.lostCandidates(6_000)).toEqual([]);
  });

  it('are kept to MAX_LOST_PEERS, the oldest forgotten first', () => {
    const table = new PeerTable(BAN_SCORE);
    for (let i = 0; i <= MAX_LOST_PEERS; i++) table.markLost(`p${i}`, 1_000);
    const lost = table.lostCandidates(0);
    expect(lost).toHaveLength(MAX_LOST_PEERS);
    expect(lost).not.toContain('p0');
  });
});

describe('a node drops a peer', () => {
  const quiet = { pingMs: 1_000, peerSilenceMs: 5_000 };

  it('at once when its channel closes, and within peerSilenceMs when it goes silent', async () => {
    const sim = new Simulation({ seed: 7, nodeIds: ['a', 'b'], latency: { min: 5, max: 20 }, limits: quiet });
    await sim.start();
    expect(await sim.runUntil(() => sim.node('a').getSnapshot().peers.length === 1, 5_000)).toBe(true);
    // A live peer answers the liveness pings and stays, however long nothing else happens.
    await sim.runFor(30_000);
    expect(
      sim
        .node('a')
        .getSnapshot()
        .peers.map((p) => p.id),
    ).toEqual(['b']);

    // A closed channel: gone as soon as the close arrives (one latency), not at the next check.
    const closedAt = sim.clock.now();
    await sim.node('b').stop();
    expect(await sim.runUntil(() => sim.node('a').getSnapshot().peers.length === 0, 5_000)).toBe(true);
    expect(sim.clock.now() - closedAt).toBeLessThanOrEqual(20);

    // A silent peer (it answers nothing, its channel stays open): dropped once silent for
    // peerSilenceMs, within one more check.
    const mute = await sim.rawPeer('mute', ['a']);
    const joined = sim.clock.now();
    expect(
      sim
        .node('a')
        .getSnapshot()
        .peers.map((p) => p.id),
    ).toEqual(['mute']);
    sim.network.partition([['mute'], ['a']]); // nothing gets through, and no close either
    expect(await sim.runUntil(() => sim.node('a').getSnapshot().peers.length === 0, 20_000)).toBe(true);
    const gone = sim.clock.now() - joined;
    expect(gone).toBeGreaterThanOrEqual(quiet.peerSilenceMs - 100);
    expect(gone).toBeLessThanOrEqual(quiet.peerSilenceMs + quiet.pingMs + 100);
    // A peer dropped for silence may be across a split that heals: it is dialled again.
    sim.network.heal();
    expect(await sim.runUntil(() => sim.node('a').getSnapshot().peers.length === 1, 15_000)).toBe(true);
    await mute.stop();
    await sim.stop();
  });
});
