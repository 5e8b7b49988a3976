import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KeyPair } from '../../src/crypto';
import type { NetworkEvent } from '../../src/net/memory';
import type { BlockPush, NodeLogEvent } from '../../src/node/types';
import { createMemoryStore } from '../../src/storage/memory';
import { devnetKey, Simulation } from './harness';

/*
 * Block gossip (issue 15): blocks are pushed or announced and pulled, each node hears of a
 * block about once per peer, no STATUS races a block; and the network map's data (issue 16):
 * each node's propagation trails and topology.
 */

let genesis: KeyPair;
let exchange: KeyPair;
beforeAll(async () => {
  genesis = await devnetKey('genesis');
  exchange = await devnetKey('exchange');
});

let sim: Simulation | null = null;
afterEach(async () => {
  await sim?.stop();
  sim = null;
});

const kindOf = (data: string | undefined) => /"type":"([A-Z_]+)"/.exec(data ?? '')?.[1] ?? '?';

/** Submits one purchase at n0 (the forger) and runs until every node in `ids` holds `height`. */
async function forgeBlock(s: Simulation, ids: readonly string[], height: number): Promise<void> {
  const tx = await s.sign(exchange, { receiverPublicKey: genesis.publicKeyPem, amount: 1, type: 'EXCHANGE' });
  expect((await s.node('n0').submitTransaction(tx)).ok).toBe(true);
  expect(await s.runUntil(() => ids.every((id) => s.node(id).getSnapshot().height >= height), 30_000)).toBe(
    true,
  );
}

describe('a line of six nodes', () => {
  const ids = ['n0', 'n1', 'n2', 'n3', 'n4', 'n5'];
  const index = (id: string) => ids.indexOf(id);

  async function line(): Promise<Simulation> {
    const s = new Simulation({
      seed: 15,
      nodeIds: ids,
      wallets: { n0: genesis },
      // Two nodes keep a store: the propagation chart reads its times from the stored aggregates.
      stores: { n0: createMemoryStore(), n5: createMemoryStore() },
      links: (a, b) => Math.abs(index(a) - index(b)) === 1,
    });
    await s.start();
    for (let i = 1; i < ids.length; i++) s.connect(ids[i - 1] as string, ids[i] as string);
    const degree = (id: string) => (id === 'n0' || id === 'n5' ? 1 : 2);
    expect(
      await s.runUntil(() => ids.every((id) => s.node(id).getSnapshot().peers.length === degree(id)), 10_000),
    ).toBe(true);
    // A heartbeat measures every link's round trip; a discovery round shares the peer lists.
    await s.runFor(11_000);
    return s;
  }

  it("the last node's propagation shows the block's five hops from the forger, in order", async () => {
    sim = await line();
    await forgeBlock(sim, ids, 1);
    const last = sim.node('n5').getSnapshot();
    const journey = last.propagation[0];
    expect(journey?.hash).toBe(last.headHash);
    expect(journey?.height).toBe(1);
    expect(journey?.forgedBy).toBe('n0');
    expect(journey?.forger).toBe(genesis.publicKeyPem);
    const hops = journey?.hops ?? [];
    expect(hops.map((hop) => `${hop.from}>${hop.to}`)).toEqual(['n0>n1', 'n1>n2', 'n2>n3', 'n3>n4', 'n4>n5']);
    let at = 0;
    for (const hop of hops) {
      // Half a measured round trip of at least 2 × 5 ms each.
      expect(hop.delayMs).toBeGreaterThanOrEqual(5);
      expect(hop.atMs).toBe(at + hop.delayMs);
      at = hop.atMs;
    }
    // The forger knows it forged the block, and sees it reach its peer once that peer's STATUS
    // names it as its head; nobody's trail leads into it.
    const first = sim.node('n0').getSnapshot().propagation[0];
    expect(first?.forgedBy).toBe('n0');
    expect(first?.hops.map((hop) => `${hop.from}>${hop.to}`)).toEqual(['n0>n1']);
    // The receiver told the forger its new head: the forger's peers table is current.
    expect(
      sim
        .node('n0')
        .getSnapshot()
        .peers.find((p) => p.id === 'n1')?.height,
    ).toBe(1);
    // A middle node: the hops up to it, and the one it pushed on (its receiver said so).
    expect(
      sim
        .node('n2')
        .getSnapshot()
        .propagation[0]?.hops.map((hop) => hop.to),
    ).toEqual(['n1', 'n2', 'n3']);
    // The stored per-block aggregate (the propagation chart) holds the time it took to arrive.
    const [arrived] = (await sim.node('n5').readBlockAggregates(1, 1)).aggregates;
    expect(arrived?.propagationMs).toBe(at);
    const [forged] = (await sim.node('n0').readBlockAggregates(1, 1)).aggregates;
    expect(forged?.propagationMs).toBe(0);
  });

  it('keeps the newest blocks first', async () => {
    sim = await line();
    for (let height = 1; height <= 3; height++) await forgeBlock(sim, ids, height);
    const journeys = sim.node('n3').getSnapshot().propagation;
    expect(journeys.map((journey) => journey.height)).toEqual([3, 2, 1]);
  });

  it('a node maps itself, its peers, and the peers they list; a peer that leaves takes its links along', async () => {
    sim = await line();
    const map = sim.node('n2').getSnapshot().topology;
    const byId = new Map(map.nodes.map((node) => [node.id, node]));
    expect([...byId.keys()].sort()).toEqual(['n0', 'n1', 'n2', 'n3', 'n4']);
    expect(byId.get('n1')?.direct).toBe(true);
    expect(byId.get('n3')?.direct).toBe(true);
    expect(byId.get('n0')?.direct).toBe(false);
    expect(byId.get('n2')?.direct).toBe(false);
    const links = map.links.map((link) => `${link.a}-${link.b}`).sort();
    expect(links).toEqual(['n0-n1', 'n1-n2', 'n2-n3', 'n3-n4']);
    // The forger's key comes from its STATUS.
    expect(
      sim
        .node('n1')
        .getSnapshot()
        .topology.nodes.find((node) => node.id === 'n0')?.forgerKey,
    ).toBe(genesis.publicKeyPem);

    await sim.node('n4').stop();
    expect(await sim.runUntil(() => sim?.node('n3').getSnapshot().peers.length === 1, 10_000)).toBe(true);
    const after = sim.node('n3').getSnapshot().topology;
    expect(after.nodes.map((node) => node.id).sort()).toEqual(['n1', 'n2', 'n3']);
    expect(after.links.map((link) => `${link.a}-${link.b}`).sort()).toEqual(['n1-n2', 'n2-n3']);
  });
});

