import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  type AppTab,
  act,
  type Devnet,
  headHash,
  importDevnetKey,
  intOf,
  myPublicKey,
  openApp,
  startDevnet,
  waitForPeers,
} from './app-driver';
import { launchChromium, newContext } from './browser';

// Issue 14, "a test of the fallback path": a page without `crypto.subtle` (what a student gets
// over plain http from another machine) signs with node-forge. Its key must survive a reload:
// create a key, reload, the same key is there, and it still signs a purchase that lands in a
// block forged by another tab (one with WebCrypto, in another browser profile).

/** Runs before any of the page's scripts: the page then sees what an insecure context sees. */
const REMOVE_SUBTLE = () => {
  // `subtle` is a getter on Crypto.prototype; outside a secure context it is absent altogether.
  delete (Crypto.prototype as { subtle?: SubtleCrypto }).subtle;
};

/** Pure-JS RSA-2048 key generation on a loaded 2-core machine takes seconds, sometimes many. */
const KEYGEN_TIMEOUT_MS = 110_000;

/** Waits until the wallet shows a public key (after a create, an import or a reload). */
async function waitForWallet(page: Page, timeout: number): Promise<void> {
  await page.waitForFunction(
    () => !!document.querySelector('[data-testid="my-public-key"]')?.getAttribute('data-value'),
    undefined,
    { timeout, polling: 100 },
  );
}

/** The notices the network page lists (start-up notices first), and where its ICE servers came from. */
async function networkView(page: Page): Promise<{ notices: string; iceSource: string | null }> {
  await page.evaluate(() => {
    window.location.hash = '#/network';
  });
  const notices = (await page.getByTestId('notices').textContent({ timeout: 10_000 })) ?? '';
  const iceSource = await page.getByTestId('ice-source').getAttribute('data-value');
  await page.evaluate(() => {
    window.location.hash = '#/wallet';
  });
  return { notices, iceSource };
}

describe('the node-forge fallback keeps its key across a reload', () => {
  let browser: Browser;
  let devnet: Devnet;
  let insecure: BrowserContext;
  let secure: BrowserContext;
  let student: AppTab;
  let forger: AppTab;

  beforeAll(async () => {
    [browser, devnet] = await Promise.all([launchChromium(), startDevnet(inject('tabchainDist'))]);
    insecure = await newContext(browser);
    await insecure.addInitScript(REMOVE_SUBTLE);
    secure = await newContext(browser);
  });
  afterAll(async () => {
    await browser?.close();
    await devnet?.stop();
  });

  it('runs on node-forge without crypto.subtle, and says so', async () => {
    student = await openApp(insecure, devnet.url);
    expect(await student.page.evaluate(() => typeof globalThis.crypto.subtle)).toBe('undefined');
    const network = await networkView(student.page);
    expect(network.notices).toMatch(/not a secure context.*node-forge/);
    // No setting and no servers in this devnet's config: the tab says it uses none.
    expect(network.iceSource).toBe('none');
    await expect(student.page.getByTestId('forge-key-note').textContent()).resolves.toMatch(
      /extractable in this browser.*npm start -- --lan/s,
    );
  });

  it('creates a key, and after a reload the same key is there and still signs a purchase', async () => {
    const created = performance.now();
    await student.page.getByTestId('create-key').click();
    await waitForWallet(student.page, KEYGEN_TIMEOUT_MS);
    console.log(`forge key generation in Chromium: ${Math.round(performance.now() - created)} ms`);
    const key = await myPublicKey(student.page);
    expect(key).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);

    await student.page.reload();
    await student.page.getByTestId('head-height').first().waitFor({ timeout: 30_000 });
    await waitForWallet(student.page, 30_000);
    expect(await myPublicKey(student.page)).toBe(key);
    // Still the fallback after the reload: the key came back from its stored PKCS#8 bytes.
    expect(await student.page.evaluate(() => typeof globalThis.crypto.subtle)).toBe('undefined');
    expect(await student.page.getByTestId('forge-key-note').count()).toBe(1);

    // Another profile, with WebCrypto, forges with the genesis key; the student buys 10 coins.
    forger = await openApp(secure, devnet.url);
    await importDevnetKey(forger.page, 'genesis');
    await Promise.all([waitForPeers(student.page, 1), waitForPeers(forger.page, 1)]);
    await act(student.page, 'exchange', 10);
    await student.page.waitForFunction(
      () => document.querySelector('[data-testid="my-balance"]')?.textContent?.trim() === '10',
      undefined,
      { timeout: 60_000, polling: 100 },
    );
    expect(await intOf(student.page, 'my-balance')).toBe(10);
    // The student has no stake, so the block holding the purchase was forged by the other tab:
    // its WebCrypto check took the forge signature. Both tabs end on one head.
    await expect
      .poll(async () => new Set(await Promise.all([student, forger].map((tab) => headHash(tab.page)))).size, {
        timeout: 30_000,
      })
      .toBe(1);
    for (const tab of [student, forger]) {
      expect(tab.offMachine).toEqual([]);
      expect(tab.errors).toEqual([]);
    }
  });
});
