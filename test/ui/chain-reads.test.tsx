// @vitest-environment jsdom
import { screen, waitFor, within } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Transaction } from '../../src/core/types';
import type { KeyPair } from '../../src/crypto';
import type { TabchainNode } from '../../src/node/node';
import { signTransaction } from '../../src/node/wallet';
import type { NodeApi } from '../../src/ui/app-services';
import { lotteryView } from '../../src/ui/chain-reads';
import { fingerprint } from '../../src/ui/format';
import { memoPerObject } from '../../src/ui/selectors';
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

/**
 * Reads that wait while the gate is shut: the test decides when an asynchronous read (which in
 * a browser may reach IndexedDB) answers.
 */
class ReadGate {
  private waiting: (() => void)[] = [];
  private shut = false;

  close(): void {
    this.shut = true;
  }

  open(): void {
    this.shut = false;
    for (const resume of this.waiting.splice(0)) resume();
  }

  /** How many reads wait now. */
  get pending(): number {
    return this.waiting.length;
  }

  async pass<T>(read: () => Promise<T>): Promise<T> {
    if (this.shut) await new Promise<void>((resolve) => this.waiting.push(resolve));
    return read();
  }
}

/**
 * `node` as the UI may use it and nothing more: only `NodeApi`'s members exist, so a component
 * calling a synchronous chain read (`blockAt`, `hashAt`, `findTransaction`, `blocks`,
 * `lotteryAt`) would throw. The asynchronous reads pass through `gate`.
 */
function uiView(node: TabchainNode, gate: ReadGate): NodeApi {
  return {
    getSnapshot: () => node.getSnapshot(),
    subscribe: (listener) => node.subscribe(listener),
    submitTransaction: (tx) => node.submitTransaction(tx),
    setWallet: (wallet) => node.setWallet(wallet),
    walletKeyPair: () => node.walletKeyPair(),
    importChain: (blocks) => node.importChain(blocks),
    exportChain: () => node.exportChain(),
    readBlocks: (from, to) => gate.pass(() => node.readBlocks(from, to)),
    readBlock: (height) => gate.pass(() => node.readBlock(height)),
    readTransaction: (id) => gate.pass(() => node.readTransaction(id)),
    heightOf: (hash) => node.heightOf(hash),
    readLottery: (height) => node.readLottery(height),
    readMyTransactions: () => gate.pass(() => node.readMyTransactions()),
    readAccountHistory: (pem, query) => gate.pass(() => node.readAccountHistory(pem, query)),
    readBlockAggregates: (from, to) => gate.pass(() => node.readBlockAggregates(from, to)),
  };
}

let node: TabchainNode;
let genesis: KeyPair;
let exchange: KeyPair;
let gate: ReadGate;

/** Buys `amount` for the genesis key: one EXCHANGE, which this node (holding the genesis key) forges at once. */
async function forgeOne(amount: number): Promise<Transaction> {
  const tx = await signTransaction(
    crypto,
    exchange,
    { receiverPublicKey: genesis.publicKeyPem, amount, type: 'EXCHANGE' },
    Date.now(),
  );
  expect(await node.submitTransaction(tx)).toEqual({ ok: true });
  return tx;
}

beforeEach(async () => {
  genesis = await devnetKeyPair('genesis');
  exchange = await devnetKeyPair('exchange');
  node = await startNode({ wallet: genesis });
  await forgeOne(10);
  await forgeOne(20);
  expect(node.getSnapshot().height).toBe(2);
  gate = new ReadGate();
});

const rowHeights = () =>
  screen.getAllByTestId('block-row').map((row) => Number(row.getAttribute('data-height')));

describe('pages rendered from asynchronous reads', () => {
  it('shows a block page once its read answers, and nothing of the block before', async () => {
    gate.close();
    renderApp(makeServices(uiView(node, gate)), '#/block/1');
    await waitFor(() => expect(gate.pending).toBe(1));
    expect(screen.getByTestId('chain-read-pending').textContent).toMatch(/Reading block 1/);
    expect(screen.queryByTestId('block-page')).toBeNull();

    gate.open();
    const page = await screen.findByTestId('block-page');
    expect(screen.getByTestId('block-hash').getAttribute('data-value')).toBe((await node.readBlock(1))?.hash);
    expect(page.getAttribute('data-head')).toBe('2');
    expect(within(page).getByRole('link', { name: /Block 2 →/ })).toBeTruthy();
  });

  it('lists the latest blocks once their read answers, with each block’s hash', async () => {
    gate.close();
    renderApp(makeServices(uiView(node, gate)), '#/explorer');
    await waitFor(() => expect(gate.pending).toBe(1));
    expect(screen.queryAllByTestId('block-row')).toHaveLength(0);

    gate.open();
    await waitFor(() => expect(rowHeights()).toEqual([2, 1, 0]));
    const hashes = within(screen.getByTestId('latest-blocks'))
      .getAllByTestId('block-row')
      .map((row) => row.querySelector('[data-value]')?.getAttribute('data-value'));
    const expected = await Promise.all([2, 1, 0].map(async (h) => (await node.readBlock(h))?.hash));
    expect(hashes).toEqual(expected);
  });

  it('shows an account’s history from the blocks it read', async () => {
    renderApp(makeServices(uiView(node, gate)), `#/account/${fingerprint(genesis.publicKeyPem)}`);
    const page = await screen.findByTestId('account-page');
    expect(screen.getByTestId('account-balance').textContent).toBe('30');
    expect(within(page).getAllByText(/received (10|20) from/)).toHaveLength(2);
  });
});

