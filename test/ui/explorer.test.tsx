// @vitest-environment jsdom
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Transaction } from '../../src/core/types';
import type { TabchainNode } from '../../src/node/node';
import { signTransaction } from '../../src/node/wallet';
import { fingerprint } from '../../src/ui/format';
import {
  cleanUpAfterEach,
  crypto,
  devnetConfig,
  devnetKeyPair,
  devnetPem,
  makeServices,
  renderApp,
  startNode,
} from './helpers';

let node: TabchainNode;
let txs: Transaction[];

/** A chain of two blocks forged by the genesis key: an EXCHANGE to it, then a TRANSFER of 7 to the staker. */
beforeEach(async () => {
  const genesis = await devnetKeyPair('genesis');
  const exchange = await devnetKeyPair('exchange');
  node = await startNode({ wallet: genesis });
  const staker = devnetConfig().stakerPublicKey ?? '';
  txs = [
    await signTransaction(
      crypto,
      exchange,
      { receiverPublicKey: genesis.publicKeyPem, amount: 100, type: 'EXCHANGE' },
      Date.now(),
    ),
  ];
  expect(await node.submitTransaction(txs[0] as Transaction)).toEqual({ ok: true });
  txs.push(
    await signTransaction(
      crypto,
      genesis,
      { receiverPublicKey: staker, amount: 7, type: 'TRANSFER' },
      Date.now(),
    ),
  );
  expect(await node.submitTransaction(txs[1] as Transaction)).toEqual({ ok: true });
  expect(node.getSnapshot().height).toBe(2);
});

cleanUpAfterEach();

function search(query: string): void {
  fireEvent.change(screen.getByTestId('search-input'), { target: { value: query } });
  fireEvent.click(screen.getByTestId('search-submit'));
}

