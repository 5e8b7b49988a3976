// @vitest-environment jsdom
import 'fake-indexeddb/auto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type ChainState,
  GENESIS_BLOCK,
  type GenesisConfig,
  genesisState,
  resilient,
  stateToJSON,
} from '../../src/core';
import type { KeyPair } from '../../src/crypto';
import { chooseTransactions, forgeBlock } from '../../src/node/forge';
import { encodeMessage } from '../../src/node/protocol';
import { openIndexedDbStore } from '../../src/storage';
import { buildResilientChain, signed } from '../helpers/resilient-chain';
import { crypto, devnetGenesis, devnetKey, Simulation } from '../sim/harness';

/**
 * A node of a `resilient` network keeps its profile's head (seed, head time, the delayed stake
 * window and the ranking) through a reload: rebuilt from the stored stakes and recent blocks,
 * for the head, the restored base (a checkpoint) and any older state read from the store.
 */

let keys: { genesis: KeyPair; staker: KeyPair; exchange: KeyPair };
let config: GenesisConfig;
const T0 = 1_795_000_000;

beforeAll(async () => {
  keys = {
    genesis: await devnetKey('genesis'),
    staker: await devnetKey('staker'),
    exchange: await devnetKey('exchange'),
  };
  config = { profile: 'resilient', ...devnetGenesis() };
});

/** A resilient head as plain values, for comparison. */
function headView(state: ChainState) {
  const head = state.resilient;
  if (!head) throw new Error('no resilient head');
  return {
    seed: head.seed,
    headTime: head.headTime,
    ranking: head.ranking,
    window: head.stakeWindow.map((stakes) => [...stakes.entries()]),
  };
}

/** Stakes land in blocks 2, near the checkpoints and near the head, so windows differ along the chain. */
function workload(count: number) {
  const stakeAt = new Map<number, [KeyPair, number]>();
  return async (height: number) => {
    const { genesis, staker, exchange } = keys;
    const now = (T0 + height) * 1000;
    if (height === 1)
      return Promise.all([
        signed(
          crypto,
          exchange,
          { receiverPublicKey: staker.publicKeyPem, amount: 100, type: 'EXCHANGE' },
          now,
        ),
        signed(
          crypto,
          exchange,
          { receiverPublicKey: genesis.publicKeyPem, amount: 100, type: 'EXCHANGE' },
          now,
        ),
      ]);
    stakeAt.set(2, [staker, 25]);
    for (const at of [250, 505, count - 4]) stakeAt.set(at, [genesis, 3]);
    for (const at of [252, 510, count - 2]) stakeAt.set(at, [staker, 2]);
    const stake = stakeAt.get(height);
    if (!stake) return [];
    const [who, amount] = stake;
    return [await signed(crypto, who, { receiverPublicKey: who.publicKeyPem, amount, type: 'STAKE' }, now)];
  };
}

describe('a resilient node restored from its store', () => {
  it('rebuilds the head, the base and old states with their seeds, stake windows and rankings', async () => {
    const count = 650;
    const { blocks, states } = await buildResilientChain(
      crypto,
      config,
      [keys.genesis, keys.staker],
      count,
      T0,
      workload(count),
    );
    const sim = new Simulation({ seed: 21, nodeIds: [], genesis: config });
    const first = sim.addNode('first', undefined, { store: await openIndexedDbStore('resilient-long') });
    await first.start();
    expect((await first.importChain([{ ...GENESIS_BLOCK }, ...blocks])).adopted).toBe(true);
    const live = first.getSnapshot().state;
    expect(headView(live)).toEqual(headView(states[count - 1] as ChainState));
    // Both stakers are ranked by now (the first stake counts from block 13).
    expect(live.resilient?.ranking).toHaveLength(2);
    await first.stop();

    const tab = sim.addNode('tab', undefined, { store: await openIndexedDbStore('resilient-long') });
    await tab.start();
    await tab.whenRestored();
    const restored = tab.getSnapshot().state;
    expect(restored.height).toBe(count);
    expect(stateToJSON(restored)).toEqual(stateToJSON(live));
    expect(headView(restored)).toEqual(headView(live));
    expect(restored.nextForger).toBe(live.resilient?.ranking[0]);
    // The base (the checkpoint at 512) is held, 513.. are: states there replay from it.
    expect(tab.blockAt(512)).toBeUndefined();
    for (const height of [513, 600, count]) {
      const reading = await tab.readLottery(height);
      expect(reading.result).toBeNull();
      expect(headView(reading.state)).toEqual(headView(states[height - 1] as ChainState));
    }
    // Older states: from the checkpoint at 256 (its window read from the blocks below it), and
    // from genesis.
    for (const height of [99, 256, 300, 511]) {
      const reading = await tab.readLottery(height);
      expect(reading.result).toBeNull();
      expect(headView(reading.state)).toEqual(headView(states[height - 1] as ChainState));
      // Each block's rank reads from its parent's head, as the explorer does.
      const turn = resilient.readBlockTurn(
        (await tab.readLottery(height - 1)).state.resilient as resilient.ResilientHead,
        blocks[height - 1] as (typeof blocks)[number],
      );
      expect(turn?.rank).toBe(0);
    }

    // The restored head accepts the next block as the live one would: same seed, same ranking.
    const forger = live.nextForger === keys.genesis.publicKeyPem ? keys.genesis : keys.staker;
    const next = await forgeBlock(
      live,
      chooseTransactions(live, [], 0),
      forger,
      crypto,
      sim.clock.now(),
      async () => null,
    );
    if (!next) throw new Error('forging failed');
    const outsider = await sim.outsider('gossip', ['tab']);
    outsider.send('tab', encodeMessage({ type: 'BLOCK', block: next.block }));
    expect(await sim.runUntil(() => tab.getSnapshot().height === count + 1, 5_000)).toBe(true);
    expect(headView(tab.getSnapshot().state)).toEqual(headView(next.state));
    await sim.stop();
  }, 60_000);

  it('a short chain (fewer blocks than the stake delay) restores its head from every block', async () => {
    const { blocks, states } = await buildResilientChain(
      crypto,
      config,
      [keys.genesis, keys.staker],
      5,
      T0,
      workload(5),
    );
    const sim = new Simulation({ seed: 22, nodeIds: [], genesis: config });
    const first = sim.addNode('first', undefined, { store: await openIndexedDbStore('resilient-short') });
    await first.start();
    expect((await first.importChain([{ ...GENESIS_BLOCK }, ...blocks])).adopted).toBe(true);
    await first.stop();
    const tab = sim.addNode('tab', undefined, { store: await openIndexedDbStore('resilient-short') });
    await tab.start();
    await tab.whenRestored();
    expect(headView(tab.getSnapshot().state)).toEqual(headView(states[4] as ChainState));
    expect(headView((await tab.readLottery(0)).state)).toEqual(headView(genesisState(config)));
    expect(headView((await tab.readLottery(3)).state)).toEqual(headView(states[2] as ChainState));
    await sim.stop();
  });
});
