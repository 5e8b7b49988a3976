import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
import { createSignalingServer, type SignalingServer } from '../../signaling/server';
import { openWatchedPage, ROOT, type WatchedPage } from './browser';

/**
 * Drives the real app in Chromium through its stable `data-testid`s, as a person would click:
 * no test hooks into the node.
 */

/** A devnet served by our signaling server (production build + signaling + PeerServer). */
export interface Devnet {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
  /** Starts the server again on the same port (after `stop`). */
  restart(): Promise<void>;
}

/** Serves the built app `dist` and signaling on 127.0.0.1 (a free port unless given). */
export async function startDevnet(dist: string, port = 0): Promise<Devnet> {
  let server: SignalingServer = createSignalingServer({
    host: '127.0.0.1',
    port,
    serveStatic: dist,
    heartbeatMs: 1000,
  });
  const address = await server.start();
  const actualPort = address.port;
  return {
    url: `http://127.0.0.1:${actualPort}/`,
    port: actualPort,
    stop: () => server.stop(),
    async restart() {
      server = createSignalingServer({
        host: '127.0.0.1',
        port: actualPort,
        serveStatic: dist,
        heartbeatMs: 1000,
      });
      await server.start();
    },
  };
}

/** `npm start` (scripts/start.mjs) as a child process, with its printed URL and output so far. */
export interface NpmStart {
  readonly url: string;
  readonly process: ChildProcess;
  output(): string;
  /** Stops it (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * Runs `npm start -- ARGS` on a free port of 127.0.0.1, as a person would; resolves once it
 * prints its URL line (`tabchain devnet: http://localhost:PORT/`). It builds the app first, so
 * the wait is generous.
 */
export function startNpmStart(args: readonly string[] = []): Promise<NpmStart> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'scripts', 'start.mjs'), ...args], {
      cwd: ROOT,
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const timer = setTimeout(() => reject(new Error(`npm start printed no URL:\n${output}`)), 90_000);
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /^tabchain devnet: (http:\/\/localhost:\d+\/)$/m.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve({
          url: match[1],
          process: child,
          output: () => output,
          async stop() {
            if (child.exitCode !== null || child.signalCode !== null) return;
            child.kill('SIGTERM');
            await exited;
          },
        });
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${output}`)));
  });
}

/** A tab running the app, with what it tried to reach off this machine and its page errors. */
export type AppTab = WatchedPage;

/** Opens the app in a new tab and waits until its node has restored its chain. */
export async function openApp(context: BrowserContext, url: string): Promise<AppTab> {
  const tab = await openWatchedPage(context);
  await tab.page.goto(url);
  await tab.page.getByTestId('head-height').first().waitFor({ timeout: 30_000 });
  return tab;
}

/** Reads a testid'd element's text as an integer. */
export async function intOf(page: Page, testId: string): Promise<number> {
  const text = (await page.getByTestId(testId).first().textContent()) ?? '';
  const value = Number(text.replace(/[^\d-]/g, ''));
  if (!Number.isInteger(value) || text.trim() === '') throw new Error(`${testId} shows "${text}"`);
  return value;
}

/** The head height a tab shows. */
export const headHeight = (page: Page): Promise<number> => intOf(page, 'head-height');

/** The full head hash a tab shows. */
export async function headHash(page: Page): Promise<string> {
  return (await page.getByTestId('head-hash').first().getAttribute('data-value')) ?? '';
}

/** Waits until the number a tab shows in `testId` (its digits) is at least `least`. */
async function waitForAtLeast(
  page: Page,
  testId: string,
  least: number,
  timeout: number,
  polling: number,
): Promise<void> {
  await page.waitForFunction(
    ({ id, n }) =>
      Number(document.querySelector(`[data-testid="${id}"]`)?.textContent?.replace(/[^\d]/g, '') ?? -1) >= n,
    { id: testId, n: least },
    { timeout, polling },
  );
}

/** Waits until a tab shows `height` (or more). */
export function waitForHeight(page: Page, height: number, timeout = 30_000): Promise<void> {
  return waitForAtLeast(page, 'head-height', height, timeout, 50);
}

/** Waits until a tab shows at least `count` peers. */
export function waitForPeers(page: Page, count: number, timeout = 30_000): Promise<void> {
  return waitForAtLeast(page, 'peer-count', count, timeout, 100);
}

/** Clicks the one-click import of a devnet key and waits until the wallet shows it. */
export async function importDevnetKey(page: Page, name: 'genesis' | 'staker'): Promise<void> {
  await page.getByTestId(`import-devnet-${name}`).click();
  await page.getByTestId('my-public-key').first().waitFor();
  await page.waitForFunction(
    () => !!document.querySelector('[data-testid="my-public-key"]')?.getAttribute('data-value'),
  );
}

/** Creates a new key pair in the wallet. */
export async function createKey(page: Page): Promise<void> {
  await page.getByTestId('create-key').click();
  await page.waitForFunction(
    () => !!document.querySelector('[data-testid="my-public-key"]')?.getAttribute('data-value'),
    undefined,
    {
      timeout: 30_000,
    },
  );
}

/** The wallet's public key PEM. */
export async function myPublicKey(page: Page): Promise<string> {
  return (await page.getByTestId('my-public-key').first().getAttribute('data-value')) ?? '';
}

/** The three transaction forms, by the start of their test ids. */
export type TransactionForm = 'exchange' | 'stake' | 'transfer';

/**
 * Confirms the summary a form's submit opened (`confirm-submit`): the one place the e2e tests
 * pass the confirmation step, so every test signs as a person does.
 */
export async function confirmSummary(page: Page, form: TransactionForm): Promise<void> {
  const summary = page
    .locator('form', { has: page.getByTestId(`${form}-submit`) })
    .getByTestId('confirm-summary');
  await summary.getByTestId('confirm-submit').click();
}

/** Fills an amount field, submits one of the three forms and confirms its summary. */
export async function act(
  page: Page,
  form: TransactionForm,
  amount: number,
  receiver?: string,
): Promise<void> {
  await openSummary(page, form, amount, receiver);
  await confirmSummary(page, form);
}

/**
 * Buys one coin `count` times back to back in a tab that holds the forger key, waiting for each
 * block: buy, confirm, wait, buy again. The clicks run inside the page (the same input events a
 * person's typing and clicking fire), so blocks follow each other as fast as the node forges
 * them, not at the pace of round trips to the test.
 */
export async function buyBurst(page: Page, count: number): Promise<void> {
  await page.getByTestId('exchange-submit').waitFor();
  await page.evaluate(async (n) => {
    const element = (testId: string) => document.querySelector(`[data-testid="${testId}"]`);
    const height = () => Number(element('head-height')?.textContent ?? -1);
    const until = async (ok: () => boolean, what: string) => {
      const end = performance.now() + 15_000;
      while (!ok()) {
        if (performance.now() > end) throw new Error(`burst: timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    };
    const setValue = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')?.set;
    for (let i = 0; i < n; i++) {
      const before = height();
      const input = element('exchange-amount') as HTMLInputElement;
      const submit = element('exchange-submit') as HTMLButtonElement;
      await until(() => !submit.disabled, 'the form');
      setValue?.call(input, '1');
      input.dispatchEvent(new Event('input', { bubbles: true }));
      await new Promise((resolve) => setTimeout(resolve, 0));
      submit.click();
      await until(() => element('confirm-submit') !== null, 'the summary');
      (element('confirm-submit') as HTMLButtonElement).click();
      await until(() => height() > before, `block ${before + 1}`);
    }
  }, count);
}