describe('the explorer search box', () => {
  it('finds a block by height', async () => {
    renderApp(makeServices(node), '#/explorer');
    search('1');
    expect((await screen.findByTestId('block-height')).textContent).toBe('1');
    expect(window.location.hash).toBe('#/block/1');
  });

  it('finds a block by hash', async () => {
    renderApp(makeServices(node), '#/explorer');
    search((node.hashAt(2) ?? '').toUpperCase());
    expect((await screen.findByTestId('block-height')).textContent).toBe('2');
    expect(screen.getByTestId('block-hash').getAttribute('data-value')).toBe(node.hashAt(2));
  });

  it('finds a transaction by id', async () => {
    renderApp(makeServices(node), '#/explorer');
    const tx = txs[1] as Transaction;
    search(tx.id);
    expect((await screen.findByTestId('tx-id')).textContent).toBe(tx.id);
    expect(screen.getByTestId('tx-amount').textContent).toBe('7');
    expect(screen.getByTestId('tx-status').textContent).toMatch(/in block #2/);
  });

  it('finds an account by fingerprint', async () => {
    renderApp(makeServices(node), '#/explorer');
    const staker = devnetConfig().stakerPublicKey ?? '';
    search(fingerprint(staker));
    const page = await screen.findByTestId('account-page');
    expect(page.getAttribute('data-value')).toBe(staker);
    expect(screen.getByTestId('account-balance').textContent).toBe('7');
    expect(screen.getByTestId('account-stake').textContent).toBe('0');
    expect(within(screen.getByTestId('account-history')).getByText(/received 7 from/)).toBeTruthy();
  });

  it('finds an account by its pasted PEM, even with the line breaks a one-line field drops', async () => {
    renderApp(makeServices(node), '#/explorer');
    search(devnetPem('genesis', 'Public'));
    const page = await screen.findByTestId('account-page');
    expect(page.getAttribute('data-value')).toBe(devnetConfig().genesisPublicKey);
    // Bought 100, sent 7.
    expect(screen.getByTestId('account-balance').textContent).toBe('93');
    expect(screen.getByTestId('account-stake').textContent).toBe('1');
  });

  it('opens an account the chain has not seen yet from its PEM', async () => {
    renderApp(makeServices(node), '#/explorer');
    const stranger = (await crypto.generateKeyPair()).publicKeyPem;
    search(stranger);
    expect((await screen.findByTestId('account-fingerprint')).textContent).toBe(fingerprint(stranger));
    expect(screen.getByText(/has not seen this account yet/)).toBeTruthy();
    expect(screen.getByTestId('account-balance').textContent).toBe('0');
  });

  it('opens a second unseen account while already on an account page', async () => {
    renderApp(makeServices(node), '#/explorer');
    const first = (await crypto.generateKeyPair()).publicKeyPem;
    const second = (await crypto.generateKeyPair()).publicKeyPem;
    search(first);
    await waitFor(() =>
      expect(screen.getByTestId('account-fingerprint').textContent).toBe(fingerprint(first)),
    );
    search(second);
    await waitFor(() =>
      expect(screen.getByTestId('account-fingerprint').textContent).toBe(fingerprint(second)),
    );
  });

  it.each([
    ['', /Type a block height/],
    ['99', /no block 99 yet: the chain is at height 2/],
    ['a'.repeat(64), /No block on this chain has the hash/],
    ['b'.repeat(32), /No transaction b{32}/],
    ['facefeed', /No known account has the fingerprint facefeed/],
    ['what is this', /Not something the explorer can find/],
  ])('explains why %j finds nothing', async (query, message) => {
    renderApp(makeServices(node), '#/explorer');
    search(query);
    const error = await screen.findByTestId('search-error');
    expect(error.getAttribute('role')).toBe('alert');
    expect(error.textContent).toMatch(message);
    expect(window.location.hash).toBe('#/explorer');
  });

  it('refuses a pasted private key', async () => {
    renderApp(makeServices(node), '#/explorer');
    search(devnetPem('staker'));
    expect((await screen.findByTestId('search-error')).textContent).toMatch(/private key/);
  });
});

describe('explorer pages', () => {
  it('lists the latest blocks, live', async () => {
    renderApp(makeServices(node), '#/explorer');
    expect(await screen.findAllByTestId('block-row')).toHaveLength(3);
    const exchange = await devnetKeyPair('exchange');
    const tx = await signTransaction(
      crypto,
      exchange,
      { receiverPublicKey: devnetConfig().genesisPublicKey, amount: 1, type: 'EXCHANGE' },
      Date.now(),
    );
    await node.submitTransaction(tx);
    await waitFor(() => expect(screen.getAllByTestId('block-row')).toHaveLength(4));
    expect(screen.getByTestId('head-height').textContent).toBe('3');
    expect(screen.getByTestId('head-hash').getAttribute('data-value')).toBe(node.hashAt(3));
  });

  it('shows a block with its forger, lottery, links and transactions', async () => {
    renderApp(makeServices(node), '#/block/2');
    expect((await screen.findByTestId('block-forger')).getAttribute('data-value')).toBe(
      devnetConfig().genesisPublicKey,
    );
    const winner = await screen.findByTestId('lottery-winner');
    expect(winner.getAttribute('data-value')).toBe(devnetConfig().genesisPublicKey);
    expect(winner.textContent).toMatch(/lot 1 of/);
    expect(screen.getByText(/The block was forged by the winner/)).toBeTruthy();
    const stakers = within(screen.getByTestId('lottery-stakers')).getAllByRole('row');
    expect(stakers).toHaveLength(2); // header + the genesis staker with 1 lot
    expect(screen.getByRole('link', { name: /Block 1/ }).getAttribute('href')).toBe('#/block/1');
    expect(within(screen.getByTestId('block-transactions')).getByText('7')).toBeTruthy();
  });

  it('says when a block does not exist', async () => {
    renderApp(makeServices(node), '#/block/50');
    expect((await screen.findByTestId('not-found')).textContent).toMatch(/chain is at height 2/);
  });

  it('shows the stakers with their shares and a chart', () => {
    renderApp(makeServices(node), '#/explorer');
    const rows = screen.getAllByTestId('staker-row');
    expect(rows).toHaveLength(1);
    expect(rows[0]?.textContent).toMatch(/100\.0%/);
    const chart = screen.getByTestId('stakers-chart');
    expect(chart.getAttribute('role')).toBe('img');
    expect(chart.querySelectorAll('rect')).toHaveLength(1);
  });

  it('shows the next forger with its full PEM and a fingerprint', () => {
    renderApp(makeServices(node), '#/explorer');
    const next = screen.getByTestId('next-forger');
    expect(next.getAttribute('data-value')).toBe(devnetConfig().genesisPublicKey);
    expect(next.textContent).toContain(fingerprint(devnetConfig().genesisPublicKey));
  });

  it('links an account fingerprint to its page', async () => {
    renderApp(makeServices(node), '#/block/1');
    const staker = devnetConfig().stakerPublicKey ?? '';
    window.location.hash = `#/account/${fingerprint(staker)}`;
    fireEvent(window, new HashChangeEvent('hashchange'));
    await waitFor(() => expect(screen.getByTestId('account-page').getAttribute('data-value')).toBe(staker));
  });
});
