/**
 * Node side of the transport harness (pages/transport.html): builds the page with the project's
 * Vite config, serves the build through a real signaling server on 127.0.0.1 (so page, signaling
 * WebSocket and PeerServer share one origin, as in production), and opens tabs on it.
 * Used by transport.e2e.ts and bench/tabs.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { build } from 'vite';
import { createSignalingServer, type SignalingServer } from '../../signaling/server';
import { openWatchedPage, ROOT, type WatchedPage } from './browser';

/** The page's path inside the build (Vite keeps an HTML input's path relative to the root). */
export const TRANSPORT_PAGE_PATH = 'test/e2e/pages/transport.html';

/** A build of the harness page in a temporary folder. */
export interface HarnessBuild {
  readonly dir: string;
  remove(): Promise<void>;
}

/** Builds the harness page (production build, the app's Vite config and aliases). */
export async function buildTransportPage(): Promise<HarnessBuild> {
  const dir = await mkdtemp(join(tmpdir(), 'tabchain-transport-page-'));
  await build({
    root: ROOT,
    configFile: join(ROOT, 'vite.config.ts'),
    logLevel: 'warn',
    publicDir: false,
    build: {
      outDir: dir,
      emptyOutDir: true,
      rolldownOptions: { input: join(ROOT, TRANSPORT_PAGE_PATH) },
    },
  });
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** A signaling server serving the harness build. */
export interface HarnessServer {
  readonly server: SignalingServer;
  readonly port: number;
  /** The harness page's URL on this server. */
  readonly pageUrl: string;
}

/** Starts a signaling server on 127.0.0.1 (any free port, or `port`) that serves `dir`. */
export async function startHarnessServer(dir: string, port = 0, heartbeatMs = 1000): Promise<HarnessServer> {
  const server = createSignalingServer({ host: '127.0.0.1', port, serveStatic: dir, heartbeatMs });
  const address = await server.start();
  return { server, port: address.port, pageUrl: `http://127.0.0.1:${address.port}/${TRANSPORT_PAGE_PATH}` };
}

/** A tab on the harness page, with what it tried to reach off this machine and its page errors. */
export type HarnessTab = WatchedPage;

/** Opens a tab on the harness page and waits until its harness is ready. */
export async function openTab(context: BrowserContext, pageUrl: string): Promise<HarnessTab> {
  const tab = await openWatchedPage(context);
  await tab.page.goto(pageUrl);
  await tab.page.waitForFunction(() => typeof window.__transport === 'object');
  return tab;
}
