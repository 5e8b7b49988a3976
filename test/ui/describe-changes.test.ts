import { describe, expect, it } from 'vitest';
import type { Block, Transaction } from '../../src/core/types';
import type { NodeSnapshot } from '../../src/node/node';
import { describeChanges, describeState } from '../../src/ui/network/describe-changes';
import { devnetConfig, devnetKeyPair, startNode } from './helpers';
import { hop, peerView, spread } from './map-fixtures';

const NAMES = new Map([
  ['GENESIS', 'devnet genesis'],
  ['STAKER', 'devnet staker'],
  ['ME', 'you'],
]);
const nameOf = (pem: string) => NAMES.get(pem) ?? `account ${pem.toLowerCase()}`;

function transaction(
  type: string,
  sender: string,
  receiver: string,
  amount: number,
  id: string,
): Transaction {
  return {
    senderPublicKey: sender,
    receiverPublicKey: receiver,
    amount,
    type,
    id,
    timestamp: 1,
    signature: 'sig',
  };
}

/** A block on top of `previous` (or on another head), forged by `forger`. */
function blockOn(
  previous: NodeSnapshot,
  forger: string,
  transactions: Transaction[],
  lastHash = previous.headHash,
): Block {
  return { ...previous.head, blockCount: previous.height + 1, lastHash, forger, transactions };
}

async function baseSnapshot(): Promise<NodeSnapshot> {
  const node = await startNode();
  return { ...node.getSnapshot(), nextForger: 'GENESIS' };
}

const texts = (previous: NodeSnapshot | null, next: NodeSnapshot) =>
  describeChanges(previous, next, nameOf).map((event) => `${event.kind}: ${event.text}`);

