/**
 * `chromium-validate-1000tx`, `chromium-sync-1000x10` and `chromium-longest-task-ms`: validation
 * and sync as a tab runs them, in one Chromium page, side by side with bare `crypto.subtle.verify`
 * of the same signatures (alternating runs, medians), and the longest main-thread task the page
 * saw while a node validated a 1,000-transaction block and while it synced 1,000 × 10. The chains
 * are built and signed in Node (bench/chain.ts) and handed to the page as JSON text.
 */
import { join } from 'node:path';
import { build, type Rollup } from 'vite';
import { launchChromium, newContext } from '../test/e2e/browser';
import { buildSignedChain, genesisConfig } from './chain';
import { type Figure, round } from './harness';

/** Where the page is served from: routed by the test browser, never a real server. */
const ORIGIN = 'http://127.0.0.1:9';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** The bench page (bench/pages/chromium-validation.html) built in memory: file name → contents. */
async function buildPage(): Promise<Map<string, { body: string | Uint8Array; type: string }>> {
  const pages = join(import.meta.dirname, 'pages');
  const result = await build({
    configFile: false,
    logLevel: 'silent',
    root: pages,
    base: './',
    build: {
      write: false,
      minify: false,
      rollupOptions: { input: join(pages, 'chromium-validation.html') },
    },
  });
  const outputs = (Array.isArray(result) ? result : [result]) as Rollup.RollupOutput[];
  const files = new Map<string, { body: string | Uint8Array; type: string }>();
  for (const output of outputs)
    for (const file of output.output) {
      const body = file.type === 'chunk' ? file.code : file.source;
      const type = file.fileName.endsWith('.html') ? 'text/html' : 'text/javascript';
      files.set(`/${file.fileName}`, { body, type });
    }
  return files;
}

type Watch = { longTaskMs: number; frameGapMs: number; heartbeatGapMs: number; longTasks: number };
type PageResult = {
  oursMs: number[];
  bareMs: number[];
  longest: Watch;
  bareLongest: Watch;
};

/** The three Chromium validation figures, measured in one page. */
export async function chromiumValidationFigures(): Promise<Figure[]> {
  const { genesisPublicKey } = genesisConfig();
  const [files, bigBlock, chain] = await Promise.all([
    buildPage(),
    buildSignedChain(2, 1000),
    buildSignedChain(1000, 10),
  ]);
  const browser = await launchChromium();
  try {
    const context = await newContext(browser);
    await context.route(`${ORIGIN}/**`, (route) => {
      const path = new URL(route.request().url()).pathname;
      const file = files.get(path === '/' ? '/chromium-validation.html' : path);
      return file
        ? route.fulfill({ status: 200, contentType: file.type, body: Buffer.from(file.body) })
        : route.fulfill({ status: 404, body: '' });
    });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${ORIGIN}/`);
    await page.waitForFunction(() => 'chromiumValidation' in window);
    const validate: PageResult = await page.evaluate((input) => window.chromiumValidation.validate(input), {
      genesisPublicKey,
      chainText: JSON.stringify(bigBlock),
      runs: 9,
    });
    const sync: PageResult = await page.evaluate((input) => window.chromiumValidation.sync(input), {
      genesisPublicKey,
      chainText: JSON.stringify(chain),
      runs: 3,
    });
    if (errors.length > 0) throw new Error(`the bench page threw: ${errors.join('; ')}`);
    const longestOf = (r: PageResult) =>
      Math.max(r.longest.longTaskMs, r.longest.frameGapMs, r.longest.heartbeatGapMs);
    const bareOf = (r: PageResult) =>
      Math.max(r.bareLongest.longTaskMs, r.bareLongest.frameGapMs, r.bareLongest.heartbeatGapMs);
    const validateMs = median(validate.oursMs);
    const validateBare = median(validate.bareMs);
    const syncMs = median(sync.oursMs);
    const syncBare = median(sync.bareMs);
    const longest = Math.max(longestOf(validate), longestOf(sync));
    const describe = (r: PageResult) =>
      `${round(longestOf(r), 0)} ms (${r.longest.longTasks} long tasks, longest ${round(r.longest.longTaskMs, 0)} ms; frame gap ${round(r.longest.frameGapMs, 0)} ms, heartbeat gap ${round(r.longest.heartbeatGapMs, 0)} ms; bare verification alone ${round(bareOf(r), 0)} ms)`;
    return [
      {
        name: 'chromium-validate-1000tx',
        value: round(validateMs, 1),
        unit: 'ms',
        ratio: round(validateMs / validateBare, 3),
        note: `Chromium: validateBlock of 1,000 transfers / bare subtle.verify of its 1,001 signatures (${round(validateBare, 1)} ms); goal ≤ 1.25`,
      },
      {
        name: 'chromium-sync-1000x10',
        value: round(syncMs, 0),
        unit: 'ms',
        ratio: round(syncMs / syncBare, 3),
        note: `Chromium: a fresh tab node syncs 1,000 × 10 / bare verify of its 11,000 signatures (${round(syncBare, 0)} ms); goal ≤ 1.5`,
      },
      {
        name: 'chromium-longest-task-ms',
        value: round(longest, 1),
        unit: 'ms',
        ratio: null,
        note: `longest main-thread task: a node taking a 1,000-tx block ${describe(validate)}; syncing 1,000 × 10 ${describe(sync)}; goal ≤ 50`,
      },
    ];
  } finally {
    await browser.close();
  }
}
