import { defineConfig } from 'vitest/config';

// Browser tests: real Chromium (CHROME_PATH, default /usr/bin/chromium) driven from Node by
// playwright-core. One file at a time: each launches browsers and servers, and the machine has
// 2 cores. test/e2e/browser.ts builds the app once per run (globalSetup) and serves it per file.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.ts', 'test/fullnode/**/*.e2e.ts'],
    environment: 'node',
    globalSetup: ['test/e2e/browser.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
  },
});
