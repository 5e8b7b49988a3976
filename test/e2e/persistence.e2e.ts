import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildSignedChain, chainFileText } from '../../bench/chain';
import { type Block, blockHash, GENESIS_BLOCK } from '../../src/core';
import {
  type AppTab,
  act,
  buyBurst,
  createKey,
  type Devnet,
  headHash,
  headHeight,
  importDevnetKey,
  intOf,
  myPublicKey,
  openApp,
  startDevnet,
  waitForHeight,
  waitForPeers,
} from './app-driver';
import { isLocalUrl, launchChromium, newContext } from './browser';

// Issue: the chain, wallet and pool survive a reload (IndexedDB storage). Real Chromium tabs on a
// devnet served on 127.0.0.1, driven by their data-testids: a clean reload restores everything;
// a renderer killed mid-write comes back with a valid prefix of its chain and catches up; a tab
// without IndexedDB runs from memory and says so.

/** Blocks of the chain built in Node for the crash test (two transfers each). */
const CHAIN_BLOCKS = 400;
/** Blocks the source tab forges one by one while the follower appends them (and crashes). */
const BURST_BLOCKS = 80;

/**
 * A tab driven through its own DevTools session. Playwright's page object gives up for good when
 * its renderer crashes; this session survives, and Chromium reloads the crashed tab in place
 * (same tab, same sessionStorage, so the same node id), as the sad-tab "Reload" button does.
 */
class DevtoolsTab {
  /** Uncaught exceptions and unhandled rejections, in every document the tab showed. */
  readonly errors: string[] = [];
  /** Requests to anywhere but this machine. */
  readonly offMachine: string[] = [];
  private onCrash: (() => void) | null = null;

  private constructor(private readonly cdp: CDPSession) {
    cdp.on('Inspector.targetCrashed', () => this.onCrash?.());
    cdp.on('Runtime.exceptionThrown', (event) => {
      const details = event.exceptionDetails;
      this.errors.push(details.exception?.description ?? details.text);
    });
    cdp.on('Network.requestWillBeSent', (event) => {
      if (!isLocalUrl(event.request.url)) this.offMachine.push(event.request.url);
    });
  }

  /** Opens `url` in a new tab of `context`, watched from the start. */
  static async open(context: BrowserContext, url: string): Promise<DevtoolsTab> {
    const page = await context.newPage();
    const tab = new DevtoolsTab(await context.newCDPSession(page));
    await tab.enable();
    await tab.cdp.send('Page.navigate', { url });
    await tab.waitFor('!!document.querySelector(\'[data-testid="head-height"]\')', 30_000);
    return tab;
  }

  private async enable(): Promise<void> {
    await this.cdp.send('Inspector.enable');
    await this.cdp.send('Runtime.enable');
    await this.cdp.send('Network.enable');
  }

  /** Evaluates `expression` in the page (awaiting a promise) and returns its JSON value. */
  async value<T>(expression: string): Promise<T> {
    const reply = await this.cdp.send('Runtime.evaluate', {
      expression,
      returnByValue: true,
      awaitPromise: true,
    });
    if (reply.exceptionDetails) throw new Error(`page: ${reply.exceptionDetails.text}`);
    return reply.result.value as T;
  }

  /**
   * Waits until `condition` (an expression) is true in the page. The page itself polls every
   * 5 ms, so the caller acts within milliseconds of it turning true; a navigation in between
   * just restarts the wait.
   */
  async waitFor(condition: string, timeout: number): Promise<void> {
    const deadline = Date.now() + timeout;
    while (Date.now() < deadline) {
      const slice = Math.min(2000, deadline - Date.now());
      const met = await this.value<boolean>(
        `new Promise((resolve) => {
          const end = performance.now() + ${slice};
          const tick = () => {
            let ok = false;
            try { ok = Boolean(${condition}); } catch {}
            if (ok || performance.now() > end) resolve(ok);
            else setTimeout(tick, 5);
          };
          tick();
        })`,
      ).catch(() => false);
      if (met) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`timed out after ${timeout} ms waiting for ${condition}`);
  }

  /** A testid'd element's text, or null when it is not shown. */
  text(testId: string): Promise<string | null> {
    return this.value(
      `document.querySelector(${JSON.stringify(`[data-testid="${testId}"]`)})?.textContent ?? null`,
    );
  }

