// @vitest-environment jsdom
import { describe, expect, it } from 'vitest';
import { networkIdOf } from '../../src/core';
import type { NodeLogEvent } from '../../src/node/node';
import { decodeMessage } from '../../src/node/protocol';
import { devnetGenesis, devnetKey, resilientGenesis, Simulation } from './harness';

/**
 * Profiles and genesis configs never mix: nodes of two networks that meet are refused at the
 * handshake (the STATUS each sends first names its network and profile), each side says why,
 * and they never sync, gossip or connect again.
 */

type Logged = NodeLogEvent & { node: string };

describe('the handshake', () => {
  it('a reference node and a resilient node refuse each other, with a clear notice on both sides', async () => {
    const events: Logged[] = [];
    const sim = new Simulation({
      seed: 31,
      nodeIds: [],
      log: (node, event) => events.push({ node, ...event }),
    });
    const genesis = await devnetKey('genesis');
    const exchange = await devnetKey('exchange');
    const reference = sim.addNode('ref', genesis, { genesis: devnetGenesis() });
    const resilient = sim.addNode('res', genesis, { genesis: resilientGenesis() });
    await sim.start();
    await sim.runUntil(
      () => reference.getSnapshot().notices.length > 0 && resilient.getSnapshot().notices.length > 0,
      10_000,
    );
    expect(reference.getSnapshot().notices).toContain(
      'refused peer res: it runs the resilient profile on another network; this node runs reference',
    );
    expect(resilient.getSnapshot().notices).toContain(
      'refused peer ref: it runs the reference profile on another network; this node runs resilient',
    );
    // Each side's own block and transaction stay on its own chain, and they never reconnect.
    const tx = await sim.sign(exchange, {
      receiverPublicKey: genesis.publicKeyPem,
      amount: 5,
      type: 'EXCHANGE',
    });
    expect(await reference.submitTransaction(tx)).toEqual({ ok: true });
    await sim.runFor(30_000);
    expect(reference.getSnapshot().height).toBe(1);
    expect(resilient.getSnapshot().height).toBe(0);
    expect(resilient.getSnapshot().pool).toEqual([]);
    expect(reference.getSnapshot().peers).toEqual([]);
    expect(resilient.getSnapshot().peers).toEqual([]);
    // No blame: refused is not banned, and nothing was penalized.
    expect(events.filter((e) => e.kind === 'penalty' || e.kind === 'ban')).toEqual([]);
    expect(events.filter((e) => e.kind === 'sync')).toEqual([]);
    await sim.stop();
  });

  it('two resilient networks with different genesis keys refuse each other, and a REFUSED says why', async () => {
    const sim = new Simulation({ seed: 32, nodeIds: [], genesis: resilientGenesis() });
    const staker = await devnetKey('staker');
    const other = { profile: 'resilient' as const, genesisPublicKey: staker.publicKeyPem };
    expect(networkIdOf(other)).not.toBe(networkIdOf(resilientGenesis()));
    const a = sim.addNode('a');
    const b = sim.addNode('b', undefined, { genesis: other });
    await sim.start();
    await sim.runUntil(
      () => a.getSnapshot().notices.length > 0 && b.getSnapshot().notices.length > 0,
      10_000,
    );
    const genesisNotice = (node: string) =>
      `refused peer ${node}: it runs another genesis config (genesis key or stake cap) of the resilient profile; this node's network is `;
    expect(a.getSnapshot().notices.some((n) => n.startsWith(genesisNotice('b')))).toBe(true);
    expect(b.getSnapshot().notices.some((n) => n.startsWith(genesisNotice('a')))).toBe(true);
    await sim.runFor(20_000);
    expect(a.getSnapshot().peers).toEqual([]);
    expect(b.getSnapshot().peers).toEqual([]);
    await sim.stop();
  });

  it('a peer told REFUSED by the other side drops it and says so, even if it saw nothing wrong', async () => {
    const sim = new Simulation({ seed: 33, nodeIds: ['a'], genesis: resilientGenesis() });
    await sim.start();
    const outsider = await sim.outsider('stranger', ['a']);
    const reason = 'it runs the reference profile on network 0123456789ab…, not this node’s';
    outsider.send('a', JSON.stringify({ v: 2, type: 'REFUSED', reason }));
    await sim.runFor(3_000);
    const a = sim.node('a').getSnapshot();
    expect(a.notices).toContain(`peer stranger refused this node: ${reason}`);
    expect(a.peers.map((p) => p.id)).not.toContain('stranger');
    // And a node that sees another network's STATUS answers with one REFUSED, then closes.
    const second = await sim.outsider('other-net', ['a']);
    second.send(
      'a',
      JSON.stringify({
        v: 2,
        type: 'STATUS',
        height: 0,
        head: 'a'.repeat(64),
        forgerKey: null,
        network: 'b'.repeat(64),
        profile: 'reference',
      }),
    );
    await sim.runFor(3_000);
    const refusals = second.inbox
      .map((m) => decodeMessage(m.data))
      .filter((m) => m.ok && m.value.type === 'REFUSED')
      .map((m) => (m.ok && m.value.type === 'REFUSED' ? m.value.reason : ''));
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatch(
      /^it runs the resilient profile on network [0-9a-f]{12}…, not this node's reference profile on network bbbbbbbbbbbb…$/,
    );
    expect(second.transport.connectedPeers()).not.toContain('a');
    await sim.stop();
  });
});
