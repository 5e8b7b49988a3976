// @vitest-environment jsdom
import { act, screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { MAX_EVENTS } from '../../src/ui/network/WhatIsHappening';
import { cleanUpAfterEach, devnetConfig, makeServices, renderApp, startNode } from './helpers';
import { liveSnapshot, peerView } from './map-fixtures';

cleanUpAfterEach(() => localStorage.clear());

describe('the "what is happening" panel', () => {
  it('explains each change as it happens, newest first, politely announced, the last 20 kept', async () => {
    const node = await startNode();
    const live = liveSnapshot(node);
    renderApp(makeServices(live.api), '#/network');
    const panel = screen.getByTestId('what-is-happening');
    expect(panel.getAttribute('aria-live')).toBe('polite');
    // Where things stand, first.
    const events = () =>
      within(panel)
        .getAllByTestId('happening-event')
        .map((li) => li.textContent ?? '');
    expect(events()).toHaveLength(1);
    expect(events()[0]).toMatch(
      /This tab is at block 0 with no peers yet\. Next to forge: devnet genesis\.$/,
    );

    act(() => live.set({ peers: [peerView('tab-b', devnetConfig().stakerPublicKey as string)] }));
    act(() => live.set({ peers: [] }));
    expect(events()).toHaveLength(3);
    expect(events()[0]).toMatch(/peer tab-b \(devnet staker\) left/);
    expect(events()[1]).toMatch(/A tab joined: peer tab-b \(devnet staker\) is now a peer of this tab\./);

    for (let i = 0; i < MAX_EVENTS; i++) {
      act(() => live.set({ peers: [peerView(`tab-${i}`)] }));
    }
    expect(events()).toHaveLength(MAX_EVENTS);
    // The last change: tab-18 went and tab-19 came (one snapshot, told in the order found, reversed).
    expect(events()[0]).toMatch(/peer tab-18 left/);
    expect(events()[1]).toMatch(/peer tab-19 is now a peer/);
    expect(events().some((text) => /tab-b/.test(text))).toBe(false);
  });
});
