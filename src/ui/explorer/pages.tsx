import { type ReactNode, useEffect, useMemo, useState } from 'react';
import type { LotteryResult, StakeEntry } from '../../core/lottery';
import type { Transaction } from '../../core/types';
import { useKnownAccounts } from '../accounts';
import {
  AccountLabel,
  BlockLink,
  type Column,
  CopyButton,
  HashText,
  Table,
  TxLink,
  TypeBadge,
} from '../components/bits';
import { Identicon } from '../components/Identicon';
import { fingerprint, formatTimestamp, percent, plural } from '../format';
import { hrefFor } from '../router';
import { useNode, useSnapshot } from '../services';

/** The most history rows an account page lists. */
export const HISTORY_LIMIT = 200;

/** A page for something the chain does not hold. */
export function NotFound({ title, children }: { readonly title: string; readonly children: ReactNode }) {
  return (
    <section className="card" aria-labelledby="not-found-heading" data-testid="not-found">
      <h2 id="not-found-heading">{title}</h2>
      <p>{children}</p>
      <p>
        <a href={hrefFor({ page: 'explorer' })}>Back to the explorer</a>
      </p>
    </section>
  );
}

const TRANSACTION_COLUMNS: readonly Column[] = [
  { label: 'Id' },
  { label: 'Type' },
  { label: 'From' },
  { label: 'To' },
  { label: 'Amount', className: 'num' },
];

/** Transactions as a table: id, type, sender, receiver, amount. */
export function TransactionsTable({
  transactions,
  testId,
}: {
  readonly transactions: readonly Transaction[];
  readonly testId?: string;
}) {
  if (transactions.length === 0) return <p className="muted">No transactions.</p>;
  return (
    <div className="table-scroll">
      <Table columns={TRANSACTION_COLUMNS} testId={testId}>
        {transactions.map((tx) => (
          <tr key={tx.id}>
            <td>
              <TxLink id={tx.id} />
            </td>
            <td>
              <TypeBadge type={tx.type} />
            </td>
            <td>
              <AccountLabel pem={tx.senderPublicKey} copy={false} />
            </td>
            <td>
              {tx.type === 'STAKE' ? (
                <span className="muted">(stake)</span>
              ) : (
                <AccountLabel pem={tx.receiverPublicKey} copy={false} />
              )}
            </td>
            <td className="num">{tx.amount}</td>
          </tr>
        ))}
      </Table>
    </div>
  );
}

const LOTTERY_COLUMNS: readonly Column[] = [
  { label: 'Staker' },
  { label: 'Lots', className: 'num' },
  { label: 'Chance', className: 'num' },
];

interface LotteryView {
  readonly key: string;
  readonly result: LotteryResult | null;
  readonly stakers: readonly StakeEntry[];
}

/**
 * The lottery that chose block `height`'s forger: seeded with the previous block's hash, over
 * the stakes after it. Computed after the first paint (it hashes once per staked coin).
 */
function Lottery({
  height,
  hash,
  forger,
}: {
  readonly height: number;
  readonly hash: string;
  readonly forger: string;
}) {
  const node = useNode();
  const [view, setView] = useState<LotteryView | null>(null);
  const key = `${height}:${hash}`;
  useEffect(() => {
    const timer = setTimeout(() => {
      setView({
        key,
        result: node.lotteryAt(height - 1),
        stakers: [...node.stateAt(height - 1).stakes.entries()],
      });
    }, 0);
    return () => clearTimeout(timer);
  }, [node, height, key]);
  const seed = node.hashAt(height - 1) ?? '';
  const current = view?.key === key ? view : null;
  const total = current?.stakers.reduce((sum, [, stake]) => sum + stake, 0) ?? 0;
  return (
    <section aria-labelledby="lottery-heading" className="subsection" data-testid="block-lottery">
      <h3 id="lottery-heading">The lottery</h3>
      <p className="muted">
        Seeded with the hash of block <BlockLink height={height - 1} /> (<HashText hash={seed} />
        ). Every staked coin is a lot; the lot whose hash is nearest the seed's hash wins.
      </p>
      {!current ? (
        <p className="muted" role="status">
          Drawing the lottery…
        </p>
      ) : current.result === null ? (
        <p>No staker held a lot.</p>
      ) : (
        <>
          <dl className="fields">
            <dt>Target</dt>
            <dd>
              <HashText hash={current.result.referenceHash} />
            </dd>
            <dt>Winning lot</dt>
            <dd data-testid="lottery-winner" data-value={current.result.forger}>
              lot {current.result.iteration} of <AccountLabel pem={current.result.forger} copy={false} />,
              hash <HashText hash={current.result.lotHash} />
            </dd>
            <dt>Check</dt>
            <dd>
              {current.result.forger === forger
                ? '✓ The block was forged by the winner.'
                : '✗ The winner is not this block’s forger.'}
            </dd>
          </dl>
          <Table columns={LOTTERY_COLUMNS} testId="lottery-stakers">
            {current.stakers.map(([staker, stake]) => (
              <tr key={staker} className={staker === current.result?.forger ? 'row-highlight' : undefined}>
                <td>
                  <AccountLabel pem={staker} copy={false} />
                  {staker === current.result?.forger ? <span className="badge">won</span> : null}
                </td>
                <td className="num">{stake}</td>
                <td className="num">{percent(stake, total)}</td>
              </tr>
            ))}
          </Table>
        </>
      )}
    </section>
  );
}

