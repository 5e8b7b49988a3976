import { type ReactNode, useState } from 'react';
import { RESILIENT_SLOTS, readBlockTurn } from '../../core/resilient';
import type { Block, Transaction } from '../../core/types';
import type { AccountTxRecord } from '../../ports/store';
import { useKnownAccounts } from '../accounts';
import {
  type ChainRead,
  FORGED_WINDOW,
  loadHistoryPage,
  useAccount,
  useBlock,
  useBlockLottery,
  useTransactionPlaces,
} from '../chain-reads';
import {
  AccountLabel,
  BlockHashLink,
  BlockLink,
  Cell,
  type Column,
  CopyButton,
  HashText,
  Table,
  TimeAgo,
  TxLink,
  TypeBadge,
} from '../components/bits';
import { Identicon } from '../components/Identicon';
import { fingerprint, percent, plural, timestampMs } from '../format';
import { hrefFor } from '../router';
import { useNode, useSnapshot } from '../services';
import { LotteryLine } from './LotteryLine';
import { rankingOf } from './turns';

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

/** A page whose chain read is on its way, or failed. */
export function ReadPending({ read, what }: { readonly read: ChainRead<unknown>; readonly what: string }) {
  return (
    <section className="card" aria-busy={read.status === 'loading'} data-testid="chain-read-pending">
      {read.status === 'failed' ? (
        <p className="field-error" role="alert">
          Could not read {what}: {read.message}
        </p>
      ) : (
        <p className="muted" role="status">
          Reading {what}…
        </p>
      )}
    </section>
  );
}

const TX_ID: Column = { label: 'Id' };
const TX_TYPE: Column = { label: 'Type' };
const TX_FROM: Column = { label: 'From' };
const TX_TO: Column = { label: 'To' };
const TX_AMOUNT: Column = { label: 'Amount', className: 'num' };
const TRANSACTION_COLUMNS: readonly Column[] = [TX_ID, TX_TYPE, TX_FROM, TX_TO, TX_AMOUNT];

