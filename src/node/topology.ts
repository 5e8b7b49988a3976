import type { PeerId } from '../ports/transport';
import type { KnownNode, NetworkLink, NetworkTopology, PeerView } from './types';

/*
 * The network as this node knows it, for the network map: itself, its direct peers (what their
 * STATUS said), and the peers each direct peer lists in its DISCOVERY (a link from that peer to
 * each). A peer's list is forgotten when it leaves, and the map is bounded however many ids
 * peers list.
 */

/** Nodes on the map, at most (this node and its direct peers first). */
export const MAX_MAP_NODES = 256;
/** Links on the map, at most (this node's own first). */
export const MAX_MAP_LINKS = 1024;

/** This node, as the map shows it. */
export interface MapSelf {
  readonly id: PeerId;
  readonly forgerKey: string | null;
  readonly alwaysOn: boolean;
}

/** The peer lists of the connected peers. */
export class TopologyMap {
  private readonly listed = new Map<PeerId, readonly PeerId[]>();
  private built: NetworkTopology | null = null;
  /** What `built` was built from: this node's fields, then each direct peer's. */
  private builtFrom: readonly unknown[] = [];

  /** `peer` listed `ids` in its DISCOVERY (itself among them, as honest nodes do): they are its peers. */
  listedBy(peer: PeerId, ids: readonly PeerId[]): void {
    this.listed.set(
      peer,
      [...new Set(ids)].filter((id) => id !== peer),
    );
    this.built = null;
  }

  /** `peer` left: its links go with it. */
  forget(peer: PeerId): void {
    if (this.listed.delete(peer)) this.built = null;
  }

  /** The map from `self`, its connected `peers`, and their lists. */
  build(self: MapSelf, peers: readonly PeerView[]): NetworkTopology {
    // Snapshots are rebuilt on every change; the map only when what it shows changed.
    const from = [
      self.id,
      self.forgerKey,
      self.alwaysOn,
      ...peers.flatMap((p) => [p.id, p.forgerKey, p.alwaysOn]),
    ];
    if (
      this.built &&
      from.length === this.builtFrom.length &&
      from.every((part, i) => part === this.builtFrom[i])
    )
      return this.built;
    const nodes = new Map<PeerId, KnownNode>();
    nodes.set(self.id, { id: self.id, forgerKey: self.forgerKey, alwaysOn: self.alwaysOn, direct: false });
    for (const peer of peers)
      nodes.set(peer.id, { id: peer.id, forgerKey: peer.forgerKey, alwaysOn: peer.alwaysOn, direct: true });
    const links = new Map<string, NetworkLink>();
    const link = (x: PeerId, y: PeerId) => {
      if (x === y || links.size >= MAX_MAP_LINKS) return;
      const [a, b] = x < y ? [x, y] : [y, x];
      links.set(`${a} ${b}`, { a, b });
    };
    for (const peer of peers) link(self.id, peer.id);
    for (const peer of peers) {
      for (const id of this.listed.get(peer.id) ?? []) {
        if (!nodes.has(id)) {
          if (nodes.size >= MAX_MAP_NODES) continue;
          nodes.set(id, { id, forgerKey: null, alwaysOn: false, direct: false });
        }
        link(peer.id, id);
      }
    }
    this.built = { nodes: [...nodes.values()], links: [...links.values()] };
    this.builtFrom = from;
    return this.built;
  }
}
