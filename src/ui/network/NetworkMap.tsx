import { type CSSProperties, useEffect, useId, useMemo, useState } from 'react';
import type { BlockPropagation, PropagationHop } from '../../node/types';
import { useAccountNames } from '../accounts';
import { Identicon } from '../components/Identicon';
import { fingerprint, plural } from '../format';
import { hrefFor } from '../router';
import { useSnapshot } from '../services';
import {
  buildMapModel,
  hopsInOrder,
  type MapModel,
  type MapNode,
  NODE_RADIUS,
  propagationReach,
  SELF_PLACEHOLDER_ID,
} from './map-model';
import './NetworkMap.css';

/** Time each hop of a block's spread takes on screen (ms): real hops take a few ms, too fast to see. */
export const HOP_ANIMATION_MS = 700;
/** How long the finished spread stays drawn before it fades (ms); the replay button shows it again. */
export const SPREAD_HOLD_MS = 8000;

const REDUCED_MOTION = '(prefers-reduced-motion: reduce)';

/** Whether the user asked for less motion (read once per change of the setting). */
function usePrefersReducedMotion(): boolean {
  const query =
    typeof window !== 'undefined' && typeof window.matchMedia === 'function' ? REDUCED_MOTION : null;
  const [reduced, setReduced] = useState(() => (query ? window.matchMedia(query).matches : false));
  useEffect(() => {
    if (!query) return;
    const list = window.matchMedia(query);
    const update = () => setReduced(list.matches);
    list.addEventListener('change', update);
    return () => list.removeEventListener('change', update);
  }, [query]);
  return reduced;
}

/** The words the map shows for a node: its account's name, else its key's fingerprint, else its id. */
export function nodeName(node: MapNode, names: ReadonlyMap<string, string>): string {
  if (node.forgerKey !== null)
    return names.get(node.forgerKey) ?? `account ${fingerprint(node.forgerKey, 8)}`;
  if (node.self) return 'you';
  return node.id === SELF_PLACEHOLDER_ID ? node.id : `node ${shortId(node.id)}`;
}

/** `nodeName` cut for a label on the drawing, where the shape already says "node" or "account". */
function nodeLabel(node: MapNode, names: ReadonlyMap<string, string>): string {
  if (node.forgerKey !== null) return names.get(node.forgerKey) ?? fingerprint(node.forgerKey, 8);
  return node.self || node.id === SELF_PLACEHOLDER_ID ? nodeName(node, names) : shortId(node.id);
}

/** A node id cut for a label (ids are long random strings). */
export function shortId(id: string): string {
  return id.length > 7 ? `${id.slice(0, 6)}…` : id;
}

/** The marks of a node in words (the table and the tooltip say what the shapes say). */
export function nodeMarks(node: MapNode): string[] {
  const marks: string[] = [];
  if (node.self) marks.push('this tab');
  marks.push(node.alwaysOn ? 'always-on node' : 'browser tab');
  if (node.ring === 1) marks.push('direct peer');
  if (node.ring === 2) marks.push('known through a peer');
  if (node.forger) marks.push('forger (has stake)');
  if (node.next) marks.push('forges the next block');
  return marks;
}

/** A label cut to fit between neighbours on a ring. */
function labelText(text: string, max = 15): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * Where the spread of the newest block stands: how many of its hops (in `atMs` order) are done,
 * and whether it is running, held on screen, or faded. A new block or the replay button starts it.
 */
function useSpread(latest: BlockPropagation | null, hops: readonly PropagationHop[], reduced: boolean) {
  const [run, setRun] = useState(0);
  const [done, setDone] = useState(0);
  const [phase, setPhase] = useState<'playing' | 'holding' | 'faded'>('faded');
  const hash = latest?.hash ?? null;
  const count = hops.length;
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new block (hash) or a replay (run) restarts it
  useEffect(() => {
    if (hash === null) {
      setPhase('faded');
      setDone(0);
      return;
    }
    if (reduced) {
      // No motion: the end state at once, with every delay, kept until the next block.
      setDone(count);
      setPhase('holding');
      return;
    }
    setDone(0);
    setPhase('playing');
    const timers: ReturnType<typeof setTimeout>[] = [];
    for (let index = 1; index <= count; index++) {
      timers.push(setTimeout(() => setDone(index), index * HOP_ANIMATION_MS));
    }
    timers.push(setTimeout(() => setPhase('holding'), count * HOP_ANIMATION_MS));
    timers.push(setTimeout(() => setPhase('faded'), count * HOP_ANIMATION_MS + SPREAD_HOLD_MS));
    return () => {
      for (const timer of timers) clearTimeout(timer);
    };
  }, [hash, run, reduced]);
  return { done, phase, replay: () => setRun((value) => value + 1) };
}

