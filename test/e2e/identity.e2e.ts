import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  type AppTab,
  act,
  type Devnet,
  headHash,
  headHeight,
  importDevnetKey,
  myPublicKey,
  openApp,
  startDevnet,
  waitForHeight,
  waitForPeers,
} from './app-driver';
import { launchChromium, newContext, openWatchedPage } from './browser';

// Issue 10: a node belongs to one live tab and outlives it (Web Locks), old nodes are the ones
// no tab holds, and one tab per key forges in a browser. One browser context stands for one
// browser; every tab is driven through its data-testids.

let browser: Browser;
let devnet: Devnet;

beforeAll(async () => {
  [browser, devnet] = await Promise.all([launchChromium(), startDevnet(inject('tabchainDist'))]);
});
afterAll(async () => {
  await browser?.close();
  await devnet?.stop();
});

/** Shows a page of the app (a hash route: no reload). */
async function show(page: Page, route: '#/network' | '#/wallet'): Promise<void> {
  await page.evaluate((hash) => {
    window.location.hash = hash;
  }, route);
}

/** The tab's node id (Network page's `node-id`). */
async function nodeIdOf(page: Page): Promise<string> {
  await show(page, '#/network');
  const id = await page.getByTestId('node-id').getAttribute('data-value');
  await show(page, '#/wallet');
  return id ?? '';
}

/** The old nodes the Network page lists, after a refresh. */
async function oldNodesOf(page: Page): Promise<string[]> {
  await show(page, '#/network');
  const card = page.getByTestId('old-nodes');
  await card.waitFor();
  const before = Number(await card.getAttribute('data-answers'));
  await page.getByTestId('refresh-old-nodes').click();
  // A fresh answer, not the list shown before the click.
  await page.waitForFunction(
    (count) =>
      Number(document.querySelector('[data-testid="old-nodes"]')?.getAttribute('data-answers')) > count,
    before,
  );
  const ids = await page
    .getByTestId('old-node')
    .evaluateAll((items) => items.map((item) => item.getAttribute('data-value') ?? ''));
  return ids;
}

async function forgingStatus(page: Page): Promise<string> {
  return (await page.getByTestId('forging-status').getAttribute('data-value')) ?? '';
}

/** Waits until the set of the tabs' forging statuses is exactly `expected` (sorted). */
async function waitForStatuses(pages: readonly Page[], expected: readonly string[]): Promise<string[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const statuses = await Promise.all(pages.map(forgingStatus));
    if ([...statuses].sort().join() === [...expected].sort().join()) return statuses;
    if (Date.now() > deadline)
      throw new Error(`forging statuses ${statuses.join()} never became ${expected.join()}`);
    await pages[0]?.waitForTimeout(100);
  }
}

function expectClean(tabs: readonly AppTab[]): void {
  for (const tab of tabs) {
    expect(tab.errors).toEqual([]);
    expect(tab.offMachine).toEqual([]);
  }
}

