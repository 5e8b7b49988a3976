/**
 * `tabs-8-connected-<kind>`: how long 8 tabs of one Chromium take to form a full mesh (each
 * sees 7 peers) over a transport, from the moment every tab's `start()` is called until the last
 * tab's last channel opens. Pages are loaded beforehand, so page load does not count. Everything
 * stays on 127.0.0.1 (a signaling server started here serves the harness page; no ICE servers).
 */
import type { Browser } from 'playwright-core';
import type { TransportKind } from '../src/net/index';
import { launchChromium, newContext } from '../test/e2e/browser';
import {
  buildTransportPage,
  type HarnessTab,
  openTab,
  startHarnessServer,
} from '../test/e2e/transport-harness';
import { type Figure, round } from './harness';

const TABS = 8;
const RUNS = 3;

/** One mesh formation: ms from the first `start()` to the moment every tab has `TABS - 1` peers. */
async function meshOnce(
  browser: Browser,
  dir: string,
  kind: TransportKind,
  timeoutMs: number,
): Promise<number> {
  const server = await startHarnessServer(dir);
  const context = await newContext(browser);
  try {
    const tabs: HarnessTab[] = [];
    for (let i = 0; i < TABS; i++) tabs.push(await openTab(context, server.pageUrl));
    // The transports' defaults (peer cap 8, PeerJS discovery every 1 s): the figure is what a user gets.
    const options = { room: 'bench' };
    await Promise.all(
      tabs.map((tab) =>
        tab.page.evaluate(([k, o]) => window.__transport.start(k, o), [kind, options] as const),
      ),
    );
    await Promise.all(
      tabs.map((tab) =>
        tab.page.waitForFunction((n) => window.__transport.peers().length >= n, TABS - 1, {
          timeout: timeoutMs,
          polling: 20,
        }),
      ),
    );
    // Times from the pages' own clocks (one machine, one clock), so polling adds no error.
    const marks = await Promise.all(
      tabs.map((tab) =>
        tab.page.evaluate((n) => {
          let count = 0;
          let reached = Number.NaN;
          for (const event of window.__transport.events()) {
            if (event.type === 'connected') count += 1;
            else if (event.type === 'disconnected') count -= 1;
            if (count >= n && Number.isNaN(reached)) reached = event.at;
          }
          return { started: window.__transport.startedAt(), reached };
        }, TABS - 1),
      ),
    );
    const errors = tabs.flatMap((tab) => [...tab.errors, ...tab.offMachine]);
    if (errors.length > 0) throw new Error(`tabs reported: ${errors.join('; ')}`);
    const first = Math.min(...marks.map((mark) => mark.started));
    const last = Math.max(...marks.map((mark) => mark.reached));
    if (!Number.isFinite(last - first)) throw new Error('a tab lost a peer while the mesh formed');
    return last - first;
  } finally {
    await context.close();
    await server.server.stop();
  }
}

/** Time until 8 tabs are all connected to each other over `kind` (median of 3 meshes). */
export async function tabsConnectedFigure(kind: TransportKind, timeoutMs = 60_000): Promise<Figure> {
  const [browser, build] = await Promise.all([launchChromium(), buildTransportPage()]);
  try {
    const times: number[] = [];
    for (let run = 0; run < RUNS; run++) times.push(await meshOnce(browser, build.dir, kind, timeoutMs));
    times.sort((a, b) => a - b);
    const runs = times.map((time) => Math.round(time)).join(', ');
    return {
      name: `tabs-${TABS}-connected-${kind}`,
      value: round(times[Math.floor(times.length / 2)] as number, 0),
      unit: 'ms',
      ratio: null,
      note: `${TABS} tabs of one Chromium, full mesh, start() to last channel open; median of ${RUNS} (${runs} ms)`,
    };
  } finally {
    await browser.close();
    await build.remove();
  }
}
