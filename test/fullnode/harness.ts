import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { join } from 'node:path';

/*
 * Runs always-on nodes as a person does (`npm run node -- ...`, here `tsx fullnode/cli.ts`) and
 * talks to them over their HTTP API, for the node tests and the interaction e2e.
 */

export const ROOT = join(import.meta.dirname, '..', '..');
export const VECTOR_KEYS = join(ROOT, 'test', 'vectors', 'keys');
export const RECORDED_REQUESTS = join(ROOT, 'test', 'vectors', 'nodeapi-interaction.json');
const CLI = join(ROOT, 'fullnode', 'cli.ts');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const PYTHON = '/usr/bin/python3';
const CLIENT = join(ROOT, 'scripts', 'reference-client.py');

/** A node process, its API and everything it printed. */
export interface NodeProcess {
  readonly apiUrl: string;
  readonly child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** Sends `signal` and resolves with the exit code (null if it died of a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `tsx fullnode/cli.ts args`; resolves once it prints its API line. */
export function startNodeProcess(args: readonly string[], timeoutMs = 90_000): Promise<NodeProcess> {
  const child = spawn(TSX, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the node printed no API line within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /^tabchain node: api (http:\/\/\S+\/)$/m.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve({
          apiUrl: match[1],
          child,
          output: () => output,
          stop: (signal = 'SIGTERM') => {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
            return exited;
          },
        });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the node exited (${code}) before its API answered:\n${output}`));
    });
  });
}

/** GET `path` of a node's API as JSON. */
export async function getJson<T>(apiUrl: string, path: string): Promise<T> {
  const response = await fetch(new URL(path, apiUrl));
  if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/**
 * The reference's `GET /blockchain` text, its last block's `blockCount`, and that block's
 * signature (which names the head as well as its hash does, and needs no hashing here).
 */
export async function chainOf(apiUrl: string): Promise<{ text: string; height: number; head: string }> {
  const response = await fetch(new URL('blockchain', apiUrl));
  const text = await response.text();
  const blocks = (JSON.parse(text) as { blocks: { blockCount: number; signature: string }[] }).blocks;
  const last = blocks.at(-1);
  return { text, height: last?.blockCount ?? -1, head: last?.signature ?? '' };
}

/** Polls `check` every 200 ms until it is true; fails with `what` after `timeoutMs`. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // Not yet (a node still starting): try again.
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Runs scripts/reference-client.py under Debian's python3 against `apiUrl`. */
export function runReferenceClient(
  apiUrl: string,
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(PYTHON, [CLIENT, '--node', apiUrl, ...args], { timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Runs `npm run verify-chain` (scripts/verify-chain.ts) on a chain file; its JSON report. */
export function verifyChainFile(
  file: string,
  genesisKeyFile?: string,
): Promise<{
  code: number;
  report: {
    valid: boolean;
    height: number;
    head: string;
    balances: Record<string, number>;
    stakes: Record<string, number>;
  };
}> {
  const args = [join(ROOT, 'scripts', 'verify-chain.ts'), file];
  if (genesisKeyFile) args.push('--genesis-key', genesisKeyFile);
  return new Promise((resolve, reject) => {
    execFile(TSX, args, { cwd: ROOT, timeout: 120_000 }, (error, stdout, stderr) => {
      const code = error ? Number((error as { code?: number }).code ?? 1) : 0;
      try {
        resolve({ code, report: JSON.parse(stdout) });
      } catch {
        reject(new Error(`verify-chain printed no report (exit ${code}): ${stderr}`));
      }
    });
  });
}
