// @vitest-environment jsdom
import { fireEvent, screen, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/ui/format';
import { summarize } from '../../src/ui/wallet/ConfirmTransaction';
import { cleanUpAfterEach, crypto, devnetConfig, devnetPem, renderWithWallet } from './helpers';

cleanUpAfterEach();

function fill(testId: string, value: string): void {
  fireEvent.change(screen.getByTestId(testId), { target: { value } });
}

/** Fills and submits a form: its summary opens (nothing is signed yet). */
function open(form: 'exchange' | 'stake' | 'transfer', amount: string, receiver?: string): HTMLElement {
  if (receiver !== undefined) fill('transfer-receiver', receiver);
  fill(`${form}-amount`, amount);
  fireEvent.click(screen.getByTestId(`${form}-submit`));
  return screen.getByTestId('confirm-summary');
}

/** A genesis wallet that bought `coins` (block 1, forged by this tab). */
async function funded(coins: number) {
  const rendered = await renderWithWallet('genesis');
  open('exchange', String(coins));
  fireEvent.click(screen.getByTestId('confirm-submit'));
  await waitFor(() => expect(screen.getByTestId('my-balance').textContent).toBe(String(coins)));
  return rendered;
}

describe('the confirmation step before signing', () => {
  it('signs nothing until confirmed: the summary names a known receiver, the amount and the balance after', async () => {
    const { node } = await funded(30);
    const staker = devnetConfig().stakerPublicKey ?? '';
    const summary = open('transfer', '12', staker);
    expect(node.getSnapshot().pool).toHaveLength(0);
    expect(summary.getAttribute('data-type')).toBe('TRANSFER');
    expect(screen.getByTestId('confirm-receiver').getAttribute('data-value')).toBe(staker);
    expect(screen.getByTestId('confirm-receiver-name').textContent).toBe('devnet staker');
    expect(screen.getByTestId('confirm-receiver').textContent).toContain(fingerprint(staker));
    expect(screen.getByTestId('confirm-receiver').querySelector('svg.identicon')).not.toBeNull();
    expect(screen.getByTestId('confirm-sender-name').textContent).toBe('you, devnet genesis');
    expect(screen.getByTestId('confirm-amount').textContent).toBe('12');
    expect(screen.getByTestId('confirm-balance-before').textContent).toBe('30');
    expect(screen.getByTestId('confirm-balance-after').textContent).toBe('18');
    expect(screen.queryByTestId('confirm-self-warning')).toBeNull();
    // Focus moved into the summary, so keyboard and screen-reader users are where it opened.
    expect(document.activeElement).toBe(summary);
    fireEvent.click(screen.getByTestId('confirm-submit'));
    await waitFor(() => expect(node.getSnapshot().state.balances.get(staker)).toBe(12));
    expect(screen.getByTestId('my-balance').textContent).toBe('18');
  });

  it('calls a receiver the page does not know an "unknown account"', async () => {
    await funded(5);
    const stranger = await crypto.generateKeyPair({ extractable: true });
    open('transfer', '1', stranger.publicKeyPem);
    expect(screen.getByTestId('confirm-receiver-name').textContent).toBe('unknown account');
    expect(screen.getByTestId('confirm-receiver').textContent).toContain(fingerprint(stranger.publicKeyPem));
  });

  it('warns about a transfer to the wallet itself, whose balance stays the same', async () => {
    const { keyPair } = await funded(9);
    open('transfer', '3', keyPair?.publicKeyPem);
    expect(screen.getByTestId('confirm-self-warning').textContent).toMatch(/balance stays the same/);
    expect(screen.getByTestId('confirm-balance-after').textContent).toBe('9');
  });

  it('shows a purchase from the exchange adding to the balance, and a stake moving balance to stake', async () => {
    await funded(20);
    open('exchange', '7');
    expect(screen.getByTestId('confirm-sender-name').textContent).toBe('exchange');
    expect(screen.getByTestId('confirm-receiver-name').textContent).toBe('you, devnet genesis');
    expect(screen.getByTestId('confirm-balance-after').textContent).toBe('27');
    fireEvent.click(screen.getByTestId('confirm-cancel'));
    open('stake', '5');
    expect(screen.getByTestId('confirm-balance-after').textContent).toBe('15');
    // The genesis key starts with stake 1.
    expect(screen.getByTestId('confirm-stake-after').textContent).toBe('6');
  });

  it('goes back with the form intact (Back or Escape), focus on the submit button, nothing signed', async () => {
    const { node } = await funded(10);
    const receiver = devnetPem('staker', 'Public');
    open('transfer', '4', receiver);
    fireEvent.click(screen.getByTestId('confirm-cancel'));
    expect(screen.queryByTestId('confirm-summary')).toBeNull();
    expect((screen.getByTestId('transfer-amount') as HTMLInputElement).value).toBe('4');
    expect((screen.getByTestId('transfer-receiver') as HTMLTextAreaElement).value).toBe(receiver);
    await waitFor(() => expect(document.activeElement).toBe(screen.getByTestId('transfer-submit')));

    fireEvent.click(screen.getByTestId('transfer-submit'));
    fireEvent.keyDown(screen.getByTestId('confirm-submit'), { key: 'Escape' });
    expect(screen.queryByTestId('confirm-summary')).toBeNull();
    expect((screen.getByTestId('transfer-amount') as HTMLInputElement).value).toBe('4');
    await waitFor(() => expect(document.activeElement).toBe(screen.getByTestId('transfer-submit')));
    expect(node.getSnapshot().pool).toHaveLength(0);
    expect(node.getSnapshot().height).toBe(1);
  });

  it('closes a summary that an edit made stale', async () => {
    await funded(10);
    open('stake', '4');
    fill('stake-amount', '5');
    expect(screen.queryByTestId('confirm-summary')).toBeNull();
    expect(screen.getByTestId('stake-submit').getAttribute('aria-expanded')).toBe('false');
  });
});

describe('summarize', () => {
  it('counts the pending outgoing coins in the balance after', async () => {
    const { node, keyPair } = await funded(10);
    const me = keyPair?.publicKeyPem ?? '';
    const snapshot = node.getSnapshot();
    const waiting = { transaction: { senderPublicKey: me, amount: 2, type: 'TRANSFER' } };
    const pool = [waiting] as unknown as typeof snapshot.pool;
    const draft = { type: 'TRANSFER', amount: 3, receiverPublicKey: 'someone' } as const;
    expect(summarize({ ...snapshot, pool }, me, me, draft)).toMatchObject({
      balanceBefore: 10,
      balanceAfter: 5,
      pendingOut: 2,
      stake: null,
      toSelf: false,
    });
    expect(summarize(snapshot, me, me, draft).balanceAfter).toBe(7);
  });
});