describe('one render, one chain state', () => {
  it('keeps the latest blocks of one head together while the next head is read', async () => {
    renderApp(makeServices(uiView(node, gate)), '#/explorer');
    await waitFor(() => expect(rowHeights()).toEqual([2, 1, 0]));

    // A block arrives while reads are slow: the header moves on at once (it reads the snapshot)…
    gate.close();
    await forgeOne(30);
    await waitFor(() => expect(screen.getByTestId('head-height').textContent).toBe('3'));
    await waitFor(() => expect(gate.pending).toBe(1));
    // …while the list still shows exactly the blocks of the head it read, marked as updating.
    const list = screen.getByTestId('latest-blocks-at');
    expect(list.getAttribute('data-head')).toBe('2');
    expect(rowHeights()).toEqual([2, 1, 0]);
    expect(list.closest('section')?.getAttribute('aria-busy')).toBe('true');

    gate.open();
    await waitFor(() => expect(screen.getByTestId('latest-blocks-at').getAttribute('data-head')).toBe('3'));
    expect(rowHeights()).toEqual([3, 2, 1, 0]);
    expect(screen.getByTestId('latest-blocks-at').closest('section')?.getAttribute('aria-busy')).toBe(
      'false',
    );
  });

  it('draws a block page’s links from the same read as the block', async () => {
    renderApp(makeServices(uiView(node, gate)), '#/block/2');
    const page = await screen.findByTestId('block-page');
    expect(within(page).getByText('the head')).toBeTruthy();

    gate.close();
    await forgeOne(30);
    await waitFor(() => expect(gate.pending).toBe(1));
    // Block 2 read at head 2 is the head: no link to a block 3 its read never saw.
    expect(screen.getByTestId('block-page').getAttribute('data-head')).toBe('2');
    expect(within(screen.getByTestId('block-page')).getByText('the head')).toBeTruthy();
    expect(screen.queryByRole('link', { name: /Block 3 →/ })).toBeNull();

    gate.open();
    await waitFor(() => expect(screen.getByTestId('block-page').getAttribute('data-head')).toBe('3'));
    expect(screen.getByRole('link', { name: /Block 3 →/ }).getAttribute('href')).toBe('#/block/3');
  });
});

describe('the lottery of a block', () => {
  it('is drawn once per chain state, however often it is asked for', async () => {
    let computed = 0;
    const double = memoPerObject((box: { readonly n: number }) => {
      computed++;
      return box.n * 2;
    });
    const box = { n: 21 };
    expect(double.has(box)).toBe(false);
    expect([double(box), double(box), double(box)]).toEqual([42, 42, 42]);
    expect(computed).toBe(1);
    expect(double.has(box)).toBe(true);
    expect(double({ n: 21 })).toBe(42);
    expect(computed).toBe(2);

    // The node draws a state's lottery once; its view is built once per drawing.
    const reading = await node.readLottery(1);
    expect(await node.readLottery(1)).toBe(reading);
    expect(lotteryView(reading)).toBe(lotteryView(reading));
  });

  it('shows the lottery of the state before the block, off the render path', async () => {
    renderApp(makeServices(uiView(node, gate)), '#/block/2');
    const winner = await screen.findByTestId('lottery-winner');
    const drawn = lotteryView(await node.readLottery(1));
    expect(winner.getAttribute('data-value')).toBe(devnetConfig().genesisPublicKey);
    expect(drawn.result?.forger).toBe(devnetConfig().genesisPublicKey);
    expect(drawn.seed).toBe((await node.readBlock(1))?.hash);
    expect(screen.getByText(/The block was forged by the winner/)).toBeTruthy();
  });
});