describe('a node belongs to one live tab and outlives it', () => {
  let context: BrowserContext;
  const tabs: AppTab[] = [];
  afterAll(async () => {
    await context?.close();
  });

  it('(a) all tabs closed, a new tab resumes the chain and wallet; two racing tabs: one gets the free node', async () => {
    context = await newContext(browser);
    const a = await openApp(context, devnet.url);
    const b = await openApp(context, devnet.url);
    tabs.push(a, b);
    await waitForPeers(a.page, 1);
    const [idA, idB] = [await nodeIdOf(a.page), await nodeIdOf(b.page)];
    expect(idA).toMatch(/^[0-9a-f]{16}$/);
    expect(idB).not.toBe(idA);

    await importDevnetKey(a.page, 'genesis');
    await importDevnetKey(b.page, 'genesis');
    await act(a.page, 'exchange', 100);
    await waitForHeight(a.page, 1);
    await act(b.page, 'exchange', 20);
    await waitForHeight(a.page, 2);
    await waitForHeight(b.page, 2);
    const height = await headHeight(a.page);
    const head = await headHash(a.page);
    expect(await headHash(b.page)).toBe(head);
    const key = await myPublicKey(a.page);
    expect(await myPublicKey(b.page)).toBe(key);
    expectClean([a, b]);

    await b.page.close();
    await a.page.close();
    tabs.length = 0;

    // No other tab anywhere: it can only have its height from its own database.
    const c = await openApp(context, devnet.url);
    tabs.push(c);
    const idC = await nodeIdOf(c.page);
    expect([idA, idB]).toContain(idC);
    await waitForHeight(c.page, height, 15_000);
    expect(await headHeight(c.page)).toBe(height);
    expect(await headHash(c.page)).toBe(head);
    expect(await c.page.getByTestId('peer-count').first().textContent()).toMatch(/^0/);
    await c.page.getByTestId('my-public-key').first().waitFor();
    expect(await myPublicKey(c.page)).toBe(key);

    // One node is free now (the other of A and B): two tabs opened at once race for it.
    const free = idC === idA ? idB : idA;
    const [d, e] = await Promise.all([openWatchedPage(context), openWatchedPage(context)]);
    await Promise.all([d.page.goto(devnet.url), e.page.goto(devnet.url)]);
    await Promise.all([d, e].map((tab) => tab.page.getByTestId('head-height').first().waitFor()));
    tabs.push(d, e);
    const [idD, idE] = [await nodeIdOf(d.page), await nodeIdOf(e.page)];
    expect([idD, idE].filter((id) => id === free)).toHaveLength(1);
    expect(idD).not.toBe(idE);
    expect([idD, idE]).not.toContain(idC);
    expectClean(tabs);
  });

  it('(b) a duplicated tab gets a node of its own', async () => {
    const c = tabs[0];
    if (!c) throw new Error('test (a) did not run');
    const idC = await nodeIdOf(c.page);
    const [dupPage] = await Promise.all([
      context.waitForEvent('page'),
      c.page.evaluate(() => {
        window.open(window.location.href);
      }),
    ]);
    await dupPage.getByTestId('head-height').first().waitFor({ timeout: 30_000 });
    // It started from a copy of C's sessionStorage, yet runs another node.
    const idDup = await nodeIdOf(dupPage);
    expect(idDup).toMatch(/^[0-9a-f]{16}$/);
    const live = await Promise.all(tabs.map((tab) => nodeIdOf(tab.page)));
    expect(live).not.toContain(idDup);
    expect(idC).not.toBe(idDup);
    tabs.push({ page: dupPage, errors: [], offMachine: [] });
  });

  it('(c) no live node is listed as old, and deleting a live node is refused', async () => {
    const [c, d, e] = tabs;
    if (!c || !d || !e) throw new Error('test (a) did not run');
    const live = await Promise.all(tabs.map((tab) => nodeIdOf(tab.page)));
    const old = await oldNodesOf(c.page);
    for (const id of live) expect(old).not.toContain(id);

    // D closes: its node is old now, and listed.
    const idD = await nodeIdOf(d.page);
    await d.page.close();
    tabs.splice(tabs.indexOf(d), 1);
    await expect.poll(() => oldNodesOf(c.page), { timeout: 10_000 }).toContain(idD);

    // A new tab reopens it while C still shows it as old: C's delete must be refused.
    const f = await openApp(context, devnet.url);
    tabs.push(f);
    expect(await nodeIdOf(f.page)).toBe(idD);
    const heightF = await headHeight(f.page);
    await show(c.page, '#/network');
    await c.page.locator(`[data-testid="delete-database"][data-node-id="${idD}"]`).click();
    await expect
      .poll(async () => (await c.page.getByTestId('delete-database-warning').textContent()) ?? '')
      .toContain(`Deleting node ${idD} deletes its chain`);
    await c.page.getByTestId('delete-database-confirm').click();
    await expect
      .poll(async () => (await c.page.getByTestId('old-node-error').textContent()) ?? '', { timeout: 10_000 })
      .toMatch(/open in a tab/);
    expect(await oldNodesOf(c.page)).not.toContain(idD);
    // F's node is whole: reload it and it comes back with its chain.
    await f.page.reload();
    await f.page.getByTestId('head-height').first().waitFor();
    expect(await nodeIdOf(f.page)).toBe(idD);
    await waitForHeight(f.page, heightF, 15_000);
    expectClean(tabs.filter((tab) => tab.page !== f.page));

    // "Open this node": F closes, and C reloads into F's saved node; C's own node is then old.
    const idC = await nodeIdOf(c.page);
    await f.page.close();
    tabs.splice(tabs.indexOf(f), 1);
    await expect.poll(() => oldNodesOf(c.page), { timeout: 10_000 }).toContain(idD);
    await c.page.locator(`[data-testid="open-old-node"][data-node-id="${idD}"]`).click();
    await c.page.waitForURL(
      (url) => url.searchParams.get('node') === null && url.href.startsWith(devnet.url),
    );
    await c.page.getByTestId('head-height').first().waitFor();
    await expect.poll(() => nodeIdOf(c.page), { timeout: 10_000 }).toBe(idD);
    await waitForHeight(c.page, heightF, 15_000);
    expect(await oldNodesOf(c.page)).toContain(idC);
  });
});

