import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { fingerprint } from '../../src/ui/format';
import {
  type AppTab,
  type Devnet,
  expectReferenceOutcome,
  myPublicKey,
  openApp,
  startDevnet,
  waitForHeight,
  waitForPeers,
} from './app-driver';
import { launchChromium, newContext } from './browser';

// Issue 16: the reference interaction by keyboard alone (Tab, Shift+Tab, Enter, Space and typing;
// no clicks, no fill), through the confirmation step, in three tabs. Tab A takes the genesis key,
// B the staker key; B buys 100, C makes a key and buys 100 and 10; B stakes 25 and sends C 1,
// twice. B ends at balance 73 and stake 25, C at 112. The skip link keeps the Buy form near.

/** The test id of the focused element, or the tag name when it has none. */
function focused(page: Page): Promise<string> {
  return page.evaluate(() => {
    const active = document.activeElement;
    return active?.getAttribute('data-testid') ?? active?.tagName.toLowerCase() ?? '';
  });
}

/**
 * Presses Tab (or Shift+Tab, when the target comes before the focus) until the element with
 * `testId` has focus, as a person moving through the page would; returns how many presses it took.
 */
async function tabTo(page: Page, testId: string, most = 80): Promise<number> {
  const backwards = await page.evaluate((id) => {
    const target = document.querySelector(`[data-testid="${id}"]`);
    const active = document.activeElement;
    if (!target) throw new Error(`nothing has the test id ${id}`);
    if (!active || active === document.body) return false;
    return (active.compareDocumentPosition(target) & Node.DOCUMENT_POSITION_PRECEDING) !== 0;
  }, testId);
  for (let presses = 1; presses <= most; presses++) {
    await page.keyboard.press(backwards ? 'Shift+Tab' : 'Tab');
    if ((await focused(page)) === testId) return presses;
  }
  throw new Error(`${testId} was not reached in ${most} ${backwards ? 'Shift+Tab' : 'Tab'} presses`);
}

/** Types an amount into a form, submits it with Enter, and confirms its summary from the keyboard. */
async function keyboardAct(page: Page, form: 'exchange' | 'stake' | 'transfer', amount: number) {
  await tabTo(page, `${form}-amount`);
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.type(String(amount));
  await page.keyboard.press('Enter');
  // The summary takes focus when it opens; the next Tab is its confirming button.
  await page.getByTestId('confirm-summary').waitFor();
  expect(await focused(page)).toBe('confirm-summary');
  await page.keyboard.press('Tab');
  expect(await focused(page)).toBe('confirm-submit');
  await page.keyboard.press('Enter');
  await page.getByTestId(`${form}-status`).waitFor();
}

describe('the reference interaction by keyboard alone', () => {
  let browser: Browser;
  let context: BrowserContext;
  let devnet: Devnet;
  let a: AppTab;
  let b: AppTab;
  let c: AppTab;
  let height = 0;

  beforeAll(async () => {
    browser = await launchChromium();
    context = await newContext(browser);
    devnet = await startDevnet(inject('tabchainDist'));
  });
  afterAll(async () => {
    await browser?.close();
    await devnet?.stop().catch(() => {});
  });

  const nextBlock = async () => {
    height++;
    for (const tab of [a, b, c]) await waitForHeight(tab.page, height, 30_000);
  };

  /**
   * Tab presses from a freshly loaded page to the Buy form's amount: straight through the header,
   * status and navigation, or through the skip link (one Tab, Enter, then Tabs inside the page).
   */
  async function tabsToBuy(tab: AppTab): Promise<{ without: number; withSkip: number }> {
    await tab.page.bringToFront();
    await tab.page.reload();
    await tab.page.getByTestId('head-height').waitFor();
    const without = await tabTo(tab.page, 'exchange-amount', 60);
    await tab.page.reload();
    await tab.page.getByTestId('head-height').waitFor();
    await tab.page.keyboard.press('Tab');
    expect(await focused(tab.page)).toBe('skip-link');
    await tab.page.keyboard.press('Enter');
    expect(await focused(tab.page)).toBe('main');
    return { without, withSkip: 1 + (await tabTo(tab.page, 'exchange-amount', 60)) };
  }

  it('reaches the Buy form in a few Tab presses through the skip link, with and without a wallet', async () => {
    a = await openApp(context, devnet.url);
    const fresh = await tabsToBuy(a);
    await tabTo(a.page, 'import-devnet-genesis');
    await a.page.keyboard.press('Space');
    await a.page.getByTestId('my-public-key').waitFor({ timeout: 30_000 });
    const holding = await tabsToBuy(a);
    console.log(
      `Tab presses to the Buy form: no wallet ${fresh.without} (skip link: ${fresh.withSkip}), with a wallet ${holding.without} (skip link: ${holding.withSkip})`,
    );
    for (const { without, withSkip } of [fresh, holding]) {
      expect(withSkip).toBeLessThanOrEqual(Math.floor(without / 2));
      expect(withSkip).toBeLessThanOrEqual(10);
    }
  });

  it('ends with one head, B at balance 73 and stake 25, C at 112', async () => {
    b = await openApp(context, devnet.url);
    c = await openApp(context, devnet.url);
    for (const tab of [a, b, c]) await waitForPeers(tab.page, 2);

    // A holds the genesis key already (above).
    for (const [tab, key] of [
      [b, 'import-devnet-staker'],
      [c, 'create-key'],
    ] as const) {
      await tab.page.bringToFront();
      await tabTo(tab.page, key);
      await tab.page.keyboard.press('Space');
      await tab.page.getByTestId('my-public-key').waitFor({ timeout: 30_000 });
    }

    await b.page.bringToFront();
    await keyboardAct(b.page, 'exchange', 100);
    await nextBlock();
    await c.page.bringToFront();
    await keyboardAct(c.page, 'exchange', 100);
    await nextBlock();
    await keyboardAct(c.page, 'exchange', 10);
    await nextBlock();
    await b.page.bringToFront();
    await keyboardAct(b.page, 'stake', 25);
    await nextBlock();

    // The receiver as C's wallet shows it: its fingerprint, typed into B's receiver box.
    const cKey = await myPublicKey(c.page);
    await tabTo(b.page, 'transfer-receiver');
    await b.page.keyboard.type(fingerprint(cKey));
    await keyboardAct(b.page, 'transfer', 1);
    expect(await b.page.getByTestId('transfer-status').textContent()).toMatch(/Sent transaction/);
    await nextBlock();
    // The receiver stays typed: the second transfer needs only the amount again.
    await keyboardAct(b.page, 'transfer', 1);
    await nextBlock();

    await expectReferenceOutcome({ a, b, c });
  });
});
