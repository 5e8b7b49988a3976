import { describe, expect, it } from 'vitest';
import { MemoryLockHub } from '../../src/locks/memory';
import { nodeLockName } from '../../src/ports/locks';
import {
  chooseNode,
  createNodeRegistry,
  decodeRegistry,
  deleteOldNode,
  LiveNodeError,
  listOldNodes,
  REGISTRY_KEY,
} from '../../src/storage/node-registry';

const A = 'aaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbb';
const C = 'cccccccccccccccc';
const NEW = 'eeeeeeeeeeeeeeee';

function memoryStorage(): Pick<Storage, 'getItem' | 'setItem'> & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return { map, getItem: (key) => map.get(key) ?? null, setItem: (key, value) => void map.set(key, value) };
}

/** A registry whose clock the test moves. */
function registryAt(start = 1_000) {
  const storage = memoryStorage();
  let time = start;
  const registry = createNodeRegistry(storage, () => time);
  return { storage, registry, advance: (ms: number) => (time += ms) };
}

describe('node registry', () => {
  it('remembers nodes, most recently used first, with their height and key', () => {
    const { registry, advance } = registryAt();
    registry.touch(A, { height: 3 });
    advance(10);
    registry.touch(B, { publicKey: 'PEM-B' });
    advance(10);
    registry.touch(A, { height: 5 });
    expect(registry.entries().map((e) => [e.id, e.height, e.publicKey])).toEqual([
      [A, 5, undefined],
      [B, undefined, 'PEM-B'],
    ]);
    registry.remove(A);
    expect(registry.entries().map((e) => e.id)).toEqual([B]);
  });

  it('decodes what it reads back: garbage reads as empty, a bad entry is dropped alone', () => {
    expect(decodeRegistry('{not json')).toEqual([]);
    expect(decodeRegistry('{"id":"x"}')).toEqual([]);
    const decoded = decodeRegistry(
      JSON.stringify([
        { id: A, lastUsed: 5 },
        { id: 'not-an-id', lastUsed: 6 },
        { id: B, lastUsed: 'yesterday' },
        { id: C, lastUsed: 7, height: -1 },
      ]),
    );
    expect(decoded).toEqual([{ id: A, lastUsed: 5 }]);
    const { storage, registry } = registryAt();
    storage.setItem(REGISTRY_KEY, '[1, 2, 3]');
    expect(registry.entries()).toEqual([]);
    registry.touch(A, {});
    expect(registry.entries().map((e) => e.id)).toEqual([A]);
  });
});

