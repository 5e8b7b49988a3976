import { type ChildProcess, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lanAddresses, subjectAltNames } from '../../scripts/lan-cert';

const ROOT = join(import.meta.dirname, '..', '..');

interface Devnet {
  readonly child: ChildProcess;
  readonly url: string | null;
  readonly code: number | null;
  /** stdout and stderr so far. */
  output(): string;
  stop(): Promise<void>;
}

/** Runs scripts/start.mjs with `args` until it prints its URL line (and the lines after it) or exits. */
function startDevnet(args: string[], env: Record<string, string> = {}): Promise<Devnet> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'scripts', 'start.mjs'), ...args], {
      cwd: ROOT,
      env: { ...process.env, PORT: '0', HOST: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const stop = async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      await exited;
    };
    const devnet = (url: string | null, code: number | null): Devnet => ({
      child,
      url,
      code,
      output: () => output,
      stop,
    });
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /^tabchain devnet: (https?:\/\/[^\s/]+\/)$/m.exec(output);
      // With --lan the guide follows the URL line: wait for its last line.
      const complete = !args.includes('--lan') || output.includes('do not proceed.');
      if (match?.[1] && complete) resolve(devnet(match[1], null));
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => resolve(devnet(null, code)));
  });
}

/** GET over HTTPS trusting only `ca`; rejects when the served certificate does not verify for the host. */
function httpsText(url: string, ca: string): Promise<{ status: number; body: string; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const request = httpsGet(url, { ca }, (res) => {
      const socket = res.socket as import('node:tls').TLSSocket;
      const fingerprint = socket.getPeerX509Certificate()?.fingerprint256 ?? '';
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, fingerprint }));
    });
    request.on('error', reject);
  });
}

const running: Devnet[] = [];
afterAll(async () => {
  await Promise.all(running.map((devnet) => devnet.stop()));
});

