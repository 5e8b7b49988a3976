import { defineConfig } from 'vitest/config';

// Unit, consensus and simulation tests. Pure core tests run in node; anything touching
// the DOM opts into jsdom with a `// @vitest-environment jsdom` docblock or lives in test/ui.
export default defineConfig({
  test: {
    include: ['test/**/*.test.{ts,tsx}'],
    exclude: ['test/e2e/**', 'node_modules/**'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
