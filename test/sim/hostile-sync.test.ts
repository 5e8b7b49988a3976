// @vitest-environment jsdom
import { beforeAll, describe, expect, it } from 'vitest';
import { type Block, stateToJSON } from '../../src/core';
import type { KeyPair } from '../../src/crypto';
import { DEFAULT_LIMITS } from '../../src/node/node';
import { crypto, devnetKey, type RawPeer, Simulation } from './harness';

/*
 * Hostile peers against sync, in the seeded simulation: a peer claiming a huge height that
 * answers every range request with nothing, a peer that never answers, one that serves real
 * blocks and then goes silent, and a stream of fresh ids each claiming a false height. In each,
 * the honest nodes keep one chain, the honest forger forges with at most one sync timeout's
 * delay, and the attacker is penalised.
 */

const TIMEOUT = DEFAULT_LIMITS.syncTimeoutMs;
const HUGE = 1_000_000;
const FAKE_HEAD = 'f'.repeat(64);

interface Event {
  readonly node: string;
  readonly kind: string;
  readonly message: string;
  readonly peer?: string;
}

let keys: { genesis: KeyPair; exchange: KeyPair; alice: KeyPair };
beforeAll(async () => {
  keys = {
    genesis: await devnetKey('genesis'),
    exchange: await devnetKey('exchange'),
    alice: await crypto.generateKeyPair(),
  };
});

/** Three honest nodes (h1 forges) with a few blocks on their chain. */
async function honestNetwork(seed: number, events: Event[], blocks = 2): Promise<Simulation> {
  const sim = new Simulation({
    seed,
    nodeIds: ['h1', 'h2', 'h3'],
    wallets: { h1: keys.genesis },
    log: (node, event) => events.push({ node, ...event }),
  });
  await sim.start();
  await sim.runUntil(() => ['h1', 'h2', 'h3'].every((id) => sim.node(id).getSnapshot().peers.length === 2));
  for (let i = 0; i < blocks; i++) expect(await landDelay(sim, 'h2', ['h1', 'h2', 'h3'])).toBeLessThan(1_000);
  return sim;
}

/**
 * Submits a transaction to `via` and runs until every node in `honest` holds it in a block;
 * returns how long that took (virtual ms), or Infinity after three timeouts.
 */
async function landDelay(sim: Simulation, via: string, honest: readonly string[]): Promise<number> {
  const tx = await sim.sign(keys.exchange, {
    receiverPublicKey: keys.alice.publicKeyPem,
    amount: 1,
    type: 'EXCHANGE',
  });
  const start = sim.clock.now();
  expect((await sim.node(via).submitTransaction(tx)).ok).toBe(true);
  const landed = await sim.runUntil(
    () => honest.every((id) => sim.node(id).findTransaction(tx.id) !== undefined),
    3 * TIMEOUT,
  );
  return landed ? sim.clock.now() - start : Number.POSITIVE_INFINITY;
}

/** Every honest node on one head, with one state and an empty pool. */
function expectOneChain(sim: Simulation, honest: readonly string[], height: number): void {
  const snapshots = honest.map((id) => sim.node(id).getSnapshot());
  for (const s of snapshots) {
    expect(s.height).toBe(height);
    expect(s.headHash).toBe(snapshots[0]?.headHash);
    expect(stateToJSON(s.state)).toEqual(stateToJSON(snapshots[0]?.state ?? s.state));
    expect(s.pool).toEqual([]);
  }
  // Every block on the honest chain is the honest forger's.
  const chain = sim.node(honest[0] as string).blocks(1, height);
  expect(chain.every((block: Block) => block.forger === keys.genesis.publicKeyPem)).toBe(true);
}

const penalties = (events: Event[], peer: string, node?: string) =>
  events.filter((e) => e.kind === 'penalty' && e.peer === peer && (node === undefined || e.node === node));
const honestPenalties = (events: Event[]) =>
  events.filter((e) => e.kind === 'penalty' && e.peer?.startsWith('h'));

/** A peer that claims `HUGE` and answers every range request with an empty list. */
function emptyAnswers(sim: Simulation, id: string, peers: readonly string[]): Promise<RawPeer> {
  return sim.rawPeer(id, peers, (_from, message, send) => {
    if (message.type === 'BLOCKCHAINREQUEST')
      send({ type: 'BLOCKCHAIN', from: message.from, blocks: [], height: HUGE, head: FAKE_HEAD });
  });
}

