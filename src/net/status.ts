import type { TransportHandlers, TransportStatus } from '../ports/transport';

/**
 * Keeps a transport's `onStatus` promise (see `TransportHandlers.onStatus`): a status is passed
 * on only when it differs from the last one reported, so consumers see each change once.
 */
export class StatusReporter {
  private last: TransportStatus | null = null;

  /** Tells `handlers` about `status` unless it is the status they were last told. */
  report(handlers: TransportHandlers | null | undefined, status: TransportStatus): void {
    const last = this.last;
    if (last !== null && last.kind === status.kind && last.signaling === status.signaling) return;
    this.last = status;
    handlers?.onStatus?.(status);
  }
}
