#!/usr/bin/env node
// `npm test`: unit tests, then browser tests in real Chromium, then the cross-host test (machines
// simulated with network namespaces, test/crosshost), then one summary line `N passed, M failed`
// (`, K skipped` when some were skipped). Exits non-zero if any run fails or runs no test.
// Without Chromium, without Debian's python3 and the reference's libraries (for the
// reference-client tests), or without what the cross-host test needs (root, `ip netns`,
// nftables, coturn), it stops before running anything and names what is missing: no test is
// ever skipped silently.
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
const NO_CHROMIUM =
  "Browser tests need Chromium. Install Debian's package (sudo apt-get install chromium) or set CHROME_PATH=/path/to/chrome";

/**
 * The reference's own client (scripts/reference-client.py) is tested under Debian's python3 with
 * the reference's libraries, as its users run it: without them `npm test` stops, never skips.
 */
const PYTHON = '/usr/bin/python3';
const NO_PYTHON =
  "The reference-client tests need Debian's python3 with its libraries: sudo apt-get install python3 python3-requests python3-jsonpickle python3-pycryptodome";

/**
 * The cross-host test builds machines out of network namespaces: it needs root, iproute2 with a
 * working `ip netns`, nftables (the phone's NAT router) and Debian's coturn (the TURN server).
 */
const CROSSHOST_TOOLS = [
  { path: '/usr/sbin/ip', name: 'iproute2', apt: 'iproute2' },
  { path: '/usr/sbin/nft', name: 'nftables', apt: 'nftables' },
  { path: '/usr/bin/turnserver', name: 'coturn', apt: 'coturn' },
];

/** What the cross-host test lacks on this machine, one sentence each (empty: nothing). */
function missingForCrosshost() {
  const missing = [];
  if (typeof process.getuid === 'function' && process.getuid() !== 0)
    missing.push('root (network namespaces need it): run npm test as root, e.g. sudo npm test');
  const absent = CROSSHOST_TOOLS.filter((tool) => !isExecutable(tool.path));
  if (absent.length > 0)
    missing.push(
      `${absent.map((tool) => `${tool.name} (${tool.path})`).join(', ')}: sudo apt-get install ${absent.map((tool) => tool.apt).join(' ')}`,
    );
  else if (spawnSync('/usr/sbin/ip', ['netns', 'list'], { stdio: 'ignore' }).status !== 0)
    missing.push('a working `ip netns list`: this kernel or container does not allow network namespaces');
  return missing;
}

function hasReferencePython() {
  if (!isExecutable(PYTHON)) return false;
  const probe = spawnSync(PYTHON, ['-c', 'import requests, jsonpickle, Cryptodome'], { stdio: 'ignore' });
  return probe.status === 0;
}

function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** CHROME_PATH if set (and then it must work), else the first known install. */
function findChromium() {
  const fromEnv = process.env.CHROME_PATH;
  if (fromEnv) return isExecutable(fromEnv) ? fromEnv : undefined;
  return CHROMIUM_CANDIDATES.find(isExecutable);
}

const RUNS = [
  { name: 'unit tests', args: ['run'] },
  { name: 'browser tests', args: ['run', '--config', 'vitest.e2e.config.ts'] },
  { name: 'cross-host test', args: ['run', '--config', 'vitest.crosshost.config.ts'] },
];

let current;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    current?.kill(signal);
    process.exit(130);
  });
}

function runVitest(args, env) {
  const require = createRequire(import.meta.url);
  const vitest = join(dirname(require.resolve('vitest/package.json')), 'vitest.mjs');
  return new Promise((resolve) => {
    current = spawn(process.execPath, [vitest, ...args], { cwd: root, env, stdio: 'inherit' });
    current.on('error', (error) => {
      console.error(`npm test: could not start vitest: ${error.message}`);
      resolve(1);
    });
    current.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

/** Counts from vitest's JSON report, or undefined when the run wrote none. */
function readReport(file) {
  try {
    const report = JSON.parse(readFileSync(file, 'utf8'));
    return {
      passed: report.numPassedTests ?? 0,
      failed: report.numFailedTests ?? 0,
      skipped: (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0),
      total: report.numTotalTests ?? 0,
      failedFiles: report.numFailedTestSuites ?? 0,
    };
  } catch {
    return undefined;
  }
}

async function main() {
  const chromium = findChromium();
  if (!chromium) {
    console.error(NO_CHROMIUM);
    if (process.env.CHROME_PATH)
      console.error(`(CHROME_PATH=${process.env.CHROME_PATH} is not an executable file.)`);
    return 1;
  }
  if (!hasReferencePython()) {
    console.error(NO_PYTHON);
    return 1;
  }
  const crosshostMissing = missingForCrosshost();
  if (crosshostMissing.length > 0) {
    console.error('The cross-host test (test/crosshost, network namespaces) needs what this machine lacks:');
    for (const line of crosshostMissing) console.error(`- ${line}`);
    return 1;
  }

  const env = { ...process.env, CHROME_PATH: chromium };
  const reports = mkdtempSync(join(tmpdir(), 'tabchain-test-'));
  const totals = { passed: 0, failed: 0, skipped: 0 };
  const problems = [];
  try {
    for (const [index, run] of RUNS.entries()) {
      const outputFile = join(reports, `vitest-${index}.json`);
      console.log(`\n== ${run.name}: vitest ${run.args.join(' ')} ==\n`);
      const code = await runVitest(
        [...run.args, '--reporter=default', '--reporter=json', `--outputFile=${outputFile}`],
        env,
      );
      const counts = readReport(outputFile);
      if (counts) {
        totals.passed += counts.passed;
        totals.failed += counts.failed;
        totals.skipped += counts.skipped;
      }
      if (!counts) {
        problems.push(`${run.name}: vitest wrote no report (exit code ${code})`);
      } else if (counts.total === 0 || counts.passed + counts.failed === 0) {
        const broken = counts.failedFiles > 0 ? ` (${counts.failedFiles} test file(s) failed to load)` : '';
        problems.push(`${run.name}: ran no test${broken}`);
      } else if (code !== 0 && counts.failed === 0) {
        problems.push(
          `${run.name}: vitest exited with code ${code} (a test file failed to load or a hook failed)`,
        );
      } else if (code !== 0) {
        problems.push(`${run.name}: ${counts.failed} failed`);
      }
    }
  } finally {
    rmSync(reports, { recursive: true, force: true });
  }

  // A run that failed without failing a test (no report, no tests, a broken file) counts as one
  // failure, so the summary never reads "0 failed" for a failing run.
  const runFailures = problems.filter((problem) => !/: \d+ failed$/.test(problem)).length;
  const failed = totals.failed + runFailures;
  console.log('');
  for (const problem of problems) console.log(`FAILED ${problem}`);
  const skipped = totals.skipped > 0 ? `, ${totals.skipped} skipped` : '';
  console.log(`${totals.passed} passed, ${failed} failed${skipped}`);
  return problems.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