/** A block: its hash and links, forger, lottery and transactions. */
export function BlockPage({ height }: { readonly height: number }) {
  const node = useNode();
  const snapshot = useSnapshot();
  const block = node.blockAt(height);
  const hash = node.hashAt(height);
  if (!block || hash === undefined) {
    return (
      <NotFound title={`No block ${height}`}>This node's chain is at height {snapshot.height}.</NotFound>
    );
  }
  return (
    <section className="card" aria-labelledby="block-heading" data-testid="block-page">
      <h2 id="block-heading">
        Block <span data-testid="block-height">{height}</span>
      </h2>
      <nav className="pager" aria-label="Neighbouring blocks">
        {height > 0 ? (
          <a href={hrefFor({ page: 'block', height: height - 1 })} rel="prev">
            ← Block {height - 1}
          </a>
        ) : (
          <span />
        )}
        {height < snapshot.height ? (
          <a href={hrefFor({ page: 'block', height: height + 1 })} rel="next">
            Block {height + 1} →
          </a>
        ) : (
          <span className="muted">the head</span>
        )}
      </nav>
      <dl className="fields">
        <dt>Hash</dt>
        <dd>
          <HashText hash={hash} testId="block-hash" full />
        </dd>
        <dt>Previous</dt>
        <dd>
          {height === 0 ? (
            <code>{block.lastHash}</code>
          ) : (
            <a href={hrefFor({ page: 'block', height: height - 1 })}>
              <HashText hash={block.lastHash} />
            </a>
          )}
        </dd>
        <dt>Forger</dt>
        <dd>
          {height === 0 ? <code>genesis</code> : <AccountLabel pem={block.forger} testId="block-forger" />}
        </dd>
        <dt>Time</dt>
        <dd>{formatTimestamp(block.timestamp)}</dd>
        <dt>Transactions</dt>
        <dd>{block.transactions.length}</dd>
      </dl>
      {block.signature ? (
        <details>
          <summary>Forger's signature</summary>
          <code className="hash wrap">{block.signature}</code>
        </details>
      ) : null}
      {height > 0 ? <Lottery height={height} hash={hash} forger={block.forger} /> : null}
      <section aria-labelledby="block-txs-heading" className="subsection">
        <h3 id="block-txs-heading">Transactions</h3>
        <TransactionsTable transactions={block.transactions} testId="block-transactions" />
      </section>
    </section>
  );
}

/** A transaction: on chain (with its block) or pending in the pool. */
export function TxPage({ id }: { readonly id: string }) {
  const node = useNode();
  const snapshot = useSnapshot();
  const onChain = node.findTransaction(id);
  const pooled = snapshot.pool.find((entry) => entry.transaction.id === id);
  const tx = onChain?.transaction ?? pooled?.transaction;
  if (!tx) {
    return (
      <NotFound title="Unknown transaction">
        No transaction <code>{id}</code> on this chain or in this node's pool.
      </NotFound>
    );
  }
  return (
    <section className="card" aria-labelledby="tx-heading" data-testid="tx-page">
      <h2 id="tx-heading">Transaction</h2>
      <dl className="fields">
        <dt>Id</dt>
        <dd>
          <code data-testid="tx-id">{tx.id}</code>
        </dd>
        <dt>Status</dt>
        <dd data-testid="tx-status" aria-live="polite">
          {onChain ? (
            <>
              in block <BlockLink height={onChain.height} />
            </>
          ) : (
            'pending in the pool'
          )}
        </dd>
        <dt>Type</dt>
        <dd>
          <TypeBadge type={tx.type} />
        </dd>
        <dt>Amount</dt>
        <dd data-testid="tx-amount">{tx.amount}</dd>
        <dt>From</dt>
        <dd>
          <AccountLabel pem={tx.senderPublicKey} />
        </dd>
        <dt>To</dt>
        <dd>
          <AccountLabel pem={tx.receiverPublicKey} />
        </dd>
        <dt>Time</dt>
        <dd>{formatTimestamp(tx.timestamp)}</dd>
      </dl>
      <details>
        <summary>Signature</summary>
        <code className="hash wrap">{tx.signature}</code>
      </details>
    </section>
  );
}

