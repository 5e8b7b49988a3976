// @vitest-environment jsdom
import { fireEvent, render, screen, within } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import type { KeyPair } from '../../src/crypto/types';
import type { TabchainNode } from '../../src/node/node';
import { signTransaction } from '../../src/node/wallet';
import type { AccountTxRecord, BlockAggregate } from '../../src/ports/store';
import { createMemoryStore } from '../../src/storage/memory';
import { BalanceView } from '../../src/ui/charts/BalanceChart';
import { BlocksChart, clockMinute, PropagationChart, StakeChart } from '../../src/ui/charts/ChainCharts';
import { balanceHistory, perMinute, stakeShares } from '../../src/ui/charts/data';
import { ServicesProvider } from '../../src/ui/services';
import {
  cleanUpAfterEach,
  crypto,
  devnetConfig,
  devnetKeyPair,
  makeServices,
  renderApp,
  startNode,
} from './helpers';

cleanUpAfterEach();

let node: TabchainNode;
beforeEach(async () => {
  node = await startNode();
});

const genesisKey = () => devnetConfig().genesisPublicKey;
const stakerKey = () => devnetConfig().stakerPublicKey ?? '';
const T0 = 1_800_000_000; // seconds, on a minute boundary

/** Aggregates of blocks 1..n, one every 20 s, with `txs(h)` transactions and optional stake changes and times. */
function aggregates(
  n: number,
  options: {
    txs?: (h: number) => number;
    stake?: (h: number) => [string, number][];
    propagation?: (h: number) => number | null;
  } = {},
): BlockAggregate[] {
  return Array.from({ length: n }, (_, i) => {
    const height = i + 1;
    return {
      height,
      timestamp: T0 + height * 20,
      txCount: options.txs?.(height) ?? 0,
      forger: genesisKey(),
      stakeChanges: options.stake?.(height) ?? [],
      propagationMs: options.propagation?.(height) ?? null,
    };
  });
}

function renderWith(children: React.ReactNode) {
  return render(<ServicesProvider services={makeServices(node)}>{children}</ServicesProvider>);
}

/** The chart's drawn series and axes (Recharts' SVG). */
function drawing(id: string) {
  const frame = screen.getByTestId(id);
  return {
    frame,
    svg: frame.querySelector('svg.recharts-surface'),
    caption: within(frame).getByTestId(`${id}-caption`).textContent ?? '',
    ticks: [...frame.querySelectorAll('.recharts-cartesian-axis-tick-value')].map((t) => t.textContent),
  };
}

describe('blocks and transactions per minute', () => {
  it('empty: says why, draws nothing', () => {
    renderWith(<BlocksChart aggregates={[]} />);
    const { frame, svg } = drawing('chart-blocks');
    expect(svg).toBeNull();
    expect(within(frame).getByTestId('chart-blocks-empty').textContent).toMatch(
      /No blocks yet.*fills as blocks are forged/,
    );
    expect(within(frame).getByRole('heading').textContent).toBe('Blocks and transactions per minute');
  });

  it('one point: one bar, and the minute on the axis', () => {
    renderWith(<BlocksChart aggregates={aggregates(1, { txs: () => 3 })} />);
    const { svg, caption, ticks } = drawing('chart-blocks');
    expect(svg).not.toBeNull();
    expect(svg?.querySelectorAll('.recharts-bar-rectangle')).toHaveLength(1);
    expect(ticks).toContain(clockMinute(T0));
    expect(caption).toMatch(/last 1 minute: 1 block, 3 transactions/);
  });

  it('many points: a bar per minute with blocks, the transactions line, and a caption of the latest minute', () => {
    // 30 blocks over 10 minutes, 3 per minute, block h carrying h transactions.
    const data = aggregates(30, { txs: (h) => h });
    const minutes = perMinute(data);
    expect(minutes.map((m) => m.blocks).reduce((a, b) => a + b)).toBe(30);
    renderWith(<BlocksChart aggregates={data} />);
    const { svg, caption } = drawing('chart-blocks');
    expect(svg?.querySelectorAll('.recharts-bar-rectangle').length).toBe(
      minutes.filter((m) => m.blocks > 0).length,
    );
    const path = svg?.querySelector('.recharts-line .recharts-curve');
    expect(path?.getAttribute('d')).toMatch(/^M[\d.]+,[\d.]+/);
    const last = minutes[minutes.length - 1];
    expect(caption).toContain(`${minutes.length} minutes: 30 blocks, 465 transactions`);
    expect(caption).toContain(`(${clockMinute(last?.minute ?? 0)}): ${last?.blocks} block`);
  });
});

