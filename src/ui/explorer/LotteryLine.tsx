import { useEffect, useId, useMemo, useState } from 'react';
import type { LotteryResult, StakeEntry } from '../../core/lottery';
import { useAccountNames } from '../accounts';
import { accountColour, useElementWidth } from '../charts/size';
import { Identicon, identiconCells } from '../components/Identicon';
import { fingerprint, plural } from '../format';
import {
  binLots,
  distance,
  drawLots,
  fractionOf,
  type NearLot,
  nearestLots,
  type StakerLots,
  shareOfLine,
  shortHex,
} from './lottery-lots';
import './LotteryLine.css';

/** Bins of the aggregated line: a drawing of thousands of lots is at most `BINS` × stakers marks. */
export const BINS = 72;
/** Up to this many lots, each is drawn as its own tick; above, the line shows counts per bin. */
export const MAX_SINGLE_TICKS = 120;
/** Lots shown in the zoomed inset around the target (the nearest ones within its span). */
const INSET_LOTS = 12;
/** Below this zoom the inset is left out (the winner is far from the target already). */
const MIN_ZOOM = 8;

const PAD = 14;
const MAIN_Y = 62;
const BAR_MAX = 34;
const INSET_TOP = 108;
const INSET_Y = 156;
const HEIGHT = 202;

/** One staker's name for the picture: the UI's name for it, else its fingerprint. */
function nameOf(names: ReadonlyMap<string, string>, pem: string): string {
  return names.get(pem) ?? fingerprint(pem);
}

/**
 * The lottery drawn as a number line of the 256-bit space: the target (the hash of the seed),
 * every staker's lots coloured by staker (its identicon's colour), the winning lot highlighted,
 * and a zoomed inset around the target where the winner and its nearest rivals are apart. With
 * more than `MAX_SINGLE_TICKS` lots the line is split into `BINS` bins drawn as stacked bars of
 * counts per staker, so the drawing stays readable (and small) with thousands of lots.
 */
