/* The wallet's balance over time; Recharts, loaded lazily (see ChainCharts.tsx for why). */
import { CartesianGrid, Line, LineChart, Tooltip, XAxis, YAxis } from 'recharts';
import type { AccountTxRecord } from '../../ports/store';
import { useChainRead } from '../chain-reads';
import { plural } from '../format';
import { CHART_HEIGHT, ChartFrame } from './ChainCharts';
import { balanceHistory } from './data';
import './charts.css';

/** History lines the chart reads at most (the newest): the walk back stops there. */
export const BALANCE_LINES = 1000;

/** `lines` (newest first) and the balance at `head` as the chart draws them. */
export function BalanceView({
  lines,
  balance,
  head,
  complete,
}: {
  readonly lines: readonly AccountTxRecord[];
  readonly balance: number;
  readonly head: number;
  readonly complete: boolean;
}) {
  const points = balanceHistory(lines, balance, head, complete);
  const first = points[0];
  return (
    <ChartFrame
      id="chart-balance"
      title="Your balance over time"
      empty={
        lines.length === 0
          ? `No transactions for this account on the chain yet: its balance has been ${balance} since genesis. The chart draws each block that changes it.`
          : null
      }
      caption={
        <>
          Balance {balance} at block {head}
          {first && lines.length > 0
            ? `; ${first.balance} at block ${first.height}, over ${plural(lines.length, 'transaction')}${complete ? '' : ` (the newest ${lines.length})`}`
            : ''}
          .
        </>
      }
    >
      {(width) => (
        <LineChart
          width={width}
          height={CHART_HEIGHT}
          data={points}
          margin={{ top: 8, right: 16, bottom: 0, left: -8 }}
        >
          <CartesianGrid vertical={false} />
          <XAxis dataKey="height" type="number" domain={['dataMin', 'dataMax']} allowDecimals={false} />
          <YAxis width={56} allowDecimals={false} />
          <Tooltip
            labelFormatter={(h) => `block ${h}`}
            contentStyle={{
              background: 'var(--surface)',
              border: '1px solid var(--border)',
              color: 'var(--text)',
            }}
          />
          <Line
            dataKey="balance"
            name="balance"
            type="stepAfter"
            className="series-balance"
            dot={points.length < 30}
            isAnimationActive={false}
          />
        </LineChart>
      )}
    </ChartFrame>
  );
}

/** The wallet's balance over time, walked back from its balance through its history index (no block scan). */
export default function BalanceChart({ pem }: { readonly pem: string }) {
  const read = useChainRead(`balance-history:${pem}`, async (node, snapshot) => {
    const lines = await node.readAccountHistory(pem, { limit: BALANCE_LINES + 1 });
    return {
      lines: lines.slice(0, BALANCE_LINES),
      complete: lines.length <= BALANCE_LINES,
      balance: snapshot.state.balances.get(pem, 0),
      head: snapshot.height,
    };
  });
  if (read.status === 'failed') {
    return (
      <p className="field-error" role="alert">
        Could not read your history: {read.message}
      </p>
    );
  }
  if (read.status === 'loading') {
    return (
      <p className="muted" role="status">
        Reading your history…
      </p>
    );
  }
  return <BalanceView {...read.value} />;
}
