// @vitest-environment jsdom
import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TabchainNode } from '../../src/node/node';
import { signTransaction } from '../../src/node/wallet';
import { BlockHashLink, NodeLink, TimeAgo } from '../../src/ui/components/bits';
import { resolveSearch } from '../../src/ui/explorer/search';
import { fingerprint, shortHash } from '../../src/ui/format';
import { hrefFor, parseRoute } from '../../src/ui/router';
import { ServicesProvider } from '../../src/ui/services';
import {
  cleanUpAfterEach,
  crypto,
  devnetConfig,
  devnetKeyPair,
  makeServices,
  renderApp,
  renderWithWallet,
  startNode,
  withSnapshot,
} from './helpers';

cleanUpAfterEach();
afterEach(() => vi.useRealTimers());

/** A node whose genesis wallet forged block 1: an EXCHANGE of 100 to it. */
async function oneBlock(): Promise<{ node: TabchainNode; txId: string }> {
  const genesis = await devnetKeyPair('genesis');
  const node = await startNode({ wallet: genesis });
  const tx = await signTransaction(
    crypto,
    await devnetKeyPair('exchange'),
    { receiverPublicKey: genesis.publicKeyPem, amount: 100, type: 'EXCHANGE' },
    Date.now(),
  );
  expect(await node.submitTransaction(tx)).toEqual({ ok: true });
  expect(node.getSnapshot().height).toBe(1);
  return { node, txId: tx.id };
}

function search(query: string): void {
  fireEvent.change(screen.getByTestId('search-input'), { target: { value: query } });
  fireEvent.click(screen.getByTestId('search-submit'));
}

describe('the skip link', () => {
  it('is the first focusable element, and moves focus to the main region', async () => {
    const { node } = await oneBlock();
    renderApp(makeServices(node));
    const focusable = document.querySelectorAll('a[href], button, input, select, textarea, [tabindex="0"]');
    const link = screen.getByTestId('skip-link');
    expect(focusable[0]).toBe(link);
    expect(link.textContent).toBe('Skip to content');
    fireEvent.click(link);
    expect(document.activeElement).toBe(document.getElementById('main'));
    expect(document.activeElement?.tagName).toBe('MAIN');
    // The hash route stays where it was.
    expect(window.location.hash).toBe('#/wallet');
  });
});

describe('relative times', () => {
  it('shows "12 s ago" with the absolute time on hover, and keeps counting', async () => {
    vi.useFakeTimers();
    let now = Date.UTC(2026, 11, 1, 12, 0, 12);
    const at = Date.UTC(2026, 11, 1, 12, 0, 0);
    const node = await startNode();
    render(
      <ServicesProvider services={makeServices(node, { now: () => now })}>
        <TimeAgo ms={at} testId="when" />
      </ServicesProvider>,
    );
    const time = screen.getByTestId('when');
    expect(time.tagName).toBe('TIME');
    expect(time.textContent).toBe('12 s ago');
    expect(time.getAttribute('dateTime')).toBe('2026-12-01T12:00:00.000Z');
    expect(time.getAttribute('title')).toBe(new Date(at).toLocaleString());
    now += 3_000;
    await act(async () => {
      await vi.advanceTimersByTimeAsync(1_000);
    });
    expect(screen.getByTestId('when').textContent).toBe('15 s ago');
  });

  it('shows a dash for no time', async () => {
    const node = await startNode();
    render(
      <ServicesProvider services={makeServices(node)}>
        <TimeAgo ms={null} testId="when" />
      </ServicesProvider>,
    );
    expect(screen.getByTestId('when').textContent).toBe('—');
  });
});

describe('hashes, keys and ids are links to their pages', () => {
  it('links a block hash to its block and a node id to it in the network view', async () => {
    const node = await startNode();
    const hash = 'ab'.repeat(32);
    render(
      <ServicesProvider services={makeServices(node)}>
        <BlockHashLink hash={hash} height={7} testId="bh" />
        <NodeLink id="0123456789abcdef" testId="nl" />
      </ServicesProvider>,
    );
    expect(screen.getByTestId('bh').closest('a')?.getAttribute('href')).toBe('#/block/7');
    expect(screen.getByTestId('bh').textContent).toBe(shortHash(hash));
    expect(screen.getByTestId('nl').closest('a')?.getAttribute('href')).toBe(
      '#/network/node/0123456789abcdef',
    );
  });

  it('routes #/network/node/<id> and back', () => {
    const route = parseRoute('#/network/node/peer-1_x');
    expect(route).toEqual({ page: 'network', node: 'peer-1_x' });
    expect(hrefFor(route)).toBe('#/network/node/peer-1_x');
    expect(parseRoute('#/network/node/a b')).toEqual({ page: 'not-found', path: '/network/node/a b' });
  });
});

