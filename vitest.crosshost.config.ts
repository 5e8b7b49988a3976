import { defineConfig } from 'vitest/config';

// The cross-host test (test/crosshost): machines simulated with Linux network namespaces, which
// needs root, iproute2, nftables and coturn (the test stops and names what is missing). One file,
// in a forked worker of its own: its exit and signal traps delete the namespaces it made.
export default defineConfig({
  test: {
    include: ['test/crosshost/**/*.crosshost.ts'],
    environment: 'node',
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
  },
});
