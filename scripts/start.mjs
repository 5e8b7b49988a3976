#!/usr/bin/env node
// `npm start`: the local devnet in one process. Today that is Vite's dev server for the app; the
// signaling server joins as another service in `startServices()`, sharing the same lifecycle.
// Prints exactly one line once everything listens: `tabchain devnet: http://localhost:PORT/`.
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';

const root = fileURLToPath(new URL('..', import.meta.url));
const DEFAULT_PORT = 5173;

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

/** Vite's dev server for the app, on `host`; resolves once it listens. */
async function startWeb({ host, port, strictPort }) {
  const server = await createServer({
    root,
    configFile: fileURLToPath(new URL('../vite.config.ts', import.meta.url)),
    // Keep our single line the only start-up output; warnings and errors still show.
    logLevel: 'warn',
    clearScreen: false,
    server: { host, port, strictPort },
  });
  await server.listen();
  const address = server.httpServer?.address();
  if (!address || typeof address === 'string') throw new Error('Vite did not report a TCP address');
  return {
    port: address.port,
    service: { name: 'vite', close: () => server.close() },
    httpServer: server.httpServer,
  };
}

/** Starts every service of the devnet; returns them (closed in reverse order) and the app's port. */
async function startServices({ host, port, strictPort }) {
  /** @type {Service[]} */
  const services = [];
  try {
    const web = await startWeb({ host, port, strictPort });
    services.push(web.service);
    // Signaling goes here, e.g. `services.push(await startSignaling({ host, server: web.httpServer }))`.
    return { services, port: web.port };
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

async function main() {
  const host = process.env.HOST || '127.0.0.1';
  const envPort = portFromEnv(process.env.PORT);
  // An explicit PORT must be honoured or fail; the default may move to the next free port.
  const { services, port } = await startServices({
    host,
    port: envPort ?? DEFAULT_PORT,
    strictPort: envPort !== undefined,
  });

  console.log(`tabchain devnet: http://localhost:${port}/`);

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