describe('npm start', () => {
  it('serves a production build: hashed assets, no Vite client, page routes get index.html', async () => {
    const devnet = await startDevnet([]);
    running.push(devnet);
    expect(devnet.url, devnet.output()).toMatch(/^http:\/\/localhost:\d+\/$/);
    const base = devnet.url as string;
    const page = await (await fetch(base)).text();
    expect(page).toContain('<div id="root">');
    expect(page).not.toContain('/@vite/client');
    const script = /<script type="module" crossorigin src="(\/assets\/index-[\w-]+\.js)">/.exec(page)?.[1];
    expect(script, page).toBeDefined();
    const asset = await fetch(new URL(script as string, base));
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    const code = await asset.text();
    // A minified build, not Vite's transformed modules.
    expect(code.includes('import.meta.hot'), 'the script has HMR code').toBe(false);
    expect(code.length).toBeGreaterThan(100_000);
    expect((await fetch(new URL('/@vite/client', base))).status).toBe(404);
    // node-forge's provider and PeerJS are chunks of their own, not in the page's script.
    // (The page's script names them; it is not printed on failure: it is ~800 kB.)
    expect(/forge-[\w-]+\.js/.test(code), 'the script imports a forge chunk').toBe(true);
    expect(/peerjs-[\w-]+\.js/.test(code), 'the script imports a PeerJS chunk').toBe(true);
    expect(code.includes('PeerJS'), 'PeerJS is in the page script').toBe(false);
    // A page route of the single-page app gets index.html; a missing file stays 404.
    const route = await fetch(new URL('/some/page', base), { headers: { accept: 'text/html' } });
    expect(await route.text()).toContain('<div id="root">');
    expect((await fetch(new URL('/assets/missing.js', base))).status).toBe(404);
    // devnet.json and the devnet keys are public/'s own files.
    const devnetJson = await (await fetch(new URL('/devnet.json', base))).text();
    expect(devnetJson).toBe(readFileSync(join(ROOT, 'public', 'devnet.json'), 'utf8'));
    await devnet.stop();
  });

  it('--stun and --turn serve iceServers in /devnet.json; a bad ICE flag exits 2', async () => {
    const devnet = await startDevnet([
      '--stun',
      'stun:127.0.0.1:3478',
      '--turn',
      'turn:127.0.0.1:3478?transport=udp,turns:127.0.0.1:5349',
      '--turn-user',
      'teacher',
      '--turn-credential',
      'secret',
    ]);
    running.push(devnet);
    expect(devnet.url, devnet.output()).not.toBeNull();
    const served = (await (await fetch(new URL('/devnet.json', devnet.url as string))).json()) as Record<
      string,
      unknown
    >;
    expect(served.network).toBe('tabchain-devnet');
    expect(served.iceServers).toEqual([
      { urls: 'stun:127.0.0.1:3478' },
      { urls: 'turn:127.0.0.1:3478?transport=udp', username: 'teacher', credential: 'secret' },
      { urls: 'turns:127.0.0.1:5349', username: 'teacher', credential: 'secret' },
    ]);
    await devnet.stop();

    const bad = await startDevnet(['--turn', 'http://127.0.0.1:3478']);
    expect(bad.url).toBeNull();
    expect(bad.code).toBe(2);
    expect(bad.output()).toContain('--turn takes turn: or turns: URLs');
  });

  describe('--lan', () => {
    const certDir = join(mkdtempSync(join(tmpdir(), 'tabchain-lan-')), 'cert');
    afterAll(() => rmSync(join(certDir, '..'), { recursive: true, force: true }));

    it('serves HTTPS on every interface with a self-signed certificate for every address, and a guide', async () => {
      const devnet = await startDevnet(['--lan'], { TABCHAIN_LAN_CERT_DIR: certDir });
      running.push(devnet);
      const output = devnet.output();
      expect(devnet.url, output).toMatch(/^https:\/\//);
      const cert = readFileSync(join(certDir, 'cert.pem'), 'utf8');
      const names = subjectAltNames(cert);
      expect(names).toContain('DNS:localhost');
      expect(names).toContain('IP Address:127.0.0.1');
      const lan = lanAddresses();
      for (const address of lan) expect(names).toContain(`IP Address:${address}`);
      // The URL line names the first LAN address (loopback where there is none); every one is listed.
      const port = new URL(devnet.url as string).port;
      expect(devnet.url).toBe(`https://${lan[0] ?? 'localhost'}:${port}/`);
      for (const address of lan) expect(output).toContain(`tabchain devnet lan: https://${address}:${port}/`);
      // The served certificate verifies for localhost and 127.0.0.1 against itself alone.
      const fingerprint = new X509Certificate(cert).fingerprint256;
      for (const host of ['localhost', '127.0.0.1']) {
        const answer = await httpsText(`https://${host}:${port}/`, cert);
        expect(answer.status).toBe(200);
        expect(answer.body).toContain('<div id="root">');
        expect(answer.fingerprint).toBe(fingerprint);
      }
      // The teacher is told what browsers say, how to get past it, and what fingerprint to compare.
      expect(output).toContain('NET::ERR_CERT_AUTHORITY_INVALID');
      expect(output).toContain('Accept the Risk and Continue');
      expect(output).toContain('This Connection Is Not Private');
      expect(output).toContain(`SHA-256 fingerprint). It must read:\n  ${fingerprint}\n`);
      expect(output).toContain('made now');
      if (lan.length > 0) expect(output).toMatch(/█/); // the QR code
      // A plain-http request to the HTTPS port gets no page.
      await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
      await devnet.stop();
    });

    it('reuses the certificate on the next start', async () => {
      const before = readFileSync(join(certDir, 'cert.pem'), 'utf8');
      const devnet = await startDevnet(['--lan'], { TABCHAIN_LAN_CERT_DIR: certDir });
      running.push(devnet);
      expect(devnet.url, devnet.output()).toMatch(/^https:\/\//);
      expect(readFileSync(join(certDir, 'cert.pem'), 'utf8')).toBe(before);
      expect(devnet.output()).toContain('the one made before');
      const answer = await httpsText(`https://127.0.0.1:${new URL(devnet.url as string).port}/`, before);
      expect(answer.fingerprint).toBe(new X509Certificate(before).fingerprint256);
      await devnet.stop();
    });
  });
});
