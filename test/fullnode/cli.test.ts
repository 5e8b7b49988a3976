import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_API_PORT, DEFAULT_SIGNALING_URL, parseNodeArgs } from '../../fullnode/args';
import { DEFAULT_NETWORK, decodeNetworkConfig, resolveNetworkConfig } from '../../fullnode/genesis';
import { renderSyncBar, SyncProgressBar } from '../../fullnode/progress';
import { loadWrtc } from '../../fullnode/wrtc';
import { canonicalPublicKeyPem } from '../../src/crypto';

const ROOT = join(import.meta.dirname, '..', '..');
const DEVNET_FILE = join(ROOT, 'public', 'devnet.json');
const VECTORS_GENESIS = join(ROOT, 'test', 'vectors', 'keys', 'genesisPublicKey.pem');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tabchain-cli-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the command line', () => {
  it('has the defaults of the reference and npm start', () => {
    const args = parseNodeArgs([]);
    expect(args).toMatchObject({
      ok: true,
      value: { signalingUrl: DEFAULT_SIGNALING_URL, apiPort: DEFAULT_API_PORT, keyFile: undefined },
    });
  });

  it('reads every flag', () => {
    const args = parseNodeArgs([
      '--signaling',
      'http://127.0.0.1:4000/app',
      '--key',
      'k.pem',
      '--api-port',
      '0',
      '--data',
      'd',
      '--genesis',
      'g.json',
    ]);
    expect(args).toEqual({
      ok: true,
      value: {
        signalingUrl: 'http://127.0.0.1:4000/',
        keyFile: 'k.pem',
        apiPort: 0,
        apiHost: '127.0.0.1',
        dataDir: 'd',
        genesisFile: 'g.json',
        help: false,
      },
    });
  });

  it.each([
    [['--api-port', '70000'], /--api-port/],
    [['--api-port', '5e3'], /--api-port/],
    [['--signaling', 'ws://x/'], /--signaling/],
    [['--signaling', 'not a url'], /--signaling/],
    [['--wat'], /Unknown option/],
    [['extra'], /positional/],
    [['--key', ''], /--key needs a value/],
  ])('refuses %j', (argv, message) => {
    const args = parseNodeArgs(argv);
    expect(args.ok).toBe(false);
    if (!args.ok) expect(args.error).toMatch(message);
  });
});

describe('the genesis config', () => {
  it('reads devnet.json as a network: its room and its genesis key', async () => {
    const devnet = JSON.parse(await readFile(DEVNET_FILE, 'utf8')) as {
      network: string;
      genesisPublicKey: string;
    };
    const config = decodeNetworkConfig(devnet, 'devnet.json');
    expect(config).toMatchObject({
      ok: true,
      value: { network: devnet.network, genesis: { genesisPublicKey: devnet.genesisPublicKey } },
    });
  });

  it('normalises the key and keeps profile and stake cap; the room defaults to the devnet', async () => {
    const pem = await readFile(VECTORS_GENESIS, 'utf8');
    const messy = `${pem.replace(/\n/g, '\r\n')}\r\n`;
    const config = decodeNetworkConfig(
      { profile: 'resilient', genesisPublicKey: messy, maxTotalStake: 500 },
      'g.json',
    );
    expect(config).toEqual({
      ok: true,
      value: {
        network: DEFAULT_NETWORK,
        genesis: { profile: 'resilient', genesisPublicKey: canonicalPublicKeyPem(pem), maxTotalStake: 500 },
        source: 'g.json',
      },
    });
  });

  it.each([
    [{}, /genesisPublicKey/],
    [{ genesisPublicKey: 'not a key' }, /not an RSA public key/],
    [{ genesisPublicKey: 'x', profile: 'fast' }, /profile/],
    [{ genesisPublicKey: 'x', maxTotalStake: 0 }, /maxTotalStake/],
    [[], /expected object/],
  ])('refuses %j', (value, message) => {
    const config = decodeNetworkConfig(value, 'g.json');
    expect(config.ok).toBe(false);
    if (!config.ok) expect(config.error).toMatch(message);
  });

  it('prefers --genesis, then the server, then the local file (saying why)', async () => {
    const pem = await readFile(VECTORS_GENESIS, 'utf8');
    const file = join(dir, 'genesis.json');
    await writeFile(file, JSON.stringify({ network: 'from-file', genesisPublicKey: pem }));
    const served = JSON.stringify({ network: 'from-server', genesisPublicKey: pem });
    const serving: typeof fetch = async () =>
      new Response(served, { headers: { 'content-type': 'application/json' } });
    const html: typeof fetch = async () =>
      new Response('<html>', { headers: { 'content-type': 'text/html' } });
    const base = { signalingUrl: 'http://127.0.0.1:1/', fallbackFile: DEVNET_FILE };

    const fromFile = await resolveNetworkConfig({ ...base, genesisFile: file, fetchImpl: serving });
    expect(fromFile.ok && fromFile.value.network).toBe('from-file');
    const fromServer = await resolveNetworkConfig({ ...base, genesisFile: undefined, fetchImpl: serving });
    expect(fromServer.ok && [fromServer.value.network, fromServer.value.notice]).toEqual([
      'from-server',
      null,
    ]);
    const fallback = await resolveNetworkConfig({ ...base, genesisFile: undefined, fetchImpl: html });
    expect(fallback.ok && fallback.value.network).toBe('tabchain-devnet');
    expect(fallback.ok && fallback.value.notice).toMatch(
      /serves no devnet configuration.*using .*devnet\.json/,
    );
    const missing = await resolveNetworkConfig({ ...base, genesisFile: join(dir, 'none.json') });
    expect(missing.ok).toBe(false);
  });
});