/** Fills a form and submits it, leaving its confirmation summary open (nothing signed yet). */
export async function openSummary(
  page: Page,
  form: TransactionForm,
  amount: number,
  receiver?: string,
): Promise<void> {
  // A person types into the tab in front; background tabs get no animation frames, so
  // Playwright's actionability checks would wait seconds for them.
  await page.bringToFront();
  if (form === 'transfer' && receiver !== undefined)
    await page.getByTestId('transfer-receiver').fill(receiver);
  await page.getByTestId(`${form}-amount`).fill(String(amount));
  await page.getByTestId(`${form}-submit`).click();
  await page.getByTestId('confirm-summary').waitFor();
}

/** Forces the colour theme through the header's theme select. */
export async function setTheme(page: Page, theme: 'light' | 'dark'): Promise<void> {
  await page.getByTestId('theme-select').selectOption(theme);
  await page.waitForFunction((t) => document.documentElement.dataset.theme === t, theme);
}

/** Goes to a route of the app (`#/block/3`) and lets it render. */
export async function goTo(page: Page, hash: string, settleMs = 300): Promise<void> {
  await page.evaluate((h) => {
    window.location.hash = h;
  }, hash);
  await page.waitForTimeout(settleMs);
}

/** One accessibility rule broken on a page, as axe-core reports it. */
export interface AxeFinding {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  /** The offending elements' selectors and axe's summary of what is wrong with each. */
  readonly nodes: readonly { readonly target: string; readonly summary: string }[];
}

/**
 * Runs axe-core (node_modules/axe-core) on the page as it is and returns the serious and critical
 * violations; it is injected once per page load.
 */
export async function axeSeriousViolations(page: Page): Promise<AxeFinding[]> {
  const loaded = await page.evaluate(() => 'axe' in window);
  if (!loaded) await page.addScriptTag({ path: join(ROOT, 'node_modules', 'axe-core', 'axe.min.js') });
  return page.evaluate(async () => {
    type AxeResult = {
      violations: {
        id: string;
        impact: string | null;
        help: string;
        nodes: { target: unknown[]; failureSummary?: string }[];
      }[];
    };
    const axe = (
      window as unknown as { axe: { run(context: Document, options: object): Promise<AxeResult> } }
    ).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations
      .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
      .map((violation) => ({
        id: violation.id,
        impact: violation.impact,
        help: violation.help,
        nodes: violation.nodes.slice(0, 8).map((node) => ({
          target: node.target.map(String).join(' '),
          summary: (node.failureSummary ?? '').replace(/\s+/g, ' ').slice(0, 300),
        })),
      }));
  });
}

/**
 * The reference interaction (the vectors' `nodeapi-interaction`) through the forms, each
 * transaction confirmed in its summary: A holds the genesis key, B the staker's, C a new one;
 * B and C buy, B stakes 25 and sends C 1 twice. `nextBlock` waits for each block in every tab.
 */
export async function runReferenceInteraction(
  tabs: { readonly a: AppTab; readonly b: AppTab; readonly c: AppTab },
  nextBlock: () => Promise<void>,
): Promise<void> {
  const { a, b, c } = tabs;
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
}

/** The reference interaction's outcome: one head at 6, B at 73 with 25 staked, C at 112, no page errors. */
export async function expectReferenceOutcome(tabs: {
  readonly a: AppTab;
  readonly b: AppTab;
  readonly c: AppTab;
}): Promise<void> {
  const { a, b, c } = tabs;
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
}
