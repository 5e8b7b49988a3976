import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TransportKind } from '../../src/net/index';
import { launchChromium, newContext } from './browser';
import type { HarnessOptions } from './pages/transport';
import {
  buildTransportPage,
  type HarnessBuild,
  type HarnessServer,
  type HarnessTab,
  openTab,
  startHarnessServer,
} from './transport-harness';

// Each kind: 3 tabs on a signaling server started here (127.0.0.1, iceServers: []), one channel
// per pair, a small and a 10 MB message, channels that outlive the server, and a 4th tab that
// joins after the server restarts on the same port.
const KINDS: readonly TransportKind[] = ['simple-peer', 'peerjs'];
const LARGE_CHARS = 10 * 1024 * 1024;
const OPTIONS: HarnessOptions = { room: 'e2e', backoffMaxMs: 1000, discoveryIntervalMs: 500 };

let browser: Browser;
let pageBuild: HarnessBuild;

beforeAll(async () => {
  [browser, pageBuild] = await Promise.all([launchChromium(), buildTransportPage()]);
});

afterAll(async () => {
  await browser?.close();
  await pageBuild?.remove();
});

async function peersOf(page: Page): Promise<string[]> {
  return page.evaluate(() => window.__transport.peers());
}

async function waitForPeers(page: Page, count: number, timeout = 20_000): Promise<void> {
  await page.waitForFunction((n) => window.__transport.peers().length === n, count, { timeout, polling: 50 });
}

describe.each(KINDS)('%s transport in Chromium', (kind) => {
  let context: BrowserContext;
  let server: HarnessServer;
  const tabs: HarnessTab[] = [];
  const ids: string[] = [];

  beforeAll(async () => {
    context = await newContext(browser);
    server = await startHarnessServer(pageBuild.dir);
  });

  afterAll(async () => {
    await context?.close();
    await server?.server.stop();
    for (const tab of tabs) {
      expect(tab.errors).toEqual([]);
      expect(tab.offMachine).toEqual([]);
    }
  });

  it('connects 3 tabs with exactly one channel per pair', async () => {
    for (let i = 0; i < 3; i++) tabs.push(await openTab(context, server.pageUrl));
    ids.push(
      ...(await Promise.all(
        tabs.map((tab) =>
          tab.page.evaluate(([k, o]) => window.__transport.start(k, o), [kind, OPTIONS] as const),
        ),
      )),
    );
    expect(new Set(ids).size).toBe(3);
    await Promise.all(tabs.map((tab) => waitForPeers(tab.page, 2)));
    for (const [i, tab] of tabs.entries()) {
      expect(await peersOf(tab.page)).toEqual(ids.filter((_, j) => j !== i).sort());
      // One RTCPeerConnection per peer: no duplicate pair survived.
      expect(await tab.page.evaluate(() => window.__transport.rtcConnected())).toBe(2);
      expect(await tab.page.evaluate(() => window.__transport.status())).toEqual({
        kind,
        signaling: 'connected',
      });
    }
  });

  it('carries small messages between every pair, and a 10 MB message intact', async () => {
    for (const [i, tab] of tabs.entries()) {
      for (const [j, id] of ids.entries()) {
        if (i === j) continue;
        const text = `hello ${i}→${j} 🙂`;
        expect(
          await tab.page.evaluate(([to, t]) => window.__transport.send(to, t), [id, text] as const),
        ).toBe(true);
      }
    }
    for (const [j, tab] of tabs.entries()) {
      await tab.page.waitForFunction(() => window.__transport.received().length >= 2);
      const texts = (await tab.page.evaluate(() => window.__transport.received())).map((m) => m.text).sort();
      expect(texts).toEqual(
        [0, 1, 2]
          .filter((i) => i !== j)
          .map((i) => `hello ${i}→${j} 🙂`)
          .sort(),
      );
    }

    const [sender, receiver] = tabs as [HarnessTab, HarnessTab, HarnessTab];
    const started = performance.now();
    const sent = await sender.page.evaluate(([to, chars]) => window.__transport.sendLarge(to, chars, 7), [
      ids[1] as string,
      LARGE_CHARS,
    ] as const);
    expect(sent.ok).toBe(true);
    await receiver.page.waitForFunction(
      (length) => window.__transport.received().some((m) => m.length === length),
      sent.length,
      { timeout: 60_000, polling: 100 },
    );
    const elapsed = performance.now() - started;
    const large = (await receiver.page.evaluate(() => window.__transport.received())).find(
      (m) => m.length === sent.length,
    );
    expect(large).toEqual({ from: ids[0], length: sent.length, sha256: sent.sha256 });
    console.log(
      `${kind}: 10 MiB message (${sent.length} UTF-16 units) delivered in ${Math.round(elapsed)} ms`,
    );
    // The channel is still usable after the large message.
    expect(await tabs[0]?.page.evaluate((to) => window.__transport.send(to, 'after'), ids[1] as string)).toBe(
      true,
    );
    await receiver.page.waitForFunction(() => window.__transport.received().some((m) => m.text === 'after'));
  });

  it('keeps channels working while the signaling server is down', async () => {
    await server.server.stop();
    for (const tab of tabs) {
      await tab.page.waitForFunction(() => window.__transport.status().signaling !== 'connected');
    }
    for (const [i, tab] of tabs.entries()) {
      const to = ids[(i + 1) % 3] as string;
      expect(
        await tab.page.evaluate(([t, x]) => window.__transport.send(t, x), [to, `offline ${i}`] as const),
      ).toBe(true);
    }
    for (const [j, tab] of tabs.entries()) {
      const from = (j + 2) % 3;
      await tab.page.waitForFunction(
        (text) => window.__transport.received().some((m) => m.text === text),
        `offline ${from}`,
      );
      expect(await peersOf(tab.page)).toHaveLength(2);
    }
  });

  it('lets a new tab join after the server restarts on the same port', async () => {
    const port = server.port;
    server = await startHarnessServer(pageBuild.dir, port);
    expect(server.port).toBe(port);
    for (const tab of tabs) {
      await tab.page.waitForFunction(() => window.__transport.status().signaling === 'connected', undefined, {
        timeout: 20_000,
      });
    }
    const fourth = await openTab(context, server.pageUrl);
    tabs.push(fourth);
    const id = await fourth.page.evaluate(([k, o]) => window.__transport.start(k, o), [
      kind,
      OPTIONS,
    ] as const);
    ids.push(id);
    await Promise.all(tabs.map((tab) => waitForPeers(tab.page, 3)));
    for (const [i, tab] of tabs.entries()) {
      expect(await peersOf(tab.page)).toEqual(ids.filter((_, j) => j !== i).sort());
      expect(await tab.page.evaluate(() => window.__transport.rtcConnected())).toBe(3);
    }
    // The ids survived the restart: old tabs still reach each other and the new one by them.
    expect(await tabs[0]?.page.evaluate((to) => window.__transport.send(to, 'welcome'), id)).toBe(true);
    await fourth.page.waitForFunction(() => window.__transport.received().some((m) => m.text === 'welcome'));
  });
});
