// @vitest-environment jsdom
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { buildSignedChain } from '../../bench/chain';
import {
  type Block,
  blockHash,
  blockSigningBytes,
  createBlock,
  GENESIS_BLOCK,
  stateToJSON,
  type Transaction,
  withBlockSignature,
} from '../../src/core';
import { type NodeLogEvent, TabchainNode } from '../../src/node/node';
import { encodeMessage } from '../../src/node/protocol';
import type { Store } from '../../src/ports/store';
import { openIndexedDbStore } from '../../src/storage';
import { crypto, devnetGenesis, devnetKey, Simulation } from '../sim/harness';

/**
 * A node on an IndexedDB store (fake-indexeddb here; real Chromium in e2e) comes back after a
 * "reload" with the same head, balances, stakes, pool and wallet, without re-verifying the chain.
 */
describe('a node restored from its store', () => {
  it('has the same head, balances, pool and wallet after a restart', async () => {
    const genesis = await devnetKey('genesis');
    const exchange = await devnetKey('exchange');
    const mine = await crypto.generateKeyPair({ extractable: false });
    const sim = new Simulation({ seed: 5, nodeIds: ['forger'], wallets: { forger: genesis } });
    const tab = sim.addNode('tab', undefined, { store: await openIndexedDbStore('tab') });
    await sim.start();
    await tab.setWallet(mine);
    await sim.runUntil(() => tab.getSnapshot().peers.length === 1);
    for (let i = 1; i <= 3; i++) {
      const tx = await sim.sign(exchange, {
        receiverPublicKey: mine.publicKeyPem,
        amount: 10 * i,
        type: 'EXCHANGE',
      });
      await tab.submitTransaction(tx);
      await sim.runUntil(() => tab.getSnapshot().height === i);
    }
    // The forger goes away: a transfer now waits in the pool.
    await sim.node('forger').stop();
    await sim.runFor(1_000);
    const pending = await sim.sign(mine, {
      receiverPublicKey: genesis.publicKeyPem,
      amount: 5,
      type: 'TRANSFER',
    });
    expect(await tab.submitTransaction(pending)).toEqual({ ok: true });
    const before = tab.getSnapshot();
    expect(before.pool.map((e) => e.transaction.id)).toEqual([pending.id]);
    await tab.stop();

    const reloaded = sim.addNode('tab-reloaded', undefined, { store: await openIndexedDbStore('tab') });
    await reloaded.start();
    await reloaded.whenRestored();
    const after = reloaded.getSnapshot();
    expect(after.height).toBe(3);
    expect(after.headHash).toBe(before.headHash);
    expect(stateToJSON(after.state)).toEqual(stateToJSON(before.state));
    expect(after.state.balances.get(mine.publicKeyPem)).toBe(60);
    expect(after.pool.map((e) => e.transaction)).toEqual([pending]);
    expect(after.wallet).toEqual({ publicKeyPem: mine.publicKeyPem, extractable: false });
    // Replay protection survives too: the restored head knows every transaction id.
    expect(after.state.txIds.size).toBe(3);
    expect(reloaded.findTransaction(reloaded.blockAt(2)?.transactions[0]?.id ?? '')?.height).toBe(2);
    // The restored (non-extractable) key still signs what its public key verifies.
    const message = new TextEncoder().encode('still mine');
    const restoredKey = reloaded.walletKeyPair();
    if (!restoredKey) throw new Error('the wallet was not restored');
    expect(restoredKey.privateKey).not.toBe(mine.privateKey);
    expect(await crypto.verify(mine.publicKeyPem, message, await crypto.sign(restoredKey, message))).toBe(
      true,
    );
    await reloaded.stop();
    await sim.stop();
  });

  it('a long chain restores from its recent blocks; older ones come from the store for the API, export and peers', async () => {
    const chain = await buildSignedChain(400, 1);
    const sim = new Simulation({ seed: 9, nodeIds: [] });
    const first = sim.addNode('first', undefined, { store: await openIndexedDbStore('long') });
    await first.start();
    expect((await first.importChain([{ ...GENESIS_BLOCK }, ...chain])).adopted).toBe(true);
    const before = first.getSnapshot();
    await first.stop();

    const tab = sim.addNode('tab', undefined, { store: await openIndexedDbStore('long') });
    await tab.start();
    await tab.whenRestored();
    const after = tab.getSnapshot();
    expect(after.height).toBe(400);
    expect(after.headHash).toBe(before.headHash);
    expect(stateToJSON(after.state)).toEqual(stateToJSON(before.state));
    expect(after.state.txIds.size).toBe(chain.reduce((n, block) => n + block.transactions.length, 0));
    // Old blocks are not held: the checkpoint at 256 is the base, so 257..400 are.
    expect(tab.blockAt(256)).toBeUndefined();
    expect(tab.blockAt(257)).toEqual(chain[256]);
    // ...but every read that may reach the store finds them.
    expect(await tab.readBlocks(1, 400)).toEqual(chain);
    expect(await tab.readBlock(5)).toEqual({ block: chain[4], hash: tab.hashAt(5) });
    const old = chain[9]?.transactions[0];
    expect(await tab.readTransaction(old?.id ?? '')).toEqual({ transaction: old, height: 10 });
    expect((await tab.exportChain()).blocks).toEqual([GENESIS_BLOCK, ...chain]);
    // The lottery of an old block: its state comes from a checkpoint and the store, and it names
    // the forger the chain holds next.
    const lottery = await tab.readLottery(99);
    expect(lottery.state.height).toBe(99);
    expect(lottery.result?.forger).toBe(chain[99]?.forger);
    expect(stateToJSON((await first.readLottery(99)).state)).toEqual(stateToJSON(lottery.state));
    // A fresh peer syncs the whole chain from it (BLOCKCHAINREQUESTs for old heights).
    const peer = sim.addNode('peer');
    await sim.start(['peer']);
    await sim.runUntil(() => peer.getSnapshot().height === 400);
    expect(peer.getSnapshot().headHash).toBe(before.headHash);
    await sim.stop();
  }, 60_000);

  it('a block replaying an old transaction is refused, even when it arrives while the old ids are still loading', async () => {
    const chain = await buildSignedChain(400, 1);
    const sim = new Simulation({ seed: 11, nodeIds: [] });
    const first = sim.addNode('first', undefined, { store: await openIndexedDbStore('replay') });
    await first.start();
    expect((await first.importChain([{ ...GENESIS_BLOCK }, ...chain])).adopted).toBe(true);
    await first.stop();

    // The reloaded tab's index read (old hashes and ids) is held until the test lets it go.
    const inner = await openIndexedDbStore('replay');
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const store: Store = {
      ...inner,
      readChainIndex: async (to) => {
        await gate;
        return inner.readChainIndex(to);
      },
    };
    // Built outside the simulation's node list: the simulation settles on every listed node's
    // queue, and this one's waits on the gate.
    const events: NodeLogEvent[] = [];
    const tab = new TabchainNode({
      genesis: devnetGenesis(),
      transport: sim.network.createTransport('tab'),
      crypto,
      store,
      clock: sim.clock,
      random: () => 0.5,
      wallet: null,
      log: (event) => events.push(event),
    });
    await tab.start();
    const head = tab.getSnapshot();
    expect(head.height).toBe(400);
    // Block 10's transfer: valid again by balance, below the held window (257..400), and not
    // yet among the head's ids.
    const old = chain[9]?.transactions[0] as Transaction;
    expect(head.state.txIds.has(old.id)).toBe(false);
    const genesisKey = await devnetKey('genesis');
    const blockOn = async (transactions: Transaction[]): Promise<Block> => {
      const unsigned = createBlock(
        transactions,
        head.headHash,
        genesisKey.publicKeyPem,
        401,
        1795670518.5 + 401,
      );
      return withBlockSignature(unsigned, await crypto.sign(genesisKey, blockSigningBytes(unsigned)));
    };
    const courier = await sim.outsider('courier', ['tab']);
    courier.send('tab', encodeMessage({ type: 'BLOCK', block: await blockOn([old]) }));
    await sim.runFor(1_000);
    // Delivered, and waiting in the queue behind the index load: nothing judged yet.
    expect(tab.isBusy()).toBe(true);
    expect(tab.getSnapshot().height).toBe(400);
    expect(events).toEqual([]);
    release();
    await tab.whenRestored();
    await sim.runFor(1_000);
    await tab.whenIdle();
    // The replay check had every id when the block was validated: refused.
    expect(tab.getSnapshot().headHash).toBe(head.headHash);
    expect(tab.getSnapshot().state.txIds.has(old.id)).toBe(true);
    expect(events).toContainEqual(
      expect.objectContaining({
        kind: 'penalty',
        peer: 'courier',
        message: expect.stringMatching(/already in the chain/),
      }),
    );
    // The same block with a fresh transaction is taken: only the replay was wrong.
    const exchange = await devnetKey('exchange');
    const fresh = await sim.sign(exchange, {
      receiverPublicKey: genesisKey.publicKeyPem,
      amount: 5,
      type: 'EXCHANGE',
    });
    const good = await blockOn([fresh]);
    // (From another peer: the first one was penalised for the replay.)
    const honest = await sim.outsider('honest', ['tab']);
    honest.send('tab', encodeMessage({ type: 'BLOCK', block: good }));
    await sim.runFor(1_000);
    await tab.whenIdle();
    expect(tab.getSnapshot().headHash).toBe(blockHash(good));
    await tab.stop();
    await sim.stop();
  }, 60_000);
});
