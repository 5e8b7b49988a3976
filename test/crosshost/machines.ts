/**
 * What runs on each machine of the classroom (./netns.ts): processes started inside a namespace
 * with `ip netns exec`, the teacher's devnet (`npm start -- --lan`) and TURN server (Debian's
 * coturn), and a Chromium per client machine, driven from this process by playwright-core.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { type Browser, chromium } from 'playwright-core';
import { CHROME_PATH, chromiumArgs, ROOT } from '../e2e/browser';
import { onTrap } from './netns';

const IP = '/usr/sbin/ip';

/** A process running inside a namespace, with everything it printed so far. */
export interface NamespacedProcess {
  readonly child: ChildProcess;
  /** stdout and stderr, interleaved as received. */
  output(): string;
  /** Resolves with the first match of `pattern` in its output; rejects if it exits or times out. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** SIGTERM to its process group, SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts `command` inside `ns` in a process group of its own (so that `stop` also ends what it
 * spawned, as `npm start` does).
 */
export function startIn(
  ns: string,
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): NamespacedProcess {
  const child = spawn(IP, ['netns', 'exec', ns, command, ...args], {
    cwd: options.cwd ?? ROOT,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let text = '';
  const listeners = new Set<() => void>();
  const append = (chunk: Buffer) => {
    text += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const hasExited = () => child.exitCode !== null || child.signalCode !== null;
  const signalGroup = (signal: NodeJS.Signals) => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // The group is gone already.
    }
  };
  return {
    child,
    output: () => text,
    waitFor(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = text.match(pattern);
          if (match) {
            done();
            resolve(match);
          } else if (hasExited()) {
            done();
            reject(
              new Error(
                `${command} exited (${child.exitCode ?? child.signalCode}) before printing ${pattern}:\n${text}`,
              ),
            );
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${command} printed no ${pattern} within ${timeoutMs} ms:\n${text}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off('exit', check);
        };
        listeners.add(check);
        child.on('exit', check);
        check();
      });
    },
    async stop(graceMs = 5000) {
      if (hasExited()) return;
      signalGroup('SIGTERM');
      const timer = setTimeout(() => signalGroup('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The TURN server's long-term credentials (the test's own, valid inside its namespaces only). */
export const TURN_USER = 'tcx-student';
export const TURN_CREDENTIAL = 'tcx-classroom-secret';
export const TURN_PORT = 3478;

/**
 * Debian's coturn on `address`, relaying from the same address, long-term credentials, no TLS
 * (the browsers reach it as `turn:ADDRESS:3478`), no config file, logging to stdout.
 */
export async function startTurnServer(ns: string, address: string): Promise<NamespacedProcess> {
  const turn = startIn(ns, '/usr/bin/turnserver', [
    '-c',
    '/dev/null',
    '--listening-ip',
    address,
    '--relay-ip',
    address,
    '--listening-port',
    String(TURN_PORT),
    '--min-port',
    '49152',
    '--max-port',
    '49352',
    '--lt-cred-mech',
    `--user=${TURN_USER}:${TURN_CREDENTIAL}`,
    '--realm=tabchain.classroom',
    '--no-tls',
    '--no-dtls',
    '--no-cli',
    '--no-rfc5780',
    '--log-file=stdout',
    '--simple-log',
  ]);
  // coturn prints "socket: Protocol not supported" twice at start (no IPv6 here): harmless.
  await turn.waitFor(/(relay|IPv4\. UDP listener opened on)/i, 15_000);
  return turn;
}

/**
 * The project's resolver rule maps every host, IP literals included, to NOTFOUND except loopback;
 * the classroom's browsers must also reach the teacher's address (still inside our namespaces).
 */
function withServerResolvable(arg: string, serverIp: string): string {
  return arg.startsWith('--host-resolver-rules=') ? `${arg} , EXCLUDE ${serverIp}` : arg;
}

/** A Chromium running inside a namespace, and the temporary folder of its launcher. */
export interface NamespacedBrowser {
  readonly browser: Browser;
  close(): Promise<void>;
}

/**
 * Launches Debian's Chromium inside `ns`: playwright-core starts a two-line launcher that execs
 * `ip netns exec NS chromium ...`, and talks to it over the inherited DevTools pipe, which needs
 * no address in either namespace.
 *
 * `--ignore-certificate-errors` is for this test only: the devnet's certificate is self-signed,
 * and a student clicks through the browser's warning once; the test cannot click that page.
 */
export async function launchChromiumIn(ns: string, serverIp: string): Promise<NamespacedBrowser> {
  const dir = mkdtempSync(join(tmpdir(), 'tcx-chromium-'));
  const launcher = join(dir, 'chromium-in-netns');
  const removeDir = onTrap(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(launcher, `#!/bin/sh\nexec ${IP} netns exec '${ns}' '${CHROME_PATH}' "$@"\n`);
  chmodSync(launcher, 0o755);
  try {
    const browser = await chromium.launch({
      executablePath: launcher,
      headless: true,
      args: [
        ...chromiumArgs().map((arg) => withServerResolvable(arg, serverIp)),
        '--ignore-certificate-errors',
      ],
      timeout: 60_000,
    });
    return {
      browser,
      async close() {
        await browser.close().catch(() => {});
        removeDir();
      },
    };
  } catch (error) {
    removeDir();
    throw error;
  }
}