describe('describeChanges', () => {
  it('says nothing for the first snapshot or an unchanged one', async () => {
    const base = await baseSnapshot();
    expect(describeChanges(null, base, nameOf)).toEqual([]);
    expect(describeChanges(base, base, nameOf)).toEqual([]);
    expect(describeChanges(base, { ...base }, nameOf)).toEqual([]);
  });

  it('tells a forged block with its transactions, how far it spread, and who forges next', async () => {
    const base = await baseSnapshot();
    const txs = ['a', 'b', 'c'].map((id) => transaction('TRANSFER', 'ME', 'STAKER', 1, id));
    const head = blockOn(base, 'STAKER', txs);
    const next: NodeSnapshot = {
      ...base,
      height: 1,
      head,
      headHash: 'h1',
      nextForger: 'GENESIS',
      propagation: [
        spread([hop('tab-b', 'tab-a', 10, 10), hop('tab-a', 'tab-c', 25, 35), hop('tab-b', 'tab-d', 8, 8)], {
          hash: 'h1',
          forgedBy: 'tab-b',
        }),
      ],
    };
    expect(texts(base, next)).toEqual([
      'block: devnet staker forged block 1 with 3 transactions; it reached 3 tabs in 35 ms. Next to forge: devnet genesis.',
    ]);
    // Without a measured spread, and forged by this tab's own key.
    const mine = { ...next, propagation: [], wallet: { publicKeyPem: 'STAKER', extractable: false } };
    expect(texts({ ...base, wallet: mine.wallet }, mine)).toEqual([
      'block: This tab forged block 1 with 3 transactions. Next to forge: devnet genesis.',
    ]);
  });

  it("tells a block's journey when it is measured after the block", async () => {
    const base = await baseSnapshot();
    const head = blockOn(base, 'STAKER', []);
    const block = { ...base, height: 1, head, headHash: 'h1' };
    expect(texts(base, block)).toEqual([
      'block: devnet staker forged block 1 with 0 transactions. Next to forge: devnet genesis.',
    ]);
    const measured = {
      ...block,
      propagation: [
        spread([hop('a', 'b', 5, 5), hop('b', 'c', 7, 12)], { hash: 'h1', height: 1, forgedBy: 'a' }),
      ],
    };
    expect(texts(block, measured)).toEqual([
      'block: Block 1 reached 2 tabs in 12 ms, hop by hop (see the map).',
    ]);
    // Told once: more hops later are the map's to show.
    const more = {
      ...measured,
      propagation: [
        spread([hop('a', 'b', 5, 5), hop('b', 'c', 7, 12), hop('c', 'd', 3, 15)], {
          hash: 'h1',
          height: 1,
          forgedBy: 'a',
        }),
      ],
    };
    expect(texts(measured, more)).toEqual([]);
  });

  it('tells peers joining, leaving and being penalised', async () => {
    const base = await baseSnapshot();
    const two = { ...base, peers: [peerView('tab-one-123456789', 'STAKER'), peerView('node-2', null, true)] };
    expect(texts(base, two)).toEqual([
      'peer: A tab joined: peer tab-one-… (devnet staker) is now a peer of this tab.',
      'peer: An always-on node joined: peer node-2 is now a peer of this tab.',
    ]);
    const penalised = { ...two, peers: [{ ...(two.peers[0] as (typeof two.peers)[0]), score: -20 }] };
    expect(texts(two, penalised)).toEqual([
      'peer: peer node-2 left (its tab closed or went silent).',
      'penalty: peer tab-one-… (devnet staker) was penalised for sending something invalid or unasked for: its score fell from 0 to -20. At a low enough score it is dropped.',
    ]);
  });

  it('tells a sync starting and finishing', async () => {
    const base = await baseSnapshot();
    const syncing = {
      ...base,
      peers: [peerView('node-2', 'GENESIS', true)],
      sync: { peer: 'node-2', forkHeight: 0, targetHeight: 40, validatedHeight: 0 },
    };
    const before = { ...base, peers: syncing.peers };
    expect(texts(before, syncing)).toEqual([
      'sync: This tab is syncing 40 blocks from peer node-2 (devnet genesis): it checks each one before adopting them.',
    ]);
    const done = {
      ...syncing,
      sync: null,
      height: 40,
      headHash: 'h40',
      head: { ...base.head, blockCount: 40 },
    };
    expect(texts(syncing, done)).toEqual(['sync: Sync finished: this tab is at block 40.']);
  });

  it('tells blocks caught up at once, and a reorganisation', async () => {
    const base = await baseSnapshot();
    const at5 = { ...base, height: 5, headHash: 'h5', head: { ...base.head, blockCount: 5, lastHash: 'h4' } };
    expect(texts(base, at5)).toEqual(['sync: This tab caught up 5 blocks: it is now at block 5.']);
    // Another block 5 replaces ours.
    const other5 = { ...at5, headHash: 'h5-other', head: { ...at5.head, lastHash: 'h4-other' } };
    expect(texts(at5, other5)).toEqual([
      'reorg: The chain reorganised: this tab switched to another branch (now block 5, was 5). Blocks only on the old branch are dropped; their transactions go back to the pool.',
    ]);
    // Block 6 on top of another block 5 than ours.
    const on6 = { ...at5, height: 6, headHash: 'h6', head: blockOn(at5, 'GENESIS', [], 'h5-other') };
    expect(texts(at5, on6)[0]).toMatch(/^reorg: The chain reorganised: .*now block 6, was 5/);
    // A sync that forked below our head and ended longer.
    const forking = { ...at5, sync: { peer: 'p', forkHeight: 3, targetHeight: 9, validatedHeight: 9 } };
    const after = { ...forking, sync: null, height: 9, headHash: 'h9', head: { ...at5.head, blockCount: 9 } };
    expect(texts(forking, after)).toContain(
      'reorg: The chain reorganised: this tab switched to another branch (now block 9, was 5). Blocks only on the old branch are dropped; their transactions go back to the pool.',
    );
  });

  it('tells transactions entering the pool, new equivocations and a new key', async () => {
    const base = await baseSnapshot();
    const pooled = {
      ...base,
      pool: [
        { transaction: transaction('TRANSFER', 'ME', 'STAKER', 5, 't1'), receivedAt: 1 },
        { transaction: transaction('EXCHANGE', 'EXCH', 'ME', 50, 't2'), receivedAt: 1 },
      ],
    };
    expect(texts(base, pooled)).toEqual([
      'pool: you sent 5 coins to devnet staker: the transaction waits in the pool for the next block.',
      'pool: you bought 50 coins from the exchange: the transaction waits in the pool for the next block.',
    ]);
    const many = {
      ...base,
      pool: ['1', '2', '3', '4', '5'].map((id) => ({
        transaction: transaction('STAKE', 'ME', 'ME', 1, id),
        receivedAt: 1,
      })),
    };
    expect(texts(base, many)).toHaveLength(4);
    expect(texts(base, many)[0]).toBe(
      'pool: you staked 1 coin: the transaction waits in the pool for the next block.',
    );
    expect(texts(base, many)[3]).toBe('pool: …and 2 more transactions are waiting too.');

    const equivocation = { forger: 'STAKER', height: 3, keptHash: 'k', otherBlock: base.head, seenAt: 1 };
    const seen = { ...base, equivocations: [equivocation] };
    expect(texts(base, seen)).toEqual([
      'equivocation: devnet staker signed two different blocks at height 3: this tab keeps the first one it saw.',
    ]);
    expect(texts(seen, { ...seen, equivocations: [equivocation] })).toEqual([]);

    const keyed = { ...base, wallet: { publicKeyPem: 'GENESIS', extractable: true } };
    const genesis = devnetConfig().genesisPublicKey;
    expect(texts(base, keyed)).toEqual([
      'wallet: This tab now holds the key of devnet genesis: it can sign transactions.',
    ]);
    // The genesis key has stake: it forges too.
    const real = { ...base, wallet: { publicKeyPem: genesis, extractable: true } };
    expect(describeChanges(base, real)[0]?.text).toMatch(/it can sign transactions and forge\.$/);
    expect(texts(keyed, base)).toEqual(['wallet: This tab no longer holds a key.']);
  });

  it('tells the tab coming online', async () => {
    const node = await startNode({ wallet: await devnetKeyPair('genesis') });
    const online = node.getSnapshot();
    expect(online.phase).toBe('connected');
    expect(texts({ ...online, phase: 'ready' }, online)).toEqual([
      'network: This tab is online: other tabs can reach it now.',
    ]);
  });

  it('tells where things stand when the panel opens', async () => {
    const base = await baseSnapshot();
    expect(describeState(base, nameOf).text).toBe(
      'This tab is at block 0 with no peers yet. Next to forge: devnet genesis.',
    );
    const mine = { ...base, wallet: { publicKeyPem: 'GENESIS', extractable: true }, peers: [peerView('p')] };
    expect(describeState(mine, nameOf).text).toBe(
      'This tab is at block 0 with 1 peer. Next to forge: this tab.',
    );
  });
});