  /** The head height the tab shows. */
  async height(): Promise<number> {
    const text = (await this.text('head-height')) ?? '';
    if (!/^\d+$/.test(text.trim())) throw new Error(`head-height shows "${text}"`);
    return Number(text);
  }

  /** The full head hash the tab shows. */
  hash(): Promise<string | null> {
    return this.value(
      `document.querySelector('[data-testid="head-hash"]')?.getAttribute('data-value') ?? null`,
    );
  }

  /** Waits until the tab shows `height` or more. */
  waitForHeight(height: number, timeout = 30_000): Promise<void> {
    return this.waitFor(
      `Number(document.querySelector('[data-testid="head-height"]')?.textContent ?? -1) >= ${height}`,
      timeout,
    );
  }

  /** Kills the tab's renderer (a real crash: Chromium's `Page.crash`) and waits until it is dead. */
  async crash(): Promise<void> {
    const crashed = new Promise<void>((resolve) => {
      this.onCrash = resolve;
    });
    // The command never gets an answer: the process that would send it is gone.
    void this.cdp.send('Page.crash').catch(() => {});
    await Promise.race([
      crashed,
      new Promise((_, reject) => setTimeout(() => reject(new Error('the renderer did not crash')), 10_000)),
    ]);
    this.onCrash = null;
  }

  /** Reloads the (crashed) tab in place and waits until its node has restored its chain. */
  async reload(): Promise<void> {
    await this.cdp.send('Page.reload', {});
    await this.enable();
    await this.waitFor('!!document.querySelector(\'[data-testid="head-height"]\')', 30_000);
  }
}

/** The hash of every block of `chain` (with genesis in front), by height. */
function hashesOf(chain: readonly Block[]): string[] {
  return [blockHash(GENESIS_BLOCK), ...chain.map((block) => blockHash(block))];
}

/** The notices a tab lists on #/network (empty when it has none). */
async function noticesOf(page: Page): Promise<string[]> {
  await page.getByTestId('nav-network').click();
  await page.getByTestId('node-id').waitFor();
  return page.getByTestId('notices').locator('li').allTextContents();
}

/** The ids of the pending transactions listed on #/explorer. */
async function poolIds(page: Page): Promise<string[]> {
  await page.getByTestId('nav-explorer').click();
  const links = page.getByTestId('pool-list').locator('a[href^="#/tx/"]');
  await links.first().waitFor();
  const hrefs = await links.evaluateAll((anchors) => anchors.map((a) => a.getAttribute('href') ?? ''));
  return hrefs.map((href) => href.replace('#/tx/', '')).sort();
}

/** What a tab shows of its node: head, wallet, pool (with ids), notices and node id. */
async function tabState(page: Page) {
  await page.getByTestId('nav-wallet').click();
  await page.getByTestId('my-public-key').waitFor();
  return {
    height: await headHeight(page),
    hash: await headHash(page),
    balance: await intOf(page, 'my-balance'),
    stake: await intOf(page, 'my-stake'),
    key: await myPublicKey(page),
    poolSize: await intOf(page, 'pool-size'),
    pending: await poolIds(page),
    notices: await noticesOf(page),
    nodeId: await page.getByTestId('node-id').textContent(),
  };
}

