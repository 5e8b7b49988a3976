import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  type AppTab,
  act,
  createKey,
  type Devnet,
  headHash,
  importDevnetKey,
  intOf,
  openApp,
  startDevnet,
  waitForPeers,
} from './app-driver';
import { launchChromium, newContext } from './browser';

// Issue 10 (e): one key in two browsers. Two browser contexts (two browsers) both import the
// devnet genesis key, the only staker, so both forge every block; a third sends five purchases.
// The two forgers sign different blocks at one height, and the fork choice
// (src/core/fork-choice.ts) must still bring every tab to one head, which then stays, while the
// network page shows the key forging twice with both blocks.

const PURCHASES = [1, 2, 3, 4, 5];

describe('one key forging in two browsers', () => {
  let browser: Browser;
  let devnet: Devnet;
  const contexts: BrowserContext[] = [];
  const tabs: AppTab[] = [];
  const heads = () => Promise.all(tabs.map((t) => headHash(t.page)));
  const poolSizes = () => Promise.all(tabs.map((t) => intOf(t.page, 'pool-size').catch(() => -1)));

  beforeAll(async () => {
    browser = await launchChromium();
    devnet = await startDevnet(inject('tabchainDist'));
    for (let i = 0; i < 3; i++) contexts.push(await newContext(browser));
  });
  afterAll(async () => {
    for (const tab of tabs) {
      expect(tab.offMachine).toEqual([]);
      expect(tab.errors).toEqual([]);
    }
    await browser?.close();
    await devnet?.stop().catch(() => {});
  });

  /** Opens the network page (where the peer count, pool size and equivocations show). */
  const toNetwork = (page: Page) =>
    page.evaluate(() => {
      window.location.hash = '#/network';
    });

  it('all tabs end on one head and stay there, and the equivocation is shown', async () => {
    for (const context of contexts) tabs.push(await openApp(context, devnet.url));
    for (const tab of tabs) await waitForPeers(tab.page, 2);
    const [first, second, buyer] = tabs as [AppTab, AppTab, AppTab];
    await importDevnetKey(first.page, 'genesis');
    await importDevnetKey(second.page, 'genesis');
    await createKey(buyer.page);

    for (const amount of PURCHASES) {
      await act(buyer.page, 'exchange', amount);
      await buyer.page.waitForTimeout(300);
    }
    const lastSent = Date.now();
    for (const tab of tabs) await toNetwork(tab.page);

    // One head everywhere, every purchase in it, within seconds of the last one.
    await expect
      .poll(
        async () => {
          const [hashes, pools] = await Promise.all([heads(), poolSizes()]);
          return new Set(hashes).size === 1 && pools.every((size) => size === 0);
        },
        { timeout: 20_000, interval: 200 },
      )
      .toBe(true);
    const convergedAfterMs = Date.now() - lastSent;
    process.stderr.write(`converge.e2e: one head ${convergedAfterMs} ms after the last purchase\n`);
    const head = (await heads())[0];

    // It stays: heartbeats and tie checks for 8 s change nothing.
    await first.page.waitForTimeout(8_000);
    expect(new Set(await heads())).toEqual(new Set([head]));

    await buyer.page.evaluate(() => {
      window.location.hash = '#/wallet';
    });
    await expect.poll(() => intOf(buyer.page, 'my-balance'), { timeout: 10_000 }).toBe(15);

    // The key forged twice at some height, and the tabs say so, with both blocks.
    const shown = await Promise.all(tabs.map((t) => t.page.getByTestId('equivocation').count()));
    expect(shown.some((count) => count > 0)).toBe(true);
    const witness = tabs[shown.findIndex((count) => count > 0)] as AppTab;
    const item = witness.page.getByTestId('equivocation').first();
    expect(await item.textContent()).toMatch(/forged two blocks at height #\d+/);
    const kept = await item.getByTestId('equivocation-kept').getAttribute('data-value');
    const other = await item.getByTestId('equivocation-other').getAttribute('data-value');
    expect(kept).toMatch(/^[0-9a-f]{64}$/);
    expect(other).toMatch(/^[0-9a-f]{64}$/);
    expect(other).not.toBe(kept);
    // At most one of the two is on the chain every tab agrees on (none if a deeper fork replaced
    // both), and that one links to its block page.
    const onChain = item.locator('[data-on-chain="true"]');
    expect(await onChain.count()).toBeLessThanOrEqual(1);
    if ((await onChain.count()) === 1)
      expect(await onChain.locator('a').getAttribute('href')).toMatch(/^#\/block\/\d+$/);
  });
});
