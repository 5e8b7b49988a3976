import type { NodeSnapshot } from '../../node/node';
import { fingerprint, plural } from '../format';
import { propagationReach } from './map-model';

/*
 * "What is happening": the differences between two successive snapshots, told in plain words for
 * a class. Pure, so each case is tested without a DOM. The snapshot carries no log of why a peer's
 * score fell, so a penalty is told by its effect (the score), not by a reason it cannot know.
 */

/** One thing that happened, in words. */
export interface NetworkEvent {
  readonly kind:
    | 'block'
    | 'sync'
    | 'reorg'
    | 'peer'
    | 'penalty'
    | 'equivocation'
    | 'wallet'
    | 'pool'
    | 'network';
  readonly text: string;
}

/** How an account is called: its name where the page knows one, else its short fingerprint. */
export type AccountNamer = (publicKeyPem: string) => string;

/** The default namer: "account 1a2b3c4d". */
export const fingerprintNamer: AccountNamer = (pem) => `account ${fingerprint(pem, 8)}`;

function shortPeer(id: string): string {
  return id.length > 8 ? `${id.slice(0, 8)}…` : id;
}

/** What changed from `previous` to `next`, oldest first; nothing for the first snapshot. */
export function describeChanges(
  previous: NodeSnapshot | null,
  next: NodeSnapshot,
  nameOf: AccountNamer = fingerprintNamer,
): NetworkEvent[] {
  if (previous === null || previous === next) return [];
  const events: NetworkEvent[] = [];
  const peerName = (id: string, snapshot: NodeSnapshot) => {
    const key = snapshot.peers.find((p) => p.id === id)?.forgerKey ?? null;
    return key === null ? `peer ${shortPeer(id)}` : `peer ${shortPeer(id)} (${nameOf(key)})`;
  };

  if (previous.phase !== next.phase && next.phase === 'connected') {
    events.push({ kind: 'network', text: 'This tab is online: other tabs can reach it now.' });
  }
  if (previous.phase !== next.phase && next.phase === 'stopped') {
    events.push({ kind: 'network', text: 'This tab’s node stopped: it hears no peers now.' });
  }

  // Peers that came and went.
  const before = new Map(previous.peers.map((p) => [p.id, p]));
  const after = new Map(next.peers.map((p) => [p.id, p]));
  for (const peer of next.peers) {
    if (!before.has(peer.id)) {
      const what = peer.alwaysOn ? 'An always-on node' : 'A tab';
      events.push({
        kind: 'peer',
        text: `${what} joined: ${peerName(peer.id, next)} is now a peer of this tab.`,
      });
    }
  }
  for (const peer of previous.peers) {
    if (!after.has(peer.id)) {
      events.push({
        kind: 'peer',
        text: `${peerName(peer.id, previous)} left (its tab closed or went silent).`,
      });
    }
  }
  for (const peer of next.peers) {
    const old = before.get(peer.id);
    if (old && peer.score < old.score) {
      events.push({
        kind: 'penalty',
        text: `${peerName(peer.id, next)} was penalised for sending something invalid or unasked for: its score fell from ${old.score} to ${peer.score}. At a low enough score it is dropped.`,
      });
    }
  }

  if (!previous.sync && next.sync) {
    const blocks = next.sync.targetHeight - next.sync.forkHeight;
    events.push({
      kind: 'sync',
      text:
        blocks > 0
          ? `This tab is syncing ${plural(blocks, 'block')} from ${peerName(next.sync.peer, next)}: it checks each one before adopting them.`
          : `This tab is comparing its chain with ${peerName(next.sync.peer, next)}'s.`,
    });
  }
  if (previous.sync && !next.sync) {
    events.push({ kind: 'sync', text: `Sync finished: this tab is at block ${next.height}.` });
  }

  // The head: one new block on top of ours, several at once (a sync), or another branch (a reorg).
  if (previous.headHash !== next.headHash) {
    const extends1 = next.height === previous.height + 1 && next.head.lastHash === previous.headHash;
    if (extends1) {
      const block = next.head;
      const count = plural(block.transactions.length, 'transaction');
      const reach = next.propagation.find((p) => p.hash === next.headHash);
      const spread =
        reach && reach.hops.length > 0
          ? (() => {
              const { nodes, ms } = propagationReach(reach);
              return `; it reached ${plural(nodes, 'tab')} in ${ms} ms`;
            })()
          : '';
      const mine = next.wallet !== null && next.wallet.publicKeyPem === block.forger;
      events.push({
        kind: 'block',
        text: `${mine ? 'This tab' : nameOf(block.forger)} forged block ${block.blockCount} with ${count}${spread}. Next to forge: ${nameOf(next.nextForger)}.`,
      });
    } else {
      // A sync that forked below our head replaced blocks; so did a head at our height or lower,
      // or one block on top of another head than ours.
      const forkedBelow = (previous.sync ?? next.sync)?.forkHeight;
      const reorg =
        next.height <= previous.height ||
        next.height === previous.height + 1 ||
        (forkedBelow !== undefined && forkedBelow < previous.height);
      if (reorg) {
        events.push({
          kind: 'reorg',
          text: `The chain reorganised: this tab switched to another branch (now block ${next.height}, was ${previous.height}). Blocks only on the old branch are dropped; their transactions go back to the pool.`,
        });
      } else if (!previous.sync && !next.sync) {
        // (During a sync, its own start and finish tell it.)
        events.push({
          kind: 'sync',
          text: `This tab caught up ${plural(next.height - previous.height, 'block')}: it is now at block ${next.height}.`,
        });
      }
    }
  }

  // A block's journey measured after the block was told (trails announced later): told once, when
  // its first hops arrive. The newest first, as the snapshot keeps them; the head's own is told above.
  const toldWithBlock = events.some((event) => event.kind === 'block') ? next.headHash : null;
  const hadHops = new Set(previous.propagation.filter((p) => p.hops.length > 0).map((p) => p.hash));
  for (const journey of next.propagation) {
    if (journey.hops.length === 0 || hadHops.has(journey.hash) || journey.hash === toldWithBlock) continue;
    const { nodes, ms } = propagationReach(journey);
    events.push({
      kind: 'block',
      text: `Block ${journey.height} reached ${plural(nodes, 'tab')} in ${ms} ms, hop by hop (see the map).`,
    });
  }

  // New evidence of a forger signing two blocks at one height.
  const knownEquivocations = new Set(previous.equivocations.map((e) => `${e.forger} ${e.height}`));
  for (const e of next.equivocations) {
    if (!knownEquivocations.has(`${e.forger} ${e.height}`)) {
      events.push({
        kind: 'equivocation',
        text: `${nameOf(e.forger)} signed two different blocks at height ${e.height}: this tab keeps the first one it saw.`,
      });
    }
  }

  // Transactions that entered the pool (waiting for the next block).
  const pooled = new Set(previous.pool.map((entry) => entry.transaction.id));
  const arrived = next.pool.filter((entry) => !pooled.has(entry.transaction.id));
  for (const { transaction } of arrived.slice(0, 3)) {
    const coins = plural(transaction.amount, 'coin');
    const text =
      transaction.type === 'EXCHANGE'
        ? `${nameOf(transaction.receiverPublicKey)} bought ${coins} from the exchange`
        : transaction.type === 'STAKE'
          ? `${nameOf(transaction.senderPublicKey)} staked ${coins}`
          : `${nameOf(transaction.senderPublicKey)} sent ${coins} to ${nameOf(transaction.receiverPublicKey)}`;
    events.push({ kind: 'pool', text: `${text}: the transaction waits in the pool for the next block.` });
  }
  if (arrived.length > 3) {
    events.push({
      kind: 'pool',
      text: `…and ${plural(arrived.length - 3, 'more transaction')} are waiting too.`,
    });
  }

  if (previous.wallet?.publicKeyPem !== next.wallet?.publicKeyPem) {
    events.push({
      kind: 'wallet',
      text: next.wallet
        ? `This tab now holds the key of ${nameOf(next.wallet.publicKeyPem)}: it can sign transactions${next.state.stakes.get(next.wallet.publicKeyPem) ? ' and forge' : ''}.`
        : 'This tab no longer holds a key.',
    });
  }
  return events;
}

/** Where things stand, told once when the panel opens (the changes follow). */
export function describeState(snapshot: NodeSnapshot, nameOf: AccountNamer = fingerprintNamer): NetworkEvent {
  const peers = snapshot.peers.length === 0 ? 'no peers yet' : plural(snapshot.peers.length, 'peer');
  const next =
    snapshot.wallet !== null && snapshot.wallet.publicKeyPem === snapshot.nextForger
      ? 'this tab'
      : nameOf(snapshot.nextForger);
  return {
    kind: 'network',
    text: `This tab is at block ${snapshot.height} with ${peers}. Next to forge: ${next}.`,
  };
}
