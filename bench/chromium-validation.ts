/**
 * `chromium-validate-1000tx`, `chromium-sync-1000x10` and `chromium-longest-task-ms`: validation
 * and sync as a tab runs them, in one Chromium page, side by side with bare `crypto.subtle.verify`
 * of the same signatures (alternating runs, medians), and the longest main-thread task the page
 * saw while a node validated a 1,000-transaction block and while it synced 1,000 × 10. The chains
 * are built and signed in Node (bench/chain.ts) and handed to the page as JSON text. The sync's
 * source node answers from a record of its own first answers, so the measured main thread runs
 * the syncing tab's work, not the other tab's (see `replaying` in the page).
 */
import { join } from 'node:path';
import { launchChromium, newContext } from '../test/e2e/browser';
import { buildPage, PAGE_ORIGIN, routePage } from '../test/e2e/page-build';
import { buildSignedChain, genesisConfig } from './chain';
import { type Figure, round } from './harness';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

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
    buildPage(join(import.meta.dirname, 'pages', 'chromium-validation.html')),
    buildSignedChain(2, 1000),
    buildSignedChain(1000, 10),
  ]);
  const browser = await launchChromium();
  try {
    const context = await newContext(browser);
    await routePage(context, files, 'chromium-validation.html');
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${PAGE_ORIGIN}/`);
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
