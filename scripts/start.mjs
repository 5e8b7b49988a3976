#!/usr/bin/env node
// `npm start`: the local devnet in one process and on one port. The signaling server
// (signaling/server.ts, loaded through tsx) owns the HTTP server: it answers the signaling
// WebSocket at `/` and PeerJS at `/peerjs`, and hands every other request to Vite's dev server in
// middleware mode, whose HMR WebSocket rides on the same HTTP server.
// Prints exactly one line once everything listens: `tabchain devnet: http://localhost:PORT/`
// (and, on a profile other than `reference`, `tabchain devnet profile: NAME` on stderr).
// Connection caps: `npm start -- --max-per-address N --max-per-room N --trust-proxy LIST` (or
// their TABCHAIN_* variables; see signaling/cap-flags.ts).
// Consensus profile: `npm start -- --profile resilient` (default `reference`; see
// scripts/devnet-profile.ts): the app's /devnet.json then names that profile and its own network.
// An unknown profile exits 2.
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

/** Exit code for a command line that names no known profile. */
const EXIT_USAGE = 2;

/**
 * The connection caps from the command line and the environment (signaling/cap-flags.ts), and
 * the consensus profile with its /devnet.json middleware (none on `reference`).
 */
async function readFlags() {
  const { CAP_FLAGS, readCapFlags } = await tsImport('../signaling/cap-flags.ts', import.meta.url);
  const { PROFILE_FLAG, readProfileFlag, devnetProfileMiddleware } = await tsImport(
    './devnet-profile.ts',
    import.meta.url,
  );
  const { values } = parseArgs({ options: { ...CAP_FLAGS, ...PROFILE_FLAG }, strict: true });
  const { profile: profileFlag, ...capValues } = values;
  const profile = readProfileFlag(profileFlag);
  const devnetOverride =
    profile === 'reference'
      ? undefined
      : devnetProfileMiddleware(profile, fileURLToPath(new URL('../public/devnet.json', import.meta.url)));
  return { caps: readCapFlags(capValues, process.env), profile, devnetOverride };
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
  const { caps, profile, devnetOverride } = flags;
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
