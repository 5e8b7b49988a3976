/** A benchmark figure as `npm run --silent bench -- --json` prints it. */
export interface Figure {
  /** Stable name, e.g. `lottery-3000`. */
  readonly name: string;
  /** The measured value. */
  readonly value: number;
  /** Unit of `value`: `ms`, `tx/s`, `bytes`... */
  readonly unit: string;
  /** The figure's ratio as its definition states (null when it has none). */
  readonly ratio: number | null;
  /** What the ratio compares and the goal, for the readable table. */
  readonly note: string;
}

/** Median wall time of `fn` in milliseconds over `runs` runs after `warmup` unmeasured ones. */
export async function medianMs(fn: () => unknown, runs = 5, warmup = 1): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

/**
 * Measures two functions side by side, alternating them run by run so that machine noise
 * (the other core, thermal state) hits both alike. Returns both medians in milliseconds.
 */
export async function sideBySide(
  a: () => unknown,
  b: () => unknown,
  runs = 7,
): Promise<{ a: number; b: number }> {
  await a();
  await b();
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < runs; i++) {
    let start = performance.now();
    await a();
    ta.push(performance.now() - start);
    start = performance.now();
    await b();
    tb.push(performance.now() - start);
  }
  const median = (xs: number[]) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number;
  return { a: median(ta), b: median(tb) };
}

/** Rounds for display and JSON: three significant decimals is plenty for these figures. */
export const round = (value: number, digits = 3): number => Number(value.toFixed(digits));
