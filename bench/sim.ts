import type { BlockPush } from '../src/node/types';
import { devnetKey, Simulation, crypto as simCrypto } from '../test/sim/harness';
import { type Figure, round } from './harness';

/**
 * Block gossip in the seeded simulator: how many block-related messages each node receives per
 * block, and how long a block takes to reach every node (simulated ms, so the figures replay).
 *
 * Block-related: every message whose only reason is a new block (BLOCK, ANNOUNCE, GETBLOCK,
 * BLOCKCHAINREQUEST, BLOCKCHAIN, and STATUS, which a commit used to broadcast). The heartbeat's
 * STATUS is not: the simulation sets the heartbeat beyond the run, so every STATUS counted
 * here is one a block set off. Transactions, pings and peer exchange are not counted.
 */

/** Message kinds counted as block-related. */
const BLOCK_KINDS = new Set(['BLOCK', 'ANNOUNCE', 'GETBLOCK', 'BLOCKCHAINREQUEST', 'BLOCKCHAIN', 'STATUS']);

/** What one simulated run measured. */
export interface BlockGossipMeasure {
  readonly nodes: number;
  readonly blocks: number;
  /** Mean connected peers per node once the network formed. */
  readonly degree: number;
  /** Block-related messages received per node per block. */
  readonly messagesPerNodePerBlock: number;
  /** Per message kind, received per node per block. */
  readonly byKind: Readonly<Record<string, number>>;
  /** Forge → arrival at each other node (simulated ms), over every node and block. */
  readonly propagationP50: number;
  readonly propagationP95: number;
  readonly propagationMax: number;
}

const typeOf = (data: string): string => /"type":"([A-Z_]+)"/.exec(data.slice(0, 40))?.[1] ?? '?';

const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;

/**
 * `nodes` nodes on the in-memory network (latency 5..50 ms, each dials 8 peers), one forger
 * (the devnet genesis key, on n0). Each block is one transaction submitted at the forger; the
 * count runs from the submit until every node holds the block, plus a second for stragglers
 * (a catch-up sync a raced STATUS set off).
 */
export async function measureBlockGossip(
  nodes: number,
  blocks: number,
  { seed = 7, blockPush }: { seed?: number; blockPush?: BlockPush } = {},
): Promise<BlockGossipMeasure> {
  const genesis = await devnetKey('genesis');
  const exchange = await devnetKey('exchange');
  const receiver = await simCrypto.generateKeyPair();
  const ids = Array.from({ length: nodes }, (_, i) => `n${i}`);
  const counts = new Map<string, number>();
  let counting = false;
  const sim = new Simulation({
    seed,
    nodeIds: ids,
    wallets: { n0: genesis },
    latency: { min: 5, max: 50 },
    maxPeersPerNode: 8,
    limits: { heartbeatMs: 24 * 3_600_000, ...(blockPush ? { blockPush } : {}) },
    trace: (event) => {
      if (!counting || event.kind !== 'message' || event.data === undefined) return;
      const kind = typeOf(event.data);
      if (BLOCK_KINDS.has(kind)) counts.set(kind, (counts.get(kind) ?? 0) + 1);
    },
  });
  // When each node first held each height (simulated ms).
  const arrivals = ids.map(() => new Map<number, number>());
  ids.forEach((id, i) => {
    const node = sim.node(id);
    node.subscribe(() => {
      const height = node.getSnapshot().height;
      const seen = arrivals[i] as Map<number, number>;
      if (!seen.has(height)) seen.set(height, sim.clock.now());
    });
  });
  await sim.start();
  // Peer exchange: a few discovery rounds, so every node has dialled its peers.
  await sim.runFor(25_000);
  const degree = ids.reduce((sum, id) => sum + sim.node(id).getSnapshot().peers.length, 0) / nodes;
  const delays: number[] = [];
  for (let height = 1; height <= blocks; height++) {
    const tx = await sim.sign(exchange, {
      receiverPublicKey: receiver.publicKeyPem,
      amount: 1,
      type: 'EXCHANGE',
    });
    counting = true;
    const result = await sim.node('n0').submitTransaction(tx);
    if (!result.ok) throw new Error(`block ${height}: ${result.error.message}`);
    const all = await sim.runUntil(() => arrivals.every((seen) => seen.has(height)), 60_000);
    if (!all) throw new Error(`block ${height} did not reach every node`);
    await sim.runFor(1_000);
    counting = false;
    const forgedAt = arrivals[0]?.get(height) as number;
    for (const seen of arrivals.slice(1)) delays.push((seen.get(height) as number) - forgedAt);
  }
  await sim.stop();
  delays.sort((a, b) => a - b);
  const per = (count: number) => round(count / nodes / blocks, 2);
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  return {
    nodes,
    blocks,
    degree: round(degree, 2),
    messagesPerNodePerBlock: per(total),
    byKind: Object.fromEntries([...counts].sort().map(([kind, count]) => [kind, per(count)])),
    propagationP50: percentile(delays, 0.5),
    propagationP95: percentile(delays, 0.95),
    propagationMax: delays[delays.length - 1] ?? 0,
  };
}

const kinds = (m: BlockGossipMeasure) =>
  Object.entries(m.byKind)
    .map(([kind, n]) => `${kind} ${n}`)
    .join(', ');

/**
 * `sim-500-block-msgs-per-node` (ratio = that / peer degree: near 1 means each node hears of a
 * block about once per peer) and `sim-500-propagation-ms` (p50, ratio = p95 / p50), plus the
 * same two for 10 nodes.
 */
export async function simGossipFigures(): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const [nodes, blocks] of [
    [10, 20],
    [500, 8],
  ] as const) {
    const m = await measureBlockGossip(nodes, blocks);
    figures.push(
      {
        name: `sim-${nodes}-block-msgs-per-node`,
        value: m.messagesPerNodePerBlock,
        unit: 'msgs',
        ratio: round(m.messagesPerNodePerBlock / m.degree, 2),
        note: `block-related messages per node per block / peer degree ${m.degree} (${kinds(m)}); goal: near 1`,
      },
      {
        name: `sim-${nodes}-propagation-ms`,
        value: m.propagationP50,
        unit: 'ms',
        ratio: round(m.propagationP95 / Math.max(1, m.propagationP50), 2),
        note: `forge → every node, simulated ms: p50 ${m.propagationP50}, p95 ${m.propagationP95}, max ${m.propagationMax} (ratio p95/p50)`,
      },
    );
  }
  return figures;
}