describe("each staker's share of the stake", () => {
  it('at genesis (one point): the genesis staker holds it all', () => {
    renderWith(<StakeChart aggregates={[]} genesisKey={genesisKey()} head={0} />);
    const { svg, caption } = drawing('chart-stake');
    expect(svg).not.toBeNull();
    expect(caption).toMatch(
      /At block 0 \(1 coin staked\): devnet genesis 100 %\. Only the genesis stake so far/,
    );
    expect(svg?.querySelectorAll('.recharts-area-dot, .recharts-dot').length).toBeGreaterThan(0);
  });

  it('many points: cumulative from the stake changes, one area per staker, labelled', () => {
    const data = aggregates(40, {
      stake: (h) => (h === 10 ? [[stakerKey(), 3]] : h === 30 ? [[stakerKey(), 9]] : []),
    });
    const shares = stakeShares(data, genesisKey(), 40);
    expect(shares.rows.map((r) => r.height)).toEqual([0, 10, 30, 40]);
    expect(shares.rows[1]?.[stakerKey()]).toBe(75);
    expect(shares.rows[3]?.[stakerKey()]).toBe(90);
    renderWith(<StakeChart aggregates={data} genesisKey={genesisKey()} head={40} />);
    const { svg, caption, ticks } = drawing('chart-stake');
    expect(svg?.querySelectorAll('.recharts-area')).toHaveLength(2);
    expect(ticks).toContain('100%');
    expect(caption).toMatch(/At block 40 \(10 coins staked\): devnet staker 90 %, devnet genesis 10 %\./);
  });
});

describe('block propagation time', () => {
  it('empty until measured, and says why', () => {
    renderWith(<PropagationChart aggregates={aggregates(5)} />);
    const { frame, svg } = drawing('chart-propagation');
    expect(svg).toBeNull();
    expect(within(frame).getByTestId('chart-propagation-empty').textContent).toMatch(
      /No propagation measured yet/,
    );
  });

  it('one point and many points', () => {
    const { unmount } = renderWith(
      <PropagationChart aggregates={aggregates(3, { propagation: (h) => (h === 2 ? 140 : null) })} />,
    );
    expect(drawing('chart-propagation').caption).toMatch(
      /1 block measured; the latest, block 2, took 140 ms/,
    );
    expect(drawing('chart-propagation').svg?.querySelectorAll('.recharts-dot')).toHaveLength(1);
    unmount();
    renderWith(<PropagationChart aggregates={aggregates(50, { propagation: (h) => 100 + h })} />);
    const { svg, caption, ticks } = drawing('chart-propagation');
    expect(svg?.querySelector('.recharts-line .recharts-curve')?.getAttribute('d')).toMatch(/^M/);
    expect(caption).toMatch(/50 blocks measured; the latest, block 50, took 150 ms; the slowest took 150 ms/);
    expect(ticks.some((t) => t?.endsWith('ms'))).toBe(true);
  });
});

/** A history line of `me`. */
function line(height: number, amount: number, direction: 'in' | 'out', type = 'TRANSFER'): AccountTxRecord {
  return {
    publicKey: 'me',
    height,
    txIndex: 0,
    id: `${'0'.repeat(31)}${height}`,
    type,
    amount,
    direction,
    counterparty: 'other',
  };
}

