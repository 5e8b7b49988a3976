import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  type AppTab,
  confirmSummary,
  type Devnet,
  expectReferenceOutcome,
  goTo,
  openApp,
  runReferenceInteraction,
  setTheme,
  startDevnet,
  waitForHeight,
} from './app-driver';
import { launchChromium, newContext, ROOT } from './browser';

// Issue 16: the README's tour. The reference interaction through the UI, every transaction
// through the confirmation step, in three tabs; then the pictures, in light and dark: the network
// map while a block spreads, a block's lottery line, the explorer's charts, and a block page on a
// phone. The map, the lottery line and the charts are other parts of issue 16: the tour waits for
// their test ids and says plainly which one has not landed.

const SHOTS = join(ROOT, 'docs', 'screenshots');
/** How long a piece of the page may take to appear once its view is open. */
const PIECE_TIMEOUT_MS = 15_000;

/** Waits for the element with `testId`, failing with what is missing rather than a bare timeout. */
async function waitForPiece(page: Page, testId: string, what: string): Promise<void> {
  try {
    await page.getByTestId(testId).first().waitFor({ state: 'visible', timeout: PIECE_TIMEOUT_MS });
  } catch {
    throw new Error(
      `No [data-testid="${testId}"] within ${PIECE_TIMEOUT_MS / 1000} s on ${page.url()}: ${what} is missing (not merged yet?).`,
    );
  }
}

describe('the tour: the reference interaction with confirmation, and the README pictures', () => {
  let browser: Browser;
  let context: BrowserContext;
  let devnet: Devnet;
  let a: AppTab;
  let b: AppTab;
  let c: AppTab;
  let height = 0;

  beforeAll(async () => {
    browser = await launchChromium();
    context = await newContext(browser);
    devnet = await startDevnet(inject('tabchainDist'));
    mkdirSync(SHOTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await devnet?.stop().catch(() => {});
  });

  const nextBlock = async () => {
    height++;
    for (const tab of [a, b, c]) await waitForHeight(tab.page, height, 30_000);
  };

  it('runs the reference interaction in three tabs, each transaction confirmed in its summary', async () => {
    a = await openApp(context, devnet.url);
    b = await openApp(context, devnet.url);
    c = await openApp(context, devnet.url);
    await runReferenceInteraction({ a, b, c }, nextBlock);
    await expectReferenceOutcome({ a, b, c });
  });

  for (const theme of ['light', 'dark'] as const) {
    const file = (name: string) => join(SHOTS, `${name}${theme === 'dark' ? '-dark' : ''}.png`);
    /** Tab A, in front, at desktop size, in this theme. */
    const desk = async (): Promise<Page> => {
      await a.page.bringToFront();
      await a.page.setViewportSize({ width: 1280, height: 900 });
      await setTheme(a.page, theme);
      return a.page;
    };

    it(`${theme}: the network map while a block spreads`, async () => {
      const page = await desk();
      await goTo(page, '#/network');
      await waitForPiece(page, 'network-map', 'the network map (issue 16, part 1)');
      // C buys a coin; A forges the block, and the map shows its hops as they arrive.
      await c.page.bringToFront();
      await c.page.getByTestId('exchange-amount').fill('1');
      await c.page.getByTestId('exchange-submit').click();
      await confirmSummary(c.page, 'exchange');
      await page.bringToFront();
      await waitForPiece(page, 'map-hop', "the map's hops of a spreading block (issue 16, part 1)");
      await page.getByTestId('network-map').screenshot({ path: file('network-map') });
      await nextBlock();
    });

    it(`${theme}: a block's lottery line`, async () => {
      const page = await desk();
      // Block 5: B's 25 staked coins and the genesis key's lot drew for it.
      await goTo(page, '#/block/5');
      await waitForPiece(page, 'lottery-line', 'the lottery line on the block page (issue 16, part 2)');
      await page.getByTestId('lottery-line').screenshot({ path: file('lottery-line') });
    });

    it(`${theme}: the explorer's charts`, async () => {
      const page = await desk();
      await goTo(page, '#/explorer');
      await waitForPiece(page, 'chain-charts', "the explorer's charts (issue 16, part 3)");
      await page.waitForTimeout(600); // the charts' entry animation ends
      await page.mouse.move(0, 0); // no tooltip over the picture
      await page.getByTestId('chain-charts').screenshot({ path: file('charts') });
    });

    it(`${theme}: a block page on a phone, nothing wider than the screen`, async () => {
      const page = await desk();
      await page.setViewportSize({ width: 375, height: 740 });
      await goTo(page, '#/block/5', 800);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow).toBeLessThanOrEqual(0);
      await page.screenshot({ path: file('block-phone'), fullPage: true });
    });
  }

  it('left every tab clean: nothing off the machine, no page errors', () => {
    for (const tab of [a, b, c]) {
      expect(tab.offMachine).toEqual([]);
      expect(tab.errors).toEqual([]);
    }
  });
});
