/*
 * The charts over time, drawn with Recharts. Why Recharts: its charts are React components (no
 * imperative canvas to keep in step with React's state), they draw SVG, which themes with the
 * page's CSS variables in light and dark alike (charts.css), and they render in jsdom, so the
 * component tests assert real axes, series paths and captions. It is not small, so it is only
 * ever loaded lazily (./lazy.tsx): the first load of the page does not carry it.
 */
import type { ReactNode } from 'react';
import {
  Area,
  AreaChart,
  Bar,
  CartesianGrid,
  ComposedChart,
  Line,
  LineChart,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import type { AggregateRange } from '../../ports/store';
import { useAccountNames } from '../accounts';
import { useChainRead } from '../chain-reads';
import { identiconCells } from '../components/Identicon';
import { fingerprint, plural } from '../format';
import { OTHERS, perMinute, propagationPoints, stakeShares } from './data';
import { accountColour, useElementWidth } from './size';
import './charts.css';

/** The chart height in pixels (the width is the container's). */
export const CHART_HEIGHT = 200;
/** The width a chart is drawn at where its container has no layout (jsdom). */
export const FALLBACK_WIDTH = 480;

const TOOLTIP_STYLE = {
  contentStyle: { background: 'var(--surface)', border: '1px solid var(--border)', color: 'var(--text)' },
  labelStyle: { color: 'var(--text)' },
} as const;

/** A chart's frame: heading, the drawing (or why there is none), and its text alternative. */
export function ChartFrame({
  id,
  title,
  empty,
  caption,
  children,
}: {
  readonly id: string;
  readonly title: string;
  /** Why there is nothing to draw, or null when there is. */
  readonly empty: string | null;
  /** The text alternative: what the chart shows, latest values first. */
  readonly caption: ReactNode;
  readonly children: (width: number) => ReactNode;
}) {
  const [ref, width] = useElementWidth<HTMLDivElement>(FALLBACK_WIDTH);
  return (
    <figure
      className="chart-frame"
      data-testid={id}
      aria-labelledby={`${id}-heading`}
      data-empty={empty !== null}
    >
      <h3 id={`${id}-heading`}>{title}</h3>
      <div ref={ref} className="chart-canvas">
        {empty === null ? (
          children(width)
        ) : (
          <p className="chart-empty muted" data-testid={`${id}-empty`}>
            {empty}
          </p>
        )}
      </div>
      <figcaption className="chart-caption" data-testid={`${id}-caption`}>
        {caption}
      </figcaption>
    </figure>
  );
}

/** "14:05" in local time, for a minute given in seconds since the epoch. */
export function clockMinute(seconds: number): string {
  const date = new Date(seconds * 1000);
  return `${String(date.getHours()).padStart(2, '0')}:${String(date.getMinutes()).padStart(2, '0')}`;
}

/** Blocks and transactions per minute of block time. */
export function BlocksChart({ aggregates }: { readonly aggregates: AggregateRange['aggregates'] }) {
  const points = perMinute(aggregates);
  const last = points[points.length - 1];
  const blocks = points.reduce((sum, p) => sum + p.blocks, 0);
  const transactions = points.reduce((sum, p) => sum + p.transactions, 0);
  return (
    <ChartFrame
      id="chart-blocks"
      title="Blocks and transactions per minute"
      empty={
        points.length === 0 ? 'No blocks yet beyond genesis: this chart fills as blocks are forged.' : null
      }
      caption={
        last ? (
          <>
            <span className="legend-swatch swatch-blocks" aria-hidden="true" /> blocks,{' '}
            <span className="legend-swatch swatch-txs" aria-hidden="true" /> transactions. Over the last{' '}
            {plural(points.length, 'minute')}: {plural(blocks, 'block')},{' '}
            {plural(transactions, 'transaction')}; in the latest minute ({clockMinute(last.minute)}):{' '}
            {plural(last.blocks, 'block')}, {plural(last.transactions, 'transaction')}.
          </>
        ) : null
      }
    >
      {(width) => (
        <ComposedChart
          width={width}
          height={CHART_HEIGHT}
          data={points}
          margin={{ top: 8, right: 16, bottom: 0, left: -16 }}
        >
          <CartesianGrid vertical={false} />
          <XAxis dataKey="minute" tickFormatter={clockMinute} minTickGap={24} />
          <YAxis allowDecimals={false} width={48} />
          <Tooltip labelFormatter={(m) => clockMinute(Number(m))} {...TOOLTIP_STYLE} />
          <Bar dataKey="blocks" name="blocks" className="series-blocks" isAnimationActive={false} />
          <Line
            dataKey="transactions"
            name="transactions"
            className="series-txs"
            type="monotone"
            dot={points.length === 1}
            isAnimationActive={false}
          />
        </ComposedChart>
      )}
    </ChartFrame>
  );
}

/** Each staker's share of the stake, block by block from genesis. */
export function StakeChart({
  aggregates,
  genesisKey,
  head,
}: {
  readonly aggregates: AggregateRange['aggregates'];
  readonly genesisKey: string;
  readonly head: number;
}) {
  const names = useAccountNames();
  const shares = stakeShares(aggregates, genesisKey, head);
  const nameOf = (key: string) => (key === OTHERS ? 'others' : (names.get(key) ?? fingerprint(key)));
  const colourOf = (key: string) =>
    key === OTHERS ? 'var(--muted)' : accountColour(identiconCells(key).hue);
  const total = [...shares.latest.values()].reduce((sum, stake) => sum + stake, 0);
  const latest = shares.rows[shares.rows.length - 1] ?? { height: 0 };
  return (
    <ChartFrame
      id="chart-stake"
      title="Share of the stake over blocks"
      empty={null}
      caption={
        <>
          At block {latest.height} ({plural(total, 'coin')} staked):{' '}
          {shares.series.map((key, i) => (
            <span key={key} className="legend-item">
              <span className="legend-swatch" style={{ background: colourOf(key) }} aria-hidden="true" />
              {nameOf(key)} {latest[key] ?? 0} %{i < shares.series.length - 1 ? ', ' : '.'}
            </span>
          ))}
          {shares.rows.length === 1
            ? ' Only the genesis stake so far: the chart grows as accounts stake.'
            : null}
        </>
      }
    >
      {(width) => (
        <AreaChart
          width={width}
          height={CHART_HEIGHT}
          data={shares.rows}
          margin={{ top: 8, right: 16, bottom: 0, left: -16 }}
        >
          <CartesianGrid vertical={false} />
          <XAxis dataKey="height" type="number" domain={['dataMin', 'dataMax']} allowDecimals={false} />
          <YAxis domain={[0, 100]} unit="%" width={56} />
          <Tooltip labelFormatter={(h) => `block ${h}`} {...TOOLTIP_STYLE} />
          {shares.series.map((key) => (
            <Area
              key={key}
              dataKey={key}
              name={nameOf(key)}
              stackId="stake"
              type="stepAfter"
              stroke={colourOf(key)}
              fill={colourOf(key)}
              fillOpacity={0.55}
              dot={shares.rows.length === 1}
              isAnimationActive={false}
            />
          ))}
        </AreaChart>
      )}
    </ChartFrame>
  );
}

/** How long blocks took to reach this node, as it measured them. */
export function PropagationChart({ aggregates }: { readonly aggregates: AggregateRange['aggregates'] }) {
  const points = propagationPoints(aggregates);
  const last = points[points.length - 1];
  return (
    <ChartFrame
      id="chart-propagation"
      title="Block propagation time"
      empty={
        points.length === 0
          ? 'No propagation measured yet. This node records how long a block took to reach it from its forger when it measures it; blocks it forged itself, and blocks it received before measuring, have none.'
          : null
      }
      caption={
        last ? (
          <>
            {plural(points.length, 'block')} measured; the latest, block {last.height}, took {last.ms} ms; the
            slowest took {Math.max(...points.map((p) => p.ms))} ms.
          </>
        ) : null
      }
    >
      {(width) => (
        <LineChart
          width={width}
          height={CHART_HEIGHT}
          data={points}
          margin={{ top: 8, right: 16, bottom: 0, left: -16 }}
        >
          <CartesianGrid vertical={false} />
          <XAxis dataKey="height" type="number" domain={['dataMin', 'dataMax']} allowDecimals={false} />
          <YAxis unit=" ms" width={64} />
          <Tooltip labelFormatter={(h) => `block ${h}`} {...TOOLTIP_STYLE} />
          <Line
            dataKey="ms"
            name="propagation (ms)"
            className="series-propagation"
            dot={points.length < 30}
            isAnimationActive={false}
          />
        </LineChart>
      )}
    </ChartFrame>
  );
}

/** The explorer's charts over time, from the aggregates the store keeps with the chain's index. */
export default function ChainCharts() {
  const read = useChainRead('block-aggregates', async (node, snapshot) => ({
    range: await node.readBlockAggregates(1, snapshot.height),
    // The genesis staker is first in stake order, always.
    genesisKey: snapshot.state.stakes.keySeq().first() ?? '',
    head: snapshot.height,
  }));
  return (
    <section
      className="card chain-charts"
      aria-labelledby="charts-heading"
      data-testid="chain-charts"
      aria-busy={read.status === 'loading' || (read.status === 'ready' && read.stale)}
    >
      <h2 id="charts-heading">Charts</h2>
      {read.status === 'failed' ? (
        <p className="field-error" role="alert">
          Could not read the chain's aggregates: {read.message}
        </p>
      ) : read.status === 'loading' ? (
        <p className="muted" role="status">
          Reading the chain's aggregates…
        </p>
      ) : (
        <>
          {read.value.range.problem ? (
            <p className="field-error" role="alert">
              {read.value.range.problem} The charts show the blocks before it.
            </p>
          ) : null}
          <div className="chart-grid">
            <BlocksChart aggregates={read.value.range.aggregates} />
            <StakeChart
              aggregates={read.value.range.aggregates}
              genesisKey={read.value.genesisKey}
              head={
                read.value.range.problem ? (read.value.range.aggregates.at(-1)?.height ?? 0) : read.value.head
              }
            />
            <PropagationChart aggregates={read.value.range.aggregates} />
          </div>
        </>
      )}
    </section>
  );
}
