#!/usr/bin/env node
// `npm start`: the local devnet in one process and on one port. The signaling server
// (signaling/server.ts, loaded through tsx) owns the HTTP server: it answers the signaling
// WebSocket at `/` and PeerJS at `/peerjs`, and hands every other request to Vite's dev server in
// middleware mode, whose HMR WebSocket rides on the same HTTP server.
// Prints exactly one line once everything listens: `tabchain devnet: http://localhost:PORT/`
// (and, on a profile other than `reference`, `tabchain devnet profile: NAME` on stderr).
// Connection caps: `npm start -- --max-per-address N --max-per-room N --trust-proxy LIST` (or
// their TABCHAIN_* variables; see signaling/cap-flags.ts).
// `npm start -- --node-key PEM_FILE [--node-api-port N] [--node-data DIR]` also runs one always-on
// node (fullnode/cli.ts, `npm run node`) in this devnet's room, forging with that key, and prints
// its `tabchain node: api http://HOST:N/` line after the devnet's.
// Consensus profile: `npm start -- --profile resilient` (default `reference`; see
// scripts/devnet-profile.ts): the app's /devnet.json then names that profile and its own network.
// An unknown profile exits 2.
import { spawn } from 'node:child_process';
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
async function startSignaling({ host, port, strictPort, origins, caps, middleware }) {
  const { createSignalingServer } = await tsImport('../signaling/server.ts', import.meta.url);
  for (let attempt = 0; ; attempt++) {
    const signaling = createSignalingServer({
      host,
      port: port === 0 ? 0 : port + attempt,
      origins,
      ...caps,
      middleware,
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
    configFile: fileURLToPath(new URL('../vite.config.ts', import.meta.url)),
    // Keep our single line the only start-up output; warnings and errors still show.
    logLevel: 'warn',
    clearScreen: false,
    appType: 'spa',
    server: { middlewareMode: true, ws: { server: httpServer } },
  });
}

/** Starts every service of the devnet; returns them (closed in reverse order) and the app's port. */
async function startServices({ host, port, strictPort, origins, caps, devnetOverride }) {
  /** @type {Service[]} */
  const services = [];
  try {
    /** @type {import('vite').ViteDevServer | undefined} */
    let vite;
    // Bound late: Vite needs the HTTP server (for HMR) before it exists, and requests may only
    // arrive once both are up.
    const app = (req, res, next) => {
      if (vite) vite.middlewares(req, res, next);
      else next();
    };
    // A profile other than `reference` answers /devnet.json itself, before Vite's static file.
    const middleware = devnetOverride
      ? (req, res, next) => devnetOverride(req, res, () => app(req, res, next))
      : app;
    const { signaling, port: actualPort } = await startSignaling({
      host,
      port,
      strictPort,
      origins,
      caps,
      middleware,
    });
    services.push({ name: 'signaling', close: () => signaling.stop() });
    vite = await startVite(signaling.httpServer);
    const started = vite;
    services.push({ name: 'vite', close: () => started.close() });
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
function startAlwaysOnNode({ key, signalingUrl, apiPort, data }) {
  const cli = fileURLToPath(new URL('../fullnode/cli.ts', import.meta.url));
  const args = ['--import', 'tsx', cli, '--signaling', signalingUrl, '--key', key];
  if (apiPort !== undefined) args.push('--api-port', apiPort);
  if (data !== undefined) args.push('--data', data);
  const child = spawn(process.execPath, args, { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
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

/** Exit code for a command line that names no known profile. */
const EXIT_USAGE = 2;

/**
 * The connection caps from the command line and the environment (signaling/cap-flags.ts), the
 * consensus profile with its /devnet.json middleware (none on `reference`), and the always-on
 * node's flags.
 */
async function readFlags() {
  const { CAP_FLAGS, readCapFlags } = await tsImport('../signaling/cap-flags.ts', import.meta.url);
  const { PROFILE_FLAG, readProfileFlag, devnetProfileMiddleware } = await tsImport(
    './devnet-profile.ts',
    import.meta.url,
  );
  const { values } = parseArgs({ options: { ...CAP_FLAGS, ...PROFILE_FLAG, ...NODE_FLAGS }, strict: true });
  const node =
    values['node-key'] === undefined
      ? null
      : { key: values['node-key'], apiPort: values['node-api-port'], data: values['node-data'] };
  if (node === null && (values['node-api-port'] !== undefined || values['node-data'] !== undefined))
    throw new Error('--node-api-port and --node-data need --node-key');
  for (const name of Object.keys(NODE_FLAGS)) delete values[name];
  const { profile: profileFlag, ...capValues } = values;
  const profile = readProfileFlag(profileFlag);
  const devnetOverride =
    profile === 'reference'
      ? undefined
      : devnetProfileMiddleware(profile, fileURLToPath(new URL('../public/devnet.json', import.meta.url)));
  return { caps: readCapFlags(capValues, process.env), profile, devnetOverride, node };
}

async function main() {
  let flags;
  try {
    flags = await readFlags();
  } catch (error) {
    if (error instanceof Error && error.name === 'UnknownProfileError') {
      console.error(`tabchain: ${error.message}`);
      process.exit(EXIT_USAGE);
    }
    throw error;
  }
  const { caps, profile, devnetOverride, node } = flags;
  const host = process.env.HOST || '127.0.0.1';
  const envPort = portFromEnv(process.env.PORT);
  // An explicit PORT must be honoured or fail; the default may move to the next free port.
  const { services, port } = await startServices({
    host,
    port: envPort ?? DEFAULT_PORT,
    strictPort: envPort !== undefined,
    origins: originsFromEnv(process.env.TABCHAIN_ORIGINS),
    caps,
    devnetOverride,
  });

  // The URL line stays exactly this (test/e2e parses it as a whole line). Another profile than
  // the default is said on a line of its own, on stderr, so stdout keeps its one line.
  console.log(`tabchain devnet: http://localhost:${port}/`);
  if (profile !== 'reference') console.error(`tabchain devnet profile: ${profile}`);
  if (node) {
    // The node dials this machine's address of the server; a wildcard host is reached on loopback.
    const nodeHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
    try {
      services.push(await startAlwaysOnNode({ ...node, signalingUrl: `http://${nodeHost}:${port}/` }));
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