describe('ten nodes', () => {
  const ids = Array.from({ length: 10 }, (_, i) => `n${i}`);

  async function network(blockPush: BlockPush, trace?: (event: NetworkEvent) => void) {
    const events: { node: string; event: NodeLogEvent }[] = [];
    const s = new Simulation({
      seed: 16,
      nodeIds: ids,
      wallets: { n0: genesis },
      maxPeersPerNode: 4,
      // No heartbeat during the run: every STATUS counted is one a block set off.
      limits: { blockPush, heartbeatMs: 3_600_000 },
      log: (node, event) => events.push({ node, event }),
      ...(trace ? { trace } : {}),
    });
    await s.start();
    await s.runFor(12_000);
    return { s, events };
  }

  it.each(['all', 'sqrt', 'none'] as const)(
    'push %s: every node gets every block, each hears of it at most once per peer, and no STATUS races it',
    async (push) => {
      const counts = new Map<string, number>();
      let counting = false;
      const { s, events } = await network(push, (event) => {
        if (counting && event.kind === 'message') {
          const kind = kindOf(event.data);
          counts.set(kind, (counts.get(kind) ?? 0) + 1);
        }
      });
      sim = s;
      const links = ids.reduce((sum, id) => sum + s.node(id).getSnapshot().peers.length, 0);
      counting = true;
      for (let height = 1; height <= 5; height++) await forgeBlock(s, ids, height);
      await s.runFor(2_000);
      counting = false;
      expect(s.converged()).toBe(true);
      // Each block travels each link direction at most once, whole or announced.
      const heard =
        (counts.get('BLOCK') ?? 0) + (counts.get('ANNOUNCE') ?? 0) - (counts.get('GETBLOCK') ?? 0);
      expect(heard).toBeLessThanOrEqual(5 * links);
      // The only STATUS is each receiver's to the peer that sent it the block (which has it):
      // at most one per node per block, and none sets off a catch-up request.
      expect(counts.get('STATUS') ?? 0).toBeLessThanOrEqual(5 * (ids.length - 1));
      expect(counts.get('BLOCKCHAINREQUEST') ?? 0).toBe(0);
      if (push === 'all') expect(counts.get('ANNOUNCE') ?? 0).toBe(0);
      else expect(counts.get('GETBLOCK') ?? 0).toBeGreaterThan(0);
      if (push === 'none') expect(counts.get('BLOCK')).toBe(counts.get('GETBLOCK'));
      expect(events.filter(({ event }) => event.kind === 'penalty' || event.kind === 'error')).toEqual([]);
    },
  );

  it('announcing only: a GETBLOCK for a block never announced, a repeated announcement, a bad trail and an unanswered one each cost the peer', async () => {
    const { s, events } = await network('none');
    sim = s;
    await forgeBlock(s, ids, 1);
    const head = s.node('n1').getSnapshot();
    const fake = 'f'.repeat(64);
    const raw = await s.rawPeer('raw', ['n1']);
    const trail = [
      { node: 'raw', delayMs: 0 },
      { node: 'n1', delayMs: 3 },
    ];
    const penalties = () =>
      events
        .filter(({ node, event }) => node === 'n1' && event.kind === 'penalty')
        .map(({ event }) => event.message);

    raw.send('n1', { type: 'GETBLOCK', hash: head.headHash });
    await s.runFor(500);
    expect(penalties()).toEqual([expect.stringMatching(/GETBLOCK of a block not announced/)]);

    // A block on n1's head that never comes: asked for, then the announcer pays.
    const announce = { type: 'ANNOUNCE', hash: fake, height: 2, lastHash: head.headHash, trail } as const;
    raw.send('n1', announce);
    await s.runFor(500);
    expect(raw.received.some(({ message }) => message.type === 'GETBLOCK' && message.hash === fake)).toBe(
      true,
    );
    raw.send('n1', announce);
    await s.runFor(3_000);
    expect(penalties().slice(1)).toEqual([
      expect.stringMatching(/announced before/),
      expect.stringMatching(/unanswered/),
    ]);

    raw.send('n1', {
      ...announce,
      hash: 'e'.repeat(64),
      trail: [
        { node: 'raw', delayMs: 0 },
        { node: 'n2', delayMs: 1 },
      ],
    });
    await s.runFor(500);
    expect(penalties().at(-1)).toMatch(/does not end at this node/);
    expect(
      s
        .node('n1')
        .getSnapshot()
        .peers.some((peer) => peer.id === 'raw'),
    ).toBe(false);
    // The honest nodes carry on.
    await forgeBlock(s, ids, 2);
    expect(s.converged(ids)).toBe(true);
  });
});
