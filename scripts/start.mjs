#!/usr/bin/env node
// `npm start`: the local devnet in one process and on one port. The signaling server
// (signaling/server.ts, loaded through tsx) owns the HTTP server: it answers the signaling
// WebSocket at `/` and PeerJS at `/peerjs`, and hands every other request to the app:
// - by default a production build of the app (scripts/production-build.ts): built once at start,
//   rebuilt when a source changes, served from the latest complete build;
// - with `--dev` (`npm run dev`) Vite's dev server in middleware mode, with hot reload; its HMR
//   WebSocket rides on the same HTTP server.
// Prints `tabchain devnet: URL` once everything listens (test/e2e parses that line; other lines
// may follow it) and, on a profile other than `reference`, `tabchain devnet profile: NAME` on stderr.
// `npm start -- --lan`: listens on every interface over HTTPS, with a self-signed certificate made
// on first run and kept in `.tabchain/lan-cert/` (or TABCHAIN_LAN_CERT_DIR; scripts/lan-cert.ts).
// The URL line then names the first LAN address; the teacher's guide follows it (every address, a
// QR code, what browsers say about the certificate, its fingerprint; scripts/lan-guide.ts).
// Connection caps: `npm start -- --max-per-address N --max-per-room N --trust-proxy LIST` (or
// their TABCHAIN_* variables; see signaling/cap-flags.ts).
// `npm start -- --node-key PEM_FILE [--node-api-port N] [--node-data DIR]` also runs one always-on
// node (fullnode/cli.ts, `npm run node`) in this devnet's room, forging with that key, and prints
// its `tabchain node: api http://HOST:N/` line after the devnet's.
// The served /devnet.json (scripts/devnet-profile.ts):
// - `--profile resilient` (default `reference`): names that profile and its own network; an
//   unknown profile exits 2;
// - `--stun URL`, `--turn URL --turn-user U --turn-credential C` (repeat them, or comma lists):
//   `"iceServers"` for every tab; a bad ICE flag exits 2.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { tsImport } from 'tsx/esm/api';
import { createServer } from 'vite';

const root = fileURLToPath(new URL('..', import.meta.url));
const DEFAULT_PORT = 5173;
/** Ports tried after the default one when it is taken (an explicit PORT is never moved). */
const PORT_ATTEMPTS = 10;

/**
 * @typedef {object} Service
 * @property {string} name
 * @property {() => Promise<void>} close
 */

/** Reads PORT: a decimal integer 0..65535 (0 = any free port). */
function portFromEnv(value) {
  if (value === undefined || value === '') return undefined;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new Error(`PORT must be an integer 0..65535, got ${value}`);
  return port;
}

/** Reads TABCHAIN_ORIGINS: extra browser origins allowed to open WebSockets, comma-separated. */
function originsFromEnv(value) {
  return (value ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '');
}

/**
 * The signaling server, listening on `port` (or, unless `strictPort`, the next free one).
 * `middleware` answers every request the server does not (the app).
 */
async function startSignaling({ host, port, strictPort, origins, caps, middleware, https }) {
  const { createSignalingServer } = await tsImport('../signaling/server.ts', import.meta.url);
  for (let attempt = 0; ; attempt++) {
    const signaling = createSignalingServer({
      host,
      port: port === 0 ? 0 : port + attempt,
      origins,
      ...caps,
      middleware,
      ...(https ? { https: { key: https.key, cert: https.cert } } : {}),
      log: (line) => console.error(line),
    });
    try {
      const address = await signaling.start();
      return { signaling, port: address.port };
    } catch (error) {
      await signaling.stop();
      const taken = error instanceof Error && 'code' in error && error.code === 'EADDRINUSE';
      if (!taken || strictPort || port === 0 || attempt + 1 >= PORT_ATTEMPTS) throw error;
    }
  }
}

/** Vite's dev server in middleware mode, its HMR socket on `httpServer`. */
async function startVite(httpServer) {
  return createServer({
    root,
    configFile: VITE_CONFIG,
    // Keep our URL line the first start-up output; warnings and errors still show.
    logLevel: 'warn',
    clearScreen: false,
    appType: 'spa',
    server: { middlewareMode: true, ws: { server: httpServer } },
  });
}

const VITE_CONFIG = fileURLToPath(new URL('../vite.config.ts', import.meta.url));
const PUBLIC_DIR = fileURLToPath(new URL('../public', import.meta.url));
const DEVNET_FILE = join(PUBLIC_DIR, 'devnet.json');

/**
 * Starts every service of the devnet; returns them (closed in reverse order) and the app's port.
 * `devnetMiddleware` answers /devnet.json (when set); `dev` picks Vite's dev server over the
 * production build; `https` is the LAN certificate.
 */
