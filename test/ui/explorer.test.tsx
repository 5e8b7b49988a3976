// @vitest-environment jsdom
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Block, Transaction } from '../../src/core/types';
import type { TabchainNode } from '../../src/node/node';
import { signTransaction } from '../../src/node/wallet';
import { resolveSearch } from '../../src/ui/explorer/search';
import { fingerprint, shortHash } from '../../src/ui/format';
import {
  cleanUpAfterEach,
  crypto,
  devnetConfig,
  devnetKeyPair,
  devnetPem,
  makeServices,
  ROOT,
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
    ['facefe', /No known account has the fingerprint facefe/],
    ['facefeed', /Nothing on this chain matches facefeed/],
    ['facefeed…beef', /Nothing on this chain matches facefeed…beef/],
    ['abc…de', /at least 8 hex digits/],
    ['what is this', /Not something the explorer can find/],
  ])('explains why %j finds nothing', async (query, message) => {
    renderApp(makeServices(node), '#/explorer');
    search(query);
    const error = await screen.findByTestId('search-error');
    expect(error.getAttribute('role')).toBe('alert');
    expect(error.textContent).toMatch(message);
    expect(window.location.hash).toBe('#/explorer');
  });

  it('finds a block by its hash as the app shows it, prefix…suffix', async () => {
    renderApp(makeServices(node), '#/explorer');
    const shown = shortHash(node.hashAt(1) ?? '');
    expect(shown).toMatch(/^[0-9a-f]{10}…[0-9a-f]{4}$/);
    search(shown);
    expect((await screen.findByTestId('block-height')).textContent).toBe('1');
    expect(window.location.hash).toBe('#/block/1');
  });

  it('finds the head by its abbreviated hash copied from the header, with three dots too', async () => {
    renderApp(makeServices(node), '#/explorer');
    const hash = screen.getByTestId('head-hash').getAttribute('data-value') ?? '';
    expect(hash).toBe(node.hashAt(2));
    search(`${hash.slice(0, 10).toUpperCase()}...${hash.slice(-4)}`);
    expect((await screen.findByTestId('block-height')).textContent).toBe('2');
  });

  it.each([8, 10, 20, 32])('finds a block by a unique %i-hex prefix of its hash', async (digits) => {
    renderApp(makeServices(node), '#/explorer');
    search((node.hashAt(1) ?? '').slice(0, digits));
    expect((await screen.findByTestId('block-height')).textContent).toBe('1');
    expect(window.location.hash).toBe('#/block/1');
  });

  it.each([
    ['as a table shows it', (id: string) => shortHash(id, 8)],
    ['by a 12-hex prefix', (id: string) => id.slice(0, 12)],
  ])('finds a transaction by its id %s', async (_, shown) => {
    renderApp(makeServices(node), '#/explorer');
    const tx = txs[0] as Transaction;
    search(shown(tx.id));
    expect((await screen.findByTestId('tx-id')).textContent).toBe(tx.id);
    expect(window.location.hash).toBe(`#/tx/${tx.id}`);
  });

  it('refuses a pasted private key', async () => {
    renderApp(makeServices(node), '#/explorer');
    search(devnetPem('staker'));
    expect((await screen.findByTestId('search-error')).textContent).toMatch(/private key/);
  });
});