describe('one forger per key in a browser', () => {
  let context: BrowserContext;
  afterAll(async () => {
    await context?.close();
  });

  it('(d) one key in two tabs: exactly one forges, and taking over moves the forging', async () => {
    context = await newContext(browser);
    const p = await openApp(context, devnet.url);
    const q = await openApp(context, devnet.url);
    await importDevnetKey(p.page, 'genesis');
    await importDevnetKey(q.page, 'genesis');
    const statuses = await waitForStatuses([p.page, q.page], ['other-tab', 'this-tab']);
    const [holder, other] = statuses[0] === 'this-tab' ? [p, q] : [q, p];
    // It stays that way: nobody steals without a click.
    await holder.page.waitForTimeout(2_500);
    expect(await forgingStatus(holder.page)).toBe('this-tab');
    expect(await forgingStatus(other.page)).toBe('other-tab');

    await other.page.bringToFront();
    const clicked = performance.now();
    await other.page.getByTestId('forging-take-over').click();
    await expect.poll(() => forgingStatus(other.page), { timeout: 10_000 }).toBe('this-tab');
    await expect.poll(() => forgingStatus(holder.page), { timeout: 10_000 }).toBe('other-tab');
    // A figure for the report, not a goal: the acknowledgement, not the 2 s bound, ends the wait.
    console.log(
      `identity e2e: take-over with Web Locks settled in ${Math.round(performance.now() - clicked)} ms`,
    );

    // The new holder forges: a purchase becomes a block in both tabs, and only one block.
    await waitForPeers(other.page, 1);
    const before = await headHeight(other.page);
    await act(other.page, 'exchange', 5);
    await waitForHeight(other.page, before + 1);
    await waitForHeight(holder.page, before + 1);
    expect(await headHash(holder.page)).toBe(await headHash(other.page));
    // A purchase sent from the old holder's tab is forged too, once: by the new holder only.
    await act(holder.page, 'exchange', 5);
    await waitForHeight(other.page, before + 2);
    await waitForHeight(holder.page, before + 2);
    expect(await headHash(holder.page)).toBe(await headHash(other.page));
    for (const tab of [p, q]) {
      await show(tab.page, '#/network');
      expect(await tab.page.getByTestId('equivocations').count()).toBe(0);
    }
    expectClean([p, q]);
  });
});

describe('without Web Locks (the lease fallback)', () => {
  let context: BrowserContext;
  afterAll(async () => {
    await context?.close();
  });

  it('says so, keeps one node per live tab and one forger per key', async () => {
    context = await newContext(browser);
    // A browser without Web Locks, as an insecure context is.
    await context.addInitScript(() => {
      Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined, configurable: true });
    });
    const p = await openApp(context, devnet.url);
    const q = await openApp(context, devnet.url);
    await show(p.page, '#/network');
    expect(await p.page.getByTestId('notices').textContent()).toMatch(/no Web Locks/);
    const [idP, idQ] = [await nodeIdOf(p.page), await nodeIdOf(q.page)];
    expect(idP).not.toBe(idQ);
    await importDevnetKey(p.page, 'genesis');
    await importDevnetKey(q.page, 'genesis');
    const statuses = await waitForStatuses([p.page, q.page], ['other-tab', 'this-tab']);
    const [holder, other] = statuses[0] === 'this-tab' ? [p, q] : [q, p];
    // Leases are renewed every second: several renewals later, still one holder.
    await holder.page.waitForTimeout(3_000);
    expect(await forgingStatus(holder.page)).toBe('this-tab');
    expect(await forgingStatus(other.page)).toBe('other-tab');
    await other.page.bringToFront();
    await other.page.getByTestId('forging-take-over').click();
    await expect.poll(() => forgingStatus(other.page), { timeout: 10_000 }).toBe('this-tab');
    await expect.poll(() => forgingStatus(holder.page), { timeout: 10_000 }).toBe('other-tab');

    // A duplicate of a live tab still gets a node of its own.
    const [dupPage] = await Promise.all([
      context.waitForEvent('page'),
      p.page.evaluate(() => {
        window.open(window.location.href);
      }),
    ]);
    await dupPage.getByTestId('head-height').first().waitFor({ timeout: 30_000 });
    expect([idP, idQ]).not.toContain(await nodeIdOf(dupPage));
    expectClean([p, q]);
  });
});
