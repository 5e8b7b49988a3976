import type { SyncProgress } from '../src/node/node';

/*
 * The sync progress bar the node prints on stderr while it catches up, drawn from its
 * snapshot's `sync`. On a terminal it redraws one line; into a file or a pipe it writes a line
 * per tenth done, so a log stays short.
 */

/** Characters between the brackets. */
export const BAR_WIDTH = 30;

/** The fraction of a sync done, 0..1: blocks validated past the fork over blocks the peer claims past it. */
export function syncFraction(progress: SyncProgress): number {
  const total = progress.targetHeight - progress.forkHeight;
  if (total <= 0) return 1;
  return Math.min(1, Math.max(0, (progress.validatedHeight - progress.forkHeight) / total));
}

/** One line: `sync [######------] 120/400 from peer 1a2b3c4d (30%)`. */
export function renderSyncBar(progress: SyncProgress, width: number = BAR_WIDTH): string {
  const fraction = syncFraction(progress);
  const filled = Math.round(fraction * width);
  const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
  return `sync [${bar}] ${progress.validatedHeight}/${progress.targetHeight} from peer ${progress.peer.slice(0, 8)} (${Math.floor(fraction * 100)}%)`;
}

/** Where the bar is drawn: stderr, or a test's stand-in. */
export interface BarOutput {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

/** Draws successive sync states; `update(null)` ends a bar (the sync finished or was dropped). */
export class SyncProgressBar {
  private drawn = false;
  private lastTenth = -1;
  private lastLine = '';

  constructor(private readonly out: BarOutput) {}

  update(progress: SyncProgress | null): void {
    if (progress === null) {
      if (this.drawn && this.out.isTTY) this.out.write('\n');
      this.drawn = false;
      this.lastTenth = -1;
      this.lastLine = '';
      return;
    }
    const line = renderSyncBar(progress);
    if (line === this.lastLine) return;
    this.lastLine = line;
    if (this.out.isTTY) {
      this.out.write(`\r${line}`);
      this.drawn = true;
      return;
    }
    const tenth = Math.floor(syncFraction(progress) * 10);
    if (tenth === this.lastTenth) return;
    this.lastTenth = tenth;
    this.out.write(`${line}\n`);
    this.drawn = true;
  }
}
