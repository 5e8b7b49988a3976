// @vitest-environment jsdom
import { act, screen, waitFor } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { MemoryNetwork, SeededRandom, VirtualClock } from '../../src/net/memory';
import { type NodePhase, TabchainNode } from '../../src/node/node';
import type { Store } from '../../src/ports/store';
import type { Transport } from '../../src/ports/transport';
import { createMemoryStore } from '../../src/storage/memory';
import { cleanUpAfterEach, crypto, devnetConfig, makeServices, renderApp, startNode } from './helpers';

cleanUpAfterEach(() => vi.restoreAllMocks());

/** A promise and the function that resolves it. */
function gate(): { readonly opened: Promise<void>; readonly open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

/** `store`, with every call held until `opened` resolves (a slow IndexedDB). */
function heldStore(store: Store, opened: Promise<void>): Store {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        await opened;
        return value.apply(target, args);
      };
    },
  });
}

/** `transport`, whose `start` waits for `opened` (a signaling server that is not there yet). */
function heldTransport(transport: Transport, opened: Promise<void>): Transport {
  return {
    get localId() {
      return transport.localId;
    },
    start: async (handlers, signal) => {
      await opened;
      return transport.start(handlers, signal);
    },
    stop: () => transport.stop(),
    connectedPeers: () => transport.connectedPeers(),
    connect: (peer) => transport.connect(peer),
    disconnect: (peer) => transport.disconnect(peer),
    send: (peer, data) => transport.send(peer, data),
    status: () => transport.status(),
  };
}

describe("the node's phase", () => {
  it('goes restoring → ready → connected → stopped, and the page follows it from the snapshot', async () => {
    const clock = new VirtualClock();
    const network = new MemoryNetwork({ random: new SeededRandom(7), clock });
    const storeGate = gate();
    const transportGate = gate();
    const node = new TabchainNode({
      genesis: { genesisPublicKey: devnetConfig().genesisPublicKey },
      transport: heldTransport(network.createTransport('phases'), transportGate.opened),
      crypto,
      clock,
      store: heldStore(createMemoryStore(), storeGate.opened),
    });
    const phases: NodePhase[] = [node.getSnapshot().phase];
    node.subscribe(() => {
      const phase = node.getSnapshot().phase;
      if (phases.at(-1) !== phase) phases.push(phase);
    });
    const started = node.start();
    renderApp(makeServices(node), '#/explorer');

    // Restoring: the page shows no chain at all (not genesis as if it were the chain).
    expect(screen.getByTestId('node-phase').getAttribute('data-value')).toBe('restoring');
    expect(screen.queryByTestId('head-height')).toBeNull();

    // Restored, the transport still starting: the chain shows, with the connecting banner.
    storeGate.open();
    await waitFor(() => expect(screen.getByTestId('node-phase').getAttribute('data-value')).toBe('ready'));
    expect(screen.getByTestId('node-phase').textContent).toMatch(/works alone meanwhile/);
    expect(screen.getByTestId('head-height').textContent).toBe('0');
    expect(screen.getByTestId('network-status').getAttribute('data-phase')).toBe('ready');
    expect(screen.getByTestId('network-status').textContent).toBe('connecting…');

    // Connected: no banner; the header says so.
    transportGate.open();
    await started;
    await waitFor(() => expect(screen.queryByTestId('node-phase')).toBeNull());
    expect(screen.getByTestId('network-status').getAttribute('data-phase')).toBe('connected');
    expect(screen.getByTestId('network-status').textContent).toBe('online');

    await act(() => node.stop());
    expect(screen.getByTestId('node-phase').getAttribute('data-value')).toBe('stopped');
    expect(phases).toEqual(['stopped', 'restoring', 'ready', 'connected', 'stopped']);
  });
});

describe('the transport status', () => {
  it('reaches the page by event: no interval polls it', async () => {
    const setInterval = vi.spyOn(globalThis, 'setInterval');
    const clock = new VirtualClock();
    const network = new MemoryNetwork({ random: new SeededRandom(7), clock });
    network.setSignaling('connecting');
    const node = await startNode({ network, clock });
    renderApp(makeServices(node), '#/network');
    const signaling = () => screen.getByTestId('signaling-status').getAttribute('data-value');
    const header = () => screen.getByTestId('network-status');
    expect(signaling()).toBe('connecting');
    expect(header().textContent).toBe('online, signaling reconnecting…');

    // Each change shows as soon as the node's change notice (a microtask) is handled: no timer runs.
    await act(async () => network.setSignaling('connected'));
    expect(signaling()).toBe('connected');
    expect(header().getAttribute('data-signaling')).toBe('connected');
    expect(header().textContent).toBe('online');

    await act(async () => network.setSignaling('down'));
    expect(signaling()).toBe('down');
    expect(screen.getByTestId('signaling-status').textContent).toMatch(/keeps working alone/);
    expect(header().textContent).toBe('online, signaling unreachable');
    expect(node.getSnapshot().transport).toEqual({ kind: 'memory', signaling: 'down' });

    expect(setInterval).not.toHaveBeenCalled();
  });
});
