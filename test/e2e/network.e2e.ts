import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { TransportKind } from '../../src/net/index';
import {
  type AppTab,
  act,
  createKey,
  type Devnet,
  headHash,
  headHeight,
  importDevnetKey,
  openApp,
  startDevnet,
  waitForHeight,
  waitForPeers,
} from './app-driver';
import { launchChromium, newContext } from './browser';

// Issue 4: tabs find and talk to each other, for each transport: four tabs form a network and
// forge; a fifth syncs later; the network outlives its signaling server; a restarted server
// lets a new tab in. Everything by clicking, on 127.0.0.1, with iceServers: [].
const KINDS: readonly TransportKind[] = ['simple-peer', 'peerjs'];

describe.each(KINDS)('%s: a network of tabs', (kind) => {
  let browser: Browser;
  let context: BrowserContext;
  let devnet: Devnet;
  const tabs: AppTab[] = [];
  const open = async () => {
    const tab = await openApp(context, `${devnet.url}?transport=${kind}`);
    tabs.push(tab);
    return tab;
  };
  const heads = () => Promise.all(tabs.map((t) => headHash(t.page)));

  beforeAll(async () => {
    browser = await launchChromium();
    context = await newContext(browser);
    devnet = await startDevnet(inject('tabchainDist'));
  });
  afterAll(async () => {
    for (const tab of tabs) {
      expect(tab.offMachine).toEqual([]);
      expect(tab.errors).toEqual([]);
    }
    await browser?.close();
    await devnet?.stop().catch(() => {});
  });

  it('4 tabs connect, and a transaction made in one is in a block in all four within seconds', async () => {
    for (let i = 0; i < 4; i++) await open();
    for (const tab of tabs) await waitForPeers(tab.page, 3);
    const [forger, buyer] = tabs as [AppTab, AppTab];
    await importDevnetKey(forger.page, 'genesis');
    await createKey(buyer.page);
    const started = Date.now();
    await act(buyer.page, 'exchange', 5);
    for (const tab of tabs) await waitForHeight(tab.page, 1, 10_000);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(10_000);
    expect(new Set(await heads()).size).toBe(1);
    expect(await buyer.page.getByTestId('my-balance').textContent()).toMatch(/\b5\b/);
  });

  it('a fifth tab opened later syncs the chain', async () => {
    const height = await headHeight(tabs[0]?.page as AppTab['page']);
    const late = await open();
    await waitForHeight(late.page, height);
    expect(new Set(await heads()).size).toBe(1);
  });

  it('with the signaling server stopped, the tabs stay connected and keep forging', async () => {
    await devnet.stop();
    const before = await headHeight(tabs[0]?.page as AppTab['page']);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    for (const tab of tabs.slice(0, 4)) await waitForPeers(tab.page, 3, 1000);
    await act((tabs[1] as AppTab).page, 'exchange', 7);
    for (const tab of tabs) await waitForHeight(tab.page, before + 1, 15_000);
    expect(new Set(await heads()).size).toBe(1);
  });

  it('after the server restarts, a new tab joins and syncs', async () => {
    await devnet.restart();
    const height = await headHeight(tabs[0]?.page as AppTab['page']);
    const newcomer = await open();
    await waitForPeers(newcomer.page, 1, 30_000);
    await waitForHeight(newcomer.page, height, 30_000);
    expect(await headHash(newcomer.page)).toBe(await headHash((tabs[0] as AppTab).page));
  });
});
