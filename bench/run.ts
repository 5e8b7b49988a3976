/**
 * `npm run bench`: every figure measured side by side in one run, as a readable table, or with
 * `--json` as a JSON array of `{name, value, unit, ratio}`. Speed goals live here, never in
 * timed tests.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { txToHeadFigures } from './app';
import { chromiumValidationFigures } from './chromium-validation';
import { lotteryFigure, validateFigure } from './core';
import { firstLoadFigures } from './first-load';
import type { Figure } from './harness';
import { chromiumLotteryCapFigure, lotteryCapFigure } from './lottery-cap';
import { syncFigure, throughputFigure } from './node';
import { reloadFigures } from './reload';
import { resilientRankingFigure } from './resilient';
import { storageFigures } from './storage';
import { tabsConnectedFigure } from './tabs';

const json = process.argv.includes('--json');
const log = (line: string) => {
  if (!json) process.stderr.write(`${line}\n`);
};

const stakerKey = readFileSync(
  join(import.meta.dirname, '..', 'test', 'vectors', 'keys', 'stakerPublicKey.pem'),
  'utf8',
);

const figures: Figure[] = [];
const steps: [string, () => Promise<Figure | Figure[]>][] = [
  ['lottery-3000', () => lotteryFigure(stakerKey)],
  ['lottery-cap', () => lotteryCapFigure()],
  ['resilient-ranking-1m', () => resilientRankingFigure()],
  ['chromium-lottery-cap', () => chromiumLotteryCapFigure()],
  ['validate-1000tx', () => validateFigure()],
  ['throughput-10-nodes', () => throughputFigure()],
  ['sync-1000x10', () => syncFigure()],
  [
    'chromium-validate-1000tx chromium-sync-1000x10 chromium-longest-task-ms',
    () => chromiumValidationFigures(),
  ],
  ['idb-bytes-per-block', () => storageFigures()],
  ['tabs-connected-8-simple-peer', () => tabsConnectedFigure('simple-peer')],
  ['tabs-connected-8-peerjs', () => tabsConnectedFigure('peerjs')],
  ['tx-to-head-8-tabs', () => txToHeadFigures()],
  ['reload-1k-10k-blocks', () => reloadFigures()],
  ['chromium-first-load-ms', () => firstLoadFigures()],
];
// `npm run bench -- NAME…` measures only the figures whose names contain one of the words.
const filters = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
for (const [name, step] of steps) {
  if (filters.length > 0 && !filters.some((word) => name.includes(word))) continue;
  log(`measuring ${name}…`);
  figures.push(...[await step()].flat());
}

if (json) {
  process.stdout.write(
    `${JSON.stringify(figures.map(({ name, value, unit, ratio }) => ({ name, value, unit, ratio })))}\n`,
  );
} else {
  const rows = figures.map((f) => [
    f.name,
    `${f.value} ${f.unit}`,
    f.ratio === null ? '' : String(f.ratio),
    f.note,
  ]);
  const header = ['figure', 'value', 'ratio', 'what the ratio is'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ');
  process.stdout.write(`${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const row of rows) process.stdout.write(`${line(row)}\n`);
}
