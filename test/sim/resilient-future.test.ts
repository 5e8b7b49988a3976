// @vitest-environment jsdom
import { describe, expect, it } from 'vitest';
import { genesisState } from '../../src/core';
import { chooseTransactions, forgeBlock } from '../../src/node/forge';
import { FUTURE_BLOCKS_PER_PEER, type NodeLogEvent } from '../../src/node/node';
import { encodeMessage } from '../../src/node/protocol';
import { crypto, devnetKey, resilientGenesis, Simulation } from './harness';

/**
 * A block stamped more than the drift bound (2 s) ahead of the receiver's clock is no verdict on
 * `resilient`: the node holds it (a few per peer), never blames the peer, and adopts it once its
 * clock reaches the block's `dueAt`.
 */
describe('a block from the future', () => {
  it('is held without penalty and adopted when due; a peer gets only a few held', async () => {
    const events: (NodeLogEvent & { node: string })[] = [];
    const sim = new Simulation({
      seed: 61,
      nodeIds: ['a'],
      genesis: resilientGenesis(),
      log: (node, event) => events.push({ node, ...event }),
    });
    await sim.start();
    const genesis = await devnetKey('genesis');
    const state = genesisState(resilientGenesis());
    const nowSeconds = Math.floor(sim.clock.now() / 1000);
    // Block 1 by the only staker, stamped 10 s ahead, and more variants of it further ahead.
    const ahead = async (seconds: number) => {
      const forged = await forgeBlock(
        state,
        chooseTransactions(state, [], 0),
        genesis,
        crypto,
        (nowSeconds + seconds) * 1000,
        async () => null,
      );
      if (!forged) throw new Error('forging failed');
      return forged.block;
    };
    const blocks = await Promise.all([10, 11, 12, 13, 14].map(ahead));
    const peer = await sim.outsider('early', ['a']);
    for (const block of blocks) peer.send('a', encodeMessage({ type: 'BLOCK', block }));
    await sim.runFor(5_000);
    const a = sim.node('a');
    expect(a.getSnapshot().height).toBe(0);
    const messages = events.filter((e) => e.kind === 'sync').map((e) => e.message);
    expect(messages.filter((m) => m.includes('held until'))).toHaveLength(FUTURE_BLOCKS_PER_PEER);
    expect(messages.filter((m) => m.includes('buffer full'))).toHaveLength(1);
    // Due at its timestamp less the drift bound: 8 s from the start.
    await sim.runFor(4_000);
    expect(a.getSnapshot().height).toBe(1);
    expect(a.getSnapshot().head).toEqual(blocks[0]);
    expect(events.filter((e) => e.kind === 'penalty' || e.kind === 'ban')).toEqual([]);
    await sim.stop();
  });
});