describe('the chain, wallet and pool survive a reload: IndexedDB storage', () => {
  let browser: Browser;
  let scratch: string;
  const cleanups: (() => Promise<unknown>)[] = [];
  /** A devnet and a browser context of this test's own: other tests' tabs never join it. */
  const world = async (): Promise<{ devnet: Devnet; context: BrowserContext }> => {
    const devnet = await startDevnet(inject('tabchainDist'));
    const context = await newContext(browser);
    cleanups.push(
      () => context.close(),
      () => devnet.stop(),
    );
    return { devnet, context };
  };
  const expectClean = (tabs: readonly Pick<AppTab, 'errors' | 'offMachine'>[]) => {
    for (const tab of tabs) {
      expect(tab.offMachine).toEqual([]);
      expect(tab.errors).toEqual([]);
    }
  };

  beforeAll(async () => {
    browser = await launchChromium();
    scratch = await mkdtemp(join(tmpdir(), 'tabchain-persistence-'));
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup().catch(() => {});
  });
  afterAll(async () => {
    await browser?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('forge blocks, then reload the tab: the head, balances, wallet and pool are the same', async () => {
    const { devnet, context } = await world();
    const forger = await openApp(context, devnet.url);
    const buyer = await openApp(context, devnet.url);
    await waitForPeers(buyer.page, 1);
    await importDevnetKey(forger.page, 'genesis');
    await createKey(buyer.page);
    const me = await myPublicKey(buyer.page);

    await act(buyer.page, 'exchange', 10);
    await waitForHeight(buyer.page, 1);
    await act(buyer.page, 'exchange', 5);
    await waitForHeight(buyer.page, 2);
    await act(buyer.page, 'stake', 3);
    await waitForHeight(buyer.page, 3);
    // The buyer now holds lots in the forger lottery too. Buy until the genesis key (the forger
    // tab) must forge the next block, so that once that tab is gone a transaction stays pending.
    for (let round = 0; ; round++) {
      if ((await buyer.page.getByTestId('next-forger').getAttribute('data-value')) !== me) break;
      expect(round, 'the buyer keeps winning the lottery').toBeLessThan(20);
      const height = await headHeight(buyer.page);
      await act(buyer.page, 'exchange', 1);
      await waitForHeight(buyer.page, height + 1);
    }
    await forger.page.close();
    await act(buyer.page, 'exchange', 4);
    await buyer.page.getByTestId('exchange-status').waitFor();
    await buyer.page.waitForFunction(
      () => document.querySelector('[data-testid="pool-size"]')?.textContent === '1',
    );

    const page = buyer.page;
    const before = await tabState(page);
    expect(before.balance).toBeGreaterThanOrEqual(12);
    expect(before.stake).toBe(3);
    expect(before.poolSize).toBe(1);
    expect(before.pending).toHaveLength(1);
    expect(before.notices).toEqual([]);
    expect(before.nodeId).toMatch(/^[0-9a-f]{16}$/);

    await page.reload();
    await page.getByTestId('head-height').waitFor();
    expect(await tabState(page)).toEqual(before);

    // The restored wallet still signs: a stake joins the pending exchange in the pool.
    await page.getByTestId('nav-wallet').click();
    await act(page, 'stake', 1);
    await page.getByTestId('stake-status').waitFor();
    await page.waitForFunction(
      () => document.querySelector('[data-testid="pool-size"]')?.textContent === '2',
    );
    expectClean([forger, buyer]);
  });

  it('kill the page during a burst of appends: after reload, the chain is a valid prefix', async () => {
    const { devnet, context } = await world();
    const chain = await buildSignedChain(CHAIN_BLOCKS, 2);
    const built = hashesOf(chain);
    const file = join(scratch, 'chain.json');
    await writeFile(file, chainFileText(chain));

    // The source tab imports the chain through the UI.
    const source = await openApp(context, `${devnet.url}#/network`);
    await source.page.getByTestId('import-chain-file').setInputFiles(file);
    await source.page
      .getByTestId('import-chain-result')
      .filter({ hasText: `Adopted ${CHAIN_BLOCKS} blocks` })
      .waitFor({ timeout: 60_000 });
    expect(await headHash(source.page)).toBe(built[CHAIN_BLOCKS]);

    // A new tab syncs it; its renderer dies while the sync is under way (or just after, on a fast
    // run). Sync adopts the validated chain in one store write, so the tab comes back at 0 or 400.
    const follower = await DevtoolsTab.open(context, `${devnet.url}#/network`);
    const nodeId = await follower.text('node-id');
    expect(nodeId).toMatch(/^[0-9a-f]{16}$/);
    await follower.waitFor(
      `Number(document.querySelector('[data-testid="sync-progress"]')?.getAttribute('aria-valuenow') ?? 0) > 0 ||
       Number(document.querySelector('[data-testid="head-height"]')?.textContent ?? 0) > 0`,
      60_000,
    );
    await follower.crash();
    await follower.reload();
    expect(await follower.text('node-id')).toBe(nodeId);
    const restored = await follower.height();
    expect(restored).toBeLessThanOrEqual(CHAIN_BLOCKS);
    expect(await follower.hash()).toBe(built[restored]);
    await expectHonestNotices(follower, restored);
    await follower.waitForHeight(CHAIN_BLOCKS, 60_000);
    expect(await follower.hash()).toBe(built[CHAIN_BLOCKS]);

    // The source forges block after block, which the follower appends one by one as they are
    // gossiped (one store write each); its renderer dies in the middle of that burst.
    await source.page.getByTestId('nav-wallet').click();
    await importDevnetKey(source.page, 'genesis');
    const burst = buyBurst(source.page, BURST_BLOCKS);
    burst.catch(() => {});
    await follower.waitForHeight(CHAIN_BLOCKS + BURST_BLOCKS / 4, 60_000);
    await follower.crash();
    await burst;
    const top = CHAIN_BLOCKS + BURST_BLOCKS;
    expect(await headHeight(source.page)).toBe(top);

    await source.page.getByTestId('nav-network').click();
    const [download] = await Promise.all([
      source.page.waitForEvent('download'),
      source.page.getByTestId('export-chain').click(),
    ]);
    const exported = JSON.parse(await readFile(await download.path(), 'utf8')) as { blocks: Block[] };
    const sourceHashes = hashesOf(exported.blocks.slice(1));
    expect(sourceHashes).toHaveLength(top + 1);
    expect(sourceHashes.slice(0, CHAIN_BLOCKS + 1)).toEqual(built);

    await follower.reload();
    expect(await follower.text('node-id')).toBe(nodeId);
    const kept = await follower.height();
    // Blocks shown seconds before the crash were long written: they survive it.
    expect(kept).toBeGreaterThanOrEqual(CHAIN_BLOCKS);
    expect(kept).toBeLessThanOrEqual(top);
    expect(await follower.hash()).toBe(sourceHashes[kept]);
    await expectHonestNotices(follower, kept);
    await follower.waitForHeight(top, 60_000);
    expect(await follower.hash()).toBe(sourceHashes[top]);
    expectClean([source, follower]);
  }, 240_000);

  it('when IndexedDB is unavailable the node keeps running from memory with a clear message', async () => {
    const { devnet, context } = await world();
    const forger = await openApp(context, devnet.url);
    await importDevnetKey(forger.page, 'genesis');
    // Another profile whose pages have no IndexedDB (as in some private windows).
    const bare = await newContext(browser);
    cleanups.push(() => bare.close());
    await bare.addInitScript(() => {
      Object.defineProperty(window, 'indexedDB', { value: undefined });
    });
    const memory = await openApp(bare, devnet.url);
    const banner = memory.page.getByTestId('notices-banner');
    await banner.waitFor();
    expect(await banner.textContent()).toMatch(/IndexedDB is not available.*in memory only/s);

    await waitForPeers(memory.page, 1);
    await importDevnetKey(memory.page, 'staker');
    await act(memory.page, 'exchange', 5);
    await waitForHeight(memory.page, 1);
    await waitForHeight(forger.page, 1);
    expect(await intOf(memory.page, 'my-balance')).toBe(5);
    expect(await headHash(memory.page)).toBe(await headHash(forger.page));

    // As the message says, a reload loses the wallet; the chain comes back from the peer.
    await memory.page.reload();
    await memory.page.getByTestId('notices-banner').waitFor();
    expect(await memory.page.getByTestId('notices-banner').textContent()).toMatch(/in memory only/);
    await memory.page.getByTestId('import-devnet-staker').waitFor();
    expect(await memory.page.getByTestId('my-public-key').count()).toBe(0);
    await waitForHeight(memory.page, 1);
    expect(await headHash(memory.page)).toBe(await headHash(forger.page));
    expectClean([forger, memory]);
  });
});

/**
 * What a tab restored after a crash says about it: storage never failed, and if the store had to
 * cut a damaged tail, its notice names the height the tab shows.
 */
async function expectHonestNotices(tab: DevtoolsTab, height: number): Promise<void> {
  const notices = await tab.value<string[]>(
    `[...document.querySelectorAll('[data-testid="notices"] li')].map((li) => li.textContent ?? '')`,
  );
  for (const notice of notices) {
    expect(notice).not.toMatch(/Storage failed|in memory only/);
    const cut = /kept blocks 1–(\d+)/.exec(notice);
    if (cut) expect(Number(cut[1])).toBe(height);
  }
}
