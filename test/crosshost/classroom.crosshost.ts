import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  act,
  createKey,
  headHash,
  importDevnetKey,
  myPublicKey,
  waitForHeight,
  waitForPeers,
} from '../e2e/app-driver';
import {
  launchChromiumIn,
  type NamespacedBrowser,
  type NamespacedProcess,
  startIn,
  startTurnServer,
  TURN_CREDENTIAL,
  TURN_PORT,
  TURN_USER,
} from './machines';
import {
  type Classroom,
  createClassroom,
  listNamespaces,
  missingPrerequisites,
  NAMESPACE_PREFIX,
  onTrap,
  TEACHER_IP,
} from './netns';

// Issue 14: a classroom across machines. Network namespaces stand for the teacher's laptop (the
// devnet, `npm start -- --lan`, and coturn), two laptops on the classroom's LAN, and a phone
// behind a NAT router that reaches only the teacher. Each client machine runs its own Chromium.
// Everything happens inside namespaces this file creates and deletes (./netns.ts).

/** The devnet's port inside the teacher's namespace (its own network stack: no clash possible). */
const DEVNET_PORT = 5173;
const TURN_URL = `turn:${TEACHER_IP}:${TURN_PORT}?transport=udp`;

/** One student's tab: its page, the machine it runs on, and what it did that it should not. */
interface StudentTab {
  readonly name: string;
  readonly machine: string;
  readonly context: BrowserContext;
  readonly page: Page;
  /** Requests to anything but the teacher's address (or data:/blob:): a test expects none. */
  readonly offNetwork: string[];
  readonly errors: string[];
}

/**
 * In every tab before the app runs: keeps each RTCPeerConnection the app makes, for getStats(),
 * and a log of their state changes (for a failure's message).
 */
function recordPeerConnections(): void {
  const made: RTCPeerConnection[] = [];
  const log: string[] = [];
  Object.defineProperty(window, '__tcxPeerConnections', { value: made });
  Object.defineProperty(window, '__tcxLinkLog', { value: log });
  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Native {
    constructor(...args: ConstructorParameters<typeof RTCPeerConnection>) {
      super(...args);
      const index = made.push(this) - 1;
      this.addEventListener('connectionstatechange', () => {
        log.push(`${Math.round(performance.now())} ms: link ${index} ${this.connectionState}`);
      });
    }
  };
}

/** The state changes of every link a tab made, one line each. */
function linkLog(page: Page): Promise<string> {
  return page.evaluate(() => (window as unknown as { __tcxLinkLog: string[] }).__tcxLinkLog.join('\n'));
}

/** The candidate types (local, remote) of each connected link's selected pair, seen from `page`. */
function selectedPairs(page: Page): Promise<{ local: string; remote: string }[]> {
  return page.evaluate(async () => {
    const made = (window as unknown as { __tcxPeerConnections: RTCPeerConnection[] }).__tcxPeerConnections;
    const pairs: { local: string; remote: string }[] = [];
    for (const connection of made) {
      if (connection.connectionState !== 'connected') continue;
      const stats = await connection.getStats();
      stats.forEach((report: { type: string; selectedCandidatePairId?: string }) => {
        if (report.type !== 'transport' || !report.selectedCandidatePairId) return;
        const pair = stats.get(report.selectedCandidatePairId);
        pairs.push({
          local: stats.get(pair?.localCandidateId)?.candidateType ?? 'unknown',
          remote: stats.get(pair?.remoteCandidateId)?.candidateType ?? 'unknown',
        });
      });
    }
    return pairs;
  });
}

/**
 * Passes a tab's signaling socket through to the server, except every signal between the tab and
 * `otherId`, either way: their offers, answers and hellos are lost on the way. The server still
 * introduces them to each other, so each keeps trying through the server while it is up (a peer
 * the server knows is signaled through it) and neither tries a relay: the two cannot link until
 * the server is gone, and then only through a peer both have.
 */
function loseSignalsWith(otherId: string) {
  return (route: WebSocketRoute) => {
    const server = route.connectToServer();
    route.onMessage((message) => {
      if (typeof message === 'string' && frameOf(message)?.to === otherId) return;
      server.send(message);
    });
    server.onMessage((message) => {
      if (typeof message === 'string' && frameOf(message)?.from === otherId) return;
      route.send(message);
    });
  };
}

/** A signaling frame's routing fields, or undefined for anything that is not a JSON object. */
function frameOf(text: string): { from?: unknown; to?: unknown } | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as ReturnType<typeof frameOf>) : undefined;
  } catch {
    return undefined;
  }
}

/** The signaling socket: the page's origin at `/` (PeerJS is at /peerjs). */
const isSignalingSocket = (url: URL) => url.hostname === TEACHER_IP && url.pathname === '/';

