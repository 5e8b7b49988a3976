import { useCallback, useState, useSyncExternalStore } from 'react';
import type { ForgingStatus as Status } from '../../ports/locks';
import { ErrorAlert, NodeLink } from '../components/bits';
import { errorMessage } from '../decoders';
import { useServices, useSnapshot } from '../services';

const TEXT: Record<Status, string> = {
  'this-tab': 'This tab forges with this key.',
  'other-tab': 'This key forges in another tab of this browser: this tab does not forge with it.',
  'other-node': 'An always-on node forges with this key: this tab does not forge with it.',
  off: 'No key: this tab does not forge.',
};

const noControl = () => () => {};

/**
 * Whether this tab forges with its key. One tab per key forges in a browser (its forging lock);
 * the others say so and offer to take over. A tab also yields to a connected always-on node that
 * forges with the same key (`other-node`), and can take over from it too.
 */
export function ForgingStatus() {
  const { forging } = useServices();
  const snapshot = useSnapshot();
  const subscribe = useCallback(
    (listener: () => void) => (forging ? forging.subscribe(listener) : noControl()),
    [forging],
  );
  const claimed = useSyncExternalStore(
    subscribe,
    () => forging?.status() ?? null,
    () => forging?.status() ?? null,
  );
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // Without a forging claim (tests, the simulator) the node's own flags are the whole story.
  const status: Status = !snapshot.wallet
    ? 'off'
    : (claimed ??
      (!snapshot.forgingAllowed ? 'other-tab' : snapshot.forgingElsewhere ? 'other-node' : 'this-tab'));
  const takeOver = async () => {
    if (!forging) return;
    setBusy(true);
    setError(null);
    try {
      await forging.takeOver();
    } catch (cause) {
      setError(`Could not take over: ${errorMessage(cause)}.`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="forging-status">
      <p data-testid="forging-status" data-value={status}>
        {TEXT[status]}
      </p>
      {status === 'other-node' && snapshot.forgingElsewhere ? (
        <p className="hint">
          That node: <NodeLink id={snapshot.forgingElsewhere} testId="forging-elsewhere" />
        </p>
      ) : null}
      {(status === 'other-tab' || status === 'other-node') && forging ? (
        <button type="button" data-testid="forging-take-over" disabled={busy} onClick={() => void takeOver()}>
          {busy ? 'Taking over…' : status === 'other-node' ? 'Take over' : 'Forge in this tab instead'}
        </button>
      ) : null}
      <ErrorAlert error={error} />
    </div>
  );
}
