// @vitest-environment jsdom
import { act, cleanup, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type Block,
  type ChainState,
  GENESIS_BLOCK,
  type GenesisConfig,
  genesisState,
  resilient,
  type Transaction,
  validateBlock,
} from '../../src/core';
import type { KeyPair } from '../../src/crypto';
import { MemoryNetwork, SeededRandom, VirtualClock } from '../../src/net/memory';
import { type NodeSnapshot, TabchainNode } from '../../src/node/node';
import { signTransaction } from '../../src/node/wallet';
import type { DevnetConfig } from '../../src/ui/decoders';
import { fingerprint } from '../../src/ui/format';
import type { NodeApi } from '../../src/ui/services';
import { signResilientBlock } from '../helpers/resilient-chain';
import {
  cleanUpAfterEach,
  crypto,
  devnetConfig,
  devnetKeyPair,
  makeServices,
  renderApp,
  startNode,
} from './helpers';

// Issue 12 in the tab: on a `resilient` network the explorer shows each block's rank and why its
// forger was allowed, the block page shows the ranking instead of the lottery, the waiting
// banner counts down to the next rank's turn, and the network page names the profile. The chain
// is built with the core rules (as test/core/resilient/chain.test.ts does) and served by a node
// stand-in, so these tests do not depend on the node's forging.

const { RESILIENT_SLOTS, STAKE_DELAY_BLOCKS } = resilient;
const SLOT = RESILIENT_SLOTS.slotSeconds;
const T0 = 1_800_000_000;

let config: GenesisConfig;
let devnet: DevnetConfig;
let signers: Map<string, KeyPair>;
/** `blocks[h]` is block h (genesis at 0); `states[h]` the state after it. */
const blocks: Block[] = [GENESIS_BLOCK];
const states: ChainState[] = [];
/** The height of the block forged by rank 2 in slot 2 (ranks 0 and 1 silent). */
let rankTwoHeight = 0;

const tip = (): ChainState => states.at(-1) as ChainState;

/** Forges the next block on the tip with `forger`'s key at `time`, checks it with the core rules, and appends it. */
async function forge(forger: string, time: number, transactions: readonly Transaction[] = []): Promise<void> {
  const state = tip();
  const signer = signers.get(forger);
  if (!signer || !state.resilient) throw new Error('the test cannot forge this block');
  const block = await signResilientBlock(crypto, state, signer, transactions, time);
  const next = await validateBlock(state, block, crypto);
  if (!next.ok) throw new Error(`${next.error.code}: ${next.error.message}`);
  blocks.push(block);
  states.push(next.value);
}

beforeAll(async () => {
  const [genesis, staker, exchange, carol] = await Promise.all([
    devnetKeyPair('genesis'),
    devnetKeyPair('staker'),
    devnetKeyPair('exchange'),
    crypto.generateKeyPair(),
  ]);
  signers = new Map([genesis, staker, carol].map((pair) => [pair.publicKeyPem, pair]));
  config = { profile: 'resilient', genesisPublicKey: genesis.publicKeyPem };
  devnet = { ...devnetConfig(), profile: 'resilient', network: 'tabchain-devnet-resilient' };
  states.push(genesisState(config));
  // Block 1: the staker and carol buy coins and stake them; the stakes count from block D + 2.
  const ms = T0 * 1000;
  await forge(genesis.publicKeyPem, T0, [
    await signTransaction(
      crypto,
      exchange,
      { receiverPublicKey: staker.publicKeyPem, amount: 50, type: 'EXCHANGE' },
      ms,
    ),
    await signTransaction(
      crypto,
      exchange,
      { receiverPublicKey: carol.publicKeyPem, amount: 50, type: 'EXCHANGE' },
      ms,
    ),
    await signTransaction(
      crypto,
      staker,
      { receiverPublicKey: staker.publicKeyPem, amount: 30, type: 'STAKE' },
      ms,
    ),
    await signTransaction(
      crypto,
      carol,
      { receiverPublicKey: carol.publicKeyPem, amount: 20, type: 'STAKE' },
      ms,
    ),
  ]);
  while (tip().height <= STAKE_DELAY_BLOCKS)
    await forge(tip().nextForger, (tip().resilient?.headTime ?? 0) + 1);
  const ranking = tip().resilient?.ranking ?? [];
  expect(ranking).toHaveLength(3);
  // Ranks 0 and 1 stay silent for two slots; rank 2 forges in slot 2. Then rank 0 again.
  await forge(ranking[2] as string, (tip().resilient?.headTime ?? 0) + 2 * SLOT);
  rankTwoHeight = tip().height;
  await forge(tip().nextForger, (tip().resilient?.headTime ?? 0) + 1);
});

