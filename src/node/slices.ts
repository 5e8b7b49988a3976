import {
  continueLottery,
  isLotteryDone,
  type LotteryRunner,
  lotteryResult,
  startLottery,
} from '../core/lottery';

/**
 * Long work in slices, so a page never freezes. The core holds no clock: it offers points where
 * it may stop (the lottery's resumable draw, the `pause` hook between validation batches), and
 * this edge decides the time budget. Once a slice has used its budget, the work yields to the
 * page (input, rendering) and resumes.
 *
 * - `slicedLotteryRunner`: at the stake cap (10,000 coins by default) one draw is about 10,000
 *   hashes, some 100 ms of Chromium's main thread in one go; here it runs in chunks of
 *   `CHUNK_HASHES`.
 * - `createPacer`: the `pause` a node passes to validation and sync (`NodeOptions.pause`).
 */

/** Hashes per chunk: about 0.6 ms in Chromium, so a slice ends within that of its budget. */
const CHUNK_HASHES = 64;

/** How a sliced runner tells time and gives the page its turn. */
export interface SliceOptions {
  /** A monotonic clock in milliseconds (`performance.now`). */
  readonly now: () => number;
  /** Resolves once the page has had a turn (a macrotask: input and rendering may run). */
  readonly yieldToPage: () => Promise<void>;
  /**
   * The longest a slice may run before it yields, in ms (default 6 for the lottery, 8 for a
   * pacer: well inside a 60 Hz frame; keep it at most 16).
   */
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

/** The page's one yield channel and the yields waiting on it, in order (messages arrive in order). */
let yieldChannel: MessageChannel | null = null;
const waitingYields: (() => void)[] = [];

/**
 * Gives the page a turn through a `MessageChannel` message: a macrotask, like `setTimeout(0)`,
 * without the 4 ms clamp browsers put on nested timeouts. One channel serves every yield: a new
 * channel per yield cost a sync of 1,000 blocks some 30 ms of the page's time in Chromium.
 */
export function yieldThroughMessageChannel(): Promise<void> {
  if (yieldChannel === null) {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => waitingYields.shift()?.();
    yieldChannel = channel;
  }
  const channel = yieldChannel;
  return new Promise((resolve) => {
    waitingYields.push(resolve);
    channel.port2.postMessage(null);
  });
}

/**
 * A pause for long work that calls it between small steps: undefined while the current slice
 * still has budget (the caller goes on at once, no promise made), else a promise that resolves
 * once the page has had its turn, and a new slice begins. The first call after idle time may
 * yield once more than needed: a pacer cannot tell a new task from a long one, and one yield
 * costs a fraction of a millisecond.
 */
export function createPacer(options: SliceOptions): () => Promise<void> | undefined {
  const budget = options.budgetMs ?? 8;
  let sliceStart = options.now();
  let yielding: Promise<void> | null = null;
  return () => {
    // Work running side by side (a sync and a block) shares one slice, and one yield.
    if (yielding) return yielding;
    const used = options.now() - sliceStart;
    if (used < budget) return undefined;
    options.onSlice?.(used);
    yielding = options.yieldToPage().then(() => {
      yielding = null;
      sliceStart = options.now();
    });
    return yielding;
  };
}

/** What a browser tab's node runs with so that nothing it does freezes the page (see `NodeOptions`). */
export interface PagePacing {
  readonly lottery: LotteryRunner;
  readonly yieldToPage: () => Promise<void>;
  readonly pause: () => Promise<void> | undefined;
}

/**
 * The pacing of a node in a page: each next-forger draw and each validation run in slices of the
 * main thread, never one long task; a restored chain's index loads in slices after the page is
 * interactive. The composition root (src/main.tsx) and the Chromium bench use this one set-up.
 */
export function pagePacing(options: { readonly onSlice?: (ms: number) => void } = {}): PagePacing {
  const clock = { now: () => performance.now(), yieldToPage: yieldThroughMessageChannel };
  return {
    lottery: slicedLotteryRunner({ ...clock, ...options }),
    yieldToPage: yieldThroughMessageChannel,
    pause: createPacer({ ...clock, ...options }),
  };
}