describe('everything is searchable exactly as shown', () => {
  it('finds the head hash, a transaction id, a fingerprint and a height as the app shows them', async () => {
    const { node, txId } = await oneBlock();
    renderApp(makeServices(node), '#/explorer');
    const shownHash = screen.getByTestId('head-hash').textContent ?? '';
    expect(shownHash).toContain('…');
    search(shownHash);
    await waitFor(() => expect(window.location.hash).toBe('#/block/1'));

    search(shortHash(txId, 8));
    await waitFor(() => expect(window.location.hash).toBe(`#/tx/${txId}`));

    const genesis = devnetConfig().genesisPublicKey;
    search(fingerprint(genesis));
    await waitFor(() => expect(window.location.hash).toBe(`#/account/${fingerprint(genesis)}`));

    search('#1');
    await waitFor(() => expect(window.location.hash).toBe('#/block/1'));
  });

  it("finds this tab's node id in the network view, and highlights it there", async () => {
    const { node } = await oneBlock();
    renderApp(makeServices(node, { nodeId: '0123456789abcdef' }), '#/explorer');
    search('0123456789abcdef');
    await waitFor(() => expect(window.location.hash).toBe('#/network/node/0123456789abcdef'));
    await waitFor(() => expect(screen.getByTestId('node-id').classList.contains('node-target')).toBe(true));
  });

  it('says a shown id that fits a node and a block is ambiguous, naming both', async () => {
    const hash = `0123456789abcdef${'0'.repeat(48)}`;
    const read = {
      readBlocks: async () => [],
      heightOf: () => undefined,
      readTransaction: async () => undefined,
    };
    const snapshot = { height: 0, headHash: hash, pool: [] };
    const found = await resolveSearch('0123456789abcdef', read, snapshot, [], () => {}, ['0123456789abcdef']);
    expect(found).toEqual({
      ok: false,
      error: expect.stringMatching(/is ambiguous: it matches 2 things \(block #0, node 0123456789abcdef\)/),
    });
    expect(await resolveSearch('peer-x', read, snapshot, [], () => {}, ['peer-x'])).toEqual({
      ok: true,
      value: { page: 'network', node: 'peer-x' },
    });
  });
});

describe('the waiting banner offers a public devnet key', () => {
  it('takes the genesis key the chain waits for in one click, and the pending purchase lands', async () => {
    const { node } = await renderWithWallet('staker');
    fireEvent.change(screen.getByTestId('exchange-amount'), { target: { value: '40' } });
    fireEvent.click(screen.getByTestId('exchange-submit'));
    fireEvent.click(screen.getByTestId('confirm-submit'));
    await screen.findByTestId('waiting-for-forger');
    const offer = screen.getByTestId('devnet-key-offer');
    expect(offer.getAttribute('data-value')).toBe('genesis');
    expect(offer.textContent).toMatch(/replaces this tab's wallet key/);
    fireEvent.click(screen.getByTestId('use-devnet-key'));
    await waitFor(() => expect(node.getSnapshot().height).toBe(1));
    expect(node.getSnapshot().wallet?.publicKeyPem).toBe(devnetConfig().genesisPublicKey);
    expect(screen.queryByTestId('waiting-for-forger')).toBeNull();
    expect(screen.getByTestId('use-devnet-key-status').textContent).toMatch(
      /now holds the devnet genesis key/,
    );
  });

  it('offers nothing for a key that is not a devnet key', async () => {
    const stranger = await crypto.generateKeyPair({ extractable: true });
    const node = await startNode({ genesisPublicKey: stranger.publicKeyPem });
    renderApp(makeServices(node));
    expect(screen.getByTestId('waiting-for-forger').getAttribute('data-value')).toBe(stranger.publicKeyPem);
    expect(screen.queryByTestId('devnet-key-offer')).toBeNull();
  });
});

describe('node ids in the wallet', () => {
  it('links the always-on node that forges with the wallet key to it in the network view', async () => {
    const genesis = await devnetKeyPair('genesis');
    const node = await startNode({ wallet: genesis });
    renderApp(makeServices(withSnapshot(node, { forgingElsewhere: 'fedcba9876543210' })));
    const link = screen.getByTestId('forging-elsewhere');
    expect(link.textContent).toBe('fedcba9876543210');
    expect(link.closest('a')?.getAttribute('href')).toBe('#/network/node/fedcba9876543210');
  });
});