function NodeShape({ node }: { readonly node: MapNode }) {
  const r = NODE_RADIUS;
  // Always-on nodes are squares, tabs are circles: a shape, not a colour.
  const shape = (radius: number, className: string) =>
    node.alwaysOn ? (
      <rect
        className={className}
        x={-radius}
        y={-radius}
        width={2 * radius}
        height={2 * radius}
        rx={radius / 4}
      />
    ) : (
      <circle className={className} r={radius} />
    );
  return (
    <>
      {node.next ? shape(r + 9, 'map-next-ring') : null}
      {node.forger ? shape(r + 4, 'map-forger-ring') : null}
      {shape(r, 'map-node-body')}
    </>
  );
}

function MapNodeGlyph({
  node,
  name,
  label,
  hasBlock,
}: {
  readonly node: MapNode;
  readonly name: string;
  readonly label: string;
  readonly hasBlock: boolean;
}) {
  const marks = nodeMarks(node);
  const classes = ['map-node'];
  if (node.self) classes.push('map-self');
  if (hasBlock) classes.push('map-has-block');
  // This tab's label already says "you" (and its border is thick): only "next" needs a tag.
  const tag = node.next ? 'next' : null;
  return (
    <g
      className={classes.join(' ')}
      transform={`translate(${node.x} ${node.y})`}
      data-testid="map-node"
      data-node-id={node.id}
      // `#/network/node/<id>` brings the element marked with `data-node` into view (App.tsx).
      data-node={node.id}
      data-self={node.self}
      data-forger={node.forger}
      data-next={node.next}
      data-always-on={node.alwaysOn}
      data-name={name}
    >
      <title>{`${name} (${node.id}): ${marks.join(', ')}`}</title>
      <NodeShape node={node} />
      {node.forgerKey !== null ? (
        <g transform="translate(-10 -10)">
          <Identicon pem={node.forgerKey} size={20} />
        </g>
      ) : (
        <text className="map-node-initial" y={5}>
          {node.self ? '●' : '?'}
        </text>
      )}
      {tag ? (
        <text className="map-tag" y={-NODE_RADIUS - (node.next ? 14 : 7)}>
          {tag}
        </text>
      ) : null}
      <text className="map-label" y={NODE_RADIUS + (node.next ? 24 : 18)}>
        {labelText(label)}
      </text>
    </g>
  );
}

/** Where a hop's delay badge sits: right of the node that received it (a second arrival below the first). */
function badgeSpot(to: MapNode, nth: number): { readonly x: number; readonly y: number } {
  const clear = to.next ? 18 : to.forger ? 10 : 8;
  return { x: to.x + NODE_RADIUS + clear, y: to.y + 5 + nth * 16 };
}

/** The end of an edge from `from` to `to`, stopped at `to`'s edge (so the arrow head shows). */
function edgeEnd(from: MapNode, to: MapNode, gap: number): { readonly x: number; readonly y: number } {
  const dx = to.x - from.x;
  const dy = to.y - from.y;
  const length = Math.hypot(dx, dy) || 1;
  return { x: to.x - (dx / length) * gap, y: to.y - (dy / length) * gap };
}

/** One hop of the spread: the lit edge, the travelling dot while it runs, the delay once done. */
function HopGlyph({
  hop,
  from,
  to,
  state,
  nth,
}: {
  readonly hop: PropagationHop;
  readonly from: MapNode;
  readonly to: MapNode;
  readonly state: 'running' | 'done';
  /** How many earlier hops reached `to` (their badges sit above this one's). */
  readonly nth: number;
}) {
  const gap = NODE_RADIUS + (to.next ? 12 : to.forger ? 7 : 3);
  const start = edgeEnd(to, from, NODE_RADIUS + 2);
  const end = edgeEnd(from, to, gap);
  const badge = badgeSpot(to, nth);
  const travel = {
    '--x0': `${start.x}px`,
    '--y0': `${start.y}px`,
    '--x1': `${end.x}px`,
    '--y1': `${end.y}px`,
    '--hop-ms': `${HOP_ANIMATION_MS}ms`,
  } as CSSProperties;
  return (
    <g className={`map-hop map-hop-${state}`}>
      <line
        className="map-hop-edge"
        x1={start.x}
        y1={start.y}
        x2={end.x}
        y2={end.y}
        markerEnd="url(#map-arrow)"
      />
      {state === 'running' ? <circle className="map-dot" r={6} style={travel} /> : null}
      {state === 'done' ? (
        <text
          className="map-hop-label"
          x={badge.x}
          y={badge.y}
          data-testid="map-hop"
          data-delay-ms={hop.delayMs}
        >
          +{hop.delayMs} ms
        </text>
      ) : null}
    </g>
  );
}

