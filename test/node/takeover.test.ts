// @vitest-environment jsdom
import { beforeAll, describe, expect, it } from 'vitest';
import { networkIdOf } from '../../src/core/config';
import type { KeyPair } from '../../src/crypto';
import type { NodeLogEvent } from '../../src/node/node';
import { PENALTY } from '../../src/node/peers';
import { decodeMessage, encodeMessage, PROTOCOL_VERSION } from '../../src/node/protocol';
import { RATE_LIMIT_PENALTY } from '../../src/node/rate-limit';
import {
  forgingClaimBytes,
  signTakeover,
  TAKEOVER_MAX_SKEW_MS,
  TAKEOVER_RELEASE_MS,
  type TakeoverContext,
  type TakeoverMessage,
  verifyTakeover,
} from '../../src/node/takeover';
import { crypto, devnetGenesis, devnetKey, Simulation } from '../sim/harness';

let genesis: KeyPair;
let staker: KeyPair;
const NETWORK = networkIdOf(devnetGenesis());
const NOW = 1_800_000_000_000;

beforeAll(async () => {
  genesis = await devnetKey('genesis');
  staker = await devnetKey('staker');
});

const HEAD = 'a'.repeat(64);

describe('FORGING_TAKEOVER on the wire', () => {
  it('round trips, and STATUS carries alwaysOn and forging', async () => {
    const takeover = await signTakeover(crypto, genesis, NETWORK, 'node-1', NOW);
    const status = {
      type: 'STATUS' as const,
      height: 1,
      head: HEAD,
      forgerKey: genesis.publicKeyPem,
      alwaysOn: true,
      forging: false,
    };
    for (const message of [takeover, status]) {
      const decoded = decodeMessage(encodeMessage(message));
      expect(decoded.ok && decoded.value).toEqual({ v: PROTOCOL_VERSION, ...message });
    }
  });

  it.each([
    ['an extra field', { extra: 1 }],
    ['a key that is no PEM', { key: 'not a key' }],
    ['a huge key', { key: `-----BEGIN PUBLIC KEY-----\n${'A'.repeat(5000)}\n-----END PUBLIC KEY-----\n` }],
    ['a signature that is not hex', { signature: 'zz' }],
    ['a huge signature', { signature: 'ab'.repeat(5000) }],
    ['a negative time', { at: -1 }],
    ['a fractional time', { at: 1.5 }],
    ['a time as text', { at: '1' }],
  ])('refuses one with %s', async (_what, patch) => {
    const takeover = await signTakeover(crypto, genesis, NETWORK, 'node-1', NOW);
    const decoded = decodeMessage(JSON.stringify({ v: PROTOCOL_VERSION, ...takeover, ...patch }));
    expect(decoded.ok).toBe(false);
    expect(!decoded.ok && decoded.error.code).toBe('MALFORMED');
  });

  it('refuses a STATUS whose flags are not booleans', () => {
    const status = { v: PROTOCOL_VERSION, type: 'STATUS', height: 1, head: HEAD, forgerKey: null };
    expect(decodeMessage(JSON.stringify({ ...status, alwaysOn: 'yes' })).ok).toBe(false);
    expect(decodeMessage(JSON.stringify({ ...status, forging: 1 })).ok).toBe(false);
  });
});

describe('verifyTakeover', () => {
  const context = (patch: Partial<TakeoverContext> = {}): TakeoverContext => ({
    verifier: crypto,
    network: NETWORK,
    localId: 'node-1',
    forgingKey: genesis.publicKeyPem,
    now: NOW,
    lastAcceptedAt: null,
    ...patch,
  });
  const signed = async (
    patch: { by?: KeyPair; network?: string; target?: string; at?: number } = {},
  ): Promise<TakeoverMessage> => ({
    v: PROTOCOL_VERSION,
    ...(await signTakeover(
      crypto,
      patch.by ?? genesis,
      patch.network ?? NETWORK,
      patch.target ?? 'node-1',
      patch.at ?? NOW,
    )),
  });

  it('accepts one signed by the forging key for this node, within the clock bound', async () => {
    expect((await verifyTakeover(await signed(), context())).ok).toBe(true);
    for (const at of [NOW - TAKEOVER_MAX_SKEW_MS, NOW + TAKEOVER_MAX_SKEW_MS])
      expect((await verifyTakeover(await signed({ at }), context())).ok).toBe(true);
  });

  it.each([
    ['a key this node does not forge with', { by: 'staker' }, {}, 'NOT_MINE'],
    ['a node with no key', {}, { forgingKey: null }, 'NOT_MINE'],
    ['a stamp too old', { at: NOW - TAKEOVER_MAX_SKEW_MS - 1 }, {}, 'STALE'],
    ['a stamp too far ahead', { at: NOW + TAKEOVER_MAX_SKEW_MS + 1 }, {}, 'STALE'],
    ['a stamp no later than the last accepted', {}, { lastAcceptedAt: NOW }, 'REPLAYED'],
    ['another target node', { target: 'node-2' }, {}, 'BAD_SIGNATURE'],
    ['another network', { network: 'b'.repeat(64) }, {}, 'BAD_SIGNATURE'],
  ] as const)('refuses one for %s', async (_what, sign, ctx, code) => {
    const message = await signed({ ...sign, by: 'by' in sign ? staker : genesis });
    const verdict = await verifyTakeover(message, context(ctx));
    expect(!verdict.ok && verdict.error.code).toBe(code);
  });

  it('refuses the right key signed by another key, and a signature for another purpose', async () => {
    const forged = { ...(await signed({ by: staker })), key: genesis.publicKeyPem };
    expect(await verifyTakeover(forged, context())).toMatchObject({
      ok: false,
      error: { code: 'BAD_SIGNATURE' },
    });
    // The same key's signature over other bytes (a transaction's, say) is no take-over.
    const other = await crypto.sign(genesis, new TextEncoder().encode(`${NOW}`));
    expect(await verifyTakeover({ ...(await signed()), signature: other }, context())).toMatchObject({
      ok: false,
      error: { code: 'BAD_SIGNATURE' },
    });
  });
});

