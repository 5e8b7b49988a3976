import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AppTab,
  act,
  createKey,
  headHash,
  importDevnetKey,
  intOf,
  myPublicKey,
  type NpmStart,
  openApp,
  startNpmStart,
  waitForHeight,
  waitForPeers,
} from './app-driver';
import { launchChromium, newContext, ROOT } from './browser';

// Issue 12: the resilient profile in real Chromium, served by `npm start -- --profile resilient`.
// Tab A holds almost all the stake (the devnet genesis key, 100 of 101 coins staked), tab B the
// rest (the devnet staker key, 1 coin), tab C buys. Once both stakes count (the stake delay is
// 10 blocks), A's tab is closed: on the reference rule the chain would wait for A for good; on
// resilient B's rank may forge one slot (5 s) later, so C's next purchase still lands and B and
// C agree on the head.

const SHOTS = join(ROOT, 'docs', 'screenshots');
/** The stake delay (src/core/resilient/params.ts): a stake counts this many blocks after it lands. */
const STAKE_DELAY_BLOCKS = 10;

describe('the resilient profile: the chain keeps going when the big staker closes its tab', () => {
  let devnet: NpmStart;
  let browser: Browser;
  let context: BrowserContext;
  let a: AppTab;
  let b: AppTab;
  let c: AppTab;
  let height = 0;

  beforeAll(async () => {
    [devnet, browser] = await Promise.all([startNpmStart(['--profile', 'resilient']), launchChromium()]);
    context = await newContext(browser);
  });
  afterAll(async () => {
    await browser?.close();
    await devnet?.stop();
  });

  /** Waits until every open tab shows the next block. */
  const nextBlock = async (tabs: readonly AppTab[]) => {
    height++;
    for (const tab of tabs) await waitForHeight(tab.page, height, 30_000);
  };

  const show = (page: Page, hash: string) =>
    page.evaluate((h) => {
      window.location.hash = h;
    }, hash);

  it('serves the resilient profile, and names it in every tab', async () => {
    expect(devnet.output()).toContain('tabchain devnet profile: resilient');
    a = await openApp(context, devnet.url);
    b = await openApp(context, devnet.url);
    c = await openApp(context, devnet.url);
    for (const tab of [a, b, c]) await waitForPeers(tab.page, 2);
    await show(c.page, '#/network');
    await expect
      .poll(() => c.page.getByTestId('network-profile').first().getAttribute('data-value'))
      .toBe('resilient');
    await show(c.page, '#/wallet');
  });

  it('a purchase lands after the tab holding almost all the stake closes, and all tabs agree', async () => {
    await importDevnetKey(a.page, 'genesis');
    await importDevnetKey(b.page, 'staker');
    await createKey(c.page);
    const genesisKey = await myPublicKey(a.page);
    const stakerKey = await myPublicKey(b.page);

    await act(a.page, 'exchange', 100);
    await nextBlock([a, b, c]);
    await act(a.page, 'stake', 99);
    await nextBlock([a, b, c]);
    await act(b.page, 'exchange', 10);
    await nextBlock([a, b, c]);
    await act(b.page, 'stake', 1);
    await nextBlock([a, b, c]);
    // Both stakes count once STAKE_DELAY_BLOCKS more blocks have landed.
    for (let i = 0; i < STAKE_DELAY_BLOCKS; i++) {
      await act(c.page, 'exchange', 1);
      await nextBlock([a, b, c]);
    }
    // Both keys are ranked now: the genesis key (100 of 101 coins) is almost surely rank 0, and
    // the next-forger test id names rank 0's full key.
    await expect
      .poll(async () => c.page.getByTestId('next-forger').first().getAttribute('data-value'), {
        timeout: 10_000,
      })
      .toMatch(/^-----BEGIN PUBLIC KEY-----/);
    const due = await c.page.getByTestId('next-forger').first().getAttribute('data-value');
    expect([genesisKey, stakerKey]).toContain(due);
    const heightBefore = await intOf(c.page, 'head-height');
    const balanceBefore = await intOf(c.page, 'my-balance');

    // The big staker leaves. If it was due, the staker's rank takes the turn a slot later.
    await a.page.close();
    await act(c.page, 'exchange', 7);
    await nextBlock([b, c]);
    expect(height).toBe(heightBefore + 1);
    await expect.poll(() => intOf(c.page, 'my-balance'), { timeout: 15_000 }).toBe(balanceBefore + 7);
    const heads = await Promise.all([b, c].map((tab) => headHash(tab.page)));
    expect(new Set(heads).size).toBe(1);

    // The explorer says who forged the new block and why it was allowed.
    await show(c.page, `#/block/${height}`);
    const turn = c.page.getByTestId('block-turn').first();
    await expect.poll(() => turn.getAttribute('data-value'), { timeout: 10_000 }).toMatch(/^rank \d/);
    if (due === genesisKey) {
      // The due staker was gone: rank 1 forged after rank 0 was silent for at least one slot.
      expect(await turn.getAttribute('data-rank')).toBe('1');
      expect(await turn.getAttribute('data-value')).toMatch(/^rank 1: rank 0 was silent for \d+ slots?$/);
    }
    mkdirSync(SHOTS, { recursive: true });
    await c.page.screenshot({ path: join(SHOTS, 'resilient-block.png'), fullPage: true });
    await show(c.page, '#/explorer');
    await c.page.waitForTimeout(400);
    await c.page.screenshot({ path: join(SHOTS, 'resilient-explorer.png'), fullPage: true });

    for (const tab of [a, b, c]) {
      expect(tab.offMachine).toEqual([]);
      expect(tab.errors).toEqual([]);
    }
  });
});
