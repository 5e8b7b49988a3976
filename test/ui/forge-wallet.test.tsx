// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type CryptoProvider,
  canonicalPublicKeyPem,
  createForgeProvider,
  type KeyPair,
} from '../../src/crypto';
import { MemoryNetwork, SeededRandom, VirtualClock } from '../../src/net/memory';
import { TabchainNode } from '../../src/node/node';
import type { Store } from '../../src/ports/store';
import { createMemoryStore } from '../../src/storage/memory';
import { App } from '../../src/ui/App';
import { devnetConfig, devnetPem, makeServices, renderWithWallet } from './helpers';

// Issue 14: on a page without WebCrypto (plain http from another machine) the node-forge
// provider signs, and its key must survive a reload like a WebCrypto key does. The wallet view
// says, on that path only, that the key is readable in this browser and how to avoid it.

const running = new Set<TabchainNode>();
afterEach(async () => {
  cleanup();
  for (const node of running) await node.stop();
  running.clear();
});

/** A node signing with `crypto` over `store`, as main.tsx makes one (on a virtual clock). */
async function startForgeNode(crypto: CryptoProvider, store: Store, id: string): Promise<TabchainNode> {
  const clock = new VirtualClock();
  const node = new TabchainNode({
    genesis: { genesisPublicKey: devnetConfig().genesisPublicKey },
    transport: new MemoryNetwork({ random: new SeededRandom(7), clock }).createTransport(id),
    crypto,
    clock,
    random: () => 0.5,
    store,
  });
  await node.start();
  running.add(node);
  return node;
}

function renderTab(node: TabchainNode, crypto: CryptoProvider) {
  window.location.hash = '#/wallet';
  return render(<App boot={{ status: 'ready', services: makeServices(node, { crypto }) }} />);
}

describe('the node-forge fallback keeps its key', () => {
  it('says the key is extractable there and why, and a reloaded tab still has the key and signs with it', async () => {
    const store = createMemoryStore();
    const firstCrypto = createForgeProvider();
    // The first tab's node closes its store on stop; the memory store would refuse a reopen.
    const first = await startForgeNode(firstCrypto, { ...store, close: async () => {} }, 'first');
    const view = renderTab(first, firstCrypto);

    const note = screen.getByTestId('forge-key-note');
    expect(note.textContent).toMatch(/extractable in this browser/);
    expect(note.textContent).toMatch(/not a secure context/);
    expect(note.textContent).toMatch(/readable PKCS#8 bytes/);
    expect(note.textContent).toMatch(/npm start -- --lan/);

    fireEvent.click(screen.getByTestId('key-exportable'));
    fireEvent.click(screen.getByTestId('import-devnet-staker'));
    const mine = await screen.findByTestId('my-public-key', {}, { timeout: 10_000 });
    const stakerKey = canonicalPublicKeyPem(devnetPem('staker', 'Public'));
    expect(mine.getAttribute('data-value')).toBe(stakerKey);
    view.unmount();
    await first.stop();
    running.delete(first);

    // The reload: a new provider and a new node over the same stored records.
    const crypto = createForgeProvider();
    const node = await startForgeNode(crypto, store, 'second');
    renderTab(node, crypto);
    expect((await screen.findByTestId('my-public-key')).getAttribute('data-value')).toBe(stakerKey);
    expect(screen.getByTestId('forge-key-note')).toBeTruthy();
    const restored = node.walletKeyPair() as KeyPair;
    expect(restored.privateKey).toMatchObject({ format: 'pkcs8' });
    const message = new TextEncoder().encode('signed after a reload');
    expect(await crypto.verify(stakerKey, message, await crypto.sign(restored, message))).toBe(true);
  });

  it('shows no such note where WebCrypto signs', async () => {
    await renderWithWallet(null);
    expect(screen.getByTestId('create-key')).toBeTruthy();
    expect(screen.queryByTestId('forge-key-note')).toBeNull();
  });
});