let now = 0;
afterEach(() => {
  vi.useRealTimers();
});
cleanUpAfterEach();

/**
 * A node stand-in at `height` of the resilient chain: its snapshot is a real node's with the
 * chain's head and state, and its reads answer from the chain (`readLottery(h)` gives the state
 * after block h, as the node does, with no lottery result on this profile).
 */
async function resilientNode(height: number, patch: Partial<NodeSnapshot> = {}): Promise<NodeApi> {
  const base = await startNode();
  const real = base.getSnapshot();
  const state = states[height] as ChainState;
  const snapshot: NodeSnapshot = Object.freeze({
    ...real,
    height,
    headHash: state.headHash,
    head: blocks[height] as Block,
    state,
    nextForger: state.nextForger,
    waitingFor: { ...real.waitingFor, forger: state.nextForger, isMe: false, online: true, stalled: false },
    ...patch,
  });
  return {
    ...base,
    getSnapshot: () => snapshot,
    subscribe: () => () => {},
    readBlocks: async (from, to) => blocks.slice(from, Math.min(to, height) + 1),
    readBlock: async (h) =>
      h <= height ? { block: blocks[h] as Block, hash: (states[h] as ChainState).headHash } : undefined,
    readLottery: async (h) => ({ state: states[Math.min(h, height)] as ChainState, result: null }),
    submitTransaction: (tx) => base.submitTransaction(tx),
    setWallet: (wallet) => base.setWallet(wallet),
    walletKeyPair: () => base.walletKeyPair(),
    importChain: (chain) => base.importChain(chain),
    exportChain: () => base.exportChain(),
    readTransaction: async () => undefined,
    heightOf: (hash) => base.heightOf(hash),
    readMyTransactions: () => base.readMyTransactions(),
    readAccountHistory: async () => [],
    readBlockAggregates: async () => ({ aggregates: [], problem: null }),
  };
}

const services = (node: NodeApi) => makeServices(node, { devnet, now: () => now });

