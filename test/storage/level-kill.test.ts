/**
 * A node killed during appends restarts on a valid prefix: a child process writes the chain of
 * `killSteps()` into a LevelStore and is SIGKILLed after it reports write n; the store reopened
 * here must hold exactly the chain and head state of one whole write at or after n (never half
 * of one, never less than what was acknowledged), with no repair needed, and take the next write.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockHash } from '../../src/core';
import { openLevelStore } from '../../src/storage/level';
import { GENESIS_HASH } from '../../src/storage/write-checks';
import { type KillStep, killSteps } from './fixtures/kill-writes';
import { expectedIndex, indexOf, loadedHeadState, plainState } from './store-compliance';

const ROOT = join(import.meta.dirname, '..', '..');
const APPENDER = join(import.meta.dirname, 'fixtures', 'level-appender.ts');

const directories: string[] = [];
afterAll(async () => {
  await Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true })));
});

let steps: KillStep[] = [];
beforeAll(() => {
  steps = killSteps();
});

/**
 * Runs the appender on `directory` and SIGKILLs it `delayMs` after it reports write `killAfter`
 * (0: at once, which lands before the next write commits; a few ms land during later writes, at
 * points the test does not choose): resolves with the last write it reported and how it ended.
 */
function runAndKill(
  directory: string,
  killAfter: number,
  delayMs: number,
): Promise<{ lastReported: number; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', APPENDER, directory], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let lastReported = -1;
    let pending = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const match = /^wrote (\d+)$/.exec(line);
        if (!match) continue;
        lastReported = Number(match[1]);
        if (lastReported === killAfter) {
          setTimeout(() => {
            if (child.exitCode === null) child.kill('SIGKILL');
          }, delayMs);
        }
      }
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => resolve({ lastReported, signal, stderr }));
  });
}

describe('LevelDB store: a node SIGKILLed during appends restarts on a valid prefix', () => {
  // After the first append, mid-way through the one-block appends, right after the reorg onto
  // the branch, right after the reorg back, and among the appends around the checkpoint at 256.
  for (const [killAfter, delayMs] of [
    [0, 0],
    [25, 4],
    [39, 0],
    [40, 0],
    [41, 2],
    [90, 7],
    [150, 1],
    [240, 13],
    [260, 3],
  ] as const) {
    it(`killed ${delayMs} ms after write ${killAfter} is reported`, async () => {
      const directory = await mkdtemp(join(tmpdir(), 'tabchain-level-kill-'));
      directories.push(directory);
      const run = await runAndKill(directory, killAfter, delayMs);
      // It was killed mid-way: it neither finished nor crashed on its own.
      expect(run.signal, run.stderr).toBe('SIGKILL');
      expect(run.lastReported).toBeGreaterThanOrEqual(killAfter);

      const store = await openLevelStore(directory);
      try {
        const loaded = await store.load({ recentBlocks: Number.MAX_SAFE_INTEGER });
        expect(loaded.notices).toEqual([]);
        // The stored head is that of one whole write, the acknowledged one or a later one.
        const kept = steps.findIndex(
          (step, index) =>
            index >= run.lastReported &&
            step.state.height === loaded.head?.height &&
            step.state.headHash === loaded.head?.hash,
        );
        expect(kept).toBeGreaterThanOrEqual(run.lastReported);
        const step = steps[kept] as KillStep;
        // Contiguous heights from 1, each block's hash its own and linked to its parent.
        let parent = GENESIS_HASH;
        for (const [index, stored] of loaded.blocks.entries()) {
          expect(stored.height).toBe(index + 1);
          expect(stored.hash).toBe(blockHash(stored.block));
          expect(stored.block.lastHash).toBe(parent);
          parent = stored.hash;
        }
        expect(loaded.blocks).toHaveLength(step.state.height);
        // The accounts are the head state of that very write, and the index matches the blocks.
        expect(loaded.accounts).not.toBeNull();
        expect(await loadedHeadState(loaded)).toEqual(plainState(step.state));
        expect(await indexOf(store)).toEqual(expectedIndex(loaded.blocks));
        // The node goes on from there: the next write of the sequence fits.
        const next = steps[kept + 1];
        if (next) {
          await store.writeChain(next.write);
          const after = await store.load();
          expect(after.head).toEqual({ height: next.state.height, hash: next.state.headHash });
          expect(await loadedHeadState(after)).toEqual(plainState(next.state));
        }
      } finally {
        await store.close();
      }
    });
  }
});
