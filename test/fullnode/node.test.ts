import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSignalingServer, type SignalingServer } from '../../signaling/server';
import { canonicalPublicKeyPem } from '../../src/crypto';
import {
  chainOf,
  getJson,
  type NodeProcess,
  RECORDED_REQUESTS,
  runReferenceClient,
  startNodeProcess,
  VECTOR_KEYS,
  verifyChainFile,
  waitUntil,
} from './harness';

// Two always-on nodes as the reference runs them (`Main.py ... 5000 genesisPrivateKey.pem` and a
// second one with the staker's key), here `npm run node` over real WebRTC (@roamhq/wrtc) through
// our signaling server, on the vectors' genesis key. The reference's recorded Interaction.py
// requests go to the first; both end on one chain where the staker holds 73 and stakes 25. Then
// the staker's node is stopped with SIGTERM and started again on its --data: it keeps its chain,
// and a transfer posted to it by our Python client lands on both.

const GENESIS_PUBLIC = join(VECTOR_KEYS, 'genesisPublicKey.pem');
const keyFile = (name: string) => join(VECTOR_KEYS, `${name}PrivateKey.pem`);

let dir: string;
let signaling: SignalingServer;
let signalingUrl: string;
let genesisFile: string;
let genesisNode: NodeProcess | undefined;
let stakerNode: NodeProcess | undefined;
let staker: string;
let bob: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tabchain-fullnode-'));
  signaling = createSignalingServer({ host: '127.0.0.1', port: 0, heartbeatMs: 1000 });
  signalingUrl = `http://127.0.0.1:${(await signaling.start()).port}/`;
  genesisFile = join(dir, 'genesis.json');
  // A room of its own: no other test's peers in it.
  await writeFile(
    genesisFile,
    JSON.stringify({ network: 'fullnode-test', genesisPublicKey: await readFile(GENESIS_PUBLIC, 'utf8') }),
  );
  staker = canonicalPublicKeyPem(await readFile(join(VECTOR_KEYS, 'stakerPublicKey.pem'), 'utf8'));
  bob = canonicalPublicKeyPem(await readFile(join(VECTOR_KEYS, 'bobPublicKey.pem'), 'utf8'));
});

afterAll(async () => {
  await Promise.all([genesisNode?.stop('SIGKILL'), stakerNode?.stop('SIGKILL')]);
  await signaling?.stop();
  await rm(dir, { recursive: true, force: true });
});

const nodeArgs = (name: string, data: string) => [
  '--signaling',
  signalingUrl,
  '--genesis',
  genesisFile,
  '--key',
  keyFile(name),
  '--api-port',
  '0',
  '--data',
  join(dir, data),
];

/** Both nodes' chains: the same head at `height` at least, and nothing pending. */
async function converged(nodes: readonly NodeProcess[], height: number): Promise<boolean> {
  const chains = await Promise.all(nodes.map((node) => chainOf(node.apiUrl)));
  const pools = await Promise.all(
    nodes.map((node) => getJson<Record<string, unknown>>(node.apiUrl, 'transactionPool')),
  );
  return (
    chains.every((chain) => chain.height >= height && chain.head === chains[0]?.head) &&
    pools.every((pool) => Object.keys(pool).length === 0)
  );
}

/** `verify-chain` over a node's `GET /blockchain`. */
async function verified(node: NodeProcess) {
  const file = join(dir, `chain-${Date.now()}.json`);
  await writeFile(file, (await chainOf(node.apiUrl)).text);
  return verifyChainFile(file, GENESIS_PUBLIC);
}

describe('two always-on nodes driven by the reference client', () => {
  it("replays the reference's recorded requests: the staker ends with 73 and 25 staked", async () => {
    [genesisNode, stakerNode] = await Promise.all([
      startNodeProcess(nodeArgs('genesis', 'genesis')),
      startNodeProcess(nodeArgs('staker', 'staker')),
    ]);
    const nodes = [genesisNode, stakerNode];
    await waitUntil('the nodes to meet', async () => {
      const views = await Promise.all(
        nodes.map((node) => getJson<{ peers: unknown[] }>(node.apiUrl, 'api/peers')),
      );
      return views.every((view) => view.peers.length >= 1);
    });

    const replay = await runReferenceClient(genesisNode.apiUrl, ['replay', RECORDED_REQUESTS]);
    expect(replay.code, `${replay.stdout}${replay.stderr}`).toBe(0);
    expect(replay.stdout.match(/-> 201 \{"message": "Received transaction"\}/g)).toHaveLength(6);

    await waitUntil('both nodes to hold every transaction on one head', () => converged(nodes, 2));
    const { code, report } = await verified(stakerNode);
    expect(code).toBe(0);
    expect(report.valid).toBe(true);
    expect(report.balances[staker]).toBe(73);
    expect(report.stakes[staker]).toBe(25);
    expect((await verified(genesisNode)).report.head).toBe(report.head);
  });

  it('a node stopped with SIGTERM exits 0, restarts on its --data with its chain, and keeps working', async () => {
    if (!genesisNode || !stakerNode) throw new Error('the first test started no nodes');
    const before = await chainOf(stakerNode.apiUrl);
    expect(await stakerNode.stop('SIGTERM')).toBe(0);
    expect(stakerNode.output()).toMatch(/tabchain node: stopped/);

    stakerNode = await startNodeProcess(nodeArgs('staker', 'staker'));
    // Its chain is back as soon as its API answers, before it has met any peer.
    const restored = await chainOf(stakerNode.apiUrl);
    expect([restored.height, restored.head]).toEqual([before.height, before.head]);

    const nodes = [genesisNode, stakerNode];
    await waitUntil('the nodes to meet again', async () => {
      const view = await getJson<{ peers: unknown[] }>(stakerNode?.apiUrl ?? '', 'api/peers');
      return view.peers.length >= 1;
    });
    const sent = await runReferenceClient(stakerNode.apiUrl, ['send', 'TRANSFER', 'staker', 'bob', '1']);
    expect(sent.code, `${sent.stdout}${sent.stderr}`).toBe(0);
    await waitUntil('the transfer on both nodes', () => converged(nodes, before.height + 1));
    const { report } = await verified(genesisNode);
    expect(report.valid).toBe(true);
    expect(report.balances[staker]).toBe(72);
    expect(report.balances[bob]).toBe(1);
  });

  it('refuses, with exit 1 and a reason, a --data another node holds and a --key that is no key', async () => {
    if (!genesisNode) throw new Error('the first test started no nodes');
    await expect(startNodeProcess(nodeArgs('genesis', 'genesis'), 30_000)).rejects.toThrow(
      /exited \(1\)[\s\S]*another process \(a node already running on this --data directory\?\) holds it/,
    );
    const notAKey = [...nodeArgs('genesis', 'other')];
    notAKey[notAKey.indexOf('--key') + 1] = genesisFile;
    await expect(startNodeProcess(notAKey, 30_000)).rejects.toThrow(
      /exited \(1\)[\s\S]*is not an RSA private key PEM/,
    );
  });

  it('serves its API while the signaling server is away, and still stops at once on SIGTERM', async () => {
    const args = nodeArgs('genesis', 'alone');
    // Port 9 (discard) on loopback: nothing listens, so the transport keeps retrying.
    args[args.indexOf('--signaling') + 1] = 'http://127.0.0.1:9/';
    const alone = await startNodeProcess(args);
    const text = await (await fetch(new URL('info', alone.apiUrl))).text();
    expect(text).toMatch(/communication interface/);
    expect(await alone.stop('SIGTERM')).toBe(0);
  });
});
