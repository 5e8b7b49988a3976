/**
 * Runs in Chromium (bundled by bench/lottery-chromium.ts): the next-forger draw at the stake
 * cap, at once and through the sliced runner the app uses, on the page's own clock.
 */
import { runLottery, type StakeEntry } from '../../src/core';
import { slicedLotteryRunner, yieldThroughMessageChannel } from '../../src/node/slices';

declare global {
  interface Window {
    lotteryCap(
      stakers: StakeEntry[],
      seed: string,
      runs: number,
    ): Promise<{ atOnceMs: number[]; slicedMs: number[]; longestSliceMs: number; forger: string }>;
  }
}

window.lotteryCap = async (stakers, seed, runs) => {
  const atOnceMs: number[] = [];
  const slicedMs: number[] = [];
  let longestSliceMs = 0;
  let forger = '';
  const runner = slicedLotteryRunner({
    now: () => performance.now(),
    yieldToPage: yieldThroughMessageChannel,
    onSlice: (ms) => {
      longestSliceMs = Math.max(longestSliceMs, ms);
    },
  });
  for (let i = 0; i < runs; i++) {
    let start = performance.now();
    forger = runLottery(stakers, seed)?.forger ?? '';
    atOnceMs.push(performance.now() - start);
    start = performance.now();
    const sliced = await runner(stakers, seed);
    slicedMs.push(performance.now() - start);
    if (sliced?.forger !== forger) throw new Error('the sliced draw disagrees');
  }
  return { atOnceMs, slicedMs, longestSliceMs, forger };
};