function claimHuge(peer: RawPeer, to: readonly string[]): void {
  for (const id of to) peer.send(id, { type: 'STATUS', height: HUGE, head: FAKE_HEAD, forgerKey: null });
}

const requestsTo = (peer: RawPeer, from: string) =>
  peer.received.filter((r) => r.from === from && r.message.type === 'BLOCKCHAINREQUEST').length;

describe('hostile peers against sync', () => {
  it('a peer claiming a huge height and answering with empty lists is penalised, benched and finally banned', async () => {
    const events: Event[] = [];
    const sim = await honestNetwork(31, events);
    const liar = await emptyAnswers(sim, 'liar', ['h1', 'h3']);
    claimHuge(liar, ['h1', 'h3']);
    await sim.runFor(500);
    // One request each, answered with nothing: penalised at once, the sync over.
    expect(requestsTo(liar, 'h1')).toBe(1);
    expect(penalties(events, 'liar', 'h1').map((e) => e.message)).toEqual([
      expect.stringMatching(/^empty reply from 3 \(claimed 1000000\)/),
    ]);
    expect(sim.node('h1').getSnapshot().sync).toBeNull();

    // The forger forges at once, though the liar keeps claiming.
    const delays: number[] = [];
    for (let round = 0; round < 20; round++) {
      claimHuge(liar, ['h1', 'h3']);
      delays.push(await landDelay(sim, 'h2', ['h1', 'h2', 'h3']));
      await sim.runFor(1_000);
    }
    expect(Math.max(...delays)).toBeLessThan(TIMEOUT);
    // Not picked again at once: benched after each failure, so a few requests in all.
    expect(requestsTo(liar, 'h1')).toBeLessThanOrEqual(2);

    // It keeps claiming: each retry costs it, and by the fifth it is dropped.
    for (let second = 0; second < 150; second++) {
      claimHuge(liar, ['h1', 'h3']);
      await sim.runFor(1_000);
    }
    for (const node of ['h1', 'h3']) {
      expect(events.filter((e) => e.kind === 'ban' && e.peer === 'liar' && e.node === node)).toHaveLength(1);
      expect(requestsTo(liar, node)).toBe(5);
    }
    expectOneChain(sim, ['h1', 'h2', 'h3'], 22);
    expect(honestPenalties(events)).toEqual([]);
    await liar.stop();
    await sim.stop();
  });

  it('a late joiner that a liar reaches first moves on to an honest peer', async () => {
    const events: Event[] = [];
    const sim = await honestNetwork(32, events, 3);
    const late = sim.addNode('late');
    // The liar is the late node's only peer at first: its claim is the first one heard.
    sim.network.partition([['late', 'liar']]);
    await sim.start(['late']);
    const liar = await emptyAnswers(sim, 'liar', ['late']);
    claimHuge(liar, ['late']);
    await sim.runFor(1_000);
    expect(penalties(events, 'liar', 'late')).toHaveLength(1);
    expect(late.getSnapshot().sync).toBeNull();
    const healedAt = sim.clock.now();
    sim.network.heal();
    claimHuge(liar, ['late']);
    expect(await sim.runUntil(() => late.getSnapshot().height === 3, 3 * TIMEOUT)).toBe(true);
    // Synced from an honest peer, without waiting out a timeout.
    expect(sim.clock.now() - healedAt).toBeLessThan(TIMEOUT);
    expect(
      events.some(
        (e) => e.node === 'late' && e.kind === 'sync' && e.peer?.startsWith('h') && /adopted/.test(e.message),
      ),
    ).toBe(true);
    expect(penalties(events, 'liar', 'late')).toHaveLength(1); // benched, not asked again yet
    expectOneChain(sim, ['h1', 'h2', 'h3', 'late'], 3);
    expect(honestPenalties(events)).toEqual([]);
    await liar.stop();
    await sim.stop();
  });

  it('a peer that never answers: the sync ends by timeout and the forger never waits on it', async () => {
    const events: Event[] = [];
    const sim = await honestNetwork(33, events);
    const silent = await sim.rawPeer('silent', ['h1']);
    claimHuge(silent, ['h1']);
    await sim.runFor(100);
    expect(sim.node('h1').getSnapshot().sync?.peer).toBe('silent');
    // A pending transaction lands while the sync waits on the silent peer: an unproven claim
    // never pauses forging.
    expect(await landDelay(sim, 'h2', ['h1', 'h2', 'h3'])).toBeLessThan(1_000);
    await sim.runFor(TIMEOUT);
    expect(penalties(events, 'silent', 'h1').map((e) => e.message)).toEqual([
      expect.stringMatching(/sync request timed out/),
    ]);
    expect(sim.node('h1').getSnapshot().sync).toBeNull();
    expect(await landDelay(sim, 'h2', ['h1', 'h2', 'h3'])).toBeLessThan(1_000);
    expectOneChain(sim, ['h1', 'h2', 'h3'], 4);
    expect(honestPenalties(events)).toEqual([]);
    await silent.stop();
    await sim.stop();
  });

  it('a peer that serves real blocks, then goes silent, holds the forger for one timeout at most', async () => {
    const events: Event[] = [];
    // h1 forges three blocks and leaves; the victim forges with the same key and is behind.
    const sim = await honestNetwork(34, events, 3);
    const chain = sim.node('h2').blocks(1, 3);
    await sim.node('h1').stop();
    const victim = sim.addNode('victim', keys.genesis);
    sim.network.partition([['victim', 'mirror']]);
    await sim.start(['victim']);
    // It serves the honest chain it copied, claims more, and never sends the rest.
    const mirror = await sim.rawPeer('mirror', ['victim'], (_from, message, send) => {
      if (message.type !== 'BLOCKCHAINREQUEST' || message.from > chain.length) return;
      const blocks = chain.slice(message.from - 1, message.from - 1 + message.count);
      send({ type: 'BLOCKCHAIN', from: message.from, blocks, height: 10, head: FAKE_HEAD });
    });
    mirror.send('victim', { type: 'STATUS', height: 10, head: FAKE_HEAD, forgerKey: null });
    expect(await sim.runUntil(() => victim.getSnapshot().height === 3, 5_000)).toBe(true);
    // Proven ahead: the victim holds off forging while the sync runs...
    expect(victim.getSnapshot().sync?.peer).toBe('mirror');
    const delay = await landDelay(sim, 'victim', ['victim']);
    // ...until the sync times out, then forges.
    expect(delay).toBeGreaterThan(TIMEOUT / 2);
    expect(delay).toBeLessThanOrEqual(TIMEOUT + 1_000);
    expect(penalties(events, 'mirror', 'victim').map((e) => e.message)).toEqual([
      expect.stringMatching(/sync request timed out/),
    ]);
    expect(victim.getSnapshot().height).toBe(4);
    expect(victim.blocks(1, 3)).toEqual(chain);
    await mirror.stop();
    await sim.stop();
  });

  it('a stream of fresh peer ids claiming false heights delays the forger by less than one timeout in all', async () => {
    const events: Event[] = [];
    const sim = await honestNetwork(35, events);
    const honest = ['h1', 'h2', 'h3'];
    const liars: RawPeer[] = [];
    const delays: number[] = [];
    const start = sim.clock.now();
    for (let i = 0; i < 10; i++) {
      // Each fresh id claims a false height to the forger and never answers.
      const liar = await sim.rawPeer(`fresh${i}`, ['h1']);
      claimHuge(liar, ['h1']);
      liars.push(liar);
      delays.push(await landDelay(sim, 'h2', honest));
      await sim.runFor(2_000);
    }
    // Keep forging while the queue of syncs with them runs out.
    while (sim.clock.now() - start < 12 * TIMEOUT) {
      delays.push(await landDelay(sim, 'h2', honest));
      await sim.runFor(2_000);
    }
    // Forging waited on none of them: no transaction took longer than the network's latency,
    // and the time spent beyond it, summed over every transaction, is below one timeout.
    expect(Math.max(...delays)).toBeLessThan(1_000);
    const waited = delays.reduce((sum, d) => sum + Math.max(0, d - 200), 0);
    expect(waited).toBeLessThan(TIMEOUT);
    // Each was tried, and penalised for every request it wasted (retried only after its bench;
    // the last request may still be waiting out its timeout).
    for (const liar of liars) {
      const requests = requestsTo(liar, 'h1');
      const penalised = penalties(events, liar.id, 'h1');
      expect(requests).toBeGreaterThanOrEqual(1);
      expect(penalised.length).toBeGreaterThanOrEqual(Math.max(1, requests - 1));
      expect(penalised.every((e) => /sync request timed out/.test(e.message))).toBe(true);
    }
    expectOneChain(sim, honest, 2 + delays.length);
    expect(honestPenalties(events)).toEqual([]);
    for (const liar of liars) await liar.stop();
    await sim.stop();
  });
});
