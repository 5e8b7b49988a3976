import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readVector, VECTOR_GENESIS_KEY } from '../helpers/vectors';
import { type Devnet, headHash, headHeight, openApp, startDevnet, waitForHeight } from './app-driver';
import { launchChromium, newContext } from './browser';

// Issue "Consensus input is exact and bounded": a chain made by the reference whose every
// timestamp is a whole-number float (1795670516.0) is imported into a tab, stored in IndexedDB,
// reloaded from it and exported again, byte for byte. Real Chromium on a devnet served on
// 127.0.0.1 whose genesis key is the vectors' (the chain was built on it).

interface WholeFloatsVector {
  valid: { chainText: string; expect: { blocks: number; head: string } };
}

describe('a reference chain with whole-number floats survives import, IndexedDB and export byte for byte', () => {
  const vector = readVector<WholeFloatsVector>('chain-whole-floats.json');
  let browser: Browser;
  let scratch: string;
  let devnet: Devnet;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'tabchain-whole-floats-'));
    // The built app, on a network whose genesis staker is the vectors' genesis key.
    const dist = join(scratch, 'dist');
    await cp(inject('tabchainDist'), dist, { recursive: true });
    const devnetJson = JSON.parse(await readFile(join(dist, 'devnet.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    await writeFile(
      join(dist, 'devnet.json'),
      JSON.stringify({ ...devnetJson, network: 'whole-floats', genesisPublicKey: VECTOR_GENESIS_KEY() }),
    );
    devnet = await startDevnet(dist);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await devnet?.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  it('imports, stores, reloads and exports the chain text unchanged', async () => {
    const { chainText, expect: want } = vector.valid;
    const height = want.blocks - 1;
    const file = join(scratch, 'chain.json');
    await writeFile(file, chainText);

    const context = await newContext(browser);
    const tab = await openApp(context, `${devnet.url}#/network`);
    await tab.page.getByTestId('import-chain-file').setInputFiles(file);
    await tab.page
      .getByTestId('import-chain-result')
      .filter({ hasText: `Adopted ${height} blocks` })
      .waitFor({ timeout: 60_000 });
    expect(await headHeight(tab.page)).toBe(height);
    expect(await headHash(tab.page)).toBe(want.head);

    // Reloaded from IndexedDB alone: no peer holds the chain.
    await tab.page.reload();
    await waitForHeight(tab.page, height, 60_000);
    expect(await headHash(tab.page)).toBe(want.head);

    await tab.page.getByTestId('nav-network').click();
    const [download] = await Promise.all([
      tab.page.waitForEvent('download'),
      tab.page.getByTestId('export-chain').click(),
    ]);
    const exported = await readFile(await download.path(), 'utf8');
    expect(exported === chainText).toBe(true);
    expect(tab.errors).toEqual([]);
    expect(tab.offMachine).toEqual([]);
    await context.close();
  }, 180_000);
});