interface HistoryRow {
  readonly height: number;
  readonly tx: Transaction;
}

/** An account: balance, stake, and its history, scanned from the blocks newest first. */
export function AccountPage({ fingerprint: wanted }: { readonly fingerprint: string }) {
  const node = useNode();
  const snapshot = useSnapshot();
  const accounts = useKnownAccounts();
  const matches = accounts.filter((account) => fingerprint(account.publicKeyPem, 64).startsWith(wanted));
  const pem = matches.length === 1 ? (matches[0]?.publicKeyPem ?? null) : null;
  // biome-ignore lint/correctness/useExhaustiveDependencies: the head hash changes whenever the blocks do (also on a reorg)
  const { history, forged, truncated } = useMemo(() => {
    const rows: HistoryRow[] = [];
    let blocksForged = 0;
    let more = false;
    if (pem === null) return { history: rows, forged: 0, truncated: false };
    for (const block of node.blocks(1, snapshot.height).reverse()) {
      if (block.forger === pem) blocksForged++;
      for (const tx of block.transactions) {
        if (tx.senderPublicKey !== pem && tx.receiverPublicKey !== pem) continue;
        if (rows.length < HISTORY_LIMIT) rows.push({ height: block.blockCount, tx });
        else more = true;
      }
    }
    return { history: rows, forged: blocksForged, truncated: more };
  }, [node, pem, snapshot.height, snapshot.headHash]);

  if (matches.length > 1) {
    return (
      <NotFound title="Several accounts match">
        {matches.length} known accounts start with <code>{wanted}</code>:{' '}
        {matches.map((account) => (
          <AccountLabel key={account.publicKeyPem} pem={account.publicKeyPem} copy={false} />
        ))}
      </NotFound>
    );
  }
  if (pem === null) {
    return (
      <NotFound title="Unknown account">
        No account with fingerprint <code>{wanted}</code> is known to this node. Paste its public key in the
        search box to look it up.
      </NotFound>
    );
  }
  const balance = snapshot.state.balances.get(pem, 0);
  const stake = snapshot.state.stakes.get(pem, 0);
  const seen = snapshot.state.balances.has(pem) || snapshot.state.stakes.has(pem);
  return (
    <section className="card" aria-labelledby="account-heading" data-testid="account-page" data-value={pem}>
      <h2 id="account-heading" className="account-title">
        <Identicon pem={pem} size={32} /> Account{' '}
        <code data-testid="account-fingerprint">{fingerprint(pem)}</code>
      </h2>
      {!seen ? <p className="muted">The chain has not seen this account yet.</p> : null}
      <dl className="fields">
        <dt>Balance</dt>
        <dd data-testid="account-balance">{balance}</dd>
        <dt>Stake</dt>
        <dd data-testid="account-stake">{stake}</dd>
        <dt>Forged</dt>
        <dd>{plural(forged, 'block')}</dd>
      </dl>
      <details>
        <summary>Public key (PEM)</summary>
        <pre className="pem">{pem}</pre>
        <CopyButton text={pem} label="Copy the public key" />
      </details>
      <section aria-labelledby="history-heading" className="subsection">
        <h3 id="history-heading">History</h3>
        {history.length === 0 ? (
          <p className="muted">No transactions on this chain.</p>
        ) : (
          <ul className="tx-list" data-testid="account-history">
            {history.map(({ height, tx }) => (
              <li key={tx.id}>
                <BlockLink height={height} /> <TypeBadge type={tx.type} />{' '}
                {tx.type === 'STAKE'
                  ? `staked ${tx.amount}`
                  : tx.senderPublicKey === pem
                    ? `sent ${tx.amount} to `
                    : `received ${tx.amount} from `}
                {tx.type === 'STAKE' ? null : (
                  <AccountLabel
                    pem={tx.senderPublicKey === pem ? tx.receiverPublicKey : tx.senderPublicKey}
                    copy={false}
                  />
                )}{' '}
                <TxLink id={tx.id} />
              </li>
            ))}
          </ul>
        )}
        {truncated ? <p className="muted">Showing the newest {HISTORY_LIMIT} transactions.</p> : null}
      </section>
    </section>
  );
}
