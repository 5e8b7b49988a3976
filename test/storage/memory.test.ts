import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../src/storage/memory';
import { storeCompliance } from './store-compliance';

// The memory store does not outlive itself, so it runs the suite without `reopen`.
storeCompliance('memory', async () => createMemoryStore());

describe('memory store', () => {
  it('refuses calls after close', async () => {
    const store = createMemoryStore();
    await store.close();
    await expect(store.load()).rejects.toThrow(/closed/);
    await expect(store.savePool([])).rejects.toThrow(/closed/);
  });
});
