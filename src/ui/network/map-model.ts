import type { NodeSnapshot } from '../../node/node';
import type { BlockPropagation, PropagationHop } from '../../node/types';
import type { PeerId } from '../../ports/transport';
import { pemDigest } from '../format';

/*
 * The network map's model: which nodes and links to draw and where, from the node's snapshot.
 * Pure, so the layout is tested without a DOM. The layout is deterministic and stable: this tab
 * in the centre, its direct peers on an inner ring, the nodes only its peers named on an outer
 * ring. Each node keeps a slot on its ring chosen from its id (or, outside, from the peer that
 * named it), so nodes coming and going move no one else unless two want the same slot.
 */

/** A node as the map draws it. */
export interface MapNode {
  readonly id: PeerId;
  /** The key it forges with, when known. */
  readonly forgerKey: string | null;
  readonly alwaysOn: boolean;
  /** 0: this tab; 1: a direct peer; 2: a node a peer named (or one a block's trail passed). */
  readonly ring: 0 | 1 | 2;
  readonly self: boolean;
  /** Its key has stake: it takes part in the forging lottery. */
  readonly forger: boolean;
  /** Its key is the one that must forge the next block. */
  readonly next: boolean;
  readonly x: number;
  readonly y: number;
}

/** A link between two drawn nodes. */
export interface MapLink {
  readonly a: PeerId;
  readonly b: PeerId;
}

/** The drawn map: nodes with positions, links, and the box that holds them (with room for labels). */
export interface MapModel {
  readonly nodes: readonly MapNode[];
  readonly links: readonly MapLink[];
  readonly viewBox: {
    readonly x: number;
    readonly y: number;
    readonly width: number;
    readonly height: number;
  };
}

/** Ring radii (SVG user units). */
export const INNER_RADIUS = 120;
export const OUTER_RADIUS = 220;
/** A node's radius. */
export const NODE_RADIUS = 18;
/** Room around the outermost nodes for their labels. */
const MARGIN_X = 70;
/** Right of a node there may be a hop's delay badge ("+123 ms") as well as half a label. */
const MARGIN_RIGHT = 100;
const MARGIN_TOP = 44;
const MARGIN_BOTTOM = 56;

/** The id the map gives this tab before the transport has given it one. */
export const SELF_PLACEHOLDER_ID = '(this tab)';

/** Slots on a ring: at least `minimum`, grown in steps of `minimum` (so a slot count rarely changes). */
function slotCount(count: number, minimum: number): number {
  return Math.max(minimum, Math.ceil(count / minimum) * minimum);
}

/** A stable number from an id (its SHA-256, as the identicons use). */
function idNumber(id: string): number {
  return Number.parseInt(pemDigest(id).slice(0, 8), 16);
}

/** The angle of slot `slot` of `slots`, starting at the top and going clockwise. */
function slotAngle(slot: number, slots: number): number {
  return -Math.PI / 2 + (2 * Math.PI * slot) / slots;
}

/** The free slot nearest `preferred`, trying preferred, +1, -1, +2, -2, … */
function nearestFree(preferred: number, slots: number, taken: Set<number>): number {
  for (let step = 0; step < slots; step++) {
    const offset = step % 2 === 0 ? step / 2 : -(step + 1) / 2;
    const slot = (((preferred + offset) % slots) + slots) % slots;
    if (!taken.has(slot)) return slot;
  }
  return preferred;
}

interface Placed {
  readonly angle: number;
}

/**
 * Places `ids` on a ring of `slots` slots. `preferredAngle` gives a node's wish (the angle of the
 * peer that named it); else its id picks the slot. Ids are placed in sorted order.
 */
function placeOnRing(
  ids: readonly PeerId[],
  slots: number,
  preferredAngle: (id: PeerId) => number | null,
): Map<PeerId, Placed> {
  const taken = new Set<number>();
  const placed = new Map<PeerId, Placed>();
  for (const id of [...ids].sort()) {
    const wish = preferredAngle(id);
    const preferred =
      wish === null
        ? idNumber(id) % slots
        : Math.round((((wish + Math.PI / 2) / (2 * Math.PI)) * slots + slots) % slots) % slots;
    const slot = nearestFree(preferred, slots, taken);
    taken.add(slot);
    placed.set(id, { angle: slotAngle(slot, slots) });
  }
  return placed;
}

interface Draft {
  id: PeerId;
  forgerKey: string | null;
  alwaysOn: boolean;
  ring: 0 | 1 | 2;
}

const linkKey = (a: string, b: string) => (a < b ? `${a}\n${b}` : `${b}\n${a}`);

