import { useSyncExternalStore } from 'react';
import { type TransactionPlace, useTransactionPlaces } from '../chain-reads';
import { AccountLabel, BlockLink, TxLink, TypeBadge } from '../components/bits';
import { useSession } from '../services';

/** Where a sent transaction is now; `checking` until the first read of the chain answers. */
export type SentStatus =
  | { readonly status: 'checking' }
  | { readonly status: 'pending' }
  | { readonly status: 'landed'; readonly height: number }
  | { readonly status: 'dropped' };

function sentStatus(place: TransactionPlace | undefined): SentStatus {
  if (place === undefined) return { status: 'checking' };
  if (place.status === 'landed') return { status: 'landed', height: place.height };
  return place.status === 'pending' ? { status: 'pending' } : { status: 'dropped' };
}

/** The transactions this page sent and where each is: pending in the pool, or in a block. */
export function MyTransactions() {
  const session = useSession();
  const sent = useSyncExternalStore(
    (listener) => session.sent.subscribe(listener),
    () => session.sent.list(),
  );
  const places = useTransactionPlaces(sent.map((entry) => entry.id));
  // One read answers for every row: all of them are shown at the same chain point.
  const placeOf = (id: string) => (places.status === 'ready' ? places.value.get(id) : undefined);
  return (
    <section className="card" aria-labelledby="my-tx-heading">
      <h2 id="my-tx-heading">My transactions</h2>
      {sent.length === 0 ? <p className="muted">Transactions you send from this page show up here.</p> : null}
      <ul
        className="tx-list"
        aria-live="polite"
        aria-busy={places.status === 'loading' || (places.status === 'ready' && places.stale)}
        data-testid="my-transactions"
      >
        {sent.map((entry) => {
          const where = sentStatus(placeOf(entry.id));
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
              {where.status === 'checking' ? (
                <span className="status muted">checking…</span>
              ) : where.status === 'pending' ? (
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