/** The peer id a tab's Network page shows (given by the signaling server). */
async function peerIdOf(page: Page): Promise<string> {
  await page.evaluate(() => {
    location.hash = '#/network';
  });
  const shown = page.getByTestId('peer-id');
  await expect
    .poll(async () => (await shown.textContent())?.trim(), { timeout: 30_000 })
    .toMatch(/^[0-9a-f]{16}$/);
  return ((await shown.textContent()) ?? '').trim();
}

/** The peer ids in a tab's Network page's peer table (each a link to the node). */
async function linkedPeerIds(page: Page): Promise<string[]> {
  return page.getByTestId('peer-row').locator('td:first-child code').allTextContents();
}

describe('a classroom across machines', () => {
  let classroom: Classroom | undefined;
  let turn: NamespacedProcess | undefined;
  let devnet: NamespacedProcess | undefined;
  const browsers: NamespacedBrowser[] = [];
  const tabs: StudentTab[] = [];
  let lanUrl = '';
  let certDir = '';
  let removeCertDir = () => {};
  const timings: Record<string, number> = {};
  const started = performance.now();
  const mark = (step: string) => {
    timings[step] = Math.round(performance.now() - started);
  };

  const openTab = async (
    name: string,
    machine: string,
    browser: NamespacedBrowser,
    shapeSignaling?: (route: WebSocketRoute) => void,
  ) => {
    const context = await browser.browser.newContext();
    await context.addInitScript(recordPeerConnections);
    if (shapeSignaling) await context.routeWebSocket(isSignalingSocket, shapeSignaling);
    const page = await context.newPage();
    const offNetwork: string[] = [];
    const errors: string[] = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      const local = ['data:', 'blob:', 'about:'].includes(url.protocol) || url.hostname === TEACHER_IP;
      if (!local) offNetwork.push(request.url());
    });
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(lanUrl);
    await page.getByTestId('head-height').first().waitFor({ timeout: 60_000 });
    const tab = { name, machine, context, page, offNetwork, errors };
    tabs.push(tab);
    return tab;
  };

  beforeAll(async () => {
    const missing = missingPrerequisites();
    if (missing.length > 0)
      throw new Error(`The cross-host test cannot run on this machine. Missing:\n- ${missing.join('\n- ')}`);
    const made = mkdtempSync(join(tmpdir(), 'tcx-lan-cert-'));
    certDir = made;
    removeCertDir = onTrap(() => rmSync(made, { recursive: true, force: true }));
    classroom = createClassroom();
    mark('namespaces made');
    turn = await startTurnServer(classroom.teacher, TEACHER_IP);
    devnet = startIn(
      classroom.teacher,
      'npm',
      [
        'start',
        '--',
        '--lan',
        '--turn',
        TURN_URL,
        '--turn-user',
        TURN_USER,
        '--turn-credential',
        TURN_CREDENTIAL,
      ],
      // A certificate of this run's own, in a folder removed afterwards (not the teacher's kept one).
      { env: { ...process.env, PORT: String(DEVNET_PORT), TABCHAIN_LAN_CERT_DIR: certDir } },
    );
    // `--lan` prints every LAN URL; the laptops and the phone open the teacher's address.
    const printed = await devnet.waitFor(
      new RegExp(`\\S+://${TEACHER_IP.replaceAll('.', '\\.')}:\\d+/`),
      120_000,
    );
    lanUrl = printed[0];
    mark('devnet listening');
    const [laptop1, laptop2] = classroom.laptops;
    for (const ns of [laptop1, laptop2, classroom.phone])
      browsers.push(await launchChromiumIn(ns, TEACHER_IP));
    mark('browsers launched');
  });

  afterAll(async () => {
    // Read before teardown: what each tab reached outside the classroom, and what it threw.
    const misbehaviour = tabs.map(({ name, offNetwork, errors }) => ({ name, offNetwork, errors }));
    try {
      for (const browser of browsers) await browser.close();
      await devnet?.stop();
      await turn?.stop();
    } finally {
      classroom?.destroy();
      removeCertDir();
      mark('torn down');
      console.log(`crosshost timings (ms since start): ${JSON.stringify(timings)}`);
    }
    // Checked after teardown, so that a failure here still leaves nothing behind.
    expect(listNamespaces(NAMESPACE_PREFIX)).toEqual([]);
    expect(misbehaviour).toEqual(tabs.map(({ name }) => ({ name, offNetwork: [], errors: [] })));
  });

  it('4 tabs on 3 machines form one network over the LAN URL, on HTTPS, with WebCrypto in every tab', async () => {
    expect(lanUrl).toBe(`https://${TEACHER_IP}:${DEVNET_PORT}/`);
    const classroomOk = classroom as Classroom;
    const [laptop1, laptop2, phone] = browsers as [NamespacedBrowser, NamespacedBrowser, NamespacedBrowser];
    await openTab('laptop1 tab A', classroomOk.laptops[0], laptop1);
    await openTab('laptop1 tab B', classroomOk.laptops[0], laptop1);
    await openTab('laptop2 tab', classroomOk.laptops[1], laptop2);
    await openTab('phone tab', classroomOk.phone, phone);
    mark('4 tabs loaded');
    for (const tab of tabs) await waitForPeers(tab.page, 3, 60_000);
    mark('4 tabs linked');
    for (const tab of tabs) {
      const context = await tab.page.evaluate(() => ({
        href: location.href,
        secure: isSecureContext,
        webCrypto: typeof globalThis.crypto?.subtle?.sign === 'function',
      }));
      expect(context, tab.name).toEqual({ href: lanUrl, secure: true, webCrypto: true });
    }
  });

  it('a purchase on the phone lands in all 4 tabs', async () => {
    const [forger, , , phone] = tabs as [StudentTab, StudentTab, StudentTab, StudentTab];
    await importDevnetKey(forger.page, 'genesis');
    await createKey(phone.page);
    await act(phone.page, 'exchange', 5);
    for (const tab of tabs) await waitForHeight(tab.page, 1, 30_000);
    mark('purchase in all 4');
    const heads = await Promise.all(tabs.map((tab) => headHash(tab.page)));
    expect(new Set(heads).size).toBe(1);
    expect(await phone.page.getByTestId('my-balance').textContent()).toMatch(/\b5\b/);
  });

  it("the phone's links are relayed by TURN; the laptops' link to each other is direct", async () => {
    const phone = tabs[3] as StudentTab;
    const laptop = tabs[2] as StudentTab;
    // A link the busy machine let lapse may be forming again: wait for all three to be up.
    for (const tab of [phone, laptop]) {
      await waitForPeers(tab.page, 3, 30_000);
      try {
        await expect.poll(async () => (await selectedPairs(tab.page)).length, { timeout: 30_000 }).toBe(3);
      } catch (error) {
        throw new Error(`${tab.name} has no 3 connected links; their states:\n${await linkLog(tab.page)}`, {
          cause: error,
        });
      }
    }
    const phonePairs = await selectedPairs(phone.page);
    for (const pair of phonePairs) expect([pair.local, pair.remote], JSON.stringify(pair)).toContain('relay');
    // The same check on a laptop-to-laptop link finds no relay: the assertion above can fail.
    const laptopPairs = await selectedPairs(laptop.page);
    const direct = laptopPairs.filter((pair) => pair.local !== 'relay' && pair.remote !== 'relay');
    expect(direct, JSON.stringify(laptopPairs)).toHaveLength(2);
  });

  it("each tab's wallet survives a reload", async () => {
    for (const tab of tabs.slice(1, 3)) await createKey(tab.page);
    const keys = await Promise.all(tabs.map((tab) => myPublicKey(tab.page)));
    for (const key of keys) expect(key).toMatch(/BEGIN PUBLIC KEY/);
    expect(new Set(keys).size).toBe(4);
    for (const tab of tabs) {
      await tab.page.reload();
      await tab.page.getByTestId('head-height').first().waitFor({ timeout: 60_000 });
      await tab.page.waitForFunction(
        () => !!document.querySelector('[data-testid="my-public-key"]')?.getAttribute('data-value'),
        undefined,
        { timeout: 30_000 },
      );
    }
    mark('4 tabs reloaded');
    expect(await Promise.all(tabs.map((tab) => myPublicKey(tab.page)))).toEqual(keys);
  });

  it('with the server stopped, a laptop tab links to a tab it has not met through a relay peer', async () => {
    const classroomOk = classroom as Classroom;
    const laptopTab = tabs[1] as StudentTab;
    const laptopTabId = await peerIdOf(laptopTab.page);
    // A fifth tab, on the other laptop, whose signals to and from laptopTab the server loses.
    const newcomer = await openTab(
      'laptop2 newcomer',
      classroomOk.laptops[1],
      browsers[1] as NamespacedBrowser,
      loseSignalsWith(laptopTabId),
    );
    const newcomerId = await peerIdOf(newcomer.page);
    await expect.poll(() => linkedPeerIds(newcomer.page), { timeout: 60_000 }).toHaveLength(3);
    expect(await linkedPeerIds(newcomer.page)).not.toContain(laptopTabId);
    expect(await linkedPeerIds(laptopTab.page)).not.toContain(newcomerId);
    await devnet?.stop();
    mark('server stopped');
    // The only way their offer and answer can travel now is through a peer both have.
    await expect
      .poll(() => linkedPeerIds(laptopTab.page), { timeout: 60_000, interval: 500 })
      .toContain(newcomerId);
    mark('linked through a relay peer');
    expect(await linkedPeerIds(newcomer.page)).toContain(laptopTabId);
  });
});
