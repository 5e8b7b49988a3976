import { type ChildProcess, spawn } from 'node:child_process';
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
  openApp,
  waitForHeight,
  waitForPeers,
} from './app-driver';
import { launchChromium, newContext, ROOT } from './browser';

// Issue 6: the reference interaction, by clicking alone, in three tabs against `npm start`.
// Tab A imports the genesis key and tab B the staker key; B buys 100 from the exchange, C buys
// 100 and then 10; B stakes 25 and sends C 1, twice. All three tabs end on one head; B shows
// balance 73 and stake 25, C shows 112. The run also takes the README's screenshots.

const SHOTS = join(ROOT, 'docs', 'screenshots');

/** Runs `npm start` (scripts/start.mjs) on a free port; resolves with its printed URL. */
function startDevnet(): Promise<{ url: string; process: ChildProcess }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'scripts', 'start.mjs')], {
      cwd: ROOT,
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const timer = setTimeout(() => reject(new Error(`npm start printed no URL:\n${output}`)), 60_000);
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /^tabchain devnet: (http:\/\/localhost:\d+\/)$/m.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve({ url: match[1], process: child });
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${output}`)));
  });
}

describe('the reference interaction, clicked through three tabs against npm start', () => {
  let devnet: { url: string; process: ChildProcess };
  let browser: Browser;
  let context: BrowserContext;
  let a: AppTab;
  let b: AppTab;
  let c: AppTab;
  let height = 0;

  beforeAll(async () => {
    [devnet, browser] = await Promise.all([startDevnet(), launchChromium()]);
    context = await newContext(browser);
  });
  afterAll(async () => {
    await browser?.close();
    if (devnet?.process.pid) {
      const exited = new Promise((resolve) => devnet.process.once('exit', resolve));
      devnet.process.kill('SIGTERM');
      await exited;
    }
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
    for (const tab of [a, b, c]) await waitForPeers(tab.page, 2);

    await importDevnetKey(a.page, 'genesis');
    await importDevnetKey(b.page, 'staker');
    await createKey(c.page);

    await act(b.page, 'exchange', 100);
    await nextBlock();
    await act(c.page, 'exchange', 100);
    await nextBlock();
    await act(c.page, 'exchange', 10);
    await nextBlock();
    await act(b.page, 'stake', 25);
    await nextBlock();
    const cKey = await myPublicKey(c.page);
    await act(b.page, 'transfer', 1, cKey);
    await nextBlock();
    await act(b.page, 'transfer', 1, cKey);
    await nextBlock();

    const heads = await Promise.all([a, b, c].map((tab) => headHash(tab.page)));
    expect(new Set(heads).size).toBe(1);
    expect(await intOf(b.page, 'my-balance')).toBe(73);
    expect(await intOf(b.page, 'my-stake')).toBe(25);
    expect(await intOf(c.page, 'my-balance')).toBe(112);
    expect(await intOf(c.page, 'my-stake')).toBe(0);
    for (const tab of [a, b, c]) {
      expect(await intOf(tab.page, 'head-height')).toBe(6);
      expect(tab.offMachine).toEqual([]);
      expect(tab.errors).toEqual([]);
    }
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
