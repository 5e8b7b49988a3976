/**
 * What keeps two networks' stored data apart in one browser. A tab keys its node databases, its
 * node registry and its "last node" by the network it runs (`networkIdOf(genesis config)`, which
 * the profile and the genesis key make), so a browser that ran a reference devnet and then a
 * resilient one never restores one chain into the other, nor lists the other's nodes.
 */

const NETWORK_ID = /^[0-9a-f]{64}$/;

/** Hex digits of the network id that name a network's stored data (64 bits: no two networks of one browser meet). */
export const NETWORK_TAG_LENGTH = 16;

/**
 * The short tag that names `networkId`'s stored data: its first 16 hex digits. Throws on
 * anything but a network id (64 lower-case hex digits): the id comes from the genesis config,
 * which is trusted input, so a bad one is a bug.
 */
export function networkTag(networkId: string): string {
  if (!NETWORK_ID.test(networkId))
    throw new RangeError(
      `a network id is 64 lower-case hex digits (networkIdOf), not ${JSON.stringify(networkId)}`,
    );
  return networkId.slice(0, NETWORK_TAG_LENGTH);
}

/**
 * A node database without a network is named this prefix plus the node id: the layout before
 * networks had ids, which a tab keeps for reference-profile networks so that no chain saved
 * before profiles existed is lost (src/main.tsx); other profiles name their network.
 */
export const DATABASE_PREFIX = 'tabchain-node-';

/**
 * The prefix of the node databases of network `networkId` (`tabchain-net-<tag>-node-`), or the
 * network-less `DATABASE_PREFIX`. No prefix is a prefix of another's names, so each network
 * lists only its own databases.
 */
export function databasePrefix(networkId?: string): string {
  return networkId === undefined ? DATABASE_PREFIX : `tabchain-net-${networkTag(networkId)}-node-`;
}

/** The database name for a node id, on network `networkId` (see `databasePrefix`). */
export function databaseName(nodeId: string, networkId?: string): string {
  return `${databasePrefix(networkId)}${nodeId}`;
}
