import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, render } from '@testing-library/react';
import { afterEach } from 'vitest';
import { type CryptoProvider, createWebCryptoProvider, type KeyPair } from '../../src/crypto';
import { MemoryNetwork, SeededRandom, VirtualClock } from '../../src/net/memory';
import { type NodeSnapshot, TabchainNode } from '../../src/node/node';
import type { Store } from '../../src/ports/store';
import { App } from '../../src/ui/App';
import { type DevnetConfig, type DevnetKeyName, decodeDevnet } from '../../src/ui/decoders';
import type { AppServices, DatabaseAdmin, NodeApi } from '../../src/ui/services';

/** The project root. */
export const ROOT = join(import.meta.dirname, '..', '..');
const KEYS = join(ROOT, 'public', 'keys');

/** One crypto provider for every UI test (WebCrypto, as in a browser). */
export const crypto: CryptoProvider = createWebCryptoProvider();

/** A devnet key file's text (PUBLIC TEST KEYS). */
export function devnetPem(name: DevnetKeyName, half: 'Private' | 'Public' = 'Private'): string {
  return readFileSync(join(KEYS, `${name}${half}Key.pem`), 'utf8');
}

/** Imports a devnet key pair. */
export function devnetKeyPair(name: DevnetKeyName): Promise<KeyPair> {
  return crypto.importPrivateKeyPem(devnetPem(name));
}

/** public/devnet.json, decoded as the page decodes it. */
export function devnetConfig(): DevnetConfig {
  const decoded = decodeDevnet(JSON.parse(readFileSync(join(ROOT, 'public', 'devnet.json'), 'utf8')));
  if (!decoded.ok) throw new Error(decoded.error);
  return decoded.value;
}

/** Nodes `startNode` started that `cleanUpAfterEach` has not stopped yet. */
const started = new Set<TabchainNode>();

/**
 * Registers the clean-up every UI test file needs: after each test, unmount what it rendered,
 * run `also` (the file's own resets), then stop every node the test started.
 */
export function cleanUpAfterEach(also?: () => void): void {
  afterEach(async () => {
    cleanup();
    also?.();
    const nodes = [...started];
    started.clear();
    for (const node of nodes) await node.stop();
  });
}

/** A real node over the in-memory network on a virtual clock (nothing happens unless the clock moves). */
export async function startNode(
  options: {
    genesisPublicKey?: string;
    wallet?: KeyPair | null;
    store?: Store;
    id?: string;
    /** The network to join (to simulate its signaling server); a fresh one by default. */
    network?: MemoryNetwork;
    clock?: VirtualClock;
  } = {},
): Promise<TabchainNode> {
  const clock = options.clock ?? new VirtualClock();
  const network = options.network ?? new MemoryNetwork({ random: new SeededRandom(7), clock });
  const node = new TabchainNode({
    genesis: { genesisPublicKey: options.genesisPublicKey ?? devnetConfig().genesisPublicKey },
    transport: network.createTransport(options.id ?? 'ui-test'),
    crypto,
    clock,
    random: () => 0.5,
    wallet: options.wallet ?? null,
    ...(options.store ? { store: options.store } : {}),
  });
  await node.start();
  started.add(node);
  return node;
}

/** An in-memory database list for the "old nodes" view. */
export function fakeDatabases(nodeIds: readonly string[]): DatabaseAdmin & { removed: string[] } {
  let ids = [...nodeIds];
  const removed: string[] = [];
  return {
    removed,
    list: async () => ids.map((nodeId) => ({ nodeId, name: `tabchain-node-${nodeId}` })),
    remove: async (nodeId) => {
      removed.push(nodeId);
      ids = ids.filter((id) => id !== nodeId);
    },
  };
}

/** Services around `node` with the devnet's keys read from public/keys. */
export function makeServices(node: NodeApi, overrides: Partial<AppServices> = {}): AppServices {
  return {
    node,
    crypto,
    devnet: devnetConfig(),
    nodeId: 'aaaaaaaaaaaaaaaa',
    loadDevnetKey: async (name) => devnetPem(name),
    databases: fakeDatabases([]),
    startupNotices: [],
    now: () => Date.now(),
    ...overrides,
  };
}

/** Renders the running app at `hash`. */
export function renderApp(services: AppServices, hash = '#/wallet') {
  window.location.hash = hash;
  return render(<App boot={{ status: 'ready', services }} />);
}

/** Starts a node with a devnet key as its wallet (or none) and renders the app. */
export async function renderWithWallet(wallet: DevnetKeyName | null, overrides: Partial<AppServices> = {}) {
  const keyPair: KeyPair | null = wallet ? await devnetKeyPair(wallet) : null;
  const node = await startNode({ wallet: keyPair });
  const services = makeServices(node, overrides);
  renderApp(services);
  return { node, services, keyPair };
}

/** A node whose snapshot is `node`'s with some fields replaced (for states a single real node cannot reach). */
export function withSnapshot(node: NodeApi, patch: Partial<NodeSnapshot>): NodeApi {
  const snapshot = Object.freeze({ ...node.getSnapshot(), ...patch });
  return {
    getSnapshot: () => snapshot,
    subscribe: () => () => {},
    submitTransaction: (tx) => node.submitTransaction(tx),
    setWallet: (wallet) => node.setWallet(wallet),
    walletKeyPair: () => node.walletKeyPair(),
    importChain: (blocks) => node.importChain(blocks),
    exportChain: () => node.exportChain(),
    readBlocks: (from, to) => node.readBlocks(from, to),
    readBlock: (height) => node.readBlock(height),
    readTransaction: (id) => node.readTransaction(id),
    heightOf: (hash) => node.heightOf(hash),
    readMyTransactions: () => node.readMyTransactions(),
    readAccountHistory: (pem, query) => node.readAccountHistory(pem, query),
    readBlockAggregates: (from, to) => node.readBlockAggregates(from, to),
    readLottery: (height) => node.readLottery(height),
  };
}