describe('search by part of a hash', () => {
  /** A chain of `hashes.length` blocks whose hashes are `hashes` (each block names its predecessor's). */
  function chainWithHashes(hashes: readonly string[]) {
    const blocks = hashes.map(
      (_, height) =>
        ({
          blockCount: height,
          lastHash: height === 0 ? '0' : hashes[height - 1],
          signature: '',
          forger: '',
          timestamp: 0,
          transactions: [],
        }) as unknown as Block,
    );
    const read = {
      readBlocks: async (from: number, to: number) => blocks.slice(from, to + 1),
      heightOf: (hash: string) => {
        const height = hashes.indexOf(hash);
        return height < 0 ? undefined : height;
      },
      readTransaction: async () => undefined,
    };
    const snapshot = { height: hashes.length - 1, headHash: hashes.at(-1) ?? '', pool: [] };
    return { read, snapshot };
  }

  const A = `12345678aa${'0'.repeat(50)}1111`;
  const B = `12345678bb${'0'.repeat(50)}2222`;
  const C = `9abcdef0${'0'.repeat(52)}3333`;

  it('says a prefix shared by two blocks is ambiguous, and names them', async () => {
    const { read, snapshot } = chainWithHashes([A, B, C]);
    const found = await resolveSearch('12345678', read, snapshot, []);
    expect(found).toEqual({
      ok: false,
      error: expect.stringMatching(/12345678 is ambiguous: it matches 2 things \(block #0, block #1\)/),
    });
  });

  it('reads a number past the head with 8 digits or more as a hash prefix, a shorter one as a height', async () => {
    const { read, snapshot } = chainWithHashes([C, `87654321${'0'.repeat(56)}`]);
    expect(await resolveSearch('87654321', read, snapshot, [])).toEqual({
      ok: true,
      value: { page: 'block', height: 1 },
    });
    expect(await resolveSearch('8765432', read, snapshot, [])).toEqual({
      ok: false,
      error: 'There is no block 8765432 yet: the chain is at height 1.',
    });
    expect(await resolveSearch('1', read, snapshot, [])).toEqual({
      ok: true,
      value: { page: 'block', height: 1 },
    });
  });

  it('tells the two apart by a longer prefix or by the suffix', async () => {
    const { read, snapshot } = chainWithHashes([A, B, C]);
    expect(await resolveSearch('12345678bb', read, snapshot, [])).toEqual({
      ok: true,
      value: { page: 'block', height: 1 },
    });
    expect(await resolveSearch('12345678…1111', read, snapshot, [])).toEqual({
      ok: true,
      value: { page: 'block', height: 0 },
    });
    // The head's hash comes from the snapshot: no later block names it.
    expect(await resolveSearch('9abcdef0', read, snapshot, [])).toEqual({
      ok: true,
      value: { page: 'block', height: 2 },
    });
  });

  it('reads a long chain in chunks and still finds a block in the middle', async () => {
    const hashes = Array.from({ length: 1_201 }, (_, i) => i.toString(16).padStart(8, 'f').padEnd(64, '0'));
    const { read, snapshot } = chainWithHashes(hashes);
    expect(await resolveSearch(hashes[777]?.slice(0, 8) ?? '', read, snapshot, [])).toEqual({
      ok: true,
      value: { page: 'block', height: 777 },
    });
  });
});

describe('the header', () => {
  it('links the head hash to the head block', async () => {
    renderApp(makeServices(node), '#/explorer');
    const hash = screen.getByTestId('head-hash');
    expect(hash.textContent).toBe(shortHash(node.hashAt(2) ?? ''));
    const link = hash.closest('a');
    expect(link?.getAttribute('href')).toBe('#/block/2');
    fireEvent.click(link as HTMLAnchorElement);
    expect((await screen.findByTestId('block-height')).textContent).toBe('2');
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
    // The parent link (`#1`) and the seed hash (block 1's) both lead to block 1.
    const toParent = screen.getAllByRole('link', { name: /Block 1|^#1$/ });
    expect(toParent.length).toBeGreaterThanOrEqual(2);
    for (const link of toParent) expect(link.getAttribute('href')).toBe('#/block/1');
    expect(within(screen.getByTestId('block-transactions')).getByText('7')).toBeTruthy();
  });

  it("lays a block's transactions out as labelled cards on narrow screens", async () => {
    renderApp(makeServices(node), '#/block/2');
    const table = await screen.findByTestId('block-transactions');
    // styles.css stacks `.table-stacked` rows below 36rem and shows each cell's data-label in
    // place of the hidden headings; the ids and fingerprints inside stay shortened, on one line.
    expect(table.classList.contains('table-stacked')).toBe(true);
    const headings = within(table)
      .getAllByRole('columnheader')
      .map((th) => th.textContent);
    expect(headings).toEqual(['Id', 'Type', 'From', 'To', 'Amount']);
    const [row] = within(table).getAllByTestId('transaction-row');
    const cells = [...(row?.querySelectorAll('td') ?? [])];
    expect(cells.map((td) => td.dataset.label)).toEqual(headings);
    const tx = txs[1] as Transaction;
    expect(cells[0]?.textContent).toBe(shortHash(tx.id, 8));
    expect(cells[4]?.textContent).toBe('7');
    expect(cells[4]?.className).toBe('num');
  });

  it('has the narrow-screen rules that stack a table and label its cells', () => {
    // jsdom lays nothing out: this checks the stylesheet carries what the component relies on
    // (the 375 px result itself was checked in Chromium).
    const css = readFileSync(join(ROOT, 'src', 'ui', 'styles.css'), 'utf8');
    const narrow = css.slice(css.indexOf('@media (max-width: 36rem)'));
    expect(narrow).toMatch(/\.table-stacked thead \{[^}]*position: absolute;/);
    expect(narrow).toMatch(/\.table-stacked td::before \{[^}]*content: attr\(data-label\);/);
    expect(css).toMatch(/\.table code \{[^}]*white-space: nowrap;/);
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
