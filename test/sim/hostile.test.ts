// @vitest-environment jsdom
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type Block,
  blockSigningBytes,
  createBlock,
  nextForgerOf,
  stateToJSON,
  transactionTimestamp,
  withBlockSignature,
} from '../../src/core';
import type { KeyPair } from '../../src/crypto';
import { encodeMessage, MAX_MESSAGE_CHARS } from '../../src/node/protocol';
import type { TransportHandlers } from '../../src/ports/transport';
import { crypto, devnetKey, Simulation } from './harness';

/**
 * A hostile peer joins a small honest network and tries, one attack per identity: malformed
 * JSON, an oversized message, a forged signature, a block by the wrong forger, a replayed
 * transaction, and a longer chain that is invalid. No honest node crashes or changes state,
 * every attacker ends dropped, and the honest peers keep their channels and scores.
 */
describe('a hostile peer', () => {
  let sim: Simulation;
  let keys: { genesis: KeyPair; exchange: KeyPair; alice: KeyPair };
  let attackers = 0;
  const events: { node: string; kind: string; message: string; peer?: string }[] = [];

  beforeAll(async () => {
    keys = {
      genesis: await devnetKey('genesis'),
      exchange: await devnetKey('exchange'),
      alice: await crypto.generateKeyPair(),
    };
    sim = new Simulation({
      seed: 11,
      nodeIds: ['h1', 'h2', 'h3'],
      wallets: { h1: keys.genesis },
      log: (node, event) => events.push({ node, ...event }),
    });
    await sim.start();
    await sim.runUntil(() => sim.node('h2').getSnapshot().peers.length === 2);
    for (let i = 1; i <= 3; i++) {
      const tx = await sim.sign(keys.exchange, {
        receiverPublicKey: keys.alice.publicKeyPem,
        amount: 10,
        type: 'EXCHANGE',
      });
      await sim.node('h2').submitTransaction(tx);
      await sim.runUntil(() => sim.converged() && sim.node('h2').getSnapshot().height === i);
    }
  });

  const honest = ['h1', 'h2', 'h3'];
  const fingerprint = () =>
    honest.map((id) => {
      const s = sim.node(id).getSnapshot();
      return JSON.stringify([s.height, s.headHash, s.pool.length, stateToJSON(s.state)]);
    });

  /** Connects a fresh attacker to h2, lets it act, and returns what it received. */
  async function attack(
    reason: RegExp,
    act: (send: (data: string) => void, inbox: string[]) => Promise<void> | void,
  ) {
    const id = `evil${attackers++}`;
    const inbox: string[] = [];
    const transport = sim.network.createTransport(id);
    const handlers: TransportHandlers = {
      onPeerConnected: () => {},
      onPeerDisconnected: () => {},
      onMessage: (_peer, data) => inbox.push(data),
    };
    await transport.start(handlers);
    transport.connect('h2');
    await sim.runUntil(() => transport.connectedPeers().includes('h2'));
    const before = fingerprint();
    await act((data) => transport.send('h2', data), inbox);
    await sim.runFor(30_000);
    expect(fingerprint()).toEqual(before);
    // Dropped for what it did, and never let back in.
    expect(events.filter((e) => e.kind === 'ban' && e.peer === id).map((e) => e.message)).toEqual([
      expect.stringMatching(reason),
    ]);
    expect(transport.connectedPeers()).not.toContain('h2');
    expect(
      sim
        .node('h2')
        .getSnapshot()
        .peers.map((p) => p.id),
    ).not.toContain(id);
    transport.connect('h2');
    await sim.runFor(5_000);
    expect(
      sim
        .node('h2')
        .getSnapshot()
        .peers.map((p) => p.id),
    ).not.toContain(id);
    await transport.stop();
  }

  it('malformed JSON', () => attack(/not JSON/, (send) => send('{"v": 1, "type": "BLOCK", "block": {')));

  it('an oversized message', () =>
    attack(/exceeds/, (send) => send(`"${'x'.repeat(MAX_MESSAGE_CHARS + 1)}"`)));

  it('a transaction with a forged signature', async () => {
    const tx = await sim.sign(keys.exchange, {
      receiverPublicKey: keys.alice.publicKeyPem,
      amount: 5,
      type: 'EXCHANGE',
    });
    await attack(/signature does not verify/, (send) =>
      send(encodeMessage({ type: 'TRANSACTION', transaction: { ...tx, amount: 500 } })),
    );
  });

  it('a block forged by a key that did not win the lottery', async () => {
    const head = sim.node('h2');
    const state = head.getSnapshot().state;
    const tx = await sim.sign(keys.exchange, {
      receiverPublicKey: keys.alice.publicKeyPem,
      amount: 5,
      type: 'EXCHANGE',
    });
    const unsigned = createBlock(
      [tx],
      state.headHash,
      keys.alice.publicKeyPem,
      state.height + 1,
      transactionTimestamp(sim.clock.now()),
    );
    const block = withBlockSignature(unsigned, await crypto.sign(keys.alice, blockSigningBytes(unsigned)));
    expect(nextForgerOf(state)).not.toBe(keys.alice.publicKeyPem);
    await attack(/did not win the lottery/, (send) => send(encodeMessage({ type: 'BLOCK', block })));
  });

  it('a replayed transaction changes nothing (and a longer invalid chain gets the sender dropped)', async () => {
    const replay = sim.node('h2').blockAt(1)?.transactions[0];
    expect(replay).toBeDefined();
    await attack(/invalid chain at block 4/, async (send, inbox) => {
      send(encodeMessage({ type: 'TRANSACTION', transaction: replay }));
      await sim.runFor(2_000);
      // Now claim a longer chain: the honest chain plus a block with a bad signature on top.
      const h2 = sim.node('h2');
      const state = h2.getSnapshot().state;
      const blocks: Block[] = h2.blocks(1, state.height);
      const tx = await sim.sign(keys.exchange, {
        receiverPublicKey: keys.alice.publicKeyPem,
        amount: 7,
        type: 'EXCHANGE',
      });
      const unsigned = createBlock(
        [tx],
        state.headHash,
        nextForgerOf(state),
        state.height + 1,
        transactionTimestamp(sim.clock.now()),
      );
      const forged = withBlockSignature(unsigned, 'ab'.repeat(256));
      const longer = [...blocks, forged, { ...forged, blockCount: forged.blockCount + 1 }];
      send(encodeMessage({ type: 'STATUS', height: longer.length, head: 'f'.repeat(64), forgerKey: null }));
      // Serve the sync requests from the fake chain.
      for (let round = 0; round < 5; round++) {
        await sim.runFor(500);
        for (const data of inbox.splice(0)) {
          const message = JSON.parse(data) as { type: string; from: number; count: number };
          if (message.type !== 'BLOCKCHAINREQUEST') continue;
          const slice = longer.slice(message.from - 1, message.from - 1 + message.count);
          send(
            encodeMessage({
              type: 'BLOCKCHAIN',
              from: message.from,
              blocks: slice,
              height: longer.length,
              head: 'f'.repeat(64),
            }),
          );
        }
      }
    });
  });

  it('leaves the honest peers connected with clean scores', async () => {
    expect(events.filter((e) => e.kind === 'penalty' && !e.peer?.startsWith('evil'))).toEqual([]);
    for (const id of honest) {
      const peers = sim
        .node(id)
        .getSnapshot()
        .peers.filter((p) => honest.includes(p.id));
      expect(peers).toHaveLength(2);
      expect(peers.every((p) => p.score === 0)).toBe(true);
    }
    expect(sim.converged()).toBe(true);
    await sim.stop();
  });
});

describe('a peer announcing endless peer ids', () => {
  it('cannot grow the list of peers to dial without bound', async () => {
    const sim = new Simulation({ seed: 12, nodeIds: ['honest'] });
    await sim.start();
    const transport = sim.network.createTransport('chatty');
    await transport.start({ onPeerConnected: () => {}, onPeerDisconnected: () => {}, onMessage: () => {} });
    transport.connect('honest');
    await sim.runUntil(() => transport.connectedPeers().includes('honest'));
    for (let round = 0; round < 20; round++) {
      const peers = Array.from({ length: 64 }, (_, i) => `fake-${round}-${i}`);
      transport.send('honest', encodeMessage({ type: 'DISCOVERY', peers }));
    }
    await sim.runFor(2_000);
    const known = new Set(sim.node('honest').knownPeerIds());
    expect(known.size).toBeLessThanOrEqual(256);
    // The newest announcements are kept, the oldest made-up ids were dropped.
    expect(known.has('fake-19-63')).toBe(true);
    expect(known.has('fake-0-0')).toBe(false);
    await transport.stop();
    await sim.stop();
  });
});
