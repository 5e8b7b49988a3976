// @vitest-environment jsdom
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { networkIdOf } from '../../src/core/config';
import { MemoryLockHub } from '../../src/locks/memory';
import { openBestStore } from '../../src/storage';
import { listNodeDatabases, openIndexedDbStore } from '../../src/storage/indexeddb';
import { databaseName, networkTag } from '../../src/storage/network-scope';
import {
  chooseNode,
  createNodeRegistry,
  listOldNodes,
  registryKey,
  sessionNodeKey,
} from '../../src/storage/node-registry';
import { genesisConfigOf } from '../../src/ui/bootstrap';
import { devnetConfig } from '../ui/helpers';
import { appendMain } from './store-compliance';

// Issue 12: a browser that ran a reference devnet and then a resilient one (same genesis key,
// another profile) keeps their chains apart: the tab keys its databases, its node registry and
// its last node by the network id, so neither chain is ever restored into the other.

const devnet = devnetConfig();
const referenceNetwork = networkIdOf(genesisConfigOf(devnet));
const resilientNetwork = networkIdOf(genesisConfigOf({ ...devnet, profile: 'resilient' }));
const NODE = 'aaaaaaaaaaaaaaaa';
const OTHER = 'bbbbbbbbbbbbbbbb';

function memoryStorage(): Pick<Storage, 'getItem' | 'setItem'> & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return { map, getItem: (key) => map.get(key) ?? null, setItem: (key, value) => void map.set(key, value) };
}

describe('stored data per network', () => {
  it('gives the two devnet profiles two networks; the reference devnet keeps its genesis config', () => {
    expect(genesisConfigOf(devnet)).toEqual({ genesisPublicKey: devnet.genesisPublicKey });
    expect(genesisConfigOf({ ...devnet, profile: 'reference' })).toEqual({
      genesisPublicKey: devnet.genesisPublicKey,
    });
    expect(genesisConfigOf({ ...devnet, profile: 'resilient' })).toEqual({
      profile: 'resilient',
      genesisPublicKey: devnet.genesisPublicKey,
    });
    expect(resilientNetwork).not.toBe(referenceNetwork);
    expect(networkTag(referenceNetwork)).toBe(referenceNetwork.slice(0, 16));
    expect(() => networkTag('devnet')).toThrow(/64 lower-case hex digits/);
    expect(databaseName(NODE, referenceNetwork)).toBe(
      `tabchain-net-${referenceNetwork.slice(0, 16)}-node-${NODE}`,
    );
    expect(databaseName(NODE, resilientNetwork)).not.toBe(databaseName(NODE, referenceNetwork));
    expect(registryKey(resilientNetwork)).not.toBe(registryKey(referenceNetwork));
    expect(sessionNodeKey(resilientNetwork)).not.toBe(sessionNodeKey(referenceNetwork));
  });

  it('never restores a reference chain into a resilient tab, and lists each network its own nodes', async () => {
    const factory = new IDBFactory();
    // A reference devnet ran in this browser: node NODE holds 3 blocks.
    const reference = await openIndexedDbStore(NODE, { indexedDB: factory, network: referenceNetwork });
    await appendMain(reference, 1, 3);
    await reference.close();
    // A network-less database (the layout before networks) is no network's either.
    await (await openIndexedDbStore(OTHER, { indexedDB: factory })).close();

    expect(await listNodeDatabases(factory, referenceNetwork)).toEqual([
      { nodeId: NODE, name: databaseName(NODE, referenceNetwork) },
    ]);
    expect(await listNodeDatabases(factory, resilientNetwork)).toEqual([]);

    // Even a tab of the resilient devnet that asks for the same node id opens an empty chain.
    const resilient = await openIndexedDbStore(NODE, { indexedDB: factory, network: resilientNetwork });
    expect((await resilient.load()).blocks).toEqual([]);
    await resilient.close();
    // And the reference chain is still there for the reference devnet.
    const again = await openIndexedDbStore(NODE, { indexedDB: factory, network: referenceNetwork });
    expect((await again.load()).blocks.map((stored) => stored.height)).toEqual([1, 2, 3]);
    await again.close();
  });

  it('keeps one node registry per network: a resilient tab never picks a reference node', async () => {
    const storage = memoryStorage();
    const locks = new MemoryLockHub().tab();
    const referenceRegistry = createNodeRegistry(storage, () => 1_000, referenceNetwork);
    referenceRegistry.touch(NODE, { height: 3 });
    const resilientRegistry = createNodeRegistry(storage, () => 2_000, resilientNetwork);
    expect(resilientRegistry.entries()).toEqual([]);
    expect(referenceRegistry.entries().map((entry) => entry.id)).toEqual([NODE]);

    const choice = await chooseNode({
      locks,
      registry: resilientRegistry,
      databaseIds: [],
      newId: () => OTHER,
    });
    expect(choice).toMatchObject({ nodeId: OTHER, resumed: false });
    resilientRegistry.touch(OTHER, { height: 1 });
    // Each registry lives under its own key; the old nodes of one network are not the other's.
    expect([...storage.map.keys()].sort()).toEqual(
      [registryKey(referenceNetwork), registryKey(resilientNetwork)].sort(),
    );
    await choice.lock?.release();
    const oldResilient = await listOldNodes({
      locks,
      registry: resilientRegistry,
      databases: [],
      selfId: NODE,
      networkId: resilientNetwork,
    });
    expect(oldResilient.map((node) => [node.nodeId, node.name])).toEqual([
      [OTHER, databaseName(OTHER, resilientNetwork)],
    ]);
  });

  it('openBestStore opens the network’s database', async () => {
    const factory = new IDBFactory();
    const best = await openBestStore(NODE, { indexedDB: factory, network: resilientNetwork });
    expect(best.persistent).toBe(true);
    await best.store.close();
    expect(await listNodeDatabases(factory, resilientNetwork)).toEqual([
      { nodeId: NODE, name: databaseName(NODE, resilientNetwork) },
    ]);
    expect(await listNodeDatabases(factory, referenceNetwork)).toEqual([]);
  });
});