async function startServices({ host, port, strictPort, origins, caps, devnetMiddleware, dev, https }) {
  /** @type {Service[]} */
  const services = [];
  try {
    /** @type {((req: any, res: any, next: any) => void) | undefined} */
    let appMiddleware;
    if (!dev) {
      const { startProductionBuild } = await tsImport('./production-build.ts', import.meta.url);
      const production = await startProductionBuild({
        root,
        configFile: VITE_CONFIG,
        cacheDir: join(root, '.tabchain', 'build'),
        log: (line) => console.error(line),
      });
      services.push({ name: 'build', close: () => production.close() });
      // public/ is served as it is now (a regenerated key shows at once), then the build.
      const express = (await import('express')).default;
      const publicFiles = express.static(PUBLIC_DIR, {
        index: false,
        setHeaders: (res) => res.setHeader('Cache-Control', 'no-cache'),
      });
      appMiddleware = (req, res, next) => publicFiles(req, res, () => production.middleware(req, res, next));
    }
    /** @type {import('vite').ViteDevServer | undefined} */
    let vite;
    // Dev mode binds Vite late: it needs the HTTP server (for HMR) before it exists, and
    // requests may only arrive once both are up.
    const app = (req, res, next) => {
      if (appMiddleware) appMiddleware(req, res, next);
      else if (vite) vite.middlewares(req, res, next);
      else next();
    };
    const middleware = devnetMiddleware
      ? (req, res, next) => devnetMiddleware(req, res, () => app(req, res, next))
      : app;
    const { signaling, port: actualPort } = await startSignaling({
      host,
      port,
      strictPort,
      origins,
      caps,
      middleware,
      https,
    });
    services.push({ name: 'signaling', close: () => signaling.stop() });
    if (dev) {
      vite = await startVite(signaling.httpServer);
      const started = vite;
      services.push({ name: 'vite', close: () => started.close() });
    }
    return { services, port: actualPort };
  } catch (error) {
    await closeAll(services);
    throw error;
  }
}

async function closeAll(services) {
  for (const service of [...services].reverse()) {
    try {
      await service.close();
    } catch (error) {
      console.error(`tabchain: closing ${service.name} failed:`, error);
    }
  }
}

/** The flags of the always-on node beside the devnet. */
const NODE_FLAGS = {
  'node-key': { type: 'string' },
  'node-api-port': { type: 'string' },
  'node-data': { type: 'string' },
};

/** How long the always-on node may take to print its API line, and to stop. */
const NODE_START_TIMEOUT_MS = 60_000;
const NODE_STOP_TIMEOUT_MS = 20_000;

/**
 * Runs one always-on node (fullnode/cli.ts) as a child process that joins the devnet at
 * `signalingUrl` and forges with `key`. A child, so that its native WebRTC and its database stay
 * out of the devnet's process, and a failing node never takes the devnet down. Resolves once it
 * prints its API line (passed through to our stdout); rejects with its output if it exits first.
 * @returns {Promise<Service>}
 */
function startAlwaysOnNode({ key, signalingUrl, apiPort, data, trustCertFile }) {
  const cli = fileURLToPath(new URL('../fullnode/cli.ts', import.meta.url));
  const args = ['--import', 'tsx', cli, '--signaling', signalingUrl, '--key', key];
  if (apiPort !== undefined) args.push('--api-port', apiPort);
  if (data !== undefined) args.push('--data', data);
  // Over --lan's HTTPS the node trusts the devnet's own self-signed certificate, and only that.
  const env = trustCertFile ? { ...process.env, NODE_EXTRA_CA_CERTS: trustCertFile } : process.env;
  const child = spawn(process.execPath, args, {
    cwd: process.cwd(),
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  const close = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), NODE_STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    let output = '';
    let ready = false;
    const timer = setTimeout(() => {
      void close();
      reject(new Error(`the always-on node printed no API line within ${NODE_START_TIMEOUT_MS} ms`));
    }, NODE_START_TIMEOUT_MS);
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      if (ready) return;
      output += chunk.toString();
      if (/^tabchain node: api \S+$/m.test(output)) {
        ready = true;
        clearTimeout(timer);
        resolve({ name: 'always-on node', close });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      if (!ready) reject(new Error(`the always-on node exited (${code}) before its API answered`));
    });
  });
}

/** Exit code for a command line that names no known profile or a bad ICE server. */
const EXIT_USAGE = 2;

/** The flags of `npm start` itself: `--lan` (HTTPS on every interface), `--dev` (Vite's dev server). */
const MODE_FLAGS = {
  lan: { type: 'boolean' },
  dev: { type: 'boolean' },
};

/**
 * The connection caps from the command line and the environment (signaling/cap-flags.ts), the
 * served /devnet.json's override (profile, ICE servers), the always-on node's flags, and the mode.
 */
