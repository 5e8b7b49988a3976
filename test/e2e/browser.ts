/**
 * Real-browser test helpers: Debian's Chromium driven by playwright-core, and the built app served
 * by `vite preview` on 127.0.0.1. Every flag below keeps a test's traffic on this machine (see
 * ../shared/chromium.md): no DNS look-ups of vendor hosts, no multicast mDNS ICE candidates, no
 * background networking.
 *
 * This module is also the e2e run's `globalSetup` (vitest.e2e.config.ts): `setup()` builds the app
 * once per run into a temporary folder, and `startApp()` in each test file serves that build.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  chromium,
  type Page,
} from 'playwright-core';
import { build, preview } from 'vite';
import type { TestProject } from 'vitest/node';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const VITE_CONFIG = join(ROOT, 'vite.config.ts');

/** The browser used by every test: `CHROME_PATH`, else Debian's Chromium. */
export const CHROME_PATH = process.env.CHROME_PATH || '/usr/bin/chromium';

/**
 * playwright-core's own `--disable-features` list (its `chromiumSwitches`, playwright-core 1.65.1,
 * `lib/coreBundle.js`; not exported). Chromium honours only the LAST `--disable-features`, so ours
 * must repeat these or they are silently dropped. test/e2e/shell.e2e.ts fails if playwright-core's
 * list gains a feature that this copy lacks, so an upgrade cannot drop one unnoticed.
 */
export const PLAYWRIGHT_DISABLED_FEATURES: readonly string[] = [
  'AvoidUnnecessaryBeforeUnloadCheckSync',
  'DestroyProfileOnBrowserClose',
  'HttpsUpgrades',
  'HttpsFirstBalancedModeAutoEnable',
  'LensOverlay',
  'MediaRouter',
  'PaintHolding',
  'ThirdPartyStoragePartitioning',
  'AvoidCorsURLLoaderRestartOnRedirect',
  'TcpPortRandomizationWin',
  'OptimizationHints',
  'NetworkTimeServiceQuerying',
  'AimEnabled',
  'PreconnectToSearch',
  'msForceBrowserSignIn',
  'msEdgeUpdateLaunchServicesPreferredVersion',
];

/** Features we disable on top: real host ICE candidates instead of multicast mDNS names. */
export const EXTRA_DISABLED_FEATURES: readonly string[] = ['WebRtcHideLocalIpsWithMdns'];

/** The launch flags of ../shared/chromium.md, with the merged `--disable-features` last. */
export function chromiumArgs(): string[] {
  const disabled = [...new Set([...PLAYWRIGHT_DISABLED_FEATURES, ...EXTRA_DISABLED_FEATURES])];
  return [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1',
    '--allow-loopback-in-peer-connection',
    `--disable-features=${disabled.join(',')}`,
  ];
}

/** Launches headless Chromium with the project's flags. Close it with `browser.close()`. */
export async function launchChromium(options: { executablePath?: string } = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: options.executablePath ?? CHROME_PATH,
    headless: true,
    args: chromiumArgs(),
    timeout: 60_000,
  });
}

/**
 * A fresh browser context (its own storage, like a new profile) that may use camera and
 * microphone: where loopback is the only interface, that is what lets Chromium gather
 * 127.0.0.1 ICE candidates.
 */
export async function newContext(
  browser: Browser,
  options: BrowserContextOptions = {},
): Promise<BrowserContext> {
  const context = await browser.newContext(options);
  await context.grantPermissions(['camera', 'microphone']);
  return context;
}

/** True for URLs a test may load: this machine's loopback, or inline data. */
export function isLocalUrl(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  if (protocol === 'data:' || protocol === 'blob:' || protocol === 'about:') return true;
  return hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]';
}

/** A tab, with what it tried to reach off this machine and the errors its page threw. */
export interface WatchedPage {
  readonly page: Page;
  /** URLs it requested that `isLocalUrl` refuses: a test expects none. */
  readonly offMachine: string[];
  /** Messages of errors the page did not catch. */
  readonly errors: string[];
}

/** Opens a tab in `context` that records off-machine requests and page errors from its very first request. */
export async function openWatchedPage(context: BrowserContext): Promise<WatchedPage> {
  const page = await context.newPage();
  const offMachine: string[] = [];
  const errors: string[] = [];
  page.on('request', (request) => {
    if (!isLocalUrl(request.url())) offMachine.push(request.url());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  return { page, offMachine, errors };
}

/** Builds the app with the project's vite.config.ts into `outDir` (production build). */
export async function buildApp(outDir: string): Promise<void> {
  await build({
    root: ROOT,
    configFile: VITE_CONFIG,
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true },
  });
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** The folder `setup()` built the app into. */
    tabchainDist: string;
  }
}

/** Vitest globalSetup: one production build per e2e run, removed afterwards. */
export async function setup(project: TestProject): Promise<() => Promise<void>> {
  const outDir = await mkdtemp(join(tmpdir(), 'tabchain-e2e-dist-'));
  const started = performance.now();
  await buildApp(outDir);
  console.log(`e2e: built the app in ${Math.round(performance.now() - started)} ms`);
  project.provide('tabchainDist', outDir);
  return () => rm(outDir, { recursive: true, force: true });
}

export interface RunningApp {
  /** The app's address, e.g. `http://127.0.0.1:41234/`. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

let ownBuild: Promise<string> | undefined;

/** The build folder: the one globalSetup made, or (outside the e2e config) a build of our own. */
async function distDir(): Promise<string> {
  try {
    const { inject } = await import('vitest');
    const provided = inject('tabchainDist');
    if (provided) return provided;
  } catch {
    // Not inside a vitest run with our globalSetup: build below.
  }
  ownBuild ??= (async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'tabchain-e2e-dist-'));
    await buildApp(outDir);
    return outDir;
  })();
  return ownBuild;
}

/** Serves the built app with `vite preview` on 127.0.0.1 and a free port. */
export async function startApp(): Promise<RunningApp> {
  const outDir = await distDir();
  const server = await preview({
    root: ROOT,
    configFile: VITE_CONFIG,
    logLevel: 'warn',
    build: { outDir },
    preview: { host: '127.0.0.1', port: 0, strictPort: true, open: false },
  });
  const address = server.httpServer.address() as AddressInfo | null;
  if (!address || typeof address !== 'object') throw new Error('vite preview did not report a TCP address');
  return {
    url: `http://127.0.0.1:${address.port}/`,
    port: address.port,
    close: () => server.close(),
  };
}
