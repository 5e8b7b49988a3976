import { useEffect, useState } from 'react';
import { type BlockTurnReading, type ResilientHead, STAKE_DELAY_BLOCKS } from '../../core/resilient';
import { useAccountNames } from '../accounts';
import { type HashedBlock, loadBlockTurns, loadLatestBlocks, useChainRead } from '../chain-reads';
import { LazyChainCharts } from '../charts/lazy';
import { accountColour, useElementWidth } from '../charts/size';
import {
  AccountLabel,
  BlockHashLink,
  BlockLink,
  type Column,
  Table,
  TimeAgo,
  TxLink,
  TypeBadge,
} from '../components/bits';
import { identiconCells } from '../components/Identicon';
import { fingerprint, percent, timestampMs } from '../format';
import { stakersAtHead } from '../selectors';
import { useServices, useSnapshot } from '../services';
import { nextTurns } from './turns';
import './explorer.css';

/** The number of newest blocks the explorer lists. */
export const LATEST_BLOCKS = 10;

const STAKE_COLUMNS: readonly Column[] = [
  { label: 'Staker' },
  { label: 'Lots', className: 'num' },
  { label: 'Share', className: 'num' },
];

/** On `resilient` a stake is a weight in the draw, not a number of lots. */
const RESILIENT_STAKE_COLUMNS: readonly Column[] = [
  { label: 'Staker' },
  { label: 'Stake', className: 'num' },
  { label: 'Share', className: 'num' },
];

const BLOCK_COLUMNS: readonly Column[] = [
  { label: 'Block' },
  { label: 'Hash', className: 'hide-narrow' },
  { label: 'Forger' },
  { label: 'Txs', className: 'num' },
  { label: 'Time', className: 'hide-narrow' },
];

/** On a `resilient` network, the latest blocks also show each block's rank. */
const RESILIENT_BLOCK_COLUMNS: readonly Column[] = [
  ...BLOCK_COLUMNS.slice(0, 3),
  { label: 'Rank', className: 'num' },
  ...BLOCK_COLUMNS.slice(3),
];

/** The page clock in milliseconds, read again every second while `ticking` (for a countdown). */
function useTickingNow(ticking: boolean): number {
  const { now } = useServices();
  const [time, setTime] = useState(() => now());
  useEffect(() => {
    if (!ticking) return;
    setTime(now());
    const timer = setInterval(() => setTime(now()), 1_000);
    return () => clearInterval(timer);
  }, [ticking, now]);
  return ticking ? time : 0;
}

/** Whole seconds from `nowMs` until the whole second `atSeconds` (0 once it has come). */
function secondsUntil(atSeconds: number, nowMs: number): number {
  return Math.max(0, Math.ceil((atSeconds * 1000 - nowMs) / 1000));
}

/** "in 4 s", or "now" once the time has come. */
function inSeconds(atSeconds: number, nowMs: number): string {
  const left = secondsUntil(atSeconds, nowMs);
  return left === 0 ? 'now' : `in ${left} s`;
}

/**
 * On a `resilient` network, what happens if rank 0 stays silent: the backup ranks' turns, counted
 * down on the page clock ("rank 0 … is due; rank 1 … may forge in 4 s").
 */
function NextTurnCountdown({ head, nowMs }: { readonly head: ResilientHead; readonly nowMs: number }) {
  const turns = nextTurns(head, Math.floor(nowMs / 1000));
  const next = turns.next;
  const now = turns.onDutyNow;
  return (
    <span
      data-testid="next-turn"
      data-rank={next?.rank ?? now?.rank ?? ''}
      data-value={next?.publicKey ?? now?.publicKey ?? ''}
      data-in={next ? secondsUntil(next.at, nowMs) : ''}
    >
      {' '}
      rank 0 <code>{fingerprint(turns.due)}</code> is due;{' '}
      {now ? (
        <>
          rank {now.rank} <code>{fingerprint(now.publicKey)}</code> may forge now
          {next ? (
            <>
              , rank {next.rank} <code>{fingerprint(next.publicKey)}</code> {inSeconds(next.at, nowMs)}
            </>
          ) : null}
          .
        </>
      ) : next ? (
        <>
          rank {next.rank} <code>{fingerprint(next.publicKey)}</code> may forge {inSeconds(next.at, nowMs)}.
        </>
      ) : (
        <>no other staker is ranked yet, so the chain waits for it.</>
      )}
    </span>
  );
}

/** Who forges next, and when the chain is waiting on a forger that is not online. */
export function WaitingBanner() {
  const { waitingFor, pool, state } = useSnapshot();
  const waiting = !waitingFor.online || waitingFor.stalled;
  const head = state.resilient;
  // Only a resilient chain has turns to count down; a reference chain waits for its one forger.
  const nowMs = useTickingNow(waiting && head !== undefined);
  if (!waiting) return null;
  const pending = `${pool.length} pending ${pool.length === 1 ? 'transaction' : 'transactions'}`;
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
      {head ? (
        // A resilient chain has turns to count down: the next rank forges once rank 0's slot passes.
        <>
          <span>
            {waitingFor.stalled
              ? ` ${pending} ${pool.length === 1 ? 'has' : 'have'} waited long for a block:`
              : ' No tab holding the first-ranked key is connected:'}
          </span>
          <NextTurnCountdown head={head} nowMs={nowMs} />
        </>
      ) : (
        <span>
          {waitingFor.stalled
            ? ` ${pending} ${pool.length === 1 ? 'has' : 'have'} waited too long for a block: the forger's tab may be closed or cut off.`
            : pool.length > 0
              ? ` No tab holding key ${fp} is connected, so ${pending} ${pool.length === 1 ? 'waits' : 'wait'} until one is.`
              : ` No tab holding key ${fp} is connected: new transactions will wait until one is.`}{' '}
          Whoever holds that key can open it in the Wallet (the devnet's keys are public).
        </span>
      )}
    </div>
  );
}

