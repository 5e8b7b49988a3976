import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AppTab,
  expectReferenceOutcome,
  type NpmStart,
  openApp,
  runReferenceInteraction,
  startNpmStart,
  waitForHeight,
} from './app-driver';
import { launchChromium, newContext, ROOT } from './browser';

// Issue 6: the reference interaction, by clicking alone, in three tabs against `npm start`.
// Tab A imports the genesis key and tab B the staker key; B buys 100 from the exchange, C buys
// 100 and then 10; B stakes 25 and sends C 1, twice. All three tabs end on one head; B shows
// balance 73 and stake 25, C shows 112. The run also takes the README's screenshots.

const SHOTS = join(ROOT, 'docs', 'screenshots');

describe('the reference interaction, clicked through three tabs against npm start', () => {
  let devnet: NpmStart;
  let browser: Browser;
  let context: BrowserContext;
  let a: AppTab;
  let b: AppTab;
  let c: AppTab;
  let height = 0;

  beforeAll(async () => {
    [devnet, browser] = await Promise.all([startNpmStart(), launchChromium()]);
    context = await newContext(browser);
  });
  afterAll(async () => {
    await browser?.close();
    await devnet?.stop();
  });

  /** Waits until every tab shows the next block. */
  const nextBlock = async () => {
    height++;
    for (const tab of [a, b, c]) await waitForHeight(tab.page, height, 30_000);
  };

  it('ends with one head, B at balance 73 and stake 25, C at 112', async () => {
    a = await openApp(context, devnet.url);
    b = await openApp(context, devnet.url);
    c = await openApp(context, devnet.url);
    await runReferenceInteraction({ a, b, c }, nextBlock);
    await expectReferenceOutcome({ a, b, c });
  });

  it('takes the screenshots of the main views', async () => {
    mkdirSync(SHOTS, { recursive: true });
    const shot = async (page: Page, name: string, hash: string) => {
      await page.evaluate((h) => {
        window.location.hash = h;
      }, hash);
      await page.waitForTimeout(400);
      await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
    };
    await b.page.setViewportSize({ width: 1280, height: 900 });
    await shot(b.page, 'wallet', '#/wallet');
    await shot(b.page, 'explorer', '#/explorer');
    await shot(b.page, 'block', '#/block/6');
    await shot(b.page, 'network', '#/network');
    await c.page.emulateMedia({ colorScheme: 'dark' });
    await c.page.setViewportSize({ width: 390, height: 844 });
    await shot(c.page, 'wallet-phone-dark', '#/wallet');
    // The shots are real pages, not blank frames: the explorer lists the six blocks.
    await b.page.evaluate(() => {
      window.location.hash = '#/explorer';
    });
    await expect.poll(() => b.page.getByTestId('block-row').count()).toBeGreaterThanOrEqual(6);
  });
});
