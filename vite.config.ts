import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// One config for `npm start` (scripts/start.mjs: a production build, rebuilt on change), `npm run
// dev` (its Vite dev server, hot reload), `npm run build` and the browser tests
// (test/e2e/browser.ts), which build and preview this app programmatically.
export default defineConfig({
  plugins: [react()],
  resolve: {
    // simple-peer's package entry needs Node's `global`/`process` under Vite ("global is not
    // defined"); its prebuilt browser bundle does not (see ../shared/chromium.md). Exact match
    // only, so that no other import is rewritten.
    alias: [{ find: /^simple-peer$/, replacement: 'simple-peer/simplepeer.min.js' }],
  },
  server: {
    // Loopback only by default: a devnet on a laptop should not be reachable from the LAN.
    host: '127.0.0.1',
  },
  preview: {
    host: '127.0.0.1',
  },
  build: {
    outDir: 'dist',
    // The main chunk is ~820 kB (React, zod, immutable, simple-peer, node-forge's ASN.1 and RSA
    // modules for key formats); node-forge's provider and PeerJS are chunks of their own, loaded
    // only when used (src/crypto/index.ts, src/net/index.ts). Warn if it grows past 1 MB again.
    chunkSizeWarningLimit: 1000,
  },
});