/** The map of `snapshot`: this tab, its peers, the nodes they named, and every node a recent block passed. */
export function buildMapModel(snapshot: NodeSnapshot): MapModel {
  const selfId = snapshot.nodeId || SELF_PLACEHOLDER_ID;
  const drafts = new Map<PeerId, Draft>();
  drafts.set(selfId, {
    id: selfId,
    forgerKey: snapshot.wallet?.publicKeyPem ?? null,
    alwaysOn: snapshot.alwaysOn,
    ring: 0,
  });
  // Connected peers are direct even before the topology lists them (it may lag, or be empty).
  for (const peer of snapshot.peers) {
    if (peer.id === selfId) continue;
    drafts.set(peer.id, { id: peer.id, forgerKey: peer.forgerKey, alwaysOn: peer.alwaysOn, ring: 1 });
  }
  for (const known of snapshot.topology.nodes) {
    if (known.id === selfId) {
      const self = drafts.get(selfId) as Draft;
      self.forgerKey ??= known.forgerKey;
      continue;
    }
    const existing = drafts.get(known.id);
    if (existing) {
      existing.forgerKey ??= known.forgerKey;
      existing.alwaysOn ||= known.alwaysOn;
      if (known.direct) existing.ring = 1;
    } else {
      drafts.set(known.id, {
        id: known.id,
        forgerKey: known.forgerKey,
        alwaysOn: known.alwaysOn,
        ring: known.direct ? 1 : 2,
      });
    }
  }
  // A block's trail may pass nodes this tab has not heard of otherwise.
  const latest = snapshot.propagation[0];
  if (latest) {
    for (const id of trailNodes(latest)) {
      if (!drafts.has(id)) drafts.set(id, { id, forgerKey: null, alwaysOn: false, ring: 2 });
    }
  }

  const links = new Map<string, MapLink>();
  const addLink = (a: PeerId, b: PeerId) => {
    if (a === b || !drafts.has(a) || !drafts.has(b)) return;
    links.set(linkKey(a, b), a < b ? { a, b } : { a: b, b: a });
  };
  for (const draft of drafts.values()) if (draft.ring === 1) addLink(selfId, draft.id);
  for (const link of snapshot.topology.links) addLink(link.a, link.b);

  const inner = [...drafts.values()].filter((d) => d.ring === 1).map((d) => d.id);
  const outer = [...drafts.values()].filter((d) => d.ring === 2).map((d) => d.id);
  const innerPlaced = placeOnRing(inner, slotCount(inner.length, 6), () => null);
  // An outer node sits beside the first (by id) direct peer it is linked to.
  const namedBy = new Map<PeerId, PeerId>();
  for (const link of [...links.values()].sort((x, y) => linkKey(x.a, x.b).localeCompare(linkKey(y.a, y.b)))) {
    for (const [from, to] of [
      [link.a, link.b],
      [link.b, link.a],
    ] as const) {
      if (innerPlaced.has(from) && outer.includes(to) && !namedBy.has(to)) namedBy.set(to, from);
    }
  }
  const outerPlaced = placeOnRing(outer, slotCount(outer.length, 12), (id) => {
    const peer = namedBy.get(id);
    return peer === undefined ? null : (innerPlaced.get(peer)?.angle ?? null);
  });

  const stakeOf = (key: string | null) => (key === null ? 0 : (snapshot.state.stakes.get(key) ?? 0));
  const nodes: MapNode[] = [...drafts.values()].map((draft) => {
    const placed = draft.ring === 1 ? innerPlaced.get(draft.id) : outerPlaced.get(draft.id);
    const radius = draft.ring === 0 ? 0 : draft.ring === 1 ? INNER_RADIUS : OUTER_RADIUS;
    const angle = placed?.angle ?? 0;
    return {
      id: draft.id,
      forgerKey: draft.forgerKey,
      alwaysOn: draft.alwaysOn,
      ring: draft.ring,
      self: draft.ring === 0,
      forger: stakeOf(draft.forgerKey) > 0,
      next: draft.forgerKey !== null && draft.forgerKey === snapshot.nextForger,
      x: round(radius * Math.cos(angle)),
      y: round(radius * Math.sin(angle)),
    };
  });
  nodes.sort((x, y) => x.ring - y.ring || x.id.localeCompare(y.id));

  // The box fits the nodes drawn (not the whole rings), so a small network is drawn large on a
  // phone; the margins leave room for labels below, tags above and delay badges on the right.
  const xs = nodes.map((n) => n.x);
  const ys = nodes.map((n) => n.y);
  const left = Math.min(...xs) - MARGIN_X;
  const top = Math.min(...ys) - MARGIN_TOP;
  const viewBox = {
    x: left,
    y: top,
    width: Math.max(...xs) + MARGIN_RIGHT - left,
    height: Math.max(...ys) + MARGIN_BOTTOM - top,
  };
  return { nodes, links: [...links.values()], viewBox };
}

const round = (value: number) => Math.round(value * 10) / 10;

/** Every node on a block's trail: its forging node and each hop's ends. */
export function trailNodes(propagation: BlockPropagation): PeerId[] {
  const ids = new Set<PeerId>();
  if (propagation.forgedBy !== null) ids.add(propagation.forgedBy);
  for (const hop of propagation.hops) {
    ids.add(hop.from);
    ids.add(hop.to);
  }
  return [...ids];
}

/** A block's hops in the order they happened (`atMs`; ties keep the node's order). */
export function hopsInOrder(propagation: BlockPropagation): PropagationHop[] {
  return propagation.hops
    .map((hop, index) => ({ hop, index }))
    .sort((x, y) => x.hop.atMs - y.hop.atMs || x.index - y.index)
    .map(({ hop }) => hop);
}

/** How far a block went: the nodes it reached (its forger's not counted) and the time the last one had it. */
export function propagationReach(propagation: BlockPropagation): {
  readonly nodes: number;
  readonly ms: number;
} {
  const reached = new Set(propagation.hops.map((hop) => hop.to));
  if (propagation.forgedBy !== null) reached.delete(propagation.forgedBy);
  const ms = propagation.hops.reduce((max, hop) => Math.max(max, hop.atMs), 0);
  return { nodes: reached.size, ms };
}
