import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  devnetJsonFor,
  devnetJsonWith,
  devnetProfileMiddleware,
  networkNameFor,
  readIceFlags,
  readProfileFlag,
} from '../../scripts/devnet-profile';
import { decodeDevnet } from '../../src/ui/decoders';

const ROOT = join(import.meta.dirname, '..', '..');
const DEVNET_FILE = join(ROOT, 'public', 'devnet.json');
const devnetText = readFileSync(DEVNET_FILE, 'utf8');

describe('npm start --profile', () => {
  it('reads the flag: reference by default, a known profile, and refuses anything else', () => {
    expect(readProfileFlag(undefined)).toBe('reference');
    expect(readProfileFlag('reference')).toBe('reference');
    expect(readProfileFlag('resilient')).toBe('resilient');
    expect(() => readProfileFlag('Resilient')).toThrow(/--profile must be one of reference, resilient/);
    expect(() => readProfileFlag('')).toThrow(/not ""/);
  });

  it('serves public/devnet.json unchanged on reference, and with the profile and its own network on resilient', () => {
    expect(devnetJsonFor(devnetText, 'reference')).toBe(devnetText);
    const resilientText = devnetJsonFor(devnetText, 'resilient');
    const decodedReference = decodeDevnet(JSON.parse(devnetText));
    const decodedResilient = decodeDevnet(JSON.parse(resilientText ?? 'null'));
    if (!decodedReference.ok || !decodedResilient.ok) throw new Error('devnet.json does not decode');
    expect(decodedReference.value.profile).toBeUndefined();
    expect(decodedResilient.value.profile).toBe('resilient');
    expect(decodedResilient.value.network).toBe('tabchain-devnet-resilient');
    expect(decodedResilient.value.network).not.toBe(decodedReference.value.network);
    // Everything else (keys, key files, warning) is the reference devnet's.
    expect({ ...decodedResilient.value, network: '', profile: undefined }).toEqual({
      ...decodedReference.value,
      network: '',
      profile: undefined,
    });
    expect(networkNameFor('x', 'reference')).toBe('x');
    expect(devnetJsonFor('not json', 'resilient')).toBeNull();
    expect(devnetJsonFor('{"genesisPublicKey": "k"}', 'resilient')).toBeNull();
  });

  it('reads --stun and --turn into RTCIceServer entries, and refuses what a browser would', () => {
    expect(readIceFlags({})).toEqual([]);
    expect(
      readIceFlags({
        stun: ['stun:10.0.0.1:3478'],
        turn: ['turn:10.0.0.1:3478?transport=udp, turns:10.0.0.1:5349', 'turn:10.0.0.2'],
        'turn-user': 'u',
        'turn-credential': 'c',
      }),
    ).toEqual([
      { urls: 'stun:10.0.0.1:3478' },
      { urls: 'turn:10.0.0.1:3478?transport=udp', username: 'u', credential: 'c' },
      { urls: 'turns:10.0.0.1:5349', username: 'u', credential: 'c' },
      { urls: 'turn:10.0.0.2', username: 'u', credential: 'c' },
    ]);
    expect(() => readIceFlags({ stun: ['turn:10.0.0.1'] })).toThrow(/--stun takes stun: or stuns: URLs/);
    expect(() => readIceFlags({ turn: ['stun:10.0.0.1'], 'turn-user': 'u', 'turn-credential': 'c' })).toThrow(
      /--turn takes turn: or turns: URLs/,
    );
    expect(() => readIceFlags({ turn: ['turn:10.0.0.1'] })).toThrow(
      /--turn needs --turn-user and --turn-credential/,
    );
    expect(() => readIceFlags({ turn: ['turn:10.0.0.1'], 'turn-user': 'u', 'turn-credential': '' })).toThrow(
      /--turn needs/,
    );
    expect(() => readIceFlags({ 'turn-user': 'u' })).toThrow(/need --turn/);
    expect(() => readIceFlags({ stun: Array.from({ length: 17 }, (_, i) => `stun:10.0.0.${i}`) })).toThrow(
      /at most 16/,
    );
  });

  it('serves iceServers beside the profile, and the file unchanged when nothing is overridden', () => {
    const iceServers = [{ urls: 'turn:10.0.0.1', username: 'u', credential: 'c' }];
    expect(devnetJsonWith(devnetText, { profile: 'reference', iceServers: [] })).toBe(devnetText);
    const reference = JSON.parse(devnetJsonWith(devnetText, { profile: 'reference', iceServers }) ?? 'null');
    expect(reference).toEqual({ ...JSON.parse(devnetText), iceServers });
    const resilient = JSON.parse(devnetJsonWith(devnetText, { profile: 'resilient', iceServers }) ?? 'null');
    expect(resilient).toMatchObject({
      network: 'tabchain-devnet-resilient',
      profile: 'resilient',
      iceServers,
    });
    // ICE servers in the file itself are replaced, not merged.
    const withOwn = JSON.stringify({ network: 'n', iceServers: [{ urls: 'stun:old' }] });
    expect(
      JSON.parse(devnetJsonWith(withOwn, { profile: 'reference', iceServers }) ?? 'null').iceServers,
    ).toEqual(iceServers);
    expect(devnetJsonWith('[]', { profile: 'reference', iceServers })).toBeNull();
  });

  describe('the middleware', () => {
    const dir = mkdtempSync(join(tmpdir(), 'devnet-profile-'));
    const file = join(dir, 'devnet.json');
    let server: Server;
    let base = '';
    const start = async () => {
      const middleware = devnetProfileMiddleware('resilient', file);
      server = createServer((req, res) =>
        middleware(req, res, () => {
          res.statusCode = 418;
          res.end('next');
        }),
      );
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    };
    afterAll(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

    it('answers /devnet.json from the file at each request, and passes everything else on', async () => {
      await start();
      writeFileSync(file, devnetText);
      const answer = await fetch(`${base}/devnet.json?t=1`);
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toContain('application/json');
      expect(answer.headers.get('cache-control')).toBe('no-store');
      expect(await answer.json()).toMatchObject({
        network: 'tabchain-devnet-resilient',
        profile: 'resilient',
      });
      // A regenerated file shows at the next request.
      writeFileSync(file, JSON.stringify({ network: 'other', genesisPublicKey: 'k' }));
      expect(await (await fetch(`${base}/devnet.json`)).json()).toEqual({
        network: 'other-resilient',
        profile: 'resilient',
        genesisPublicKey: 'k',
      });
      expect((await fetch(`${base}/index.html`)).status).toBe(418);
      expect((await fetch(`${base}/devnet.json`, { method: 'POST' })).status).toBe(418);
      // A broken file is left to the static server (the tab then reports it as broken).
      writeFileSync(file, '{');
      expect((await fetch(`${base}/devnet.json`)).status).toBe(418);
    });
  });

  /** Runs scripts/start.mjs with `args` until it prints its URL line or exits. */
  function startDevnet(
    args: string[],
  ): Promise<{ child: ChildProcess; url: string | null; code: number | null; output: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [join(ROOT, 'scripts', 'start.mjs'), ...args], {
        cwd: ROOT,
        env: { ...process.env, PORT: '0', HOST: '127.0.0.1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const match = /^tabchain devnet: (http:\/\/localhost:\d+\/)$/m.exec(output);
        if (match?.[1]) resolve({ child, url: match[1], code: null, output });
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('exit', (code) => resolve({ child, url: null, code, output }));
    });
  }

  it('exits 2 with a clear message on an unknown profile', async () => {
    const run = await startDevnet(['--profile', 'fast']);
    expect(run.url).toBeNull();
    expect(run.code).toBe(2);
    expect(run.output).toContain('--profile must be one of reference, resilient, not "fast"');
  });

  it('serves a resilient devnet: the URL line as before, and /devnet.json names the profile', async () => {
    const run = await startDevnet(['--profile', 'resilient']);
    try {
      expect(run.url).toMatch(/^http:\/\/localhost:\d+\/$/);
      const served = (await (await fetch(`${run.url}devnet.json`)).json()) as Record<string, unknown>;
      expect(served.profile).toBe('resilient');
      expect(served.network).toBe('tabchain-devnet-resilient');
      // The app is served beside it.
      expect(await (await fetch(`${run.url}`)).text()).toContain('<div id="root">');
    } finally {
      if (run.code === null) {
        const exited = new Promise((resolve) => run.child.once('exit', resolve));
        run.child.kill('SIGTERM');
        await exited;
      }
    }
  });
});