export function LotteryLine({
  stakers,
  seed,
  result,
}: {
  readonly stakers: readonly StakeEntry[];
  readonly seed: string;
  readonly result: LotteryResult;
}) {
  // Hashed after the first paint (one hash per staked coin), again only for another lottery.
  const [lots, setLots] = useState<{ readonly seed: string; readonly all: StakerLots[] } | null>(null);
  useEffect(() => {
    let current = true;
    const timer = setTimeout(() => {
      if (current) setLots({ seed, all: drawLots(stakers, seed) });
    }, 0);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [stakers, seed]);
  const all = lots?.seed === seed ? lots.all : null;
  return (
    <figure className="lottery-line" data-testid="lottery-line">
      {all ? (
        <LotteryDrawing all={all} result={result} />
      ) : (
        <p className="muted" role="status">
          Hashing the lots…
        </p>
      )}
    </figure>
  );
}

function LotteryDrawing({ all, result }: { readonly all: StakerLots[]; readonly result: LotteryResult }) {
  const names = useAccountNames();
  const [ref, width] = useElementWidth<HTMLDivElement>(600);
  const titleId = useId();
  const descId = useId();
  const target = BigInt(`0x${result.referenceHash}`);
  const winnerValue = BigInt(`0x${result.lotHash}`);
  const winnerIndex = all.findIndex((s) => s.publicKey === result.forger);
  const winnerDistance = distance(winnerValue, target);
  const total = all.reduce((sum, s) => sum + s.lots.length, 0);
  const colours = all.map((s) => accountColour(identiconCells(s.publicKey).hue));
  const near = useMemo(() => nearestLots(all, target, INSET_LOTS + 1), [all, target]);
  const runnerUp = near.find((lot) => !(lot.staker === winnerIndex && lot.iteration === result.iteration));
  const bins = useMemo(() => (total > MAX_SINGLE_TICKS ? binLots(all, BINS) : null), [all, total]);

  const span = width - 2 * PAD;
  const xOf = (fraction: number) => PAD + fraction * span;
  const targetX = xOf(fractionOf(target));
  const winnerX = xOf(fractionOf(winnerValue));
  // The inset spans the target ± 2.5 winner distances: the winner sits 1/5 of the way from the centre to an edge.
  const halfSpan = winnerDistance === 0n ? 1n : (winnerDistance * 5n) / 2n;
  const insetX = (value: bigint) =>
    xOf(0.5 + Number(((value - target) * 1_000_000n) / (2n * halfSpan)) / 1_000_000);
  const inInset = near.filter((lot) => distance(lot.value, target) <= halfSpan);
  const zoom = Number((2n ** 256n * 10n) / (2n * halfSpan)) / 10;
  // A zoom of a few times shows nothing the whole line does not: the bracket goes on the line.
  const withInset = zoom >= MIN_ZOOM;
  const height = withInset ? HEIGHT : MAIN_Y + 52;

  const winnerName = nameOf(names, result.forger);
  const summary = `The target is ${shortHex(target)}; ${winnerName}'s lot ${result.iteration} is closest, at distance ${shortHex(winnerDistance)} (${shareOfLine(winnerDistance)})${
    runnerUp
      ? `; the next closest lot, ${nameOf(names, all[runnerUp.staker]?.publicKey ?? '')}'s lot ${runnerUp.iteration}, is at ${shareOfLine(runnerUp.distance)}`
      : ''
  }.`;
  const maxBin = bins ? Math.max(1, ...bins.map((row) => row.reduce((a, b) => a + b, 0))) : 1;
  const binWidth = span / BINS;

  return (
    <>
      <p className="ll-heading muted">
        The whole line, 0 to 2²⁵⁶: {total === 1 ? 'the one lot' : `all ${plural(total, 'lot')}`}
        {bins ? `, counted in ${BINS} bins (bar height: lots per bin)` : ''}
      </p>
      <div ref={ref} className="lottery-line-canvas">
        <svg
          width={width}
          height={height}
          viewBox={`0 0 ${width} ${height}`}
          role="img"
          aria-labelledby={`${titleId} ${descId}`}
          data-testid="lottery-line-svg"
        >
          <title id={titleId}>The lottery as a number line of the 256-bit space</title>
          <desc id={descId}>
            {plural(total, 'lot')} of {plural(all.length, 'staker')}
            {bins ? `, counted in ${BINS} bins` : ''}. {summary}
          </desc>
          {/* The whole line's caption is above the drawing, in the page's text. */}
          {/* The whole line: 0 to 2^256. */}
          <line x1={PAD} x2={width - PAD} y1={MAIN_Y} y2={MAIN_Y} className="ll-track" />
          <text x={PAD} y={MAIN_Y + 16} className="ll-axis">
            0
          </text>
          <text x={width - PAD} y={MAIN_Y + 16} className="ll-axis" textAnchor="end">
            2²⁵⁶
          </text>
          <g data-testid="lottery-marks">
            {bins
              ? bins.flatMap((row, bin) => {
                  let y = MAIN_Y;
                  return row.flatMap((count, staker) => {
                    if (count === 0) return [];
                    const h = Math.max(1.5, (count / maxBin) * BAR_MAX);
                    y -= h;
                    return [
                      <rect
                        // biome-ignore lint/suspicious/noArrayIndexKey: a bin is its place on the line
                        key={`${bin}-${staker}`}
                        x={PAD + bin * binWidth + 0.5}
                        y={y}
                        width={Math.max(1, binWidth - 1)}
                        height={h}
                        fill={colours[staker]}
                        data-mark="bin"
                      >
                        <title>
                          {nameOf(names, all[staker]?.publicKey ?? '')}: {plural(count, 'lot')}
                        </title>
                      </rect>,
                    ];
                  });
                })
              : all.flatMap((s, staker) =>
                  s.lots.map((value, index) => (
                    <line
                      // biome-ignore lint/suspicious/noArrayIndexKey: a lot is its staker and iteration
                      key={`${staker}-${index}`}
                      x1={xOf(fractionOf(value))}
                      x2={xOf(fractionOf(value))}
                      y1={MAIN_Y}
                      y2={MAIN_Y - 18}
                      stroke={colours[staker]}
                      className="ll-lot"
                      data-mark="lot"
                    />
                  )),
                )}
          </g>
          {/* The target, and the winning lot highlighted over the bars. */}
          <line x1={targetX} x2={targetX} y1={MAIN_Y - BAR_MAX - 8} y2={MAIN_Y + 4} className="ll-target" />
          <text
            x={targetX}
            y={MAIN_Y - BAR_MAX - 12}
            className="ll-label"
            textAnchor={labelAnchor(targetX, width)}
          >
            target
          </text>
          <circle
            cx={winnerX}
            cy={MAIN_Y}
            r={4.5}
            fill={colours[winnerIndex] ?? 'currentColor'}
            className="ll-winner"
            data-testid="lottery-line-winner"
          />
          {withInset ? (
            <>
              {/* The zoom: the inset is the small stretch of the line around the target. */}
              <polyline
                points={`${targetX},${MAIN_Y + 5} ${PAD},${INSET_TOP} `}
                className="ll-zoom"
                fill="none"
              />
              <polyline
                points={`${targetX},${MAIN_Y + 5} ${width - PAD},${INSET_TOP}`}
                className="ll-zoom"
                fill="none"
              />
              <text x={width / 2} y={INSET_TOP + 2} className="ll-caption" textAnchor="middle">
                zoomed ×{formatZoom(zoom)} around the target
              </text>
              <line x1={PAD} x2={width - PAD} y1={INSET_Y} y2={INSET_Y} className="ll-track" />
              <g data-testid="lottery-inset">
                {inInset.map((lot) => (
                  <InsetLot
                    key={`${lot.staker}-${lot.iteration}`}
                    lot={lot}
                    x={insetX(lot.value)}
                    colour={colours[lot.staker] ?? 'currentColor'}
                    winner={lot.staker === winnerIndex && lot.iteration === result.iteration}
                  />
                ))}
              </g>
              <line x1={xOf(0.5)} x2={xOf(0.5)} y1={INSET_Y - 30} y2={INSET_Y + 6} className="ll-target" />
              <text x={xOf(0.5)} y={INSET_Y - 34} className="ll-label" textAnchor="middle">
                target
              </text>
              {/* The winner's distance, as a bracket from the target to its lot. */}
              <DistanceBracket
                from={xOf(0.5)}
                to={insetX(winnerValue)}
                y={INSET_Y + 14}
                label={shareOfLine(winnerDistance)}
                width={width}
              />
            </>
          ) : (
            // The winner is far enough from the target to be seen apart on the whole line.
            <DistanceBracket
              from={targetX}
              to={winnerX}
              y={MAIN_Y + 26}
              label={shareOfLine(winnerDistance)}
              width={width}
            />
          )}
        </svg>
      </div>
      <figcaption>
        <p data-testid="lottery-line-summary">{summary}</p>
        <ul className="ll-legend" aria-label="Stakers">
          {all.map((s, staker) => (
            <li key={s.publicKey}>
              <span className="ll-swatch" style={{ background: colours[staker] }} aria-hidden="true" />
              <Identicon pem={s.publicKey} size={16} /> {nameOf(names, s.publicKey)}:{' '}
              {plural(s.lots.length, 'lot')}
              {staker === winnerIndex ? <strong> (won)</strong> : null}
            </li>
          ))}
        </ul>
      </figcaption>
    </>
  );
}

/** A lot in the inset: a tick in its staker's colour; the winner's is taller, outlined and labelled. */
function InsetLot({
  lot,
  x,
  colour,
  winner,
}: {
  readonly lot: NearLot;
  readonly x: number;
  readonly colour: string;
  readonly winner: boolean;
}) {
  return winner ? (
    <g data-testid="lottery-inset-winner">
      <line x1={x} x2={x} y1={INSET_Y} y2={INSET_Y - 22} stroke={colour} className="ll-lot ll-lot-winner" />
      <circle cx={x} cy={INSET_Y - 22} r={5} fill={colour} className="ll-winner" />
    </g>
  ) : (
    <line
      x1={x}
      x2={x}
      y1={INSET_Y}
      y2={INSET_Y - 14}
      stroke={colour}
      className="ll-lot"
      data-iteration={lot.iteration}
    />
  );
}

/** A bracket under the line (or the inset) from the target to the winning lot, with the distance written under it. */
function DistanceBracket({
  from,
  to,
  y,
  label,
  width,
}: {
  readonly from: number;
  readonly to: number;
  readonly y: number;
  readonly label: string;
  readonly width: number;
}) {
  const mid = (from + to) / 2;
  return (
    <g className="ll-bracket" data-testid="lottery-distance">
      <path d={`M${from},${y - 4} V${y} H${to} V${y - 4}`} fill="none" />
      <text x={mid} y={y + 16} className="ll-label" textAnchor={labelAnchor(mid, width)}>
        distance {label}
      </text>
    </g>
  );
}

/** Text near an edge is anchored to stay inside the drawing. */
function labelAnchor(x: number, width: number): 'start' | 'middle' | 'end' {
  return x < 90 ? 'start' : x > width - 90 ? 'end' : 'middle';
}

/** A zoom factor like "5.3 million" or "1.2 × 10^70". */
function formatZoom(zoom: number): string {
  if (!Number.isFinite(zoom)) return '∞';
  if (zoom < 1e6) return Math.round(zoom).toLocaleString('en');
  if (zoom < 1e12) return `${(zoom / 1e6).toPrecision(2)} million`;
  const exponent = Math.floor(Math.log10(zoom));
  return `${(zoom / 10 ** exponent).toPrecision(2)} × 10^${exponent}`;
}
