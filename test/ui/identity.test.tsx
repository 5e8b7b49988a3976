// @vitest-environment jsdom
import { fireEvent, screen, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { MemoryLockHub } from '../../src/locks/memory';
import type { ForgingControl, ForgingStatus } from '../../src/ports/locks';
import { nodeLockName } from '../../src/ports/locks';
import { createNodeRegistry, deleteOldNode, listOldNodes } from '../../src/storage/node-registry';
import type { DatabaseAdmin } from '../../src/ui/app-services';
import { fingerprint } from '../../src/ui/format';
import { cleanUpAfterEach, devnetPem, makeServices, renderApp, renderWithWallet, startNode } from './helpers';

cleanUpAfterEach(() => localStorage.clear());

const SELF = 'aaaaaaaaaaaaaaaa';
const LIVE = 'bbbbbbbbbbbbbbbb';
const SAVED = 'cccccccccccccccc';
const TWIN = 'dddddddddddddddd';

/** The real old-nodes admin (registry, locks, delete inside the lock) over a fake database list. */
function browserOf() {
  const hub = new MemoryLockHub();
  const registry = createNodeRegistry(localStorage);
  const deleted: string[] = [];
  const me = hub.tab();
  const admin = (selfId: string): DatabaseAdmin => ({
    list: () =>
      listOldNodes({
        locks: me,
        registry,
        databases: registry
          .entries()
          .filter((entry) => !deleted.includes(entry.id))
          .map((entry) => ({ nodeId: entry.id, name: `tabchain-node-${entry.id}` })),
        selfId,
      }),
    remove: (id) =>
      deleteOldNode({ locks: me, registry, deleteDatabase: async (target) => void deleted.push(target) }, id),
  });
  return { hub, registry, deleted, me, admin };
}

describe('old nodes in this browser', () => {
  it('lists only nodes no live tab holds, each with its id', async () => {
    const browser = browserOf();
    for (const id of [SELF, LIVE, SAVED]) browser.registry.touch(id, { height: 1, publicKey: '' });
    await browser.me.tryAcquire(nodeLockName(SELF));
    await browser.hub.tab().tryAcquire(nodeLockName(LIVE));
    const node = await startNode();
    renderApp(makeServices(node, { databases: browser.admin(SELF), nodeId: SELF }), '#/network');
    await waitFor(() => expect(screen.getAllByTestId('old-node')).toHaveLength(1));
    expect(screen.getByTestId('old-node').getAttribute('data-value')).toBe(SAVED);
    expect(screen.getByTestId('node-id').getAttribute('data-value')).toBe(SELF);
  });

  it('refuses to delete a node that a tab opened since the list was shown', async () => {
    const browser = browserOf();
    browser.registry.touch(SAVED, { height: 2, publicKey: '' });
    const node = await startNode();
    renderApp(makeServices(node, { databases: browser.admin(SELF), nodeId: SELF }), '#/network');
    await screen.findByTestId('old-node');
    // Another tab opens the node now.
    await browser.hub.tab().tryAcquire(nodeLockName(SAVED));
    fireEvent.click(screen.getByTestId('delete-database'));
    fireEvent.click(screen.getByTestId('delete-database-confirm'));
    await waitFor(() => expect(screen.getByTestId('old-node-error').textContent).toMatch(/open in a tab/));
    expect(browser.deleted).toEqual([]);
    expect(browser.registry.entries().map((entry) => entry.id)).toEqual([SAVED]);
    // And it is no longer listed as old.
    expect(screen.queryAllByTestId('old-node')).toHaveLength(0);
  });

  it('asks first, saying what is lost: its chain, its wallet, and whether the key is elsewhere', async () => {
    const browser = browserOf();
    const genesis = devnetPem('genesis', 'Public');
    const staker = devnetPem('staker', 'Public');
    browser.registry.touch(SAVED, { height: 4, publicKey: genesis });
    browser.registry.touch(TWIN, { height: 9, publicKey: genesis });
    browser.registry.touch(LIVE, { height: 1, publicKey: staker });
    const node = await startNode();
    renderApp(makeServices(node, { databases: browser.admin(SELF), nodeId: SELF }), '#/network');
    await waitFor(() => expect(screen.getAllByTestId('old-node')).toHaveLength(3));
    const deleteOf = (id: string) => {
      const button = screen
        .getAllByTestId('delete-database')
        .find((candidate) => candidate.getAttribute('data-node-id') === id);
      if (!button) throw new Error(`no delete button for ${id}`);
      fireEvent.click(button);
    };
    deleteOf(SAVED);
    const warning = screen.getByTestId('delete-database-warning').textContent ?? '';
    expect(warning).toContain(`Deleting node ${SAVED} deletes its chain (height 4)`);
    expect(warning).toContain('its wallet');
    expect(warning).toContain(`also held by node ${TWIN}`);
    expect(browser.deleted).toEqual([]);
    fireEvent.click(screen.getByText('Cancel'));
    deleteOf(LIVE);
    expect(screen.getByTestId('delete-database-warning').textContent).toContain(
      `Its wallet key ${fingerprint(staker)} exists in no other node of this browser: unless you exported it, it is lost for good.`,
    );
    fireEvent.click(screen.getByTestId('delete-database-confirm'));
    await waitFor(() => expect(browser.deleted).toEqual([LIVE]));
    await waitFor(() => expect(screen.getAllByTestId('old-node')).toHaveLength(2));
  });
});

/** A forging claim whose status the test sets. */
function fakeForging(
  initial: ForgingStatus,
): ForgingControl & { set(status: ForgingStatus): void; takeOvers: number } {
  const listeners = new Set<() => void>();
  let status = initial;
  const control = {
    takeOvers: 0,
    status: () => status,
    subscribe(listener: () => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async takeOver() {
      control.takeOvers++;
      control.set('this-tab');
    },
    set(next: ForgingStatus) {
      status = next;
      for (const listener of listeners) listener();
    },
  };
  return control;
}

describe('forging-status', () => {
  it('is off without a key, whatever the claim says', async () => {
    await renderWithWallet(null, { forging: fakeForging('other-tab') });
    expect(screen.getByTestId('forging-status').getAttribute('data-value')).toBe('off');
    expect(screen.queryByTestId('forging-take-over')).toBeNull();
  });

  it('is this-tab when this tab holds the key, whatever its stake', async () => {
    await renderWithWallet('staker', { forging: fakeForging('this-tab') });
    expect(screen.getByTestId('my-stake').textContent).toBe('0');
    expect(screen.getByTestId('forging-status').getAttribute('data-value')).toBe('this-tab');
  });

  it('is other-tab when another tab holds it, and takes over in one click', async () => {
    const forging = fakeForging('other-tab');
    await renderWithWallet('genesis', { forging });
    expect(screen.getByTestId('forging-status').getAttribute('data-value')).toBe('other-tab');
    expect(screen.getByTestId('forging-status').textContent).toMatch(/another tab/);
    fireEvent.click(screen.getByTestId('forging-take-over'));
    await waitFor(() =>
      expect(screen.getByTestId('forging-status').getAttribute('data-value')).toBe('this-tab'),
    );
    expect(forging.takeOvers).toBe(1);
  });

  it('is other-node when an always-on node forges with the key, and Take over asks it to stop', async () => {
    const forging = fakeForging('other-node');
    await renderWithWallet('genesis', { forging });
    const status = screen.getByTestId('forging-status');
    expect(status.getAttribute('data-value')).toBe('other-node');
    expect(status.textContent).toBe(
      'An always-on node forges with this key: this tab does not forge with it.',
    );
    const button = screen.getByTestId('forging-take-over');
    expect(button.textContent).toBe('Take over');
    fireEvent.click(button);
    await waitFor(() =>
      expect(screen.getByTestId('forging-status').getAttribute('data-value')).toBe('this-tab'),
    );
    expect(forging.takeOvers).toBe(1);
  });

  it("follows the node's own flag where no claim is given", async () => {
    const { node } = await renderWithWallet('genesis');
    expect(screen.getByTestId('forging-status').getAttribute('data-value')).toBe('this-tab');
    await node.setForging(false);
    await waitFor(() =>
      expect(screen.getByTestId('forging-status').getAttribute('data-value')).toBe('other-tab'),
    );
  });
});
