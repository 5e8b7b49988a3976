// @vitest-environment jsdom
import { act, fireEvent, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import {
  CHECKLIST_SETTING_KEY,
  checklistDismissed,
  decodeChecklistSetting,
} from '../../src/ui/guide/checklist-steps';
import { cleanUpAfterEach, devnetConfig, makeServices, renderApp, startNode } from './helpers';
import { liveSnapshot, peerView } from './map-fixtures';

cleanUpAfterEach(() => localStorage.clear());

const done = () =>
  screen
    .getAllByTestId('checklist-step')
    .filter((step) => step.getAttribute('data-done') === 'true')
    .map((step) => step.getAttribute('data-step'));

function transfer(sender: string, type = 'TRANSFER', receiver = 'someone') {
  return {
    transaction: {
      senderPublicKey: sender,
      receiverPublicKey: receiver,
      amount: 1,
      type,
      id: `${type}-1`,
      timestamp: 1,
      signature: 's',
    },
    receivedAt: 1,
  };
}

describe('the classroom checklist', () => {
  it('walks through the quick start, ticking each step off as it happens', async () => {
    const node = await startNode();
    const live = liveSnapshot(node);
    renderApp(makeServices(live.api), '#/wallet');
    const checklist = screen.getByTestId('classroom-checklist');
    expect(done()).toEqual([]);
    expect(checklist.textContent).toMatch(/0 of 6 done/);
    expect(checklist.textContent).toMatch(/Open a second tab/);

    act(() => live.set({ peers: [peerView('tab-b')] }));
    expect(done()).toEqual(['second-tab']);
    // A tick stays when the peer goes.
    act(() => live.set({ peers: [] }));
    expect(done()).toEqual(['second-tab']);

    const me = devnetConfig().stakerPublicKey as string;
    act(() => live.set({ wallet: { publicKeyPem: me, extractable: true } }));
    expect(done()).toEqual(['second-tab', 'key']);
    // Coins from someone's transfer are no purchase; an EXCHANGE from the exchange to the wallet is.
    act(() => live.set({ pool: [transfer('someone', 'TRANSFER', me)] }));
    expect(done()).toEqual(['second-tab', 'key']);
    act(() => live.set({ pool: [transfer('the exchange', 'EXCHANGE', me)] }));
    expect(done()).toEqual(['second-tab', 'key', 'buy']);
    act(() => live.set({ pool: [transfer(me, 'STAKE')] }));
    expect(done()).toEqual(['second-tab', 'key', 'buy', 'stake']);
    // Someone else's transfer is not ours.
    act(() => live.set({ pool: [transfer('another key')] }));
    expect(done()).toEqual(['second-tab', 'key', 'buy', 'stake']);
    act(() => live.set({ pool: [], head: { ...live.get().head, transactions: [transfer(me).transaction] } }));
    expect(done()).toEqual(['second-tab', 'key', 'buy', 'stake', 'transfer']);

    // The explorer counts once there is a block to watch.
    act(() => {
      window.location.hash = '#/explorer';
    });
    expect(done()).not.toContain('explorer');
    act(() => live.set({ height: 1 }));
    expect(done()).toContain('explorer');
    expect(screen.getByTestId('classroom-checklist').textContent).toMatch(/6 of 6 done/);
  });

  it('stays hidden once dismissed, and ignores a setting that is not its own', async () => {
    const node = await startNode();
    const first = renderApp(makeServices(node), '#/wallet');
    fireEvent.click(screen.getByTestId('checklist-dismiss'));
    expect(screen.queryByTestId('classroom-checklist')).toBeNull();
    expect(localStorage.getItem(CHECKLIST_SETTING_KEY)).toBe('{"dismissed":true}');
    first.unmount();
    renderApp(makeServices(node), '#/network');
    expect(screen.queryByTestId('classroom-checklist')).toBeNull();

    for (const junk of ['{"dismissed":"yes"}', 'not json', '{"dismissed":true,"extra":1}', 'x'.repeat(500)]) {
      localStorage.setItem(CHECKLIST_SETTING_KEY, junk);
      expect(checklistDismissed()).toBe(false);
    }
  });
});

describe('decodeChecklistSetting', () => {
  it('reads its own setting and refuses anything else with a reason', () => {
    expect(decodeChecklistSetting(null)).toEqual({ ok: true, value: { dismissed: false } });
    expect(decodeChecklistSetting('{"dismissed":true}')).toEqual({ ok: true, value: { dismissed: true } });
    expect(decodeChecklistSetting('{"dismissed":false}')).toEqual({ ok: true, value: { dismissed: false } });
    expect(decodeChecklistSetting('{')).toEqual({ ok: false, error: 'The checklist setting is not JSON.' });
    expect(decodeChecklistSetting('[true]')).toMatchObject({ ok: false });
    expect(decodeChecklistSetting(`{"dismissed":true,"pad":"${'x'.repeat(300)}"}`)).toEqual({
      ok: false,
      error: 'The checklist setting is too long.',
    });
  });

  it('counts storage that throws as not dismissed', () => {
    const throwing = {
      getItem: () => {
        throw new Error('denied');
      },
    };
    expect(checklistDismissed(throwing)).toBe(false);
  });
});
