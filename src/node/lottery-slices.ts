import {
  continueLottery,
  isLotteryDone,
  type LotteryRunner,
  lotteryResult,
  startLottery,
} from '../core/lottery';

/**
 * Draws the lottery in slices, so a page never freezes: at the stake cap (10,000 coins by
 * default) one draw is about 10,000 hashes, some 100 ms of Chromium's main thread in one go.
 * Here the draw runs in chunks of `CHUNK_HASHES`; once a slice has used `budgetMs`, the runner
 * yields to the page (input, rendering) and resumes. The core's draw is plain data and holds
 * no clock, so this edge decides the time budget.
 */

/** Hashes per chunk: about 0.6 ms in Chromium, so a slice ends within that of its budget. */
const CHUNK_HASHES = 64;

/** How a sliced runner tells time and gives the page its turn. */
export interface SliceOptions {
  /** A monotonic clock in milliseconds (`performance.now`). */
  readonly now: () => number;
  /** Resolves once the page has had a turn (a macrotask: input and rendering may run). */
  readonly yieldToPage: () => Promise<void>;
  /** The longest a slice may run before it yields, in ms (default 6: well inside a 60 Hz frame). */
  readonly budgetMs?: number;
  /** Called with each slice's length in ms (for the benchmark). */
  readonly onSlice?: (ms: number) => void;
}

/** A lottery runner that spreads each draw over slices of at most `budgetMs` (plus one chunk). */
export function slicedLotteryRunner(options: SliceOptions): LotteryRunner {
  const budget = options.budgetMs ?? 6;
  return async (stakers, seed) => {
    let draw = startLottery(stakers, seed);
    for (;;) {
      const sliceStart = options.now();
      do draw = continueLottery(draw, CHUNK_HASHES);
      while (!isLotteryDone(draw) && options.now() - sliceStart < budget);
      options.onSlice?.(options.now() - sliceStart);
      if (isLotteryDone(draw)) return lotteryResult(draw);
      await options.yieldToPage();
    }
  };
}

/**
 * Gives the page a turn through a `MessageChannel` message: a macrotask, like `setTimeout(0)`,
 * without the 4 ms clamp browsers put on nested timeouts.
 */
export function yieldThroughMessageChannel(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}
