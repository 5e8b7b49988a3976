import { useEffect, useState } from 'react';
import { TaskFeedback, type TaskState } from '../components/bits';
import { type DevnetKeyName, errorMessage } from '../decoders';
import { fingerprint } from '../format';
import { useNode, useServices, useSession, useSnapshot } from '../services';
import './DevnetKeyOffer.css';

/** Which of the devnet's published keys `pem` is, if any. */
export function devnetKeyNameOf(
  devnet: { genesisPublicKey: string; stakerPublicKey?: string; exchangePublicKey?: string },
  pem: string,
): DevnetKeyName | null {
  if (pem === devnet.genesisPublicKey) return 'genesis';
  if (pem === devnet.stakerPublicKey) return 'staker';
  if (pem === devnet.exchangePublicKey) return 'exchange';
  return null;
}

/**
 * Under the waiting banner: when the forger the chain waits for holds a public devnet key, one
 * click makes this tab hold it (and so forge), as the Wallet's "use a devnet key" does.
 */
export function DevnetKeyOffer() {
  const { devnet } = useServices();
  const session = useSession();
  const node = useNode();
  const { waitingFor, wallet } = useSnapshot();
  const [state, setState] = useState<TaskState>({ status: 'idle' });
  const waiting = !waitingFor.online || waitingFor.stalled;
  const name = devnetKeyNameOf(devnet, waitingFor.forger);
  // The outcome stays a few seconds after the wait ends (which taking the key does at once).
  useEffect(() => {
    if (state.status !== 'done') return;
    const timer = setTimeout(() => setState({ status: 'idle' }), 6_000);
    return () => clearTimeout(timer);
  }, [state.status]);
  if ((!waiting || name === null || wallet?.publicKeyPem === waitingFor.forger) && state.status !== 'done')
    return null;
  if (name === null) return null;
  const use = async () => {
    setState({ status: 'busy', message: `Fetching the devnet ${name} key…` });
    try {
      await node.setWallet(await session.devnetKey(name));
      setState({
        status: 'done',
        message: `This tab now holds the devnet ${name} key (${fingerprint(waitingFor.forger)}): it forges when its turn comes.`,
      });
    } catch (error) {
      setState({ status: 'error', message: `Could not use the devnet ${name} key: ${errorMessage(error)}` });
    }
  };
  return (
    <div className="devnet-key-offer" data-testid="devnet-key-offer" data-value={name}>
      {state.status === 'done' ? null : (
        <>
          <button
            type="button"
            data-testid="use-devnet-key"
            disabled={state.status === 'busy'}
            onClick={() => void use()}
          >
            Use this devnet key here
          </button>{' '}
          <span className="muted">
            It is the devnet's public {name} key: anyone may hold it.
            {wallet ? ` It replaces this tab's wallet key ${fingerprint(wallet.publicKeyPem)}.` : ''}
          </span>
        </>
      )}
      <TaskFeedback state={state} errorTestId="use-devnet-key-error" statusTestId="use-devnet-key-status" />
    </div>
  );
}
