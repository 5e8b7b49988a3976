import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { fingerprint } from '../../src/ui/format';
import {
  type AppTab,
  type AxeFinding,
  act,
  axeSeriousViolations,
  type Devnet,
  goTo,
  importDevnetKey,
  myPublicKey,
  openApp,
  openSummary,
  setTheme,
  startDevnet,
  waitForHeight,
} from './app-driver';
import { launchChromium, newContext } from './browser';

// Issue 16: an accessibility check of each main view with axe-core, in light and dark themes:
// no serious or critical violations. What axe finds is printed, rule by rule, with the elements.

describe('accessibility of the main views (axe-core)', () => {
  let browser: Browser;
  let context: BrowserContext;
  let devnet: Devnet;
  let tab: AppTab;
  let account = '';

  beforeAll(async () => {
    browser = await launchChromium();
    context = await newContext(browser);
    devnet = await startDevnet(inject('tabchainDist'));
    // One tab holding the genesis key forges a short chain: a purchase and a stake.
    tab = await openApp(context, devnet.url);
    await importDevnetKey(tab.page, 'genesis');
    await act(tab.page, 'exchange', 50);
    await waitForHeight(tab.page, 1);
    await act(tab.page, 'stake', 5);
    await waitForHeight(tab.page, 2);
    account = fingerprint(await myPublicKey(tab.page));
  });
  afterAll(async () => {
    expect(tab?.offMachine).toEqual([]);
    expect(tab?.errors).toEqual([]);
    await browser?.close();
    await devnet?.stop().catch(() => {});
  });

  /** Each view, reached from the one tab: its name and how to get there. */
  const views: readonly { name: string; open: () => Promise<void> }[] = [
    { name: 'wallet', open: () => goTo(tab.page, '#/wallet') },
    {
      name: 'exchange summary',
      open: async () => {
        await goTo(tab.page, '#/wallet');
        await openSummary(tab.page, 'exchange', 3);
      },
    },
    {
      name: 'stake summary',
      open: async () => {
        await tab.page.getByTestId('confirm-cancel').click();
        await openSummary(tab.page, 'stake', 2);
      },
    },
    {
      name: 'transfer with a picked receiver, and its summary',
      open: async () => {
        await tab.page.getByTestId('confirm-cancel').click();
        await tab.page.getByTestId('transfer-known-account').selectOption({ index: 1 });
        await tab.page.getByTestId('transfer-picked').waitFor();
        await tab.page.getByTestId('transfer-amount').fill('1');
        await tab.page.getByTestId('transfer-submit').click();
        await tab.page.getByTestId('confirm-summary').waitFor();
      },
    },
    { name: 'explorer home', open: () => goTo(tab.page, '#/explorer', 800) },
    { name: 'block page', open: () => goTo(tab.page, '#/block/2', 800) },
    { name: 'account page', open: () => goTo(tab.page, `#/account/${account}`, 800) },
    { name: 'network', open: () => goTo(tab.page, '#/network', 800) },
  ];

  it.each(['light', 'dark'] as const)(
    'has no serious or critical violations in the %s theme',
    async (theme) => {
      await tab.page.bringToFront();
      await goTo(tab.page, '#/wallet');
      await setTheme(tab.page, theme);
      const found: { view: string; findings: AxeFinding[] }[] = [];
      for (const view of views) {
        await view.open();
        const findings = await axeSeriousViolations(tab.page);
        if (findings.length > 0) found.push({ view: view.name, findings });
      }
      // Leave the transfer summary closed for the next theme's run.
      await tab.page
        .getByTestId('confirm-cancel')
        .click({ timeout: 1_000 })
        .catch(() => {});
      for (const { view, findings } of found) {
        for (const finding of findings) {
          console.log(`[axe ${theme}] ${view}: ${finding.impact} ${finding.id}: ${finding.help}`);
          for (const node of finding.nodes) console.log(`    ${node.target}\n      ${node.summary}`);
        }
      }
      expect(found.map(({ view, findings }) => `${view}: ${findings.map((f) => f.id).join(', ')}`)).toEqual(
        [],
      );
    },
  );
});