/** The stakers in lottery order, their shares, and a bar chart of them. */
export function Stakers() {
  const snapshot = useSnapshot();
  const { nextForger } = snapshot;
  const { stakers, total, largest } = stakersAtHead(snapshot);
  return (
    <section className="card" aria-labelledby="stakers-heading" data-testid="stakers">
      <h2 id="stakers-heading">Stakers</h2>
      {snapshot.state.resilient ? (
        <p className="muted">
          The stakers are ranked for each block by a stake-weighted draw from a seed no forger can vary; a
          stake counts in the draw once its block is {STAKE_DELAY_BLOCKS} blocks deep. {total} coins staked in
          all.
        </p>
      ) : (
        <p className="muted">
          Each staked coin is one lot in the lottery for the next block; {total} lots in all.
        </p>
      )}
      <StakeBars stakers={stakers} total={total} largest={largest} nextForger={nextForger} />
      <Table columns={snapshot.state.resilient ? RESILIENT_STAKE_COLUMNS : STAKE_COLUMNS}>
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

/** Height of one staker's row in the stake bars: its label line, then its bar. */
const STAKE_ROW = 36;

/**
 * The stakers' shares as labelled bars, one row each: the staker's name (or fingerprint) and
 * share on a line of their own (so a phone never has them overlap the bar), then a bar in the
 * staker's identicon colour, as long as its stake against the largest one; the next forger's
 * bar is outlined.
 */
function StakeBars({
  stakers,
  total,
  largest,
  nextForger,
}: {
  readonly stakers: readonly (readonly [string, number])[];
  readonly total: number;
  readonly largest: number;
  readonly nextForger: string;
}) {
  const names = useAccountNames();
  const [ref, width] = useElementWidth<HTMLDivElement>(480);
  const label = (key: string, stake: number) =>
    `${names.get(key) ?? fingerprint(key)}: ${stake} (${percent(stake, total)})${key === nextForger ? ', next forger' : ''}`;
  const height = Math.max(1, stakers.length) * STAKE_ROW;
  return (
    <div ref={ref} className="stake-bars">
      <svg
        className="chart"
        data-testid="stakers-chart"
        role="img"
        aria-label={`Stake shares: ${stakers.map(([key, stake]) => label(key, stake)).join('; ')}`}
        width={width}
        height={height}
        viewBox={`0 0 ${width} ${height}`}
      >
        {stakers.map(([key, stake], index) => (
          <g key={key}>
            <text x={0} y={index * STAKE_ROW + 13} className="stake-bar-label">
              {label(key, stake)}
            </text>
            <rect
              x={1}
              y={index * STAKE_ROW + 18}
              width={Math.max(2, (stake / largest) * (width - 2))}
              height={12}
              rx={2}
              fill={accountColour(identiconCells(key).hue)}
              className={key === nextForger ? 'stake-bar stake-bar-next' : 'stake-bar'}
            />
          </g>
        ))}
      </svg>
    </div>
  );
}

/** The newest blocks, updating as the chain grows. */
export function LatestBlocks() {
  const read = useChainRead('latest-blocks', async (node, snapshot) => {
    const blocks = await loadLatestBlocks(node, snapshot, LATEST_BLOCKS);
    const turns = snapshot.state.resilient ? await loadBlockTurns(node, snapshot, blocks) : null;
    return { blocks, turns };
  });
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
        <LatestBlocksTable blocks={read.value.blocks} turns={read.value.turns} head={read.at.height} />
      )}
    </section>
  );
}

/** The newest blocks as one read returned them, with the head they were read at. */
function LatestBlocksTable({
  blocks,
  turns,
  head,
}: {
  readonly blocks: readonly HashedBlock[];
  /** Each block's rank on a `resilient` network; null on `reference` (no rank column). */
  readonly turns: ReadonlyMap<number, BlockTurnReading | null> | null;
  readonly head: number;
}) {
  return (
    <div data-testid="latest-blocks-at" data-head={head}>
      <Table columns={turns ? RESILIENT_BLOCK_COLUMNS : BLOCK_COLUMNS} testId="latest-blocks">
        {blocks.map(({ block, hash }) => (
          <tr key={block.blockCount} data-testid="block-row" data-height={block.blockCount}>
            <td>
              <BlockLink height={block.blockCount} />
            </td>
            <td className="hide-narrow">
              <BlockHashLink hash={hash} height={block.blockCount} />
            </td>
            <td>
              {block.blockCount === 0 ? (
                <span className="muted">genesis</span>
              ) : (
                <AccountLabel pem={block.forger} copy={false} />
              )}
            </td>
            {turns ? <RankCell turn={turns.get(block.blockCount) ?? null} /> : null}
            <td className="num">{block.transactions.length}</td>
            <td className="hide-narrow">
              <TimeAgo ms={timestampMs(block.timestamp)} />
            </td>
          </tr>
        ))}
      </Table>
    </div>
  );
}

/** A block's rank in the latest blocks, with why its forger was allowed as the cell's title. */
function RankCell({ turn }: { readonly turn: BlockTurnReading | null }) {
  return (
    <td
      className="num"
      data-testid="block-rank"
      data-value={turn?.rank ?? ''}
      title={turn?.reason}
      aria-label={turn?.reason}
    >
      {turn ? turn.rank : '—'}
    </td>
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
      <LazyChainCharts />
    </div>
  );
}