describe("the wallet's balance over time", () => {
  it('walks back from the balance through the history lines', () => {
    const lines = [line(9, 5, 'out', 'STAKE'), line(7, 20, 'out'), line(3, 100, 'in')];
    expect(balanceHistory(lines, 75, 12, true)).toEqual([
      { height: 2, balance: 0 },
      { height: 3, balance: 100 },
      { height: 7, balance: 80 },
      { height: 9, balance: 75 },
      { height: 12, balance: 75 },
    ]);
  });

  it('empty: says why, with the balance', () => {
    renderWith(<BalanceView lines={[]} balance={0} head={4} complete />);
    const { frame, svg } = drawing('chart-balance');
    expect(svg).toBeNull();
    expect(within(frame).getByTestId('chart-balance-empty').textContent).toMatch(
      /No transactions for this account.*balance has been 0/,
    );
  });

  it('one transaction and many', () => {
    const { unmount } = renderWith(
      <BalanceView lines={[line(3, 100, 'in')]} balance={100} head={3} complete />,
    );
    let chart = drawing('chart-balance');
    expect(chart.caption).toMatch(/Balance 100 at block 3; 0 at block 2, over 1 transaction\./);
    expect(chart.svg?.querySelector('.recharts-line .recharts-curve')?.getAttribute('d')).toMatch(/^M/);
    unmount();
    const many = Array.from({ length: 60 }, (_, i) => line(60 - i, 1, 'in'));
    renderWith(<BalanceView lines={many} balance={60} head={70} complete={false} />);
    chart = drawing('chart-balance');
    expect(chart.caption).toMatch(
      /Balance 60 at block 70; 0 at block 0, over 60 transactions \(the newest 60\)\./,
    );
    expect(chart.ticks).toContain('70');
  });
});

describe('where the charts are', () => {
  /** A node with the genesis wallet and a memory store, after block 1 (EXCHANGE 100 to it) and block 2 (it stakes 10). */
  async function chainWithStake(): Promise<TabchainNode> {
    const genesis = await devnetKeyPair('genesis');
    const exchange = await devnetKeyPair('exchange');
    const forger = await startNode({ wallet: genesis, store: createMemoryStore() });
    const sign = (key: KeyPair, type: 'EXCHANGE' | 'STAKE', amount: number) =>
      signTransaction(crypto, key, { receiverPublicKey: genesis.publicKeyPem, amount, type }, Date.now());
    expect(await forger.submitTransaction(await sign(exchange, 'EXCHANGE', 100))).toEqual({ ok: true });
    expect(await forger.submitTransaction(await sign(genesis, 'STAKE', 10))).toEqual({ ok: true });
    expect(forger.getSnapshot().height).toBe(2);
    return forger;
  }

  it("the explorer's home has the charts section, read from the node's stored aggregates", async () => {
    const forger = await chainWithStake();
    const stored = await forger.readBlockAggregates(1, 2);
    expect(stored.aggregates.map((a) => [a.height, a.txCount, a.stakeChanges])).toEqual([
      [1, 1, []],
      [2, 1, [[genesisKey(), 11]]],
    ]);
    renderApp(makeServices(forger), '#/explorer');
    // jsdom has no IntersectionObserver: the section offers a button instead of mounting when seen.
    fireEvent.click(screen.getByTestId('show-charts'));
    const charts = await screen.findByTestId('chain-charts', undefined, { timeout: 10_000 });
    const stake = await within(charts).findByTestId('chart-stake-caption', undefined, { timeout: 10_000 });
    expect(stake.textContent).toMatch(/At block 2 \(11 coins staked\): you, devnet genesis 100 %/);
    expect(within(charts).getByTestId('chart-blocks-caption').textContent).toMatch(
      /2 blocks, 2 transactions/,
    );
    // This node forged both blocks: each reached it after 0 ms, as its stored aggregates say.
    expect(stored.aggregates.map((a) => a.propagationMs)).toEqual([0, 0]);
    expect(within(charts).getByTestId('chart-propagation-caption').textContent).toMatch(/0 ms/);
    // The stakers' bars are labelled with names and shares.
    expect(screen.getByTestId('stakers-chart').getAttribute('aria-label')).toMatch(
      /you, devnet genesis: 11 \(100\.0%\), next forger/,
    );
  });

  it('the wallet view has the balance chart, from the history index', async () => {
    const forger = await chainWithStake();
    renderApp(makeServices(forger), '#/wallet');
    fireEvent.click(screen.getByTestId('show-balance-chart'));
    const caption = await screen.findByTestId('chart-balance-caption', undefined, { timeout: 10_000 });
    expect(caption.textContent).toMatch(/Balance 90 at block 2; 0 at block 0, over 2 transactions\./);
    expect(
      screen.getByTestId('chart-balance').querySelector('.recharts-line .recharts-curve'),
    ).not.toBeNull();
  });
});