describe('the explorer on a resilient network', () => {
  it('shows a fallback block’s rank and why its forger was allowed, and the ranking it was drawn from', async () => {
    renderApp(services(await resilientNode(tip().height)), `#/block/${rankTwoHeight}`);
    const turn = await screen.findByTestId('block-turn');
    expect(turn.textContent).toBe('rank 2: ranks 0–1 were silent for 2 slots');
    expect(turn.getAttribute('data-rank')).toBe('2');
    expect(turn.getAttribute('data-slot')).toBe('2');
    const parent = states[rankTwoHeight - 1]?.resilient as resilient.ResilientHead;
    const rows = screen.getAllByTestId('ranking-row');
    expect(rows.map((row) => row.getAttribute('data-rank'))).toEqual(['0', '1', '2']);
    // Each rank with the stake that counted for it; the forger's row is marked.
    const stakes = new Map([
      [config.genesisPublicKey, '1'],
      [devnet.stakerPublicKey ?? '', '30'],
    ]);
    rows.forEach((row, rank) => {
      const key = parent.ranking[rank] as string;
      const cells = row.querySelectorAll('td');
      expect(cells[0]?.textContent).toBe(String(rank));
      expect(within(row).getByText(fingerprint(key))).toBeTruthy();
      expect(cells[2]?.textContent).toBe(stakes.get(key) ?? '20');
    });
    expect(rows.map((row) => row.querySelectorAll('td')[3]?.textContent).sort()).toEqual([
      '2.0%',
      '39.2%',
      '58.8%',
    ]);
    expect(rows[2]?.textContent).toContain('forged');
    expect(screen.queryByTestId('block-lottery')).toBeNull();
  });

  it('says "the first in line" for a block rank 0 forged', async () => {
    renderApp(services(await resilientNode(tip().height)), '#/block/2');
    expect((await screen.findByTestId('block-turn')).textContent).toBe('rank 0: the first in line');
  });

  it('lists each latest block with its rank', async () => {
    renderApp(services(await resilientNode(tip().height)), '#/explorer');
    await waitFor(() => expect(screen.getAllByTestId('block-rank').length).toBeGreaterThan(0));
    const ranks = new Map(
      screen
        .getAllByTestId('block-row')
        .map((row) => [row.getAttribute('data-height'), within(row).getByTestId('block-rank').textContent]),
    );
    expect(ranks.get(String(rankTwoHeight))).toBe('2');
    expect(ranks.get(String(rankTwoHeight + 1))).toBe('0');
    expect(ranks.get(String(rankTwoHeight - 1))).toBe('0');
    const cell = screen
      .getAllByTestId('block-row')
      .find((row) => row.getAttribute('data-height') === String(rankTwoHeight));
    expect(cell && within(cell).getByTestId('block-rank').getAttribute('title')).toBe(
      'rank 2: ranks 0–1 were silent for 2 slots',
    );
  });

  it('keeps the reference explorer as it was: the lottery, no rank', async () => {
    const node = await startNode({ wallet: await devnetKeyPair('genesis') });
    const exchange = await devnetKeyPair('exchange');
    const tx = await signTransaction(
      crypto,
      exchange,
      { receiverPublicKey: devnetConfig().genesisPublicKey, amount: 5, type: 'EXCHANGE' },
      Date.now(),
    );
    expect(await node.submitTransaction(tx)).toEqual({ ok: true });
    renderApp(makeServices(node), '#/block/1');
    expect(await screen.findByTestId('block-lottery')).toBeTruthy();
    expect(screen.queryByTestId('block-ranking')).toBeNull();
    window.location.hash = '#/explorer';
    await waitFor(() => expect(screen.getAllByTestId('block-row')).toHaveLength(2));
    expect(screen.queryByTestId('block-rank')).toBeNull();
    expect(screen.queryByText('Rank')).toBeNull();
  });
});

