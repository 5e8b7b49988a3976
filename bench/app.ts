/**
 * Figures measured on the real app in real Chromium: the time from submitting a transaction in
 * one of 8 tabs until its block is the head in all 8.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import {
  act,
  createKey,
  importDevnetKey,
  openApp,
  startDevnet,
  waitForHeight,
  waitForPeers,
} from '../test/e2e/app-driver';
import { buildApp, launchChromium, newContext } from '../test/e2e/browser';
import { type Figure, round } from './harness';

const TABS = 8;
const TRANSACTIONS = 30;

/** p50 and p95 of transaction → head in all 8 tabs, over `TRANSACTIONS` purchases made one at a time. */
export async function txToHeadFigures(): Promise<Figure[]> {
  const dist = await mkdtemp(join(tmpdir(), 'tabchain-bench-dist-'));
  await buildApp(dist);
  const devnet = await startDevnet(dist);
  const browser = await launchChromium();
  try {
    const context = await newContext(browser);
    const tabs: Page[] = [];
    for (let i = 0; i < TABS; i++) tabs.push((await openApp(context, devnet.url)).page);
    for (const page of tabs) await waitForPeers(page, TABS - 1, 60_000);
    const [forger, buyer] = tabs as [Page, Page];
    await importDevnetKey(forger, 'genesis');
    await createKey(buyer);
    const latencies: number[] = [];
    for (let height = 1; height <= TRANSACTIONS; height++) {
      const started = performance.now();
      await act(buyer, 'exchange', 1);
      await Promise.all(tabs.map((page) => waitForHeight(page, height, 30_000)));
      latencies.push(performance.now() - started);
    }
    latencies.sort((a, b) => a - b);
    const at = (q: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] as number;
    const note = `${TRANSACTIONS} purchases clicked in one tab, until every one of ${TABS} tabs (simple-peer, one Chromium) shows the block as head`;
    return [
      { name: 'tx-to-head-8-tabs-p50', value: round(at(0.5), 0), unit: 'ms', ratio: null, note },
      { name: 'tx-to-head-8-tabs-p95', value: round(at(0.95), 0), unit: 'ms', ratio: null, note },
    ];
  } finally {
    await browser.close();
    await devnet.stop();
    await rm(dist, { recursive: true, force: true });
  }
}
