import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EXTRA_DISABLED_FEATURES,
  launchChromium,
  newContext,
  openWatchedPage,
  ROOT,
  type RunningApp,
  startApp,
} from './browser';

const GENESIS_HASH = 'b61900e4532596cc8d24dece2bb7f3e8533acfe7b6b9f2954fc618b6abfacc9d';
const DEVNET_FILE = join(ROOT, 'public', 'devnet.json');

/** playwright-core's default `--disable-features`, read from its bundle (the list is not exported). */
function playwrightDefaultDisabledFeatures(): string[] {
  const require = createRequire(import.meta.url);
  const bundle = join(dirname(require.resolve('playwright-core/package.json')), 'lib', 'coreBundle.js');
  const source = readFileSync(bundle, 'utf8');
  const list = /disabledFeatures = \[([\s\S]*?)\]\.filter/.exec(source)?.[1];
  if (!list) throw new Error(`playwright-core changed: no disabledFeatures list in ${bundle}`);
  const withoutComments = list.replace(/\/\/.*$/gm, '');
  return [...withoutComments.matchAll(/"([^"]+)"/g)].map((match) => match[1] as string);
}

describe('app shell in Chromium', () => {
  let browser: Browser;
  let app: RunningApp;

  beforeAll(async () => {
    [browser, app] = await Promise.all([launchChromium(), startApp()]);
  });

  afterAll(async () => {
    await Promise.all([browser?.close(), app?.close()]);
  });

  it('launches with playwright-core defaults kept in the last --disable-features', async () => {
    const context = await newContext(browser);
    try {
      const page = await context.newPage();
      await page.goto('chrome://version');
      const commandLine = (await page.locator('#command_line').textContent()) ?? '';
      const lastDisabled =
        [...commandLine.matchAll(/--disable-features=(\S+)/g)].at(-1)?.[1]?.split(',') ?? [];
      const defaults = playwrightDefaultDisabledFeatures();
      expect(defaults.length).toBeGreaterThan(5);
      expect(lastDisabled).toEqual(expect.arrayContaining([...defaults, ...EXTRA_DISABLED_FEATURES]));
      expect(commandLine).toContain(
        '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1',
      );
    } finally {
      await context.close();
    }
  });

  it('shows the genesis block hash and the network configuration', async () => {
    const context = await newContext(browser, {
      viewport: { width: 1000, height: 760 },
      colorScheme: 'light',
    });
    try {
      const { page, offMachine, errors: pageErrors } = await openWatchedPage(context);

      // The network's configuration and the genesis block live on the Network page.
      await page.goto(`${app.url}#/network`);

      const hash = page.getByTestId('genesis-hash');
      await hash.waitFor();
      expect((await hash.textContent())?.trim()).toBe(GENESIS_HASH);
      expect((await page.getByTestId('genesis-block-count').textContent())?.trim()).toBe('0');

      // public/devnet.json is part of the project (npm run devnet-keys): the page must show it.
      expect(existsSync(DEVNET_FILE), `${DEVNET_FILE} is missing`).toBe(true);
      const devnet = JSON.parse(readFileSync(DEVNET_FILE, 'utf8')) as {
        network: string;
        genesisPublicKey: string;
      };
      const name = page.getByTestId('network-name');
      await name.waitFor();
      expect((await name.textContent())?.trim()).toBe(devnet.network);
      const fingerprint = createHash('sha256')
        .update(devnet.genesisPublicKey, 'utf8')
        .digest('hex')
        .slice(0, 12);
      expect((await page.getByTestId('genesis-key-fingerprint').textContent())?.trim()).toBe(fingerprint);
      expect(await page.getByTestId('genesis-public-key').textContent()).toBe(devnet.genesisPublicKey);

      expect(pageErrors).toEqual([]);
      expect(offMachine).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('renders any devnet.json it is served, fingerprinting its genesis key', async () => {
    // Independent of public/devnet.json: the test vectors' genesis key, served by the page route.
    const genesisPublicKey = readFileSync(
      join(ROOT, 'test', 'vectors', 'keys', 'genesisPublicKey.pem'),
      'utf8',
    );
    const devnet = { network: 'e2e-net', warning: 'Test keys: public by design.', genesisPublicKey };
    const context = await newContext(browser);
    try {
      const page = await context.newPage();
      await page.route('**/devnet.json', (route) =>
        route.fulfill({ contentType: 'application/json', body: JSON.stringify(devnet) }),
      );
      await page.goto(`${app.url}#/network`);
      await page.getByTestId('network-name').waitFor();
      expect(await page.getByTestId('network-name').textContent()).toBe('e2e-net');
      expect(await page.getByTestId('devnet-warning').textContent()).toBe(devnet.warning);
      const fingerprint = createHash('sha256').update(genesisPublicKey, 'utf8').digest('hex').slice(0, 12);
      expect(await page.getByTestId('genesis-key-fingerprint').textContent()).toBe(fingerprint);
      expect(await page.getByTestId('genesis-public-key').textContent()).toBe(genesisPublicKey);
    } finally {
      await context.close();
    }
  });

  it('explains how to create devnet.json when the server has none', async () => {
    const context = await newContext(browser);
    try {
      const page = await context.newPage();
      await page.route('**/devnet.json', (route) => route.fulfill({ status: 404, body: 'Not found' }));
      await page.goto(app.url);
      const error = page.getByTestId('devnet-error');
      await error.waitFor();
      expect(await error.textContent()).toContain('No network configuration at /devnet.json');
      expect(await error.textContent()).toContain('npm run devnet-keys');
      expect(await page.getByTestId('network-name').count()).toBe(0);
      // The genesis block does not depend on the network file.
      expect(await page.getByTestId('genesis-hash').textContent()).toBe(GENESIS_HASH);
    } finally {
      await context.close();
    }
  });
});
