import { type Block, blockSigningBytes, GENESIS_BLOCK, transactionSigningBytes } from '../src/core';
import { type KeyPair, parsePublicKeyPem, signatureHexToBytes } from '../src/crypto';
import { MemoryNetwork, SeededRandom, VirtualClock } from '../src/net/memory';
import { TabchainNode } from '../src/node/node';
import { signTransaction } from '../src/node/wallet';
import { buildSignedChain, crypto, devnetKey, genesisConfig } from './chain';
import { type Figure, round } from './harness';

/** A simulated network of `ids` on one virtual clock; returns its nodes and a settle-aware runner. */
function network(ids: string[], wallets: Record<string, KeyPair>, seed: number) {
  const clock = new VirtualClock();
  const random = new SeededRandom(seed);
  const net = new MemoryNetwork({
    random: random.fork(),
    clock,
    latency: { min: 5, max: 50 },
    maxPeersPerNode: 8,
  });
  const nodes = ids.map((id) => {
    const stream = random.fork();
    return new TabchainNode({
      genesis: genesisConfig(),
      transport: net.createTransport(id),
      crypto,
      clock,
      random: () => stream.next(),
      wallet: wallets[id] ?? null,
      limits: { maxPeers: 4 },
    });
  });
  const settle = async () => {
    await Promise.all(nodes.map((n) => n.whenIdle()));
    await Promise.all(nodes.map((n) => n.whenIdle()));
  };
  const runUntil = (until: () => boolean) => net.run({ until, settle, maxSteps: 10_000_000 });
  return { nodes, runUntil, clock };
}

/**
 * Transactions per second through a 10-node in-memory network: 500 signed transfers submitted
 * to random nodes at once, timed (real time) until every node holds them all in blocks. Network
 * latency is virtual, so this is the nodes' own processing throughput.
 */
export async function throughputFigure(): Promise<Figure> {
  const genesis = await devnetKey('genesis');
  const exchange = await devnetKey('exchange');
  const receiver = await crypto.generateKeyPair();
  const ids = Array.from({ length: 10 }, (_, i) => `n${i}`);
  const { nodes, runUntil, clock } = network(ids, { n0: genesis }, 5);
  for (const node of nodes) await node.start();
  await runUntil(() => nodes.every((n) => n.getSnapshot().peers.length >= 2));
  const count = 500;
  const random = new SeededRandom(9);
  const txs = [];
  for (let i = 0; i < count; i++) {
    txs.push(
      await signTransaction(
        crypto,
        exchange,
        { receiverPublicKey: receiver.publicKeyPem, amount: 1, type: 'EXCHANGE' },
        clock.now(),
      ),
    );
  }
  const start = performance.now();
  await Promise.all(txs.map((tx) => random.pick(nodes).submitTransaction(tx)));
  await runUntil(() =>
    nodes.every((n) => n.getSnapshot().state.balances.get(receiver.publicKeyPem) === count),
  );
  const seconds = (performance.now() - start) / 1000;
  const blocks = nodes[0]?.getSnapshot().height ?? 0;
  await Promise.all(nodes.map((n) => n.stop()));
  return {
    name: 'throughput-10-nodes',
    value: round(count / seconds, 0),
    unit: 'tx/s',
    ratio: null,
    note: `${count} transfers into ${blocks} blocks on all 10 nodes in ${round(seconds, 2)} s`,
  };
}

/**
 * `sync-1000x10`: a fresh node syncs 1,000 blocks of 10 transfers from a peer over the
 * in-memory transport (ranged requests, JSON on the wire, full validation). Ratio = sync time /
 * the bare cost of verifying those 11,000 signatures with pre-imported keys (goal ≤ 1.5).
 */
export async function syncFigure(): Promise<Figure> {
  const chain = await buildSignedChain(1000, 10);

  // The bare cost, in windows as the validator runs them, so both keep the same work in flight.
  const subtle = globalThis.crypto.subtle;
  const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  const keys = new Map<string, CryptoKey>();
  const jobs: { key: string; data: Uint8Array; signature: Uint8Array }[] = [];
  for (const block of chain) {
    jobs.push({
      key: block.forger,
      data: blockSigningBytes(block),
      signature: signatureHexToBytes(block.signature) as Uint8Array,
    });
    for (const tx of block.transactions) {
      jobs.push({
        key: tx.senderPublicKey,
        data: transactionSigningBytes(tx),
        signature: signatureHexToBytes(tx.signature) as Uint8Array,
      });
    }
  }
  for (const { key } of jobs) {
    if (!keys.has(key))
      keys.set(
        key,
        await subtle.importKey('spki', parsePublicKeyPem(key).der as BufferSource, algorithm, false, [
          'verify',
        ]),
      );
  }
  const bare = async () => {
    for (let i = 0; i < jobs.length; i += 4096) {
      const window = jobs.slice(i, i + 4096);
      const results = await Promise.all(
        window.map((j) =>
          subtle.verify(
            algorithm,
            keys.get(j.key) as CryptoKey,
            j.signature as BufferSource,
            j.data as BufferSource,
          ),
        ),
      );
      if (!results.every(Boolean)) throw new Error('bare verification failed');
    }
  };

  const syncOnce = (): Promise<number> => syncChainOnce(chain);

  await bare();
  const bareTimes: number[] = [];
  const syncTimes: number[] = [];
  for (let i = 0; i < 3; i++) {
    let t = performance.now();
    await bare();
    bareTimes.push(performance.now() - t);
    syncTimes.push(await syncOnce());
    t = performance.now();
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const syncMs = median(syncTimes);
  const bareMs = median(bareTimes);
  return {
    name: 'sync-1000x10',
    value: round(syncMs, 0),
    unit: 'ms',
    ratio: round(syncMs / bareMs, 3),
    note: `sync time / bare verify of 11,000 signatures (${round(bareMs, 0)} ms); goal ≤ 1.5`,
  };
}

/** One sync of `chain` by a fresh node from a peer holding it; returns the real time in ms. */
export async function syncChainOnce(chain: readonly Block[]): Promise<number> {
  const { nodes, runUntil } = network(['source', 'fresh'], {}, 8);
  const [source, fresh] = nodes as [TabchainNode, TabchainNode];
  await source.start();
  const imported = await source.importChain([{ ...GENESIS_BLOCK }, ...chain]);
  if (!imported.adopted) throw new Error(`setup: ${imported.error?.message}`);
  const start = performance.now();
  await fresh.start();
  await runUntil(() => fresh.getSnapshot().height === chain.length);
  const ms = performance.now() - start;
  await source.stop();
  await fresh.stop();
  return ms;
}