async function readFlags() {
  const { CAP_FLAGS, readCapFlags } = await tsImport('../signaling/cap-flags.ts', import.meta.url);
  const { PROFILE_FLAG, ICE_FLAGS, readProfileFlag, readIceFlags } = await tsImport(
    './devnet-profile.ts',
    import.meta.url,
  );
  const { values } = parseArgs({
    options: { ...CAP_FLAGS, ...PROFILE_FLAG, ...ICE_FLAGS, ...NODE_FLAGS, ...MODE_FLAGS },
    strict: true,
  });
  const node =
    values['node-key'] === undefined
      ? null
      : { key: values['node-key'], apiPort: values['node-api-port'], data: values['node-data'] };
  if (node === null && (values['node-api-port'] !== undefined || values['node-data'] !== undefined))
    throw new Error('--node-api-port and --node-data need --node-key');
  const iceServers = readIceFlags(values);
  for (const name of [...Object.keys(NODE_FLAGS), ...Object.keys(ICE_FLAGS), ...Object.keys(MODE_FLAGS)])
    delete values[name];
  const { profile: profileFlag, ...capValues } = values;
  const profile = readProfileFlag(profileFlag);
  return { caps: readCapFlags(capValues, process.env), override: { profile, iceServers }, node };
}

/** `--lan` and `--dev`, read apart so that a usage error in the rest still names itself. */
function readMode() {
  const { values } = parseArgs({ options: MODE_FLAGS, strict: false });
  return { lan: values.lan === true, dev: values.dev === true };
}

async function main() {
  let flags;
  try {
    flags = await readFlags();
  } catch (error) {
    if (error instanceof Error && (error.name === 'UnknownProfileError' || error.name === 'IceFlagError')) {
      console.error(`tabchain: ${error.message}`);
      process.exit(EXIT_USAGE);
    }
    throw error;
  }
  const { caps, override, node } = flags;
  const { lan, dev } = readMode();
  const { devnetMiddleware, overridesDevnet } = await tsImport('./devnet-profile.ts', import.meta.url);
  // The production build carries a copy of public/devnet.json from when it was built: the
  // middleware always answers it from the file as it is now. Vite's dev server does that itself.
  const devnetHandler =
    !dev || overridesDevnet(override) ? devnetMiddleware(override, DEVNET_FILE) : undefined;

  let certificate;
  let certDir;
  if (lan) {
    const { lanCertificate } = await tsImport('./lan-cert.ts', import.meta.url);
    certDir = process.env.TABCHAIN_LAN_CERT_DIR || join(root, '.tabchain', 'lan-cert');
    certificate = lanCertificate(certDir);
  }
  // --lan listens on every interface; else loopback, unless HOST says otherwise.
  const host = process.env.HOST || (lan ? '0.0.0.0' : '127.0.0.1');
  const envPort = portFromEnv(process.env.PORT);
  // An explicit PORT must be honoured or fail; the default may move to the next free port.
  const { services, port } = await startServices({
    host,
    port: envPort ?? DEFAULT_PORT,
    strictPort: envPort !== undefined,
    origins: originsFromEnv(process.env.TABCHAIN_ORIGINS),
    caps,
    devnetMiddleware: devnetHandler,
    dev,
    https: certificate,
  });

  const scheme = lan ? 'https' : 'http';
  const localUrl = `${scheme}://localhost:${port}/`;
  if (lan) {
    const { lanAddresses } = await tsImport('./lan-cert.ts', import.meta.url);
    const { lanGuide } = await tsImport('./lan-guide.ts', import.meta.url);
    const listensEverywhere = host === '0.0.0.0' || host === '::';
    const lanUrls = (listensEverywhere ? lanAddresses() : [host]).map(
      (address) => `https://${address}:${port}/`,
    );
    // The URL line stays first and alone on its line (tests parse it as a whole line).
    console.log(`tabchain devnet: ${lanUrls[0] ?? localUrl}`);
    console.log(
      lanGuide({
        lanUrls,
        localUrl,
        fingerprint256: certificate.fingerprint256,
        certDir,
        created: certificate.created,
      }),
    );
  } else {
    // The URL line stays exactly this (test/e2e parses it as a whole line).
    console.log(`tabchain devnet: ${localUrl}`);
  }
  if (override.profile !== 'reference') console.error(`tabchain devnet profile: ${override.profile}`);
  if (override.iceServers.length > 0)
    console.error(
      `tabchain devnet ICE servers: ${override.iceServers.map((server) => server.urls).join(', ')}`,
    );
  if (node) {
    // The node dials this machine's address of the server; a wildcard host is reached on loopback.
    const nodeHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
    try {
      services.push(
        await startAlwaysOnNode({
          ...node,
          signalingUrl: `${scheme}://${nodeHost}:${port}/`,
          trustCertFile: certDir ? join(certDir, 'cert.pem') : undefined,
        }),
      );
    } catch (error) {
      console.error(`tabchain: ${error instanceof Error ? error.message : error}`);
      await closeAll(services);
      process.exit(1);
    }
  }

  let stopping = false;
  const stop = async () => {
    if (stopping) {
      // A second Ctrl-C while closing: give up waiting.
      process.exit(130);
    }
    stopping = true;
    await closeAll(services);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((error) => {
  console.error(`tabchain: could not start the devnet: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
});
