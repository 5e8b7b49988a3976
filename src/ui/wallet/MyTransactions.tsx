import { useState, useSyncExternalStore } from 'react';
import type { MyTransaction } from '../../node/node';
import { useChainRead } from '../chain-reads';
import { AccountLabel, BlockLink, TxLink, TypeBadge } from '../components/bits';
import { errorMessage } from '../decoders';
import { useNode, useSession, useSnapshot } from '../services';

/** States in which a transaction cannot land as things are: it may be sent again. */
const RESENDABLE = new Set<MyTransaction['state']>(['expired', 'evicted', 'dropped']);

/** What the row says about where the transaction is. */
function StateLabel({ entry }: { entry: MyTransaction }) {
  switch (entry.state) {
    case 'landed':
      return (
        <span className="status status-landed">
          in block <BlockLink height={entry.height ?? 0} />
        </span>
      );
    case 'pending':
      return <span className="status status-pending">pending in the pool</span>;
    case 'returned':
      return (
        <span className="status status-pending">
          back in the pool: a reorg removed the block that held it
        </span>
      );
    case 'expired':
      return <span className="status status-dropped">expired: it waited too long in the pool</span>;
    case 'evicted':
      return <span className="status status-dropped">evicted: the pool was full</span>;
    default:
      return <span className="status status-dropped">no longer pooled and not on this chain</span>;
  }
}

/** "Send again": the same signed transaction, unless its id is on the chain by now. */
function ResendButton({ entry }: { entry: MyTransaction }) {
  const node = useNode();
  const [state, setState] = useState<{ busy: boolean; error: string | null }>({ busy: false, error: null });
  const resend = async () => {
    setState({ busy: true, error: null });
    try {
      if (await node.readTransaction(entry.id)) return setState({ busy: false, error: null });
      const result = await node.submitTransaction(entry.transaction);
      setState({ busy: false, error: result.ok ? null : result.error.message });
    } catch (error) {
      setState({ busy: false, error: errorMessage(error) });
    }
  };
  return (
    <>
      <button type="button" data-testid="resend-tx" disabled={state.busy} onClick={() => void resend()}>
        Send again
      </button>
      {state.error ? (
        <span className="status status-dropped" role="alert" data-testid="resend-error">
          {state.error}
        </span>
      ) : null}
    </>
  );
}

/**
 * The transactions this node's user sent, kept by the node (they survive a reload), and where
 * each is: in a block, pending, back in the pool after a reorg, expired or evicted. One that
 * cannot land can be sent again.
 */
export function MyTransactions() {
  const session = useSession();
  // A send from this page, and any change of the pool (a departure, a re-send), asks again.
  const sent = useSyncExternalStore(
    (listener) => session.sent.subscribe(listener),
    () => session.sent.list(),
  );
  const { pool } = useSnapshot();
  const question = `mine:${sent.length}:${sent[0]?.id ?? ''}:${pool.length}:${pool.at(-1)?.transaction.id ?? ''}`;
  const read = useChainRead(question, (node) => node.readMyTransactions());
  const mine = read.status === 'ready' ? read.value : [];
  return (
    <section className="card" aria-labelledby="my-tx-heading">
      <h2 id="my-tx-heading">My transactions</h2>
      {read.status === 'ready' && mine.length === 0 ? (
        <p className="muted">Transactions you send from this node show up here.</p>
      ) : null}
      {read.status === 'failed' ? <p className="error">{read.message}</p> : null}
      <ul
        className="tx-list"
        aria-live="polite"
        aria-busy={read.status === 'loading' || (read.status === 'ready' && read.stale)}
        data-testid="my-transactions"
      >
        {mine.map((entry) => (
          <li key={entry.id} data-testid="my-tx" data-tx-id={entry.id} data-status={entry.state}>
            <TypeBadge type={entry.type} /> <strong>{entry.amount}</strong>
            {entry.type === 'TRANSFER' ? (
              <>
                {' '}
                to <AccountLabel pem={entry.receiverPublicKey} copy={false} />
              </>
            ) : null}{' '}
            <TxLink id={entry.id} /> <StateLabel entry={entry} />
            {RESENDABLE.has(entry.state) ? (
              <>
                {' '}
                <ResendButton entry={entry} />
              </>
            ) : null}
          </li>
        ))}
      </ul>
    </section>
  );
}
