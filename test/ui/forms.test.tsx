// @vitest-environment jsdom
import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { transactionSigningBytes } from '../../src/core/transaction';
import type { NodeSnapshot } from '../../src/node/node';
import { fingerprint } from '../../src/ui/format';
import {
  cleanUpAfterEach,
  crypto,
  devnetConfig,
  devnetKeyPair,
  devnetPem,
  makeServices,
  renderApp,
  renderWithWallet,
  startNode,
  withSnapshot,
} from './helpers';

cleanUpAfterEach();

function fill(testId: string, value: string): void {
  fireEvent.change(screen.getByTestId(testId), { target: { value } });
}

/** Fills a form's amount (and the transfer's receiver, first) and submits it: its summary opens. */
function open(form: 'exchange' | 'stake' | 'transfer', amount: string, receiver?: string): void {
  if (receiver !== undefined) fill('transfer-receiver', receiver);
  fill(`${form}-amount`, amount);
  fireEvent.click(screen.getByTestId(`${form}-submit`));
}

/**
 * Fills and submits a form, then confirms its summary, as a person would; when the form refuses
 * what was typed no summary opens, and its error shows instead.
 */
function submit(form: 'exchange' | 'stake' | 'transfer', amount: string, receiver?: string): void {
  open(form, amount, receiver);
  const confirm = screen.queryByTestId('confirm-submit');
  if (confirm) fireEvent.click(confirm);
}

async function errorOf(prefix: string): Promise<string> {
  const alert = await screen.findByTestId(`${prefix}-error`);
  expect(alert.getAttribute('role')).toBe('alert');
  return alert.textContent ?? '';
}

const AMOUNT_CASES: readonly [string, RegExp][] = [
  ['', /Enter an amount/],
  ['0', /at least 1/],
  ['-5', /must be positive/],
  ['1.5', /whole number of coins/],
  ['2e3', /exponent notation: write it in digits, 2000/],
  ['1E5', /exponent notation: write it in digits, 100000/],
  ['1e30', /exponent notation and is too large/],
  ['ten', /whole number written in digits/],
  ['99999999999999999999', /too large/],
];