/**
 * Transactions as a table: id, type, sender, receiver, amount. Five columns do not fit a phone:
 * below 36rem each transaction becomes a card of labelled lines (`table-stacked`), and ids and
 * fingerprints stay on one line each instead of breaking a letter per line.
 */
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
      <Table columns={TRANSACTION_COLUMNS} testId={testId} stacked>
        {transactions.map((tx) => (
          <tr key={tx.id} data-testid="transaction-row">
            <Cell column={TX_ID}>
              <TxLink id={tx.id} />
            </Cell>
            <Cell column={TX_TYPE}>
              <TypeBadge type={tx.type} />
            </Cell>
            <Cell column={TX_FROM}>
              <AccountLabel pem={tx.senderPublicKey} copy={false} />
            </Cell>
            <Cell column={TX_TO}>
              {tx.type === 'STAKE' ? (
                <span className="muted">(stake)</span>
              ) : (
                <AccountLabel pem={tx.receiverPublicKey} copy={false} />
              )}
            </Cell>
            <Cell column={TX_AMOUNT}>{tx.amount}</Cell>
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

/**
 * The lottery that chose block `height`'s forger: seeded with the previous block's hash, over
 * the stakes after it. Drawn after the first paint (it hashes once per staked coin), once per
 * chain state (see `lotteryAfter`).
 */
function Lottery({ height, forger }: { readonly height: number; readonly forger: string }) {
  const lottery = useBlockLottery(height);
  const view = lottery.status === 'ready' ? lottery.value : null;
  return (
    <section aria-labelledby="lottery-heading" className="subsection" data-testid="block-lottery">
      <h3 id="lottery-heading">The lottery</h3>
      <p className="muted">
        Seeded with the hash of block <BlockLink height={height - 1} />
        {view ? (
          <>
            {' '}
            (<BlockHashLink hash={view.seed} height={height - 1} />)
          </>
        ) : null}
        . Every staked coin is a lot; the lot whose hash is nearest the seed's hash wins.
      </p>
      {lottery.status === 'failed' ? (
        <p className="field-error" role="alert">
          Could not draw the lottery: {lottery.message}
        </p>
      ) : !view ? (
        <p className="muted" role="status">
          Drawing the lottery…
        </p>
      ) : view.result === null ? (
        <p>No staker held a lot.</p>
      ) : (
        <>
          <dl className="fields">
            <dt>Target</dt>
            <dd>
              <HashText hash={view.result.referenceHash} />
            </dd>
            <dt>Winning lot</dt>
            <dd data-testid="lottery-winner" data-value={view.result.forger}>
              lot {view.result.iteration} of <AccountLabel pem={view.result.forger} copy={false} />, hash{' '}
              <HashText hash={view.result.lotHash} />
            </dd>
            <dt>Check</dt>
            <dd>
              {view.result.forger === forger
                ? '✓ The block was forged by the winner.'
                : '✗ The winner is not this block’s forger.'}
            </dd>
          </dl>
          <LotteryLine stakers={view.stakers} seed={view.seed} result={view.result} />
          <Table columns={LOTTERY_COLUMNS} testId="lottery-stakers">
            {view.stakers.map(([staker, stake]) => (
              <tr key={staker} className={staker === view.result?.forger ? 'row-highlight' : undefined}>
                <td>
                  <AccountLabel pem={staker} copy={false} />
                  {staker === view.result?.forger ? <span className="badge">won</span> : null}
                </td>
                <td className="num">{stake}</td>
                <td className="num">{percent(stake, view.totalStake)}</td>
              </tr>
            ))}
          </Table>
        </>
      )}
    </section>
  );
}

/** Ranks a block page lists of the ranking it was drawn from. */
export const RANKS_SHOWN = 10;

const RANKING_COLUMNS: readonly Column[] = [
  { label: 'Rank', className: 'num' },
  { label: 'Staker' },
  { label: 'Stake', className: 'num' },
  { label: 'Share', className: 'num' },
];

/**
 * On a `resilient` network, the ranking that let block `height`'s forger forge: drawn from the
 * seed after the parent over the delayed stakes, read from the parent's state (by the node, off
 * the render path). Shows the block's rank and why its forger was allowed, and the first ranks.
 */
function Ranking({ height, block }: { readonly height: number; readonly block: Block }) {
  const read = useBlockLottery(height);
  const head = read.status === 'ready' ? read.value.resilient : null;
  const turn = head ? readBlockTurn(head, block) : null;
  const ranking = head ? rankingOf(head, RANKS_SHOWN) : null;
  return (
    <section aria-labelledby="ranking-heading" className="subsection" data-testid="block-ranking">
      <h3 id="ranking-heading">The ranking</h3>
      <p className="muted">
        Drawn from the seed after block <BlockLink height={height - 1} />
        {head ? (
          <>
            {' '}
            (<HashText hash={head.seed} />)
          </>
        ) : null}
        , the hash of its forger's signature over the seed before: no forger can vary it. Stakers are ranked
        by a stake-weighted draw; rank r may forge once the parent is r slots ({RESILIENT_SLOTS.slotSeconds} s
        each) old.
      </p>
      {read.status === 'failed' ? (
        <p className="field-error" role="alert">
          Could not read the ranking: {read.message}
        </p>
      ) : read.status === 'loading' || !head || !ranking ? (
        <p className="muted" role="status">
          Reading the ranking…
        </p>
      ) : (
        <>
          <dl className="fields">
            <dt>Turn</dt>
            <dd
              data-testid="block-turn"
              data-rank={turn?.rank ?? ''}
              data-slot={turn?.slot ?? ''}
              data-value={turn?.reason ?? ''}
            >
              {turn ? turn.reason : '✗ The forger is not ranked for this block.'}
            </dd>
          </dl>
          <Table columns={RANKING_COLUMNS} testId="ranking-stakers">
            {ranking.ranks.map(({ rank, publicKey, stake }) => (
              <tr
                key={publicKey}
                data-testid="ranking-row"
                data-rank={rank}
                className={publicKey === block.forger ? 'row-highlight' : undefined}
              >
                <td className="num">{rank}</td>
                <td>
                  <AccountLabel pem={publicKey} copy={false} />
                  {publicKey === block.forger ? <span className="badge">forged</span> : null}
                </td>
                <td className="num">{stake}</td>
                <td className="num">{percent(stake, ranking.totalStake)}</td>
              </tr>
            ))}
          </Table>
          {ranking.stakers > ranking.ranks.length ? (
            <p className="muted">
              and {plural(ranking.stakers - ranking.ranks.length, 'more ranked staker')}.
            </p>
          ) : null}
        </>
      )}
    </section>
  );
}

/** A block: its hash and links, forger, lottery and transactions. */
export function BlockPage({ height }: { readonly height: number }) {
  const read = useBlock(height);
  // The profile is the network's: a resilient chain's states carry their ranking.
  const isResilient = useSnapshot().state.resilient !== undefined;
  if (read.status !== 'ready') return <ReadPending read={read} what={`block ${height}`} />;
  // Everything below comes from this one read, at one head.
  const { value: found, at } = read;
  if (!found) {
    return <NotFound title={`No block ${height}`}>This node's chain is at height {at.height}.</NotFound>;
  }
  const { block, hash } = found;
  return (
    <section
      className="card"
      aria-labelledby="block-heading"
      aria-busy={read.stale}
      data-testid="block-page"
      data-head={at.height}
    >
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
        {height < at.height ? (
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
        <dd>
          <TimeAgo ms={timestampMs(block.timestamp)} />
        </dd>
        <dt>Transactions</dt>
        <dd>{block.transactions.length}</dd>
      </dl>
      {block.signature ? (
        <details>
          <summary>Forger's signature</summary>
          <code className="hash wrap">{block.signature}</code>
        </details>
      ) : null}
      {block.seedSignature ? (
        <details>
          <summary>Seed signature (the forger's signature over the previous seed)</summary>
          <code className="hash wrap">{block.seedSignature}</code>
        </details>
      ) : null}
      {height === 0 ? null : isResilient ? (
        <Ranking height={height} block={block} />
      ) : (
        <Lottery height={height} forger={block.forger} />
      )}
      <section aria-labelledby="block-txs-heading" className="subsection">
        <h3 id="block-txs-heading">Transactions</h3>
        <TransactionsTable transactions={block.transactions} testId="block-transactions" />
      </section>
    </section>
  );
}

/** A transaction: on chain (with its block) or pending in the pool. */
export function TxPage({ id }: { readonly id: string }) {
  const read = useTransactionPlaces([id]);
  if (read.status !== 'ready') return <ReadPending read={read} what={`transaction ${id}`} />;
  const place = read.value.get(id) ?? { status: 'unknown' };
  if (place.status === 'unknown') {
    return (
      <NotFound title="Unknown transaction">
        No transaction <code>{id}</code> on this chain or in this node's pool.
      </NotFound>
    );
  }
  const tx = place.transaction;
  return (
    <section className="card" aria-labelledby="tx-heading" aria-busy={read.stale} data-testid="tx-page">
      <h2 id="tx-heading">Transaction</h2>
      <dl className="fields">
        <dt>Id</dt>
        <dd>
          <code data-testid="tx-id">{tx.id}</code>
        </dd>
        <dt>Status</dt>
        <dd data-testid="tx-status" aria-live="polite">
          {place.status === 'landed' ? (
            <>
              in block <BlockLink height={place.height} />
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
        <dd>
          <TimeAgo ms={timestampMs(tx.timestamp)} />
        </dd>
      </dl>
      <details>
        <summary>Signature</summary>
        <code className="hash wrap">{tx.signature}</code>
      </details>
    </section>
  );
}

/** An account: balance, stake, and its history, newest first. */
export function AccountPage({ fingerprint: wanted }: { readonly fingerprint: string }) {
  const accounts = useKnownAccounts();
  const matches = accounts.filter((account) => fingerprint(account.publicKeyPem, 64).startsWith(wanted));
  const pem = matches.length === 1 ? (matches[0]?.publicKeyPem ?? null) : null;
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
  return <Account pem={pem} />;
}

/** One line of an account's history. */
function HistoryLine({ line }: { readonly line: AccountTxRecord }) {
  return (
    <li>
      <BlockLink height={line.height} /> <TypeBadge type={line.type} />{' '}
      {line.type === 'STAKE'
        ? `staked ${line.amount}`
        : line.direction === 'out'
          ? `sent ${line.amount} to `
          : `received ${line.amount} from `}
      {line.type === 'STAKE' ? null : <AccountLabel pem={line.counterparty} copy={false} />}{' '}
      <TxLink id={line.id} />
    </li>
  );
}

/** A known account's page, from one read at one head; older history a page at a time. */
function Account({ pem }: { readonly pem: string }) {
  const node = useNode();
  const read = useAccount(pem);
  // Older pages, for the head they were read after (a new head starts over from the newest page).
  const [older, setOlder] = useState<{
    readonly head: string;
    readonly lines: readonly AccountTxRecord[];
    readonly more: boolean;
  } | null>(null);
  const [loading, setLoading] = useState(false);
  if (read.status !== 'ready') return <ReadPending read={read} what={`account ${fingerprint(pem)}`} />;
  const { balance, stake, seen, forged } = read.value;
  const extra = older?.head === read.at.headHash ? older : null;
  const history = [...read.value.history, ...(extra?.lines ?? [])];
  const more = extra ? extra.more : read.value.truncated;
  const showOlder = async () => {
    const last = history[history.length - 1];
    if (!last) return;
    setLoading(true);
    try {
      const page = await loadHistoryPage(node, pem, { height: last.height, txIndex: last.txIndex });
      setOlder({ head: read.at.headHash, lines: [...(extra?.lines ?? []), ...page.lines], more: page.more });
    } finally {
      setLoading(false);
    }
  };
  return (
    <section
      className="card"
      aria-labelledby="account-heading"
      aria-busy={read.stale}
      data-testid="account-page"
      data-value={pem}
      data-head={read.at.height}
    >
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
        <dt>Forged (last {FORGED_WINDOW} blocks)</dt>
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
            {history.map((line) => (
              <HistoryLine key={`${line.height}:${line.txIndex}`} line={line} />
            ))}
          </ul>
        )}
        {more ? (
          <button
            type="button"
            data-testid="history-older"
            disabled={loading}
            onClick={() => void showOlder()}
          >
            Show older transactions
          </button>
        ) : null}
      </section>
    </section>
  );
}
