// @vitest-environment jsdom
import { act, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import type { NodeSnapshot } from '../../src/node/node';
import { fingerprint } from '../../src/ui/format';
import { buildMapModel, INNER_RADIUS, OUTER_RADIUS } from '../../src/ui/network/map-model';
import { HOP_ANIMATION_MS, SPREAD_HOLD_MS } from '../../src/ui/network/NetworkMap';
import { cleanUpAfterEach, devnetConfig, devnetKeyPair, makeServices, renderApp, startNode } from './helpers';
import { hop, liveSnapshot, peerView, spread } from './map-fixtures';

const originalMatchMedia = window.matchMedia;

cleanUpAfterEach(() => {
  vi.useRealTimers();
  window.matchMedia = originalMatchMedia;
  localStorage.clear();
});

/** Makes the page report `prefers-reduced-motion: reduce`. */
function preferReducedMotion(): void {
  window.matchMedia = ((query: string) => ({
    matches: query.includes('prefers-reduced-motion'),
    media: query,
    addEventListener: () => {},
    removeEventListener: () => {},
  })) as unknown as typeof window.matchMedia;
}

const mapNodes = () => within(screen.getByTestId('network-map')).getAllByTestId('map-node');
const mapNode = (id: string) => {
  const found = mapNodes().find((element) => element.getAttribute('data-node-id') === id);
  if (!found) throw new Error(`no map node ${id}`);
  return found;
};
const hopDelays = () =>
  screen.queryAllByTestId('map-hop').map((element) => element.getAttribute('data-delay-ms'));

/**
 * This tab (genesis key: a forger, and next to forge), an always-on node with the staker key (given
 * stake here, so a forger too), a keyless tab, and a node only a peer named.
 */
async function classNetwork(): Promise<{
  snapshot: Partial<NodeSnapshot>;
  node: Awaited<ReturnType<typeof startNode>>;
}> {
  const node = await startNode({ wallet: await devnetKeyPair('genesis') });
  const { stakerPublicKey } = devnetConfig();
  const staker = stakerPublicKey as string;
  const base = node.getSnapshot();
  const snapshot: Partial<NodeSnapshot> = {
    nodeId: 'self-node',
    state: { ...base.state, stakes: base.state.stakes.set(staker, 20) },
    peers: [peerView('always-on-1', staker, true), peerView('tab-keyless')],
    topology: {
      nodes: [
        { id: 'self-node', forgerKey: base.wallet?.publicKeyPem ?? null, alwaysOn: false, direct: false },
        { id: 'always-on-1', forgerKey: staker, alwaysOn: true, direct: true },
        { id: 'tab-keyless', forgerKey: null, alwaysOn: false, direct: true },
        { id: 'far-away-tab-0123', forgerKey: null, alwaysOn: false, direct: false },
      ],
      links: [
        { a: 'always-on-1', b: 'self-node' },
        { a: 'self-node', b: 'tab-keyless' },
        { a: 'always-on-1', b: 'far-away-tab-0123' },
        { a: 'always-on-1', b: 'tab-keyless' },
      ],
    },
  };
  return { snapshot, node };
}

describe('the network map', () => {
  it('shows this tab alone when it knows no other node', async () => {
    const node = await startNode();
    renderApp(makeServices(node), '#/network');
    const map = screen.getByTestId('network-map');
    expect(mapNodes()).toHaveLength(1);
    const self = mapNodes()[0] as HTMLElement;
    expect(self.getAttribute('data-self')).toBe('true');
    expect(self.getAttribute('data-name')).toBe('you');
    expect(map.querySelector('svg title')?.textContent).toBe('Map of the network this tab knows');
    expect(map.querySelector('svg desc')?.textContent).toMatch(/Only this tab: no peers yet/);
    expect(screen.queryAllByTestId('map-hop')).toHaveLength(0);
    expect((screen.getByTestId('map-replay') as HTMLButtonElement).disabled).toBe(true);
    expect(map.textContent).toMatch(/No block has spread since this tab started/);
  });

  it('marks this tab, the forgers, who forges next and the always-on nodes, with account names', async () => {
    const { node, snapshot } = await classNetwork();
    const live = liveSnapshot(node, snapshot);
    renderApp(makeServices(live.api), '#/network');
    expect(mapNodes().map((element) => element.getAttribute('data-node-id'))).toEqual([
      'self-node',
      'always-on-1',
      'tab-keyless',
      'far-away-tab-0123',
    ]);
    const self = mapNode('self-node');
    expect(self.getAttribute('data-self')).toBe('true');
    expect(self.getAttribute('data-forger')).toBe('true');
    expect(self.getAttribute('data-next')).toBe('true');
    expect(self.getAttribute('data-name')).toBe('you, devnet genesis');
    expect(self.textContent).toMatch(/next/);
    expect(self.querySelector('.map-label')?.textContent).toBe('you, devnet ge…');
    expect(self.querySelector('svg.identicon')).not.toBeNull();
    expect(self.querySelector('.map-next-ring')).not.toBeNull();

    const alwaysOn = mapNode('always-on-1');
    expect(alwaysOn.getAttribute('data-always-on')).toBe('true');
    expect(alwaysOn.getAttribute('data-forger')).toBe('true');
    expect(alwaysOn.getAttribute('data-next')).toBe('false');
    expect(alwaysOn.getAttribute('data-name')).toBe('devnet staker');
    // A square, not a circle: the shape says always-on, not a colour.
    expect(alwaysOn.querySelector('rect.map-node-body')).not.toBeNull();
    expect(alwaysOn.querySelector('.map-forger-ring')).not.toBeNull();
    expect(alwaysOn.querySelector('.map-next-ring')).toBeNull();

    const keyless = mapNode('tab-keyless');
    expect(keyless.getAttribute('data-forger')).toBe('false');
    expect(keyless.querySelector('circle.map-node-body')).not.toBeNull();
    expect(keyless.querySelector('svg.identicon')).toBeNull();
    // No key: a short id.
    expect(mapNode('far-away-tab-0123').textContent).toContain('far-aw…');

    // The same facts in words.
    const facts = screen.getByTestId('map-facts-nodes');
    const selfRow = within(facts).getByText('you, devnet genesis').closest('tr') as HTMLElement;
    expect(selfRow.textContent).toMatch(/this tab.*forger \(has stake\).*forges the next block/);
    const stakerRow = within(facts).getByText('devnet staker').closest('tr') as HTMLElement;
    expect(stakerRow.textContent).toMatch(/always-on node, direct peer, forger/);
    expect(within(facts).getByText('devnet staker').getAttribute('href')).toBe(
      `#/account/${fingerprint(devnetConfig().stakerPublicKey as string)}`,
    );
    expect(screen.getByTestId('network-map').querySelector('svg desc')?.textContent).toMatch(
      /2 direct peers around it and 1 node they named outside, with 4 links/,
    );

    // When the next forger changes, the mark moves.
    act(() => live.set({ nextForger: devnetConfig().stakerPublicKey as string }));
    expect(mapNode('self-node').getAttribute('data-next')).toBe('false');
    expect(mapNode('always-on-1').getAttribute('data-next')).toBe('true');
    expect(mapNode('always-on-1').textContent).toMatch(/next/);
  });

  it('brings the node of a #/network/node/<id> link into view on the map', async () => {
    const { node, snapshot } = await classNetwork();
    const live = liveSnapshot(node, snapshot);
    renderApp(makeServices(live.api), '#/network/node/tab-keyless');
    await waitFor(() => expect(mapNode('tab-keyless').classList.contains('node-target')).toBe(true));
    expect(mapNode('always-on-1').classList.contains('node-target')).toBe(false);
  });

  it('labels the hops of the last block with their delays, in the order they happened (reduced motion)', async () => {
    preferReducedMotion();
    const { node, snapshot } = await classNetwork();
    const hops = [
      hop('always-on-1', 'tab-keyless', 9, 21),
      hop('self-node', 'always-on-1', 12, 12),
      hop('always-on-1', 'far-away-tab-0123', 23, 35),
    ];
    const live = liveSnapshot(node, {
      ...snapshot,
      propagation: [spread(hops, { height: 7, forgedBy: 'self-node' })],
    });
    renderApp(makeServices(live.api), '#/network');
    // The end state at once: every hop in atMs order, each with its own delay.
    expect(hopDelays()).toEqual(['12', '9', '23']);
    expect(screen.getAllByTestId('map-hop').map((element) => element.textContent)).toEqual([
      '+12 ms',
      '+9 ms',
      '+23 ms',
    ]);
    expect(screen.getByTestId('map-last-block').textContent).toMatch(/Block 7 reached 3 nodes in 35 ms/);
    for (const id of ['self-node', 'always-on-1', 'tab-keyless', 'far-away-tab-0123']) {
      expect(mapNode(id).classList.contains('map-has-block')).toBe(true);
    }
    expect(screen.getByTestId('network-map').querySelector('.map-dot')).toBeNull();
    // A trail announced later joins the drawn spread.
    act(() =>
      live.set({
        propagation: [
          spread([...hops, hop('tab-keyless', 'late-tab-9999', 30, 51)], {
            height: 7,
            forgedBy: 'self-node',
          }),
        ],
      }),
    );
    expect(hopDelays()).toEqual(['12', '9', '23', '30']);
    expect(mapNode('late-tab-9999').classList.contains('map-has-block')).toBe(true);
    act(() => live.set({ propagation: [spread(hops, { height: 7, forgedBy: 'self-node' })] }));
    const facts = screen.getByTestId('map-facts-hops');
    expect(facts.querySelector('caption')?.textContent).toBe('How block 7 spread, from you, devnet genesis');
    expect([...facts.querySelectorAll('tbody tr')].map((row) => row.textContent)).toEqual([
      'you, devnet genesisdevnet staker12 ms12 ms',
      'devnet stakernode tab-ke…9 ms21 ms',
      'devnet stakernode far-aw…23 ms35 ms',
    ]);
  });

  it('animates a new block hop by hop, holds the spread, fades it, and replays it on demand', async () => {
    const { node, snapshot } = await classNetwork();
    const live = liveSnapshot(node, snapshot);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    renderApp(makeServices(live.api), '#/network');
    expect(hopDelays()).toEqual([]);
    const hops = [hop('self-node', 'always-on-1', 12, 12), hop('always-on-1', 'tab-keyless', 9, 21)];
    act(() => live.set({ propagation: [spread(hops, { forgedBy: 'self-node' })] }));
    const map = screen.getByTestId('network-map');
    // The first hop runs: a dot travels, no delay is shown yet; the forging node has the block.
    expect(map.getAttribute('data-phase')).toBe('playing');
    expect(map.querySelectorAll('.map-dot')).toHaveLength(1);
    expect(hopDelays()).toEqual([]);
    expect(mapNode('self-node').classList.contains('map-has-block')).toBe(true);
    expect(mapNode('always-on-1').classList.contains('map-has-block')).toBe(false);

    act(() => vi.advanceTimersByTime(HOP_ANIMATION_MS));
    expect(hopDelays()).toEqual(['12']);
    expect(mapNode('always-on-1').classList.contains('map-has-block')).toBe(true);
    expect(mapNode('tab-keyless').classList.contains('map-has-block')).toBe(false);

    act(() => vi.advanceTimersByTime(HOP_ANIMATION_MS));
    expect(hopDelays()).toEqual(['12', '9']);
    expect(map.getAttribute('data-phase')).toBe('holding');
    expect(map.querySelectorAll('.map-dot')).toHaveLength(0);

    act(() => vi.advanceTimersByTime(SPREAD_HOLD_MS));
    expect(map.getAttribute('data-phase')).toBe('faded');
    expect(hopDelays()).toEqual([]);
    expect(mapNode('self-node').classList.contains('map-has-block')).toBe(false);

    fireEvent.click(screen.getByTestId('map-replay'));
    expect(map.getAttribute('data-phase')).toBe('playing');
    act(() => vi.advanceTimersByTime(2 * HOP_ANIMATION_MS));
    expect(hopDelays()).toEqual(['12', '9']);
  });
});

describe('the map layout', () => {
  const distance = (node: { x: number; y: number }) => Math.round(Math.hypot(node.x, node.y));

  it('puts this tab in the centre, direct peers on the inner ring and the rest outside, all apart', async () => {
    const { node, snapshot } = await classNetwork();
    const model = buildMapModel({ ...node.getSnapshot(), ...snapshot });
    const byId = new Map(model.nodes.map((n) => [n.id, n]));
    expect(distance(byId.get('self-node') as { x: number; y: number })).toBe(0);
    expect(distance(byId.get('always-on-1') as { x: number; y: number })).toBe(INNER_RADIUS);
    expect(distance(byId.get('tab-keyless') as { x: number; y: number })).toBe(INNER_RADIUS);
    expect(distance(byId.get('far-away-tab-0123') as { x: number; y: number })).toBe(OUTER_RADIUS);
    const places = new Set(model.nodes.map((n) => `${n.x},${n.y}`));
    expect(places.size).toBe(model.nodes.length);
    // The viewBox holds every node.
    for (const n of model.nodes) {
      expect(n.x).toBeGreaterThan(model.viewBox.x);
      expect(n.x).toBeLessThan(model.viewBox.x + model.viewBox.width);
      expect(n.y).toBeGreaterThan(model.viewBox.y);
      expect(n.y).toBeLessThan(model.viewBox.y + model.viewBox.height);
    }
  });

  it('keeps nodes where they were when another comes or goes', async () => {
    const node = await startNode();
    const base = node.getSnapshot();
    const peers = ['peer-a', 'peer-b', 'peer-c', 'peer-d'].map((id) => peerView(id));
    const place = (ids: readonly string[]) => {
      const model = buildMapModel({ ...base, peers: peers.filter((p) => ids.includes(p.id)) });
      return new Map(model.nodes.map((n) => [n.id, `${n.x},${n.y}`]));
    };
    const four = place(['peer-a', 'peer-b', 'peer-c', 'peer-d']);
    const three = place(['peer-a', 'peer-b', 'peer-d']);
    for (const id of ['peer-a', 'peer-b', 'peer-d']) expect(three.get(id)).toBe(four.get(id));
    // Same input in another order, same picture.
    const reversed = buildMapModel({ ...base, peers: [...peers].reverse() });
    expect(new Map(reversed.nodes.map((n) => [n.id, `${n.x},${n.y}`]))).toEqual(four);
  });
});