/** The facts of the map as tables, for screen readers and for anyone who prefers words. */
function MapFacts({
  model,
  nameOf,
  latest,
  hops,
}: {
  readonly model: MapModel;
  readonly nameOf: (node: MapNode) => string;
  readonly latest: BlockPropagation | null;
  readonly hops: readonly PropagationHop[];
}) {
  const byId = new Map(model.nodes.map((node) => [node.id, node]));
  const label = (id: string) => {
    const node = byId.get(id);
    return node ? nameOf(node) : shortId(id);
  };
  return (
    <details className="map-facts">
      <summary>The map in words: nodes, links and the last block's journey</summary>
      <table data-testid="map-facts-nodes">
        <caption>Nodes ({model.nodes.length})</caption>
        <thead>
          <tr>
            <th scope="col">Node</th>
            <th scope="col">Id</th>
            <th scope="col">What it is</th>
          </tr>
        </thead>
        <tbody>
          {model.nodes.map((node) => (
            <tr key={node.id}>
              <td>
                {node.forgerKey !== null ? (
                  <a href={hrefFor({ page: 'account', fingerprint: fingerprint(node.forgerKey) })}>
                    {nameOf(node)}
                  </a>
                ) : (
                  nameOf(node)
                )}
              </td>
              <td>
                <code>{node.id}</code>
              </td>
              <td>{nodeMarks(node).join(', ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <table>
        <caption>Links ({model.links.length})</caption>
        <thead>
          <tr>
            <th scope="col">Between</th>
            <th scope="col">and</th>
          </tr>
        </thead>
        <tbody>
          {model.links.map((link) => (
            <tr key={`${link.a} ${link.b}`}>
              <td>{label(link.a)}</td>
              <td>{label(link.b)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {latest ? (
        <table data-testid="map-facts-hops">
          <caption>
            How block {latest.height} spread{latest.forgedBy ? `, from ${label(latest.forgedBy)}` : ''}
          </caption>
          <thead>
            <tr>
              <th scope="col">From</th>
              <th scope="col">To</th>
              <th scope="col" className="num">
                Hop delay
              </th>
              <th scope="col" className="num">
                Since forged
              </th>
            </tr>
          </thead>
          <tbody>
            {hops.map((hop) => (
              <tr key={`${hop.from} ${hop.to} ${hop.atMs}`}>
                <td>{label(hop.from)}</td>
                <td>{label(hop.to)}</td>
                <td className="num">{hop.delayMs} ms</td>
                <td className="num">{hop.atMs} ms</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p>No block has spread since this tab started.</p>
      )}
    </details>
  );
}

function Legend() {
  return (
    <ul className="map-legend" aria-label="Legend">
      <li>
        <svg viewBox="-12 -12 24 24" aria-hidden="true" focusable="false">
          <circle className="map-node-body" r={9} />
        </svg>
        a browser tab
      </li>
      <li>
        <svg viewBox="-12 -12 24 24" aria-hidden="true" focusable="false">
          <rect className="map-node-body" x={-9} y={-9} width={18} height={18} rx={2} />
        </svg>
        an always-on node
      </li>
      <li>
        <svg viewBox="-12 -12 24 24" aria-hidden="true" focusable="false">
          <circle className="map-forger-ring" r={10} />
          <circle className="map-node-body" r={7} />
        </svg>
        a forger (has stake)
      </li>
      <li>
        <svg viewBox="-12 -12 24 24" aria-hidden="true" focusable="false">
          <circle className="map-next-ring" r={10.5} />
          <circle className="map-node-body" r={6} />
        </svg>
        forges next (dashed ring)
      </li>
      <li>
        <svg viewBox="-12 -12 24 24" aria-hidden="true" focusable="false">
          <circle className="map-node-body map-legend-filled" r={9} />
        </svg>
        has the last block
      </li>
    </ul>
  );
}

/**
 * The network map: this tab, its peers and the nodes they named, with their links; the newest
 * block spreading hop by hop with each hop's measured delay. Positions come from `buildMapModel`.
 */
export function NetworkMap() {
  const snapshot = useSnapshot();
  const names = useAccountNames();
  const reduced = usePrefersReducedMotion();
  const model = useMemo(() => buildMapModel(snapshot), [snapshot]);
  const latest = snapshot.propagation[0] ?? null;
  const hops = useMemo(() => (latest ? hopsInOrder(latest) : []), [latest]);
  const { done, phase, replay } = useSpread(latest, hops, reduced);
  const id = useId();
  const byId = new Map(model.nodes.map((node) => [node.id, node]));
  const nameOf = (node: MapNode) => nodeName(node, names);

  // Held on screen, the spread shows every hop known, including trails announced after it ran.
  const shown = phase === 'faded' ? 0 : phase === 'holding' ? hops.length : done;
  const haveBlock = new Set<string>();
  if (latest && phase !== 'faded') {
    if (latest.forgedBy !== null) haveBlock.add(latest.forgedBy);
    for (const hop of hops.slice(0, shown)) haveBlock.add(hop.to);
  }
  const running = phase === 'playing' ? hops[done] : undefined;
  const reach = latest ? propagationReach(latest) : null;
  const description =
    model.nodes.length === 1
      ? 'Only this tab: no peers yet.'
      : `This tab in the centre, ${plural(model.nodes.filter((n) => n.ring === 1).length, 'direct peer')} around it and ${plural(model.nodes.filter((n) => n.ring === 2).length, 'node')} they named outside, with ${plural(model.links.length, 'link')}.`;

  const { viewBox } = model;
  return (
    <section className="card network-map-card" aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`}>Network map</h2>
      <figure className="network-map" data-testid="network-map" data-phase={phase}>
        {/* A crowded map keeps its text readable on a phone: it scrolls sideways instead of shrinking. */}
        <div className="map-scroll">
          <svg
            viewBox={`${viewBox.x} ${viewBox.y} ${viewBox.width} ${viewBox.height}`}
            role="img"
            aria-labelledby={`${id}-title ${id}-desc`}
            // biome-ignore lint/a11y/noNoninteractiveTabindex: focusable, so the keyboard can scroll a map wider than a phone
            tabIndex={0}
            style={{
              maxWidth: `${Math.round(viewBox.width * 1.15)}px`,
              minWidth: `${Math.round(Math.min(viewBox.width * 0.72, 420))}px`,
            }}
          >
            <title id={`${id}-title`}>Map of the network this tab knows</title>
            <desc id={`${id}-desc`}>
              {description}
              {latest && reach
                ? ` Last block ${latest.height} reached ${plural(reach.nodes, 'node')} in ${reach.ms} ms.`
                : ''}{' '}
              The table below the map lists the same facts.
            </desc>
            <defs>
              <marker
                id="map-arrow"
                viewBox="0 0 10 10"
                refX={9}
                refY={5}
                markerUnits="userSpaceOnUse"
                markerWidth={11}
                markerHeight={11}
                orient="auto-start-reverse"
              >
                <path className="map-arrow-head" d="M 0 0 L 10 5 L 0 10 z" />
              </marker>
            </defs>

            <g className="map-links">
              {model.links.map((link) => {
                const a = byId.get(link.a);
                const b = byId.get(link.b);
                if (!a || !b) return null;
                return <line key={`${link.a} ${link.b}`} x1={a.x} y1={a.y} x2={b.x} y2={b.y} />;
              })}
            </g>
            <g className="map-hops">
              {hops.map((hop, index) => {
                const nth = hops.slice(0, index).filter((earlier) => earlier.to === hop.to).length;
                const from = byId.get(hop.from);
                const to = byId.get(hop.to);
                if (!from || !to || phase === 'faded') return null;
                const state = index < shown ? 'done' : hop === running ? 'running' : null;
                if (state === null) return null;
                return (
                  <HopGlyph
                    // The index keeps a fresh element per run, so the dot's CSS animation starts over.
                    // biome-ignore lint/suspicious/noArrayIndexKey: hops are in atMs order, a stable list per block
                    key={`${index}-${state}`}
                    hop={hop}
                    from={from}
                    to={to}
                    state={state}
                    nth={nth}
                  />
                );
              })}
            </g>
            <g className="map-nodes">
              {model.nodes.map((node) => (
                <MapNodeGlyph
                  key={node.id}
                  node={node}
                  name={nameOf(node)}
                  label={nodeLabel(node, names)}
                  hasBlock={haveBlock.has(node.id)}
                />
              ))}
            </g>
          </svg>
        </div>
        <figcaption>
          {latest && reach ? (
            <span data-testid="map-last-block">
              Block {latest.height} reached {plural(reach.nodes, 'node')} in {reach.ms} ms
              {phase === 'playing' ? ' (spreading…)' : ''}.
            </span>
          ) : (
            <span className="muted">No block has spread since this tab started.</span>
          )}{' '}
          <button
            type="button"
            data-testid="map-replay"
            onClick={replay}
            disabled={!latest || hops.length === 0}
          >
            Replay the last block's spread
          </button>
        </figcaption>
        <Legend />
      </figure>
      <MapFacts model={model} nameOf={nameOf} latest={latest} hops={hops} />
    </section>
  );
}
