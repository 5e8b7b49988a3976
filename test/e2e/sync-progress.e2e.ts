/**
 * A tab syncing 1,000 blocks × 10 transfers from another tab keeps its page alive: the sync
 * progress bar moves (several distinct values), and a click on another view is answered while
 * the sync is still under way. (How long the longest task is, is the bench's to measure:
 * `chromium-longest-task-ms`.)
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildSignedChain, chainFileText } from '../../bench/chain';
import { type Devnet, headHeight, openApp, startDevnet, waitForHeight } from './app-driver';
import { launchChromium, newContext } from './browser';

const BLOCKS = 1000;

describe('a tab syncing 1,000 × 10', () => {
  let devnet: Devnet;
  let browser: Browser;
  let scratch: string;
  beforeAll(async () => {
    devnet = await startDevnet(inject('tabchainDist'));
    browser = await launchChromium();
    scratch = await mkdtemp(join(tmpdir(), 'tabchain-sync-progress-'));
  });
  afterAll(async () => {
    await browser?.close();
    await devnet?.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  it('shows a moving progress bar and answers a click on another view while it syncs', async () => {
    const file = join(scratch, 'chain.json');
    await writeFile(file, chainFileText(await buildSignedChain(BLOCKS, 10)));
    const context = await newContext(browser);

    // The source tab holds the chain (imported from a file, as a person would).
    const source = await openApp(context, `${devnet.url}#/network`);
    await source.page.getByTestId('import-chain-file').setInputFiles(file);
    await source.page
      .getByTestId('import-chain-result')
      .filter({ hasText: `Adopted ${BLOCKS} blocks` })
      .waitFor({ timeout: 120_000 });

    // The follower records every value its progress bar shows, from its first frame on.
    const follower = await context.newPage();
    await follower.addInitScript(() => {
      const seen: number[] = [];
      (window as unknown as { progressSeen: number[] }).progressSeen = seen;
      const note = () => {
        const value = document.querySelector('[data-testid="sync-progress"]')?.getAttribute('aria-valuenow');
        if (value !== null && value !== undefined && seen[seen.length - 1] !== Number(value))
          seen.push(Number(value));
      };
      new MutationObserver(note).observe(document, {
        subtree: true,
        childList: true,
        attributes: true,
        attributeFilter: ['aria-valuenow'],
      });
    });
    await follower.goto(`${devnet.url}#/network`);
    const progress = () =>
      follower.evaluate(() => (window as unknown as { progressSeen: number[] }).progressSeen);

    // The bar moves: three distinct values short of the head, in order.
    await follower.waitForFunction(
      (target) => {
        const seen = (window as unknown as { progressSeen: number[] }).progressSeen;
        return new Set(seen.filter((value) => value > 0 && value < target)).size >= 3;
      },
      BLOCKS,
      { timeout: 120_000, polling: 20 },
    );
    const seen = await progress();
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    // A click on the explorer is answered while the sync goes on.
    await follower.getByTestId('nav-explorer').click();
    await follower.getByTestId('stakers').waitFor({ timeout: 5_000 });
    expect(follower.url()).toContain('#/explorer');
    const heightAtClick = await headHeight(follower);
    expect(heightAtClick).toBeLessThan(BLOCKS);

    await waitForHeight(follower, BLOCKS, 120_000);
  }, 300_000);
});
