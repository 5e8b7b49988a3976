/**
 * Same verdicts everywhere: in Chromium, the dedicated validation Worker (a real module Worker
 * built by Vite, as the app starts it) and the main thread's core reject every chain of
 * `chains-invalid.json` with the same code at the same block, and a tab's split (rules on the
 * main thread, signature checks in the Worker) agrees with both.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InvalidChainVector, readVector, VECTOR_GENESIS_KEY } from '../helpers/vectors';
import { launchChromium, newContext } from './browser';
import { buildPage, PAGE_ORIGIN, routePage } from './page-build';

describe('the validation Worker in Chromium', () => {
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('gives the main thread’s code at the main thread’s block on every invalid chain of the vectors', async () => {
    const rows = readVector<InvalidChainVector[]>('chains-invalid.json');
    const files = await buildPage(join(import.meta.dirname, 'pages', 'worker-verdicts.html'));
    const context = await newContext(browser);
    await routePage(context, files, 'worker-verdicts.html');
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${PAGE_ORIGIN}/`);
    await page.waitForFunction(() => 'workerVerdicts' in window);
    const verdicts = await page.evaluate(([key, texts]) => window.workerVerdicts(key, texts), [
      VECTOR_GENESIS_KEY(),
      rows.map((row) => JSON.stringify(row.chain.blocks)),
    ] as const);
    expect(errors).toEqual([]);
    expect(verdicts.worker).toEqual(verdicts.mainThread);
    expect(verdicts.split).toEqual(verdicts.mainThread);
    // And those verdicts are the vectors' own: each chain fails at exactly its defect.
    expect(verdicts.mainThread.map((v) => v.firstInvalid)).toEqual(rows.map((row) => row.firstInvalidBlock));
    expect(verdicts.mainThread.every((v) => v.code !== null)).toBe(true);
  }, 120_000);
});