describe('choosing a node', () => {
  it('a new tab takes the most recently used free node; a new node only when none is free', async () => {
    const hub = new MemoryLockHub();
    const { registry, advance } = registryAt();
    registry.touch(A, {});
    advance(10);
    registry.touch(B, {});
    const first = await chooseNode({ locks: hub.tab(), registry, databaseIds: [A, B], newId: () => NEW });
    expect(first).toMatchObject({ nodeId: B, resumed: true });
    const second = await chooseNode({ locks: hub.tab(), registry, databaseIds: [A, B], newId: () => NEW });
    expect(second).toMatchObject({ nodeId: A, resumed: true });
    const third = await chooseNode({ locks: hub.tab(), registry, databaseIds: [A, B], newId: () => NEW });
    expect(third).toMatchObject({ nodeId: NEW, resumed: false });
    expect(third.lock).not.toBeNull();
  });

  it('a database the registry never saw is still reopened', async () => {
    const hub = new MemoryLockHub();
    const { registry } = registryAt();
    const choice = await chooseNode({ locks: hub.tab(), registry, databaseIds: [C], newId: () => NEW });
    expect(choice.nodeId).toBe(C);
  });

  it('a duplicated tab (same previous node in sessionStorage) never shares the live node', async () => {
    const hub = new MemoryLockHub();
    const { registry } = registryAt();
    registry.touch(A, {});
    const original = await chooseNode({ locks: hub.tab(), registry, databaseIds: [A], previous: A });
    expect(original.nodeId).toBe(A);
    const duplicate = await chooseNode({
      locks: hub.tab(),
      registry,
      databaseIds: [A],
      previous: A,
      newId: () => NEW,
    });
    expect(duplicate.nodeId).toBe(NEW);
  });

  it("a reload gets its own node back even when the old page's lock is released a moment late", async () => {
    const hub = new MemoryLockHub();
    const { registry, advance } = registryAt();
    registry.touch(A, {});
    advance(10);
    registry.touch(B, {});
    const oldPage = hub.tab();
    await oldPage.tryAcquire(nodeLockName(A));
    setTimeout(() => oldPage.close(), 150);
    const reloaded = await chooseNode({
      locks: hub.tab(),
      registry,
      databaseIds: [A, B],
      previous: A,
      previousWaitMs: 1_000,
    });
    expect(reloaded.nodeId).toBe(A);
    // Without the wait it would have taken another node.
    const other = await chooseNode({ locks: hub.tab(), registry, databaseIds: [A, B], previous: A });
    expect(other.nodeId).toBe(B);
  });

  it('two tabs opening at once with one free node: exactly one gets it', async () => {
    const hub = new MemoryLockHub();
    const { registry } = registryAt();
    registry.touch(A, {});
    let next = 0;
    const ids = [NEW, 'ffffffffffffffff'];
    const newId = () => ids[next++] ?? C;
    const [x, y] = await Promise.all([
      chooseNode({ locks: hub.tab(), registry, databaseIds: [A], newId }),
      chooseNode({ locks: hub.tab(), registry, databaseIds: [A], newId }),
    ]);
    expect([x?.nodeId, y?.nodeId].filter((id) => id === A)).toHaveLength(1);
    expect(x?.nodeId).not.toBe(y?.nodeId);
  });

  it('"open this node" is honoured only when the node is free', async () => {
    const hub = new MemoryLockHub();
    const { registry, advance } = registryAt();
    registry.touch(A, {});
    advance(10);
    registry.touch(B, {});
    const opened = await chooseNode({ locks: hub.tab(), registry, databaseIds: [], requested: A });
    expect(opened.nodeId).toBe(A);
    const refused = await chooseNode({ locks: hub.tab(), registry, databaseIds: [], requested: A });
    expect(refused.nodeId).toBe(B);
    expect(refused.notice).toMatch(/open in another tab/);
  });
});

describe('old nodes', () => {
  it('lists only nodes no live tab holds, and which other nodes hold the same key', async () => {
    const hub = new MemoryLockHub();
    const { registry, advance } = registryAt();
    registry.touch(A, { publicKey: 'K1', height: 4 });
    advance(1);
    registry.touch(B, { publicKey: 'K1' });
    advance(1);
    registry.touch(C, { publicKey: 'K2' });
    const otherTab = hub.tab();
    await otherTab.tryAcquire(nodeLockName(B));
    const me = hub.tab();
    await me.tryAcquire(nodeLockName(NEW));
    const old = await listOldNodes({
      locks: me,
      registry,
      databases: [A, B, C, NEW].map((nodeId) => ({ nodeId, name: `tabchain-node-${nodeId}` })),
      selfId: NEW,
    });
    expect(old.map((node) => node.nodeId)).toEqual([C, A]);
    expect(old.find((node) => node.nodeId === A)).toMatchObject({
      height: 4,
      publicKey: 'K1',
      keyAlsoIn: [B],
    });
    expect(old.find((node) => node.nodeId === C)?.keyAlsoIn).toEqual([]);
  });

  it('refuses to delete a live node, and deletes a saved one inside its lock', async () => {
    const hub = new MemoryLockHub();
    const { registry } = registryAt();
    registry.touch(A, {});
    registry.touch(B, {});
    const live = hub.tab();
    await live.tryAcquire(nodeLockName(A));
    const deleted: string[] = [];
    const me = hub.tab();
    let heldWhileDeleting = false;
    const deleteDatabase = async (id: string) => {
      heldWhileDeleting = (await me.held()).has(nodeLockName(id));
      deleted.push(id);
    };
    await expect(deleteOldNode({ locks: me, registry, deleteDatabase }, A)).rejects.toBeInstanceOf(
      LiveNodeError,
    );
    expect(deleted).toEqual([]);
    expect(registry.entries().map((e) => e.id)).toContain(A);
    await deleteOldNode({ locks: me, registry, deleteDatabase }, B);
    expect(deleted).toEqual([B]);
    expect(heldWhileDeleting).toBe(true);
    expect(registry.entries().map((e) => e.id)).toEqual([A]);
    expect((await me.held()).has(nodeLockName(B))).toBe(false);
  });
});
