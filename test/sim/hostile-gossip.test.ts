// @vitest-environment jsdom
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type Block,
  blockHash,
  blockSigningBytes,
  createBlock,
  stateToJSON,
  type Transaction,
  transactionTimestamp,
  withBlockSignature,
} from '../../src/core';
import * as decode from '../../src/core/decode';
import type { KeyPair } from '../../src/crypto';
import { encodeMessage } from '../../src/node/protocol';
import { crypto, devnetKey, type Outsider, Simulation } from './harness';

// Every decodeBlock call, wherever it comes from (gossip or sync), is counted.
vi.mock('../../src/core/decode', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/core/decode')>();
  return { ...original, decodeBlock: vi.fn(original.decodeBlock) };
});

/**
 * Hostile peers against gossip and the pool, in the seeded simulation: h1 forges (genesis key),
 * h2 and h3 relay, all three connected. After each attack the honest nodes agree, their chain
 * holds exactly what honest users sent, the forger keeps forging, and the attacker has paid.
 */
describe('hostile gossip', () => {
  let sim: Simulation;
  let keys: { genesis: KeyPair; exchange: KeyPair; alice: KeyPair; bob: KeyPair };
  const honest = ['h1', 'h2', 'h3'];
  const events: { node: string; kind: string; message: string; peer?: string }[] = [];
  /** BLOCK messages delivered, by block signature. */
  const blockDeliveries = new Map<string, number>();

  beforeAll(async () => {
    keys = {
      genesis: await devnetKey('genesis'),
      exchange: await devnetKey('exchange'),
      alice: await crypto.generateKeyPair(),
      bob: await crypto.generateKeyPair(),
    };
    sim = new Simulation({
      seed: 91,
      nodeIds: honest,
      wallets: { h1: keys.genesis },
      // A small pool, so that a flood fills it; a short expiry, so that a flood expires in the test.
      limits: { poolMax: 60, poolPerSender: 30, poolTtlMs: 60_000 },
      log: (node, event) => events.push({ node, ...event }),
      trace: (event) => {
        if (event.kind !== 'message' || !event.data?.includes('"type":"BLOCK"')) return;
        const message = JSON.parse(event.data) as { block: { signature: string } };
        blockDeliveries.set(message.block.signature, (blockDeliveries.get(message.block.signature) ?? 0) + 1);
      },
    });
    await sim.start();
    await sim.runUntil(() => honest.every((id) => sim.node(id).getSnapshot().peers.length === 2));
    // alice holds 30 coins.
    for (let i = 1; i <= 3; i++) {
      const tx = await buy(keys.alice, 10);
      expect(await sim.node('h2').submitTransaction(tx)).toEqual({ ok: true });
      expect(await sim.runUntil(() => sim.converged() && height() === i)).toBe(true);
    }
  });
  afterAll(() => sim.stop());

  const height = () => sim.node('h1').getSnapshot().height;
  const buy = (buyer: KeyPair, amount: number) =>
    sim.sign(keys.exchange, { receiverPublicKey: buyer.publicKeyPem, amount, type: 'EXCHANGE' });
  /** What every honest node holds: head, pool and balances. */
  const fingerprint = () =>
    honest.map((id) => {
      const s = sim.node(id).getSnapshot();
      return JSON.stringify([
        s.height,
        s.headHash,
        s.pool.map((e) => e.transaction.id),
        stateToJSON(s.state),
      ]);
    });
  const bans = (peer: string) => events.filter((e) => e.kind === 'ban' && e.peer === peer);
  const penalties = (peer: string) => events.filter((e) => e.kind === 'penalty' && e.peer === peer);

  /** The honest forger still forges: a purchase sent to h3 lands on every node in the next block. */
  async function expectForging(): Promise<void> {
    const before = height();
    const tx = await buy(keys.bob, 1);
    expect(await sim.node('h3').submitTransaction(tx)).toEqual({ ok: true });
    expect(await sim.runUntil(() => honest.every((id) => sim.node(id).findTransaction(tx.id)), 30_000)).toBe(
      true,
    );
    expect(await sim.runUntil(() => sim.converged(honest), 30_000)).toBe(true);
    expect(height()).toBe(before + 1);
  }

  /** The honest nodes never penalized each other. */
  function expectHonestPeersClean(): void {
    expect(events.filter((e) => e.kind === 'penalty' && honest.includes(e.peer ?? ''))).toEqual([]);
  }

  /** A block on the honest head with one purchase, signed by the genesis key: what h1 would forge. */
  async function nextRealBlock(): Promise<{ block: Block; tx: Transaction }> {
    const state = sim.node('h2').getSnapshot().state;
    const tx = await buy(keys.bob, 2);
    const unsigned = createBlock(
      [tx],
      state.headHash,
      keys.genesis.publicKeyPem,
      state.height + 1,
      transactionTimestamp(sim.clock.now()),
    );
    const block = withBlockSignature(unsigned, await crypto.sign(keys.genesis, blockSigningBytes(unsigned)));
    return { block, tx };
  }

  it('(a) a decoy with the real block’s height and signature but another parent does not stop the real block', async () => {
    const { block: real } = await nextRealBlock();
    const decoy: Block = { ...real, lastHash: 'c'.repeat(64) };
    const attacker = await sim.outsider('decoy', ['h2']);
    // The real block reaches h2 only through an honest courier, after the decoy.
    const courier = await sim.outsider('courier', ['h2']);
    const before = fingerprint();
    attacker.send('h2', encodeMessage({ type: 'BLOCK', block: decoy }));
    await sim.runFor(1_000);
    expect(fingerprint()).toEqual(before);
    expect(bans('decoy').map((e) => e.message)).toEqual([
      expect.stringMatching(/block signature does not verify/),
    ]);

    courier.send('h2', encodeMessage({ type: 'BLOCK', block: real }));
    const realHash = blockHash(real);
    // h2 takes it and relays it: it lands everywhere, with no sync (only h2 ever had it).
    expect(
      await sim.runUntil(
        () => honest.every((id) => sim.node(id).getSnapshot().headHash === realHash),
        10_000,
      ),
    ).toBe(true);
    expect(penalties('courier')).toEqual([]);
    expectHonestPeersClean();
    await expectForging();
    await stopAll(attacker, courier);
  });

  it('(b) a key with no coins floods unaffordable transactions: honest ones still land, the flooder pays', async () => {
    const paupers = await Promise.all([1, 2, 3].map(() => crypto.generateKeyPair()));
    const flooder = await sim.outsider('flooder', ['h2']);
    const flood: Transaction[] = [];
    for (const pauper of paupers) {
      for (let i = 0; i < 30; i++) {
        flood.push(
          await sim.sign(pauper, { receiverPublicKey: keys.alice.publicKeyPem, amount: 5, type: 'TRANSFER' }),
        );
      }
    }
    const chainBefore = fingerprint().map((f) => JSON.parse(f).filter((_: unknown, i: number) => i !== 2));
    for (const transaction of flood) flooder.send('h2', encodeMessage({ type: 'TRANSACTION', transaction }));
    await sim.runFor(2_000);
    const floodIds = new Set(flood.map((t) => t.id));
    const pooled = (id: string) =>
      sim
        .node(id)
        .getSnapshot()
        .pool.filter((e) => floodIds.has(e.transaction.id));
    // h2 holds at most its pool's worth, every one uncovered; nothing was gossiped on.
    expect(sim.node('h2').getSnapshot().pool.length).toBeLessThanOrEqual(60);
    expect(pooled('h2').length).toBeGreaterThan(0);
    expect(pooled('h1')).toEqual([]);
    expect(pooled('h3')).toEqual([]);
    expect(fingerprint().map((f) => JSON.parse(f).filter((_: unknown, i: number) => i !== 2))).toEqual(
      chainBefore,
    );

    // Honest transfers from alice (covered) are taken at the flooded node, never POOL_FULL.
    const honestTxs: Transaction[] = [];
    for (let i = 0; i < 5; i++) {
      const tx = await sim.sign(keys.alice, {
        receiverPublicKey: keys.bob.publicKeyPem,
        amount: 1,
        type: 'TRANSFER',
      });
      honestTxs.push(tx);
      expect(await sim.node('h2').submitTransaction(tx)).toEqual({ ok: true });
    }
    expect(
      await sim.runUntil(
        () => honest.every((id) => honestTxs.every((tx) => sim.node(id).findTransaction(tx.id))),
        30_000,
      ),
    ).toBe(true);
    // The flooder lost score for every transaction of its that was pushed out never covered…
    expect(penalties('flooder').length).toBeGreaterThan(0);
    expect(penalties('flooder').every((e) => /never covered/.test(e.message))).toBe(true);
    // …and is dropped once the rest expire, uncovered.
    await sim.runFor(70_000);
    expect(bans('flooder').map((e) => e.message)).toEqual([expect.stringMatching(/never covered/)]);
    expect(pooled('h2')).toEqual([]);
    expect(flooder.transport.connectedPeers()).not.toContain('h2');
    for (const id of honest) {
      expect(sim.node(id).getSnapshot().state.balances.get(keys.alice.publicKeyPem)).toBe(25);
      for (const pauper of paupers)
        expect(sim.node(id).getSnapshot().state.balances.get(pauper.publicKeyPem)).toBeUndefined();
    }
    expectHonestPeersClean();
    await expectForging();
    await stopAll(flooder);
  });

  it('(c) a flood over the rate limit is penalized and banned; honest nodes are unaffected', async () => {
    const pinger = await sim.outsider('pinger', ['h2']);
    const before = fingerprint();
    for (let i = 0; i < 200; i++) pinger.send('h2', encodeMessage({ type: 'PING', nonce: i }));
    await sim.runFor(2_000);
    expect(fingerprint()).toEqual(before);
    expect(penalties('pinger').length).toBeGreaterThan(0);
    expect(penalties('pinger').every((e) => /PING over its rate limit/.test(e.message))).toBe(true);
    expect(bans('pinger')).toHaveLength(1);
    // Answered up to its burst, not beyond.
    const pongs = pinger.inbox.filter((m) => m.data.includes('"type":"PONG"')).length;
    expect(pongs).toBeGreaterThan(0);
    expect(pongs).toBeLessThan(200);
    expect(pinger.transport.connectedPeers()).not.toContain('h2');
    expectHonestPeersClean();
    await expectForging();
    await stopAll(pinger);
  });

  it('(d) a duplicate block is dropped before it is decoded', async () => {
    const decodeBlock = vi.mocked(decode.decodeBlock);
    const echo = await sim.outsider('echo', ['h2']);
    decodeBlock.mockClear();
    const before = height();
    await expectForging();
    const block = sim.node('h1').blockAt(before + 1);
    expect(block).toBeDefined();
    const signature = block?.signature ?? '';
    const decodesOf = () =>
      decodeBlock.mock.calls.filter(([raw]) => (raw as { signature?: string }).signature === signature)
        .length;
    await sim.runFor(2_000);
    // Every honest node but the forger decoded it once, though it came from every peer (the
    // forger to h2 and h3, each relaying to the other, h2 on to echo).
    expect(decodesOf()).toBe(2);
    expect(blockDeliveries.get(signature)).toBe(5);
    // More copies (from a peer that relays too eagerly) are not decoded at all.
    for (let i = 0; i < 5; i++) echo.send('h2', encodeMessage({ type: 'BLOCK', block: block as Block }));
    await sim.runFor(2_000);
    expect(decodesOf()).toBe(2);
    expect(penalties('echo')).toEqual([]);
    expect(sim.converged(honest)).toBe(true);
    await stopAll(echo);
  });

  it("(e) the reference client's purchase and spend posted back to back both land", async () => {
    const carol = await crypto.generateKeyPair();
    const purchase = await buy(carol, 20);
    const spend = await sim.sign(carol, {
      receiverPublicKey: keys.bob.publicKeyPem,
      amount: 5,
      type: 'TRANSFER',
    });
    expect(await sim.node('h3').submitTransaction(purchase)).toEqual({ ok: true });
    expect(await sim.node('h3').submitTransaction(spend)).toEqual({ ok: true });
    // The spend stays in h3's pool, not gossiped, until a block holds the purchase.
    let gossipedEarly = false;
    const landed = await sim.runUntil(() => {
      for (const id of ['h1', 'h2']) {
        const node = sim.node(id);
        if (
          !node.findTransaction(purchase.id) &&
          node.getSnapshot().pool.some((e) => e.transaction.id === spend.id)
        )
          gossipedEarly = true;
      }
      return honest.every((id) => sim.node(id).findTransaction(spend.id)) && sim.converged(honest);
    }, 30_000);
    expect(landed).toBe(true);
    expect(gossipedEarly).toBe(false);
    for (const id of honest) {
      const node = sim.node(id);
      expect(node.getSnapshot().state.balances.get(carol.publicKeyPem)).toBe(15);
      expect(node.findTransaction(spend.id)?.height).toBeGreaterThan(
        node.findTransaction(purchase.id)?.height ?? 0,
      );
    }
    expectHonestPeersClean();
  });

  /** Stops outsiders. */
  async function stopAll(...outsiders: Outsider[]): Promise<void> {
    for (const o of outsiders) await o.transport.stop();
    await sim.runFor(500);
  }
});
