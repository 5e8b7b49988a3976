import { useSyncExternalStore } from 'react';
import { AccountLabel, BlockLink, TxLink, TypeBadge } from '../components/bits';
import { useNode, useSession, useSnapshot } from '../services';
import type { SentTransaction } from '../session';

/** Where a sent transaction is now. */
export type SentStatus =
  | { readonly status: 'pending' }
  | { readonly status: 'landed'; readonly height: number }
  | { readonly status: 'dropped' };

/** The transactions this page sent and where each is: pending in the pool, or in a block. */
export function MyTransactions() {
  const session = useSession();
  const node = useNode();
  const snapshot = useSnapshot();
  const sent = useSyncExternalStore(
    (listener) => session.sent.subscribe(listener),
    () => session.sent.list(),
  );
  const pooled = new Set(snapshot.pool.map((entry) => entry.transaction.id));
  const statusOf = (entry: SentTransaction): SentStatus => {
    if (pooled.has(entry.id)) return { status: 'pending' };
    const found = node.findTransaction(entry.id);
    return found ? { status: 'landed', height: found.height } : { status: 'dropped' };
  };
  return (
    <section className="card" aria-labelledby="my-tx-heading">
      <h2 id="my-tx-heading">My transactions</h2>
      {sent.length === 0 ? <p className="muted">Transactions you send from this page show up here.</p> : null}
      <ul className="tx-list" aria-live="polite" data-testid="my-transactions">
        {sent.map((entry) => {
          const where = statusOf(entry);
          return (
            <li key={entry.id} data-testid="my-tx" data-tx-id={entry.id} data-status={where.status}>
              <TypeBadge type={entry.type} /> <strong>{entry.amount}</strong>
              {entry.type === 'TRANSFER' ? (
                <>
                  {' '}
                  to <AccountLabel pem={entry.receiverPublicKey} copy={false} />
                </>
              ) : null}{' '}
              <TxLink id={entry.id} />{' '}
              {where.status === 'pending' ? (
                <span className="status status-pending">pending in the pool</span>
              ) : where.status === 'landed' ? (
                <span className="status status-landed">
                  in block <BlockLink height={where.height} />
                </span>
              ) : (
                <span className="status status-dropped">
                  no longer pooled and not on this chain (expired or reorged)
                </span>
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