describe('buying coins from the exchange', () => {
  it('needs a wallet first', async () => {
    const { node } = await renderWithWallet(null);
    submit('exchange', '10');
    expect(await errorOf('exchange')).toMatch(/Set up a wallet first/);
    expect(node.getSnapshot().pool).toHaveLength(0);
  });

  it.each(AMOUNT_CASES)('refuses the amount %j before signing', async (amount, message) => {
    const { node } = await renderWithWallet('staker');
    submit('exchange', amount);
    expect(await errorOf('exchange')).toMatch(message);
    expect(screen.getByTestId('exchange-amount').getAttribute('aria-invalid')).toBe('true');
    expect(node.getSnapshot().pool).toHaveLength(0);
  });

  it('says so when the exchange key cannot be loaded', async () => {
    await renderWithWallet('staker', {
      loadDevnetKey: async (name) => {
        if (name === 'exchange') throw new Error('The server has no key at /keys/exchangePrivateKey.pem.');
        return devnetPem(name);
      },
    });
    submit('exchange', '10');
    expect(await errorOf('exchange')).toMatch(/exchange's key is not available: The server has no key/);
  });

  it('signs an EXCHANGE with the exchange key to the wallet; the genesis forger puts it in block 1', async () => {
    const { node, keyPair } = await renderWithWallet('genesis');
    submit('exchange', '100');
    await waitFor(() => expect(screen.getByTestId('my-balance').textContent).toBe('100'));
    expect(screen.getByTestId('head-height').textContent).toBe('1');
    expect(screen.getByTestId('exchange-status').textContent).toMatch(
      /Sent transaction .*: it is in block #1/,
    );
    expect((screen.getByTestId('exchange-amount') as HTMLInputElement).value).toBe('');

    const [tx] = node.blockAt(1)?.transactions ?? [];
    expect(tx).toMatchObject({
      type: 'EXCHANGE',
      amount: 100,
      senderPublicKey: devnetConfig().exchangePublicKey,
      receiverPublicKey: keyPair?.publicKeyPem,
    });
    expect(tx && (await crypto.verify(tx.senderPublicKey, transactionSigningBytes(tx), tx.signature))).toBe(
      true,
    );
    const row = screen.getByTestId('my-tx');
    expect(row.getAttribute('data-tx-id')).toBe(tx?.id);
    expect(row.getAttribute('data-status')).toBe('landed');
    expect(within(row).getByText(/in block/).textContent).toMatch(/in block #1/);
  });

  it('shows a sent transaction as pending, then as the block it landed in', async () => {
    const { node } = await renderWithWallet('staker');
    submit('exchange', '40');
    const row = await screen.findByTestId('my-tx');
    expect(row.getAttribute('data-status')).toBe('pending');
    expect(row.textContent).toMatch(/pending in the pool/);
    expect(screen.getByTestId('exchange-status').textContent).toMatch(/waits in the pool for the next block/);
    expect(screen.getByTestId('pool-size').textContent).toBe('1');
    expect(screen.getByTestId('my-transactions').getAttribute('aria-live')).toBe('polite');
    // Nobody online holds the genesis key, which the lottery picked: the page says so.
    expect(screen.getByTestId('waiting-for-forger').getAttribute('data-value')).toBe(
      devnetConfig().genesisPublicKey,
    );

    // The genesis key's holder comes online (this tab): it forges the pending transaction.
    await node.setWallet(await devnetKeyPair('genesis'));
    await waitFor(() => expect(screen.getByTestId('my-tx').getAttribute('data-status')).toBe('landed'));
    expect(screen.getByTestId('my-tx').textContent).toMatch(/in block #1/);
    expect(screen.getByTestId('pool-size').textContent).toBe('0');
    expect(node.getSnapshot().state.balances.get(devnetConfig().stakerPublicKey ?? '')).toBe(40);
  });

  it("shows the node's error when it refuses the transaction", async () => {
    const { node } = await renderWithWallet('staker');
    await node.stop();
    submit('exchange', '5');
    expect(await errorOf('exchange')).toMatch(
      /The node refused the transaction: the node is not running \(NOT_RUNNING\)/,
    );
  });
});

describe('staking', () => {
  it('needs a wallet first', async () => {
    await renderWithWallet(null);
    submit('stake', '1');
    expect(await errorOf('stake')).toMatch(/Set up a wallet first/);
  });

  it.each(AMOUNT_CASES)('refuses the amount %j', async (amount, message) => {
    await renderWithWallet('genesis');
    submit('stake', amount);
    expect(await errorOf('stake')).toMatch(message);
  });

  it('refuses more than the wallet can spend', async () => {
    const { node } = await renderWithWallet('genesis');
    submit('stake', '1');
    expect(await errorOf('stake')).toMatch(/Not enough coins: you can spend 0 now, and this needs 1/);
    expect(node.getSnapshot().pool).toHaveLength(0);
  });

  it('refuses when the node holds no private key for the wallet', async () => {
    // A node that reports a wallet but cannot hand out its key (not reachable with a real node,
    // which keeps the two together; the form must still not crash or sign with anything else).
    const { node } = await renderWithWallet('genesis');
    submit('exchange', '10');
    await waitFor(() => expect(screen.getByTestId('my-balance').textContent).toBe('10'));
    cleanup();
    renderApp(makeServices({ ...withSnapshot(node, {}), walletKeyPair: () => null }));
    submit('stake', '5');
    expect(await errorOf('stake')).toMatch(/holds no private key for the wallet's account/);
  });

  it('stakes to itself: the stake grows and the balance shrinks', async () => {
    const { node, keyPair } = await renderWithWallet('genesis');
    submit('exchange', '50');
    await waitFor(() => expect(screen.getByTestId('my-balance').textContent).toBe('50'));
    submit('stake', '20');
    // The genesis key starts with stake 1.
    await waitFor(() => expect(screen.getByTestId('my-stake').textContent).toBe('21'));
    expect(screen.getByTestId('my-balance').textContent).toBe('30');
    const [tx] = node.blockAt(2)?.transactions ?? [];
    expect(tx).toMatchObject({
      type: 'STAKE',
      amount: 20,
      senderPublicKey: keyPair?.publicKeyPem,
      receiverPublicKey: keyPair?.publicKeyPem,
    });
    expect(tx && (await crypto.verify(tx.senderPublicKey, transactionSigningBytes(tx), tx.signature))).toBe(
      true,
    );
  });
});

describe('transfers', () => {
  it('needs a wallet first', async () => {
    await renderWithWallet(null);
    submit('transfer', '1', devnetPem('staker', 'Public'));
    expect(await errorOf('transfer')).toMatch(/Set up a wallet first/);
  });

  it.each([
    ['', /Enter the receiver/],
    ['not a key', /Not a public key/],
    ['-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----', /Not a valid public key/],
    ['deadbeefdead', /No known account has the fingerprint deadbeefdead/],
  ])('refuses the receiver %j', async (receiver, message) => {
    await renderWithWallet('genesis');
    submit('transfer', '1', receiver);
    expect(await errorOf('transfer')).toMatch(message);
    expect(screen.getByTestId('transfer-receiver').getAttribute('aria-invalid')).toBe('true');
  });

  it('refuses a private key pasted as the receiver', async () => {
    await renderWithWallet('genesis');
    submit('transfer', '1', devnetPem('staker'));
    expect(await errorOf('transfer')).toMatch(/This is a private key: never share it/);
  });

  it.each(AMOUNT_CASES)('refuses the amount %j', async (amount, message) => {
    await renderWithWallet('genesis');
    submit('transfer', amount, devnetPem('staker', 'Public'));
    expect(await errorOf('transfer')).toMatch(message);
  });

  it('refuses more than the wallet holds', async () => {
    const { node } = await renderWithWallet('staker');
    submit('transfer', '3', devnetPem('genesis', 'Public'));
    expect(await errorOf('transfer')).toMatch(/you can spend 0 now, and this needs 3/);
    expect(node.getSnapshot().pool).toHaveLength(0);
  });

  it('counts pending transfers against what the wallet can spend', async () => {
    const { node } = await renderWithWallet('genesis');
    const staker = await devnetKeyPair('staker');
    // The genesis forger funds the staker, then this tab switches to the staker's key.
    submit('exchange', '20');
    await waitFor(() => expect(screen.getByTestId('my-balance').textContent).toBe('20'));
    submit('transfer', '20', staker.publicKeyPem);
    await waitFor(() => expect(node.getSnapshot().height).toBe(2));
    await node.setWallet(staker);
    await waitFor(() => expect(screen.getByTestId('my-balance').textContent).toBe('20'));
    // Nobody forges now: the first transfer stays pending and the second must fit beside it.
    submit('transfer', '15', devnetPem('genesis', 'Public'));
    await waitFor(() => expect(node.getSnapshot().pool).toHaveLength(1));
    expect(screen.getByTestId('my-balance').parentElement?.textContent).toMatch(/15 pending out/);
    submit('transfer', '10', devnetPem('genesis', 'Public'));
    expect(await errorOf('transfer')).toMatch(/you can spend 5 now, and this needs 10/);
    expect(node.getSnapshot().pool).toHaveLength(1);
  });

  it('sends to a pasted PEM (normalised from CRLF and a trailing newline)', async () => {
    const { node, keyPair } = await renderWithWallet('genesis');
    submit('exchange', '30');
    await waitFor(() => expect(screen.getByTestId('my-balance').textContent).toBe('30'));
    const pasted = `${devnetPem('staker', 'Public').replace(/\n/g, '\r\n')}\r\n`;
    submit('transfer', '12', pasted);
    await waitFor(() => expect(screen.getByTestId('my-balance').textContent).toBe('18'));
    const [tx] = node.blockAt(2)?.transactions ?? [];
    expect(tx).toMatchObject({
      type: 'TRANSFER',
      amount: 12,
      senderPublicKey: keyPair?.publicKeyPem,
      receiverPublicKey: devnetConfig().stakerPublicKey,
    });
    expect(tx && (await crypto.verify(tx.senderPublicKey, transactionSigningBytes(tx), tx.signature))).toBe(
      true,
    );
    expect(node.getSnapshot().state.balances.get(devnetConfig().stakerPublicKey ?? '')).toBe(12);
  });

  it('warns in the summary before sending to the wallet itself, and sends once confirmed', async () => {
    const { node, keyPair } = await renderWithWallet('genesis');
    submit('exchange', '10');
    await waitFor(() => expect(screen.getByTestId('my-balance').textContent).toBe('10'));
    open('transfer', '4', keyPair?.publicKeyPem);
    const warning = screen.getByTestId('confirm-self-warning');
    expect(warning.getAttribute('role')).toBe('alert');
    expect(warning.textContent).toMatch(/your own account/);
    expect(screen.getByTestId('confirm-receiver-name').textContent).toBe('you, devnet genesis');
    expect(screen.getByTestId('confirm-balance-after').textContent).toBe('10');
    expect(screen.getByTestId('confirm-submit').textContent).toBe('Send to myself anyway');
    expect(node.getSnapshot().pool).toHaveLength(0);
    expect(node.getSnapshot().height).toBe(1);
    // Confirming sends it: it lands, and the balance stays what it was.
    fireEvent.click(screen.getByTestId('confirm-submit'));
    await waitFor(() => expect(node.getSnapshot().height).toBe(2));
    expect(node.blockAt(2)?.transactions[0]).toMatchObject({
      type: 'TRANSFER',
      amount: 4,
      senderPublicKey: keyPair?.publicKeyPem,
      receiverPublicKey: keyPair?.publicKeyPem,
    });
    expect(screen.getByTestId('my-balance').textContent).toBe('10');
    expect(screen.queryByTestId('confirm-summary')).toBeNull();
  });

  it('gives no self-transfer warning for another receiver', async () => {
    const { node } = await renderWithWallet('genesis');
    submit('exchange', '10');
    await waitFor(() => expect(screen.getByTestId('my-balance').textContent).toBe('10'));
    open('transfer', '2', devnetPem('staker', 'Public'));
    expect(screen.queryByTestId('confirm-self-warning')).toBeNull();
    fireEvent.click(screen.getByTestId('confirm-submit'));
    await waitFor(() => expect(node.getSnapshot().height).toBe(2));
    expect(node.blockAt(2)?.transactions[0]?.receiverPublicKey).toBe(devnetConfig().stakerPublicKey);
  });

  it('picks the receiver from the known accounts: identicon, name and fingerprint, not PEM', async () => {
    const { node } = await renderWithWallet('genesis');
    submit('exchange', '5');
    await waitFor(() => expect(screen.getByTestId('my-balance').textContent).toBe('5'));
    const staker = devnetConfig().stakerPublicKey ?? '';
    const select = screen.getByTestId('transfer-known-account') as HTMLSelectElement;
    expect([...select.options].some((option) => option.textContent?.includes('devnet staker'))).toBe(true);
    fireEvent.change(select, { target: { value: staker } });
    // The PEM box gives way to the account's card; the PEM stays one click (and a copy) away.
    expect(screen.queryByTestId('transfer-receiver')).toBeNull();
    const picked = screen.getByTestId('transfer-picked');
    expect(picked.getAttribute('data-value')).toBe(staker);
    expect(picked.textContent).toContain('devnet staker');
    expect(picked.textContent).toContain(fingerprint(staker));
    expect(picked.querySelector('svg.identicon')).not.toBeNull();
    expect(within(picked).getByRole('button', { name: /Copy the public key/ })).toBeTruthy();
    expect(picked.querySelector('details pre')?.textContent).toBe(staker);
    expect(picked.querySelector('details')?.hasAttribute('open')).toBe(false);
    submit('transfer', '2');
    await waitFor(() => expect(node.getSnapshot().state.balances.get(staker)).toBe(2));
    // "Type another key" brings the box back, as it was.
    fireEvent.click(screen.getByTestId('transfer-clear-receiver'));
    expect((screen.getByTestId('transfer-receiver') as HTMLTextAreaElement).value).toBe('');
  });

  it("takes a known account's fingerprint as the receiver", async () => {
    const { node } = await renderWithWallet('genesis');
    submit('exchange', '5');
    await waitFor(() => expect(screen.getByTestId('my-balance').textContent).toBe('5'));
    const staker = devnetConfig().stakerPublicKey ?? '';
    submit('transfer', '1', fingerprint(staker));
    await waitFor(() => expect(node.getSnapshot().state.balances.get(staker)).toBe(1));
  });
});

describe('amounts the chain could not count exactly', () => {
  const MAX = Number.MAX_SAFE_INTEGER;

  /** The app over `node`, whose head state is patched by `patch` (a balance near 2^53, a full stake). */
  async function renderPatched(
    patch: (state: NodeSnapshot['state'], wallet: string) => NodeSnapshot['state'],
  ) {
    const keyPair = await devnetKeyPair('staker');
    const node = await startNode({ wallet: keyPair });
    const snapshot = node.getSnapshot();
    const state = patch(snapshot.state, keyPair.publicKeyPem);
    renderApp(makeServices(withSnapshot(node, { state })));
    return { node, keyPair };
  }

  it('refuses a purchase that would take the buyer past 2^53-1, before signing', async () => {
    const { node } = await renderPatched((state, wallet) => ({
      ...state,
      balances: state.balances.set(wallet, MAX - 10),
    }));
    submit('exchange', '11');
    expect(await errorOf('exchange')).toMatch(/receiver would hold more than 9007199254740991/);
    expect(node.getSnapshot().pool).toHaveLength(0);
  });

  it('refuses a stake past the network cap, before signing', async () => {
    const { node } = await renderPatched((state, wallet) => ({
      ...state,
      balances: state.balances.set(wallet, 50_000),
      stakes: state.stakes.set(wallet, state.maxTotalStake - 5),
    }));
    submit('stake', '10');
    expect(await errorOf('stake')).toMatch(/allows 10000 coins staked in total/);
    expect(node.getSnapshot().pool).toHaveLength(0);
  });
});
