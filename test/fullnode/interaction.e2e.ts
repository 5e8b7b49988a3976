import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalPublicKeyPem } from '../../src/crypto';
import { type AppTab, headHash, openApp, waitForHeight, waitForPeers } from '../e2e/app-driver';
import { launchChromium, newContext } from '../e2e/browser';
import {
  chainOf,
  getJson,
  type NodeProcess,
  ROOT,
  runReferenceClient,
  startNodeProcess,
  VECTOR_KEYS,
  verifyChainFile,
  waitUntil,
} from './harness';

// Issue 13's "reference's client, as it speaks" and "a node restart", end to end: `npm start
// --node-key` runs the devnet with an always-on node on the devnet's genesis key; a second node
// (`npm run node`) holds the staker's key; one Chromium tab joins. Our Python client
// (scripts/reference-client.py, Debian's python3) replays the reference's Interaction.py against
// the genesis node's API. Both nodes' GET /blockchain verify under verify-chain with the staker at
// 73 coins and 25 staked, and the tab shows the same head. Then the staker's node is stopped
// (SIGTERM) and started again on its --data: it keeps its chain, and a transfer posted to it
// after the restart lands on both nodes and the tab.
//
// The APIs listen on free ports (port 0), not the reference's 5000 and 5001: other runs on this
// machine may hold those.

/** `npm start` (scripts/start.mjs) with an always-on node; resolves with both printed URLs. */
function startDevnetWithNode(
  keyFile: string,
  dataDir: string,
): Promise<{ url: string; nodeApi: string; process: ChildProcess; output: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        join(ROOT, 'scripts', 'start.mjs'),
        '--node-key',
        keyFile,
        '--node-api-port',
        '0',
        '--node-data',
        dataDir,
      ],
      { cwd: ROOT, env: { ...process.env, PORT: '0', HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    const timer = setTimeout(() => reject(new Error(`npm start printed no URLs:\n${output}`)), 120_000);
    const check = () => {
      const devnet = /^tabchain devnet: (http:\/\/localhost:\d+\/)$/m.exec(output);
      const node = /^tabchain node: api (http:\/\/\S+\/)$/m.exec(output);
      if (devnet?.[1] && node?.[1]) {
        clearTimeout(timer);
        resolve({ url: devnet[1], nodeApi: node[1], process: child, output: () => output });
      }
    };
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      check();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${output}`)));
  });
}

describe('the reference client drives always-on nodes and a tab', () => {
  let dir: string;
  let devnet: Awaited<ReturnType<typeof startDevnetWithNode>> | undefined;
  let stakerNode: NodeProcess | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let tab: AppTab;
  let staker: string;
  let bob: string;
  let genesisApi: string;
  let signalingUrl: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tabchain-fullnode-e2e-'));
    staker = canonicalPublicKeyPem(await readFile(join(VECTOR_KEYS, 'stakerPublicKey.pem'), 'utf8'));
    bob = canonicalPublicKeyPem(await readFile(join(VECTOR_KEYS, 'bobPublicKey.pem'), 'utf8'));
    [devnet, browser] = await Promise.all([
      startDevnetWithNode(join(ROOT, 'public', 'keys', 'genesisPrivateKey.pem'), join(dir, 'genesis')),
      launchChromium(),
    ]);
    genesisApi = devnet.nodeApi;
    signalingUrl = devnet.url.replace('localhost', '127.0.0.1');
    context = await newContext(browser);
  });

  afterAll(async () => {
    await browser?.close();
    await stakerNode?.stop('SIGTERM');
    if (devnet?.process.exitCode === null) {
      const exited = new Promise((resolve) => devnet?.process.once('exit', resolve));
      devnet.process.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  });

  const stakerArgs = () => [
    '--signaling',
    signalingUrl,
    '--key',
    join(VECTOR_KEYS, 'stakerPrivateKey.pem'),
    '--api-port',
    '0',
    '--data',
    join(dir, 'staker'),
  ];

  /** Both nodes on one head at `height` at least, with empty pools; that head's verify-chain report. */
  async function settled(height: number) {
    const apis = [genesisApi, stakerNode?.apiUrl ?? ''];
    await waitUntil(`both nodes at height ${height} with empty pools`, async () => {
      const chains = await Promise.all(apis.map((api) => chainOf(api)));
      const pools = await Promise.all(apis.map((api) => getJson<object>(api, 'transactionPool')));
      return (
        chains.every((chain) => chain.height >= height && chain.head === chains[0]?.head) &&
        pools.every((pool) => Object.keys(pool).length === 0)
      );
    });
    const reports = [];
    for (const api of apis) {
      const file = join(dir, `chain-${reports.length}-${Date.now()}.json`);
      await writeFile(file, (await chainOf(api)).text);
      // The devnet's genesis key: verify-chain's default.
      reports.push(await verifyChainFile(file));
    }
    const [first, second] = reports;
    if (!first || !second) throw new Error('no reports');
    expect([first.code, second.code]).toEqual([0, 0]);
    expect(second.report.head).toBe(first.report.head);
    return first.report;
  }

  it('replays the reference interaction: staker 73 and 25 staked, on the nodes and in the tab', async () => {
    stakerNode = await startNodeProcess(stakerArgs());
    tab = await openApp(context, devnet?.url ?? '');
    // The tab meets both nodes.
    await waitForPeers(tab.page, 2, 60_000);
    await waitUntil('the staker node to meet a peer', async () => {
      const { peers } = await getJson<{ peers: unknown[] }>(stakerNode?.apiUrl ?? '', 'api/peers');
      return peers.length >= 2;
    });

    const run = await runReferenceClient(genesisApi, ['interaction']);
    expect(run.code, `${run.stdout}${run.stderr}`).toBe(0);
    expect(run.stdout.match(/-> 201 \{"message": "Received transaction"\}/g)).toHaveLength(6);

    const report = await settled(2);
    expect(report.valid).toBe(true);
    expect(report.balances[staker]).toBe(73);
    expect(report.stakes[staker]).toBe(25);
    expect(report.balances[bob]).toBe(112);

    await waitForHeight(tab.page, report.height - 1, 30_000);
    await waitUntil(
      'the tab to show the nodes’ head',
      async () => (await headHash(tab.page)) === report.head,
    );
    expect(tab.offMachine).toEqual([]);
    expect(tab.errors).toEqual([]);
  });

  it('a node restarted on its --data keeps its chain, and the tab keeps working through it', async () => {
    if (!stakerNode) throw new Error('the first test started no staker node');
    const before = await chainOf(stakerNode.apiUrl);
    expect(await stakerNode.stop('SIGTERM')).toBe(0);
    stakerNode = await startNodeProcess(stakerArgs());
    const restored = await chainOf(stakerNode.apiUrl);
    expect([restored.height, restored.head]).toEqual([before.height, before.head]);

    await waitUntil('the restarted node to meet its peers again', async () => {
      const { peers } = await getJson<{ peers: unknown[] }>(stakerNode?.apiUrl ?? '', 'api/peers');
      return peers.length >= 2;
    });
    const sent = await runReferenceClient(stakerNode.apiUrl, ['send', 'TRANSFER', 'staker', 'bob', '1']);
    expect(sent.code, `${sent.stdout}${sent.stderr}`).toBe(0);

    const report = await settled(before.height + 1);
    expect(report.balances[staker]).toBe(72);
    expect(report.balances[bob]).toBe(113);
    await waitForHeight(tab.page, report.height - 1, 30_000);
    await waitUntil('the tab to show the new head', async () => (await headHash(tab.page)) === report.head);
    expect(tab.errors).toEqual([]);
  });
});
