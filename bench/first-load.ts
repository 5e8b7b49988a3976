/**
 * `chromium-first-load-ms`: how long a student's first visit takes, from navigation until the app
 * is interactive (its head height shows), on a fresh Chromium profile (empty HTTP cache and
 * IndexedDB) against `npm start`'s production build; `dev-first-load-ms`: the same against the
 * Vite dev server (`npm start -- --dev`, what `npm start` served before). Goal: under 1,000 ms.
 * Everything on 127.0.0.1; both devnets are real `scripts/start.mjs` processes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROME_PATH, chromiumArgs } from '../test/e2e/browser';
import { type Figure, round } from './harness';

const ROOT = join(import.meta.dirname, '..');
/** Loads per server, alternated so that machine noise hits both alike; the figure is the median. */
const LOADS = 5;
/** A devnet gets this long to print its URL (the production build runs first). */
const START_TIMEOUT_MS = 120_000;

interface Devnet {
  readonly url: string;
  stop(): Promise<void>;
}

/** Runs `scripts/start.mjs ARGS` on a free loopback port until it prints its URL line. */
function startDevnet(args: string[]): Promise<Devnet> {
  const child: ChildProcess = spawn(process.execPath, [join(ROOT, 'scripts', 'start.mjs'), ...args], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGTERM');
    await exited;
  };
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`start.mjs ${args.join(' ')} printed no URL: ${output}`));
    }, START_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const url = /^tabchain devnet: (http:\/\/\S+\/)$/m.exec(output)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve({ url: url.replace('localhost', '127.0.0.1'), stop });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`start.mjs ${args.join(' ')} exited (${code}): ${output}`));
    });
  });
}

/**
 * Records, on the page's own clock (ms since navigation start), when `head-height` first shows.
 * Plain JavaScript source, so no transpiler helper leaks into the page.
 */
const HEAD_SHOWN_SCRIPT = `(() => {
  const check = () => {
    if (window.__headShownMs !== undefined) return;
    if (document.querySelector('[data-testid="head-height"]')) {
      window.__headShownMs = performance.now();
      observer.disconnect();
    }
  };
  const observer = new MutationObserver(check);
  observer.observe(document, { childList: true, subtree: true });
})();`;

declare global {
  interface Window {
    /** Set by HEAD_SHOWN_SCRIPT. */
    __headShownMs?: number;
  }
}

/** One first visit: a fresh profile, navigation to `url`, ms until the head height shows. */
async function firstLoadMs(url: string): Promise<number> {
  const profile = await mkdtemp(join(tmpdir(), 'tabchain-first-load-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROME_PATH,
      headless: true,
      args: chromiumArgs(),
      timeout: 60_000,
    });
    try {
      await context.grantPermissions(['camera', 'microphone']);
      const page = context.pages()[0] ?? (await context.newPage());
      await page.addInitScript({ content: HEAD_SHOWN_SCRIPT });
      await page.goto(url);
      await page.getByTestId('head-height').first().waitFor({ timeout: 60_000 });
      const shown = await page.evaluate(() => window.__headShownMs);
      if (shown === undefined) throw new Error('the head height showed before the page could record it');
      return shown;
    } finally {
      await context.close();
    }
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
}

const median = (xs: readonly number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** `chromium-first-load-ms` and `dev-first-load-ms`, measured side by side. */
export async function firstLoadFigures(): Promise<Figure[]> {
  const production = await startDevnet([]);
  try {
    const dev = await startDevnet(['--dev']);
    try {
      const prod: number[] = [];
      const devLoads: number[] = [];
      // The dev server's very first load also transforms every module (a new user's first
      // visit after `npm start`); it is kept, and reported on its own too.
      for (let i = 0; i < LOADS; i++) {
        devLoads.push(await firstLoadMs(dev.url));
        prod.push(await firstLoadMs(production.url));
      }
      const prodMs = median(prod);
      const devMs = median(devLoads);
      return [
        {
          name: 'chromium-first-load-ms',
          value: round(prodMs, 0),
          unit: 'ms',
          ratio: round(devMs / prodMs, 1),
          note: `navigation to head height shown, fresh profile, npm start's production build (median of ${LOADS}; loads ${prod.map((ms) => Math.round(ms)).join(', ')}); goal < 1000 ms; ratio = dev server / production`,
        },
        {
          name: 'dev-first-load-ms',
          value: round(devMs, 0),
          unit: 'ms',
          ratio: null,
          note: `the same against the Vite dev server (npm start -- --dev), median of ${LOADS}; loads ${devLoads.map((ms) => Math.round(ms)).join(', ')} (the first also transforms every module)`,
        },
      ];
    } finally {
      await dev.stop();
    }
  } finally {
    await production.stop();
  }
}