describe('the waiting banner on a resilient network', () => {
  /** The state after block D + 1: three stakers ranked, rank 0 not online. */
  const waitingAt = () => resilientNode(STAKE_DELAY_BLOCKS + 1);
  const offline = (node: NodeApi): Partial<NodeSnapshot> => ({
    waitingFor: { ...node.getSnapshot().waitingFor, online: false },
  });

  it('counts down to the next rank’s turn, second by second, then names the rank on duty', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const base = await waitingAt();
    const node = await resilientNode(STAKE_DELAY_BLOCKS + 1, offline(base));
    const head = states[STAKE_DELAY_BLOCKS + 1]?.resilient as resilient.ResilientHead;
    const [rank0, rank1, rank2] = head.ranking as [string, string, string];
    now = (head.headTime + 1) * 1000;
    renderApp(services(node), '#/explorer');
    const turn = () => screen.getByTestId('next-turn');
    expect(screen.getByTestId('waiting-for-forger').getAttribute('data-value')).toBe(rank0);
    expect(turn().textContent).toBe(
      ` rank 0 ${fingerprint(rank0)} is due; rank 1 ${fingerprint(rank1)} may forge in ${SLOT - 1} s.`,
    );
    expect(turn().getAttribute('data-rank')).toBe('1');
    expect(turn().getAttribute('data-value')).toBe(rank1);
    // The page clock moves on: the banner re-reads it every second.
    now += 1_000;
    act(() => vi.advanceTimersByTime(1_000));
    expect(turn().getAttribute('data-in')).toBe(String(SLOT - 2));
    expect(turn().textContent).toContain(`may forge in ${SLOT - 2} s`);
    // Slot 1 has come: rank 1 is on duty, and rank 2's turn comes at slot 2.
    now = (head.headTime + SLOT + 1) * 1000;
    act(() => vi.advanceTimersByTime(1_000));
    expect(turn().textContent).toBe(
      ` rank 0 ${fingerprint(rank0)} is due; rank 1 ${fingerprint(rank1)} may forge now, rank 2 ${fingerprint(rank2)} in ${SLOT - 1} s.`,
    );
    expect(turn().getAttribute('data-rank')).toBe('2');
  });

  it('says the chain waits for rank 0 when no other staker is ranked', async () => {
    const base = await resilientNode(1);
    const node = await resilientNode(1, offline(base));
    now = ((states[1]?.resilient?.headTime ?? 0) + 30) * 1000;
    renderApp(services(node), '#/explorer');
    expect(screen.getByTestId('next-turn').textContent).toBe(
      ` rank 0 ${fingerprint(config.genesisPublicKey)} is due; no other staker is ranked yet, so the chain waits for it.`,
    );
  });

  it('is hidden while rank 0 is online', async () => {
    renderApp(services(await waitingAt()), '#/explorer');
    expect(screen.queryByTestId('waiting-for-forger')).toBeNull();
  });
});

describe('the next forger and the profile', () => {
  it('carries the full public key of rank 0 in next-forger, and names the profile', async () => {
    const node = await resilientNode(STAKE_DELAY_BLOCKS + 1);
    renderApp(services(node), '#/network');
    const rank0 = states[STAKE_DELAY_BLOCKS + 1]?.resilient?.ranking[0] as string;
    expect(screen.getByTestId('next-forger').getAttribute('data-value')).toBe(rank0);
    expect(rank0).toMatch(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----$/);
    expect(screen.getByTestId('network-profile').textContent).toMatch(/^profile: resilient/);
    expect(screen.getByTestId('header-profile').textContent).toBe(' · profile: resilient');
    expect(screen.getByTestId('network-name').textContent).toBe('tabchain-devnet-resilient');
  });

  it('on a real node of each profile, next-forger is the full key its chain names next', async () => {
    const genesis = await devnetKeyPair('genesis');
    for (const profile of ['reference', 'resilient'] as const) {
      const clock = new VirtualClock();
      const node = new TabchainNode({
        genesis: { ...(profile === 'resilient' ? { profile } : {}), genesisPublicKey: genesis.publicKeyPem },
        transport: new MemoryNetwork({ random: new SeededRandom(7), clock }).createTransport(profile),
        crypto,
        clock,
        random: () => 0.5,
        wallet: null,
      });
      await node.start();
      try {
        const snapshot = node.getSnapshot();
        expect(snapshot.state.resilient !== undefined).toBe(profile === 'resilient');
        renderApp(makeServices(node, profile === 'resilient' ? { devnet } : {}), '#/explorer');
        // The genesis key is both the lottery's winner and rank 0 of a chain holding genesis alone.
        expect(screen.getByTestId('next-forger').getAttribute('data-value')).toBe(genesis.publicKeyPem);
        expect(screen.queryByTestId('header-profile')?.textContent ?? null).toBe(
          profile === 'resilient' ? ' · profile: resilient' : null,
        );
      } finally {
        cleanup();
        await node.stop();
      }
    }
  });
});
