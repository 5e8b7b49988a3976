// @vitest-environment jsdom
import 'fake-indexeddb/auto';
import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { buildSignedChain } from '../../bench/chain';
import { GENESIS_BLOCK } from '../../src/core';
import { VirtualClock } from '../../src/net/memory';
import type { MyTransaction } from '../../src/node/node';
import { signTransaction } from '../../src/node/wallet';
import { accountTxRecords } from '../../src/ports/store';
import { openIndexedDbStore } from '../../src/storage/indexeddb';
import { createMemoryStore } from '../../src/storage/memory';
import { HISTORY_LIMIT } from '../../src/ui/chain-reads';
import { fingerprint } from '../../src/ui/format';
import {
  cleanUpAfterEach,
  crypto,
  devnetKeyPair,
  makeServices,
  renderApp,
  startNode,
  withSnapshot,
} from './helpers';

cleanUpAfterEach();

const row = () => screen.getByTestId('my-tx');
const statusOf = () => screen.queryByTestId('my-tx')?.getAttribute('data-status');

describe('My transactions', () => {
  it('shows pending, then expired with "Send again", which pools the same transaction again; a restarted node lists it', async () => {
    const clock = new VirtualClock();
    const exchange = await devnetKeyPair('exchange');
    const staker = await devnetKeyPair('staker');
    // Nobody online holds the genesis key (the only staker): what is sent stays pooled.
    const node = await startNode({ wallet: staker, clock, store: await openIndexedDbStore('ui-history') });
    renderApp(makeServices(node));
    const tx = await signTransaction(
      crypto,
      exchange,
      { receiverPublicKey: staker.publicKeyPem, amount: 5, type: 'EXCHANGE' },
      clock.now(),
    );
    expect(await node.submitTransaction(tx)).toEqual({ ok: true });
    await waitFor(() => expect(statusOf()).toBe('pending'));
    expect(row().getAttribute('data-tx-id')).toBe(tx.id);
    expect(row().textContent).toMatch(/pending in the pool/);
    expect(screen.queryByTestId('resend-tx')).toBeNull();

    // Past the pool's expiry (10 minutes).
    clock.advance(11 * 60_000);
    await node.whenIdle();
    await waitFor(() => expect(statusOf()).toBe('expired'));
    expect(row().textContent).toMatch(/expired/);
    expect(node.getSnapshot().pool).toEqual([]);

    fireEvent.click(within(row()).getByTestId('resend-tx'));
    await waitFor(() => expect(statusOf()).toBe('pending'));
    expect(node.getSnapshot().pool.map((entry) => entry.transaction)).toEqual([tx]);
    expect(screen.queryByTestId('resend-tx')).toBeNull();

    // A reload: a new node over the same database lists it, still pending.
    await node.stop();
    cleanup();
    const again = await startNode({ clock, store: await openIndexedDbStore('ui-history') });
    renderApp(makeServices(again));
    await waitFor(() => expect(statusOf()).toBe('pending'));
    expect(row().getAttribute('data-tx-id')).toBe(tx.id);
  });

  it('shows the block a transaction landed in, and "back in the pool" after a reorg removed that block', async () => {
    const genesis = await devnetKeyPair('genesis');
    const exchange = await devnetKeyPair('exchange');
    const node = await startNode({ wallet: genesis });
    renderApp(makeServices(node));
    const tx = await signTransaction(
      crypto,
      exchange,
      { receiverPublicKey: genesis.publicKeyPem, amount: 9, type: 'EXCHANGE' },
      Date.now(),
    );
    expect(await node.submitTransaction(tx)).toEqual({ ok: true });
    await waitFor(() => expect(statusOf()).toBe('landed'));
    expect(row().textContent).toMatch(/in block #1/);

    await node.setForging(false);
    expect((await node.importChain([{ ...GENESIS_BLOCK }, ...(await buildSignedChain(2, 0))])).adopted).toBe(
      true,
    );
    await waitFor(() => expect(statusOf()).toBe('returned'));
    expect(row().textContent).toMatch(/back in the pool: a reorg removed the block/);
    expect(screen.queryByTestId('resend-tx')).toBeNull();
  });

  it('"Send again" does not resend a transaction whose id is on the chain by now', async () => {
    const exchange = await devnetKeyPair('exchange');
    const node = await startNode();
    const tx = await signTransaction(
      crypto,
      exchange,
      { receiverPublicKey: exchange.publicKeyPem, amount: 1, type: 'EXCHANGE' },
      Date.now(),
    );
    const entry: MyTransaction = {
      id: tx.id,
      type: 'EXCHANGE',
      amount: 1,
      receiverPublicKey: tx.receiverPublicKey,
      sentAt: 0,
      transaction: tx,
      note: 'evicted',
      state: 'evicted',
      height: null,
    };
    const submitTransaction = vi.fn(async () => ({ ok: true as const }));
    const readTransaction = vi.fn(async () => ({ transaction: tx, height: 4 }));
    const view = {
      ...withSnapshot(node, {}),
      readMyTransactions: async () => [entry],
      readTransaction,
      submitTransaction,
    };
    renderApp(makeServices(view));
    await waitFor(() => expect(statusOf()).toBe('evicted'));
    expect(row().textContent).toMatch(/evicted: the pool was full/);
    fireEvent.click(screen.getByTestId('resend-tx'));
    await waitFor(() => expect(readTransaction).toHaveBeenCalledWith(tx.id));
    await waitFor(() => expect(screen.getByTestId('resend-tx').hasAttribute('disabled')).toBe(false));
    expect(submitTransaction).not.toHaveBeenCalled();
  });
});

describe('the account page', () => {
  it('lists the newest history page from the index, then older pages on request', async () => {
    const node = await startNode({ store: createMemoryStore() });
    const chain = await buildSignedChain(5, 250);
    expect((await node.importChain([{ ...GENESIS_BLOCK }, ...chain])).adopted).toBe(true);
    const pem = chain[0]?.transactions[0]?.receiverPublicKey ?? '';
    const lines = accountTxRecords(
      chain.map((block) => ({ height: block.blockCount, hash: '', block })),
    ).filter((line) => line.publicKey === pem);
    expect(lines.length).toBeGreaterThan(HISTORY_LIMIT);
    const readAccountHistory = vi.spyOn(node, 'readAccountHistory');
    renderApp(makeServices(node), `#/account/${fingerprint(pem)}`);
    const list = await screen.findByTestId('account-history');
    expect(list.querySelectorAll('li')).toHaveLength(HISTORY_LIMIT);
    expect(readAccountHistory).toHaveBeenCalled();
    fireEvent.click(screen.getByTestId('history-older'));
    await waitFor(() =>
      expect(screen.getByTestId('account-history').querySelectorAll('li')).toHaveLength(lines.length),
    );
    expect(screen.queryByTestId('history-older')).toBeNull();
    // Newest first, the whole history, each line once.
    const items = [...screen.getByTestId('account-history').querySelectorAll('li')];
    expect(items[0]?.textContent).toContain(`#${lines.at(-1)?.height}`);
    expect(items.at(-1)?.textContent).toMatch(/#1\b/);
    expect(items.at(-1)?.textContent).toMatch(/received 1000000 from/);
  });
});
