import { type HashedBlock, loadLatestBlocks, useChainRead } from '../chain-reads';
import { AccountLabel, BlockLink, type Column, HashText, Table, TxLink, TypeBadge } from '../components/bits';
import { fingerprint, formatTimestamp, percent } from '../format';
import { stakersAtHead } from '../selectors';
import { useSnapshot } from '../services';

/** The number of newest blocks the explorer lists. */
export const LATEST_BLOCKS = 10;

const STAKE_COLUMNS: readonly Column[] = [
  { label: 'Staker' },
  { label: 'Lots', className: 'num' },
  { label: 'Share', className: 'num' },
];

const BLOCK_COLUMNS: readonly Column[] = [
  { label: 'Block' },
  { label: 'Hash', className: 'hide-narrow' },
  { label: 'Forger' },
  { label: 'Txs', className: 'num' },
  { label: 'Time', className: 'hide-narrow' },
];

/** Who forges next, and when the chain is waiting on a forger that is not online. */
export function WaitingBanner() {
  const { waitingFor, pool } = useSnapshot();
  if (waitingFor.online && !waitingFor.stalled) return null;
  const fp = fingerprint(waitingFor.forger);
  return (
    <div
      className="banner banner-waiting"
      role="status"
      data-testid="waiting-for-forger"
      data-value={waitingFor.forger}
    >
      <strong>
        Waiting for forger <AccountLabel pem={waitingFor.forger} copy={false} />
      </strong>
      <span>
        {waitingFor.stalled
          ? ` ${pool.length} pending ${pool.length === 1 ? 'transaction has' : 'transactions have'} waited too long for a block: the forger's tab may be closed or cut off.`
          : pool.length > 0
            ? ` No tab holding key ${fp} is connected, so ${pool.length} pending ${pool.length === 1 ? 'transaction waits' : 'transactions wait'} until one is.`
            : ` No tab holding key ${fp} is connected: new transactions will wait until one is.`}{' '}
        Whoever holds that key can open it in the Wallet (the devnet's keys are public).
      </span>
    </div>
  );
}

/** The stakers in lottery order, their shares, and a bar chart of them. */
export function Stakers() {
  const snapshot = useSnapshot();
  const { nextForger } = snapshot;
  const { stakers, total, largest } = stakersAtHead(snapshot);
  const rowHeight = 22;
  return (
    <section className="card" aria-labelledby="stakers-heading" data-testid="stakers">
      <h2 id="stakers-heading">Stakers</h2>
      <p className="muted">
        Each staked coin is one lot in the lottery for the next block; {total} lots in all.
      </p>
      <svg
        className="chart"
        data-testid="stakers-chart"
        role="img"
        aria-label={`Stake shares: ${stakers.map(([key, stake]) => `${fingerprint(key)} ${percent(stake, total)}`).join(', ')}`}
        viewBox={`0 0 100 ${Math.max(1, stakers.length) * rowHeight}`}
        preserveAspectRatio="none"
        height={Math.max(1, stakers.length) * rowHeight}
        width="100%"
      >
        {stakers.map(([key, stake], index) => (
          <rect
            key={key}
            x={0}
            y={index * rowHeight + 3}
            width={Math.max(0.5, (stake / largest) * 100)}
            height={rowHeight - 6}
            className={key === nextForger ? 'bar bar-next' : 'bar'}
          />
        ))}
      </svg>
      <Table columns={STAKE_COLUMNS}>
        {stakers.map(([key, stake]) => (
          <tr key={key} data-testid="staker-row">
            <td>
              <AccountLabel pem={key} copy={false} />
              {key === nextForger ? <span className="badge">next forger</span> : null}
            </td>
            <td className="num">{stake}</td>
            <td className="num">{percent(stake, total)}</td>
          </tr>
        ))}
      </Table>
    </section>
  );
}

/** The newest blocks, updating as the chain grows. */
export function LatestBlocks() {
  const read = useChainRead('latest-blocks', (node, snapshot) =>
    loadLatestBlocks(node, snapshot, LATEST_BLOCKS),
  );
  return (
    <section
      className="card"
      aria-labelledby="latest-heading"
      aria-busy={read.status === 'loading' || (read.status === 'ready' && read.stale)}
    >
      <h2 id="latest-heading">Latest blocks</h2>
      {read.status === 'failed' ? (
        <p className="field-error" role="alert">
          Could not read the blocks: {read.message}
        </p>
      ) : read.status === 'loading' ? (
        <p className="muted" role="status">
          Reading the blocks…
        </p>
      ) : (
        <LatestBlocksTable blocks={read.value} head={read.at.height} />
      )}
    </section>
  );
}

/** The newest blocks as one read returned them, with the head they were read at. */
function LatestBlocksTable({
  blocks,
  head,
}: {
  readonly blocks: readonly HashedBlock[];
  readonly head: number;
}) {
  return (
    <div data-testid="latest-blocks-at" data-head={head}>
      <Table columns={BLOCK_COLUMNS} testId="latest-blocks">
        {blocks.map(({ block, hash }) => (
          <tr key={block.blockCount} data-testid="block-row" data-height={block.blockCount}>
            <td>
              <BlockLink height={block.blockCount} />
            </td>
            <td className="hide-narrow">
              <HashText hash={hash} />
            </td>
            <td>
              {block.blockCount === 0 ? (
                <span className="muted">genesis</span>
              ) : (
                <AccountLabel pem={block.forger} copy={false} />
              )}
            </td>
            <td className="num">{block.transactions.length}</td>
            <td className="hide-narrow">{formatTimestamp(block.timestamp)}</td>
          </tr>
        ))}
      </Table>
    </div>
  );
}

/** Transactions in the pool, waiting for a block. */
export function PoolList() {
  const { pool } = useSnapshot();
  return (
    <section className="card" aria-labelledby="pool-heading">
      <h2 id="pool-heading">Pending transactions</h2>
      {pool.length === 0 ? (
        <p className="muted">The pool is empty.</p>
      ) : (
        <ul className="tx-list" data-testid="pool-list">
          {pool.map(({ transaction }) => (
            <li key={transaction.id}>
              <TypeBadge type={transaction.type} /> <strong>{transaction.amount}</strong>{' '}
              <TxLink id={transaction.id} /> <AccountLabel pem={transaction.senderPublicKey} copy={false} /> →{' '}
              <AccountLabel pem={transaction.receiverPublicKey} copy={false} />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** The explorer's front page. */
export function ExplorerPage() {
  return (
    <div className="page-grid">
      <LatestBlocks />
      <Stakers />
      <PoolList />
    </div>
  );
}
