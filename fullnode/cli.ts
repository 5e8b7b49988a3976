/**
 * `npm run node -- [--signaling URL] [--key PEM_FILE] [--api-port N] [--data DIR] [--genesis FILE]`:
 * an always-on tabchain node, the reference's `python Main.py IP PORT API_PORT [KEY_FILE]`.
 *
 * Prints `tabchain node: api http://HOST:N/` on stdout once its API answers; everything else
 * (the network it joined, the sync progress bar, forged blocks) goes to stderr. SIGINT or SIGTERM
 * stops it cleanly (API, node, store) with exit 0; the next start resumes from `--data`.
 * Exit 1: it could not start (no WebRTC for Node, a bad key, a taken port, a locked --data);
 * exit 2: a usage error.
 */
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import type { Result } from '../src/core/result';
import { parseNodeArgs, USAGE } from './args';
import { type RunningFullNode, startFullNode } from './run';
import { DEFAULT_WRTC_MODULE, loadWrtc, WRTC_MODULE_ENV } from './wrtc';

/** A stop that takes longer than this is given up on (exit 1), never waited on forever. */
const STOP_TIMEOUT_MS = 15_000;

const FALLBACK_NETWORK_FILE = fileURLToPath(new URL('../public/devnet.json', import.meta.url));

const say = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<void> {
  const args = parseNodeArgs(process.argv.slice(2));
  if (!args.ok) {
    say(`tabchain node: ${args.error}`);
    say(USAGE);
    process.exit(2);
  }
  if (args.value.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }

  // A signal during start-up stops the start; after it, the running node.
  const starting = new AbortController();
  let started: Promise<Result<RunningFullNode, string>> | null = null;
  let stopping = false;
  let lastSignal: NodeJS.Signals | null = null;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) {
      // Ctrl-C twice: the person gives up waiting. A SIGTERM while stopping is the same request
      // again (npm start passes one on after the terminal's SIGINT reached us both): keep stopping.
      if (signal === 'SIGINT' && lastSignal === 'SIGINT') {
        say('tabchain node: SIGINT again: exiting without waiting');
        process.exit(130);
      }
      lastSignal = signal;
      return;
    }
    lastSignal = signal;
    stopping = true;
    say(`tabchain node: ${signal}: stopping`);
    setTimeout(() => {
      say(`tabchain node: did not stop within ${STOP_TIMEOUT_MS} ms: exiting`);
      process.exit(1);
    }, STOP_TIMEOUT_MS).unref();
    starting.abort();
    // A start under way stops what it began and fails; a started node stops here.
    const stopped = started?.then((result) => (result.ok ? result.value.stop() : undefined));
    void (stopped ?? Promise.resolve()).then(
      () => {
        say('tabchain node: stopped');
        process.exit(0);
      },
      (error: unknown) => {
        say(`tabchain node: stopping failed: ${String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);

  const wrtc = await loadWrtc(process.env[WRTC_MODULE_ENV] || DEFAULT_WRTC_MODULE);
  if (!wrtc.ok) {
    say(wrtc.error);
    process.exit(1);
  }

  started = startFullNode(args.value, {
    wrtc: wrtc.value,
    output: {
      out: (line) => process.stdout.write(`${line}\n`),
      err: say,
      bar: process.stderr,
    },
    fallbackNetworkFile: FALLBACK_NETWORK_FILE,
    cwd: process.cwd(),
    signal: starting.signal,
  });
  const result = await started;
  // Stopping: the signal handler exits once the stop is done.
  if (stopping) return;
  if (!result.ok) {
    say(`tabchain node: ${result.error}`);
    process.exit(1);
  }
}

main().catch((error: unknown) => {
  say(
    `tabchain node: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  process.exit(1);
});