describe('an always-on node receiving take-overs', () => {
  async function setup() {
    const events: { node: string; event: NodeLogEvent }[] = [];
    const sim = new Simulation({
      seed: 31,
      nodeIds: ['node', 'tab'],
      wallets: { node: genesis },
      alwaysOn: ['node'],
      latency: { min: 5, max: 20 },
      log: (node, event) => events.push({ node, event }),
    });
    await sim.start();
    await sim.runFor(500);
    const penalties = (peer: string) =>
      events.filter((e) => e.node === 'node' && e.event.kind === 'penalty' && e.event.peer === peer);
    return { sim, events, penalties };
  }

  it('stops forging for a valid one, refuses its replay and a stale one at a wasted-request cost', async () => {
    const { sim, penalties } = await setup();
    const node = sim.node('node');
    const tab = await sim.rawPeer('raw-tab', ['node']);
    const first = await signTakeover(crypto, genesis, NETWORK, 'node', sim.clock.now());
    tab.send('node', first);
    await sim.runFor(100);
    expect(node.getSnapshot()).toMatchObject({ forging: false, forgingTakenOverBy: 'raw-tab' });
    // It tells its peers at once.
    const statuses = tab.received.filter((r) => r.message.type === 'STATUS').map((r) => r.message);
    expect(statuses.at(-1)).toMatchObject({
      alwaysOn: true,
      forging: false,
      forgerKey: genesis.publicKeyPem,
    });
    expect(penalties('raw-tab')).toEqual([]);
    tab.send('node', first);
    tab.send(
      'node',
      await signTakeover(crypto, genesis, NETWORK, 'node', sim.clock.now() - 2 * TAKEOVER_MAX_SKEW_MS),
    );
    await sim.runFor(100);
    expect(penalties('raw-tab').map((e) => e.event.message)).toEqual([
      expect.stringMatching(`no later than one already accepted \\(-${PENALTY.useless}\\)`),
      expect.stringMatching(`more than ${TAKEOVER_MAX_SKEW_MS} ms .* \\(-${PENALTY.useless}\\)`),
    ]);
    expect(node.getSnapshot().peers.map((p) => p.id)).toContain('raw-tab');
    await tab.stop();
    await sim.stop();
  });

  it('gives forging back once the tab is gone TAKEOVER_RELEASE_MS, unless another tab forges with the key', async () => {
    const { sim } = await setup();
    const node = sim.node('node');
    const tabA = await sim.rawPeer('tab-a', ['node']);
    const tabB = await sim.rawPeer('tab-b', ['node']);
    tabA.send('node', await signTakeover(crypto, genesis, NETWORK, 'node', sim.clock.now()));
    await sim.runFor(100);
    expect(node.getSnapshot().forgingTakenOverBy).toBe('tab-a');
    // Tab B (the same browser, say) now holds the key's forging lock and forges.
    const statusOfB = () => ({
      type: 'STATUS' as const,
      height: node.getSnapshot().height,
      head: node.getSnapshot().headHash,
      forgerKey: genesis.publicKeyPem,
      forging: true,
    });
    tabB.send('node', statusOfB());
    await tabA.stop();
    // B stays connected (raw peers answer pings); its one STATUS stands until it says otherwise.
    await sim.runFor(TAKEOVER_RELEASE_MS + 1_000);
    expect(node.getSnapshot()).toMatchObject({ forging: false, forgingTakenOverBy: 'tab-b' });
    await tabB.stop();
    await sim.runFor(TAKEOVER_RELEASE_MS - 1_000);
    expect(node.getSnapshot().forging).toBe(false);
    await sim.runFor(2_000);
    expect(node.getSnapshot()).toMatchObject({ forging: true, forgingTakenOverBy: null });
    await sim.stop();
  });

  it('rate-limits them, and a tab that gets one notes it as unsolicited', async () => {
    const { sim, events, penalties } = await setup();
    const raw = await sim.rawPeer('raw', ['node', 'tab']);
    const stale = sim.clock.now() - 2 * TAKEOVER_MAX_SKEW_MS;
    for (let i = 0; i < 4; i++)
      raw.send('node', await signTakeover(crypto, genesis, NETWORK, 'node', stale + i));
    await sim.runFor(100);
    // The burst (three) is checked and refused as stale; the fourth is over the limit, unchecked.
    expect(
      penalties('raw').map((e) => e.event.message.replace(/^take-over stamped \d+, .*\(/, 'stale (')),
    ).toEqual([
      `stale (-${PENALTY.useless})`,
      `stale (-${PENALTY.useless})`,
      `stale (-${PENALTY.useless})`,
      `FORGING_TAKEOVER over its rate limit (-${RATE_LIMIT_PENALTY})`,
    ]);
    raw.send('tab', await signTakeover(crypto, genesis, NETWORK, 'tab', sim.clock.now()));
    await sim.runFor(100);
    expect(
      events.filter((e) => e.node === 'tab' && e.event.kind === 'penalty').map((e) => e.event.message),
    ).toEqual([`FORGING_TAKEOVER sent to a tab (-${PENALTY.unsolicited})`]);
    expect(sim.node('node').getSnapshot()).toMatchObject({ forging: true, forgingTakenOverBy: null });
    await raw.stop();
    await sim.stop();
  });
});

describe('a tab beside a peer that claims to forge with its key', () => {
  async function tabWithRawPeer() {
    const events: NodeLogEvent[] = [];
    const sim = new Simulation({
      seed: 32,
      nodeIds: ['tab'],
      wallets: { tab: genesis },
      latency: { min: 5, max: 20 },
      log: (_node, event) => events.push(event),
    });
    await sim.start();
    const raw = await sim.rawPeer('claimer', ['tab']);
    const status = (forgingProof?: string) => ({
      type: 'STATUS' as const,
      height: 0,
      head: sim.node('tab').getSnapshot().headHash,
      forgerKey: genesis.publicKeyPem,
      alwaysOn: true,
      forging: true,
      ...(forgingProof ? { forgingProof } : {}),
    });
    return { sim, events, raw, status, tab: sim.node('tab') };
  }

  it('does not yield to a claim without proof, nor to a wrong proof (which costs the peer)', async () => {
    const { sim, events, raw, status, tab } = await tabWithRawPeer();
    raw.send('tab', status());
    await sim.runFor(100);
    expect(tab.getSnapshot()).toMatchObject({ forging: true, forgingElsewhere: null });
    expect(tab.getSnapshot().peers[0]).toMatchObject({ id: 'claimer', alwaysOn: true, forging: false });
    // Signed by another key, or by the key for another node id: neither proves anything.
    const byStaker = await crypto.sign(
      staker,
      forgingClaimBytes({ network: NETWORK, node: 'claimer', key: genesis.publicKeyPem }),
    );
    raw.send('tab', status(byStaker));
    await sim.runFor(100);
    expect(tab.getSnapshot()).toMatchObject({ forging: true, forgingElsewhere: null });
    expect(events.filter((e) => e.kind === 'ban').map((e) => e.message)).toEqual([
      'dropped: STATUS: forging proof does not verify under its key',
    ]);
    await raw.stop();
    await sim.stop();
  });

  it('yields to a proven one, and forges again when it says it stopped', async () => {
    const { sim, raw, status, tab } = await tabWithRawPeer();
    const proof = await crypto.sign(
      genesis,
      forgingClaimBytes({ network: NETWORK, node: 'claimer', key: genesis.publicKeyPem }),
    );
    raw.send('tab', status(proof));
    await sim.runFor(100);
    expect(tab.getSnapshot()).toMatchObject({ forging: false, forgingElsewhere: 'claimer' });
    // The tab says it no longer forges.
    const said = raw.received.filter((r) => r.message.type === 'STATUS').at(-1)?.message;
    expect(said).toMatchObject({ forging: false, alwaysOn: false });
    raw.send('tab', { ...status(proof), forging: false });
    await sim.runFor(100);
    expect(tab.getSnapshot()).toMatchObject({ forging: true, forgingElsewhere: null });
    await raw.stop();
    await sim.stop();
  });
});
