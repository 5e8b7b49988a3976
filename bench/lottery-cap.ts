/**
 * `lottery-cap` (Node) and `chromium-lottery-cap`: what drawing the next forger costs per block
 * when the total stake is at the devnet's cap (`DEFAULT_MAX_TOTAL_STAKE`, 10,000 coins: the
 * genesis stake and one staker holding the rest). In Chromium the app draws in slices; the
 * figure's note gives the longest slice the page saw.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'vite';
import { DEFAULT_MAX_TOTAL_STAKE, runLottery, type StakeEntry } from '../src/core';
import { launchChromium, newContext } from '../test/e2e/browser';
import { type Figure, medianMs, round } from './harness';

const SEED = 'b61900e4532596cc8d24dece2bb7f3e8533acfe7b6b9f2954fc618b6abfacc9d';
const key = (name: string): string =>
  readFileSync(join(import.meta.dirname, '..', 'public', 'keys', `${name}PublicKey.pem`), 'utf8');
const capStakers = (): StakeEntry[] => [
  [key('genesis'), 1],
  [key('staker'), DEFAULT_MAX_TOTAL_STAKE - 1],
];
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** `lottery-cap`: one draw over 10,000 staked coins in Node. */
export async function lotteryCapFigure(): Promise<Figure> {
  const stakers = capStakers();
  const ms = await medianMs(() => runLottery(stakers, SEED), 7);
  return {
    name: 'lottery-cap',
    value: round(ms, 1),
    unit: 'ms',
    ratio: round((ms * 1000) / DEFAULT_MAX_TOTAL_STAKE, 2),
    note: `next forger at the devnet's maxTotalStake (${DEFAULT_MAX_TOTAL_STAKE} coins) in Node, once per block; ratio = µs per staked coin`,
  };
}

/** `chromium-lottery-cap`: the same draw in Chromium, at once and sliced as the app runs it. */
export async function chromiumLotteryCapFigure(): Promise<Figure> {
  const bundle = await build({
    configFile: false,
    logLevel: 'silent',
    build: {
      write: false,
      minify: false,
      lib: {
        entry: join(import.meta.dirname, 'pages', 'lottery-cap.ts'),
        formats: ['iife'],
        name: 'lotteryCapBench',
      },
    },
  });
  const output = (Array.isArray(bundle) ? bundle[0] : bundle) as { output: { code?: string }[] };
  const code = output.output[0]?.code;
  if (!code) throw new Error('the lottery page did not bundle');
  const browser = await launchChromium();
  try {
    const page = await (await newContext(browser)).newPage();
    await page.setContent('<!doctype html><title>lottery-cap</title>');
    await page.addScriptTag({ content: code });
    const result = await page.evaluate(([stakers, seed]) => window.lotteryCap(stakers, seed, 7), [
      capStakers(),
      SEED,
    ] as const);
    if (result.forger !== runLottery(capStakers(), SEED)?.forger)
      throw new Error('Chromium picked another forger');
    const atOnce = median(result.atOnceMs);
    return {
      name: 'chromium-lottery-cap',
      value: round(atOnce, 1),
      unit: 'ms',
      ratio: round((atOnce * 1000) / DEFAULT_MAX_TOTAL_STAKE, 2),
      note:
        `next forger at maxTotalStake (${DEFAULT_MAX_TOTAL_STAKE} coins) in Chromium, drawn at once; ratio = µs per staked coin. ` +
        `As the app draws it (sliced): ${round(median(result.slicedMs), 1)} ms in all, longest main-thread slice ${round(result.longestSliceMs, 1)} ms`,
    };
  } finally {
    await browser.close();
  }
}