describe('the sync progress bar', () => {
  const progress = { peer: 'abcdef0123456789', forkHeight: 100, targetHeight: 300, validatedHeight: 150 };

  it('draws the share validated past the fork', () => {
    expect(renderSyncBar(progress, 10)).toBe('sync [###-------] 150/300 from peer abcdef01 (25%)');
    expect(renderSyncBar({ ...progress, validatedHeight: 300 }, 10)).toContain('[##########] 300/300');
  });

  it('redraws one line on a terminal, and writes a line per tenth into a log', () => {
    const terminal: string[] = [];
    const log: string[] = [];
    const onTerminal = new SyncProgressBar({ isTTY: true, write: (text) => terminal.push(text) });
    const intoLog = new SyncProgressBar({ isTTY: false, write: (text) => log.push(text) });
    for (let validated = 100; validated <= 300; validated += 5) {
      onTerminal.update({ ...progress, validatedHeight: validated });
      intoLog.update({ ...progress, validatedHeight: validated });
    }
    onTerminal.update(null);
    intoLog.update(null);
    expect(terminal.every((text) => text.startsWith('\r') || text === '\n')).toBe(true);
    expect(terminal.at(-1)).toBe('\n');
    expect(log).toHaveLength(11);
    expect(log.every((line) => line.endsWith('\n'))).toBe(true);
  });
});

describe('loading WebRTC for Node', () => {
  it('loads @roamhq/wrtc here', async () => {
    const wrtc = await loadWrtc();
    expect(wrtc.ok && typeof wrtc.value.RTCPeerConnection).toBe('function');
  });

  it('turns a missing native binary into a clear message', async () => {
    const wrtc = await loadWrtc('@roamhq/wrtc', async () => {
      throw new Error('Could not find wrtc binary on any of the paths: ../build-linux-x64/wrtc.node');
    });
    expect(wrtc.ok).toBe(false);
    if (!wrtc.ok) {
      expect(wrtc.error).toMatch(/could not be loaded from @roamhq\/wrtc \(Could not find wrtc binary/);
      expect(wrtc.error).toMatch(/native binary is missing/);
    }
  });

  it('refuses a module that is not WebRTC', async () => {
    const wrtc = await loadWrtc('left-pad', async () => ({ default: () => '' }));
    expect(wrtc.ok).toBe(false);
  });

  it('the node exits 1 with that message, at once, when the binary cannot load', async () => {
    const started = performance.now();
    const run = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        join(ROOT, 'node_modules', '.bin', 'tsx'),
        [join(ROOT, 'fullnode', 'cli.ts'), '--data', join(dir, 'data')],
        { env: { ...process.env, TABCHAIN_WRTC_MODULE: '@roamhq/wrtc-no-such-build' }, timeout: 30_000 },
        (error, _stdout, stderr) =>
          resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stderr }),
      );
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/WebRTC for Node could not be loaded from @roamhq\/wrtc-no-such-build/);
    // Not a hang cut short by the timeout: it gave up on its own.
    expect(performance.now() - started).toBeLessThan(30_000);
  });
});
