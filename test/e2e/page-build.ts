/**
 * A page of its own (an HTML entry with its scripts and Workers) built with Vite in memory and
 * served to a browser context by routing: no server, no files on disk. The origin is
 * 127.0.0.1, a secure context (WebCrypto), and every request to it is answered here.
 */
import { dirname } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { build, type Rollup } from 'vite';

/** Where a routed page lives: never a real server, and loopback if anything slipped through. */
export const PAGE_ORIGIN = 'http://127.0.0.1:9';

/** Builds `htmlPath` (absolute) and its imports; returns the files by URL path. */
export async function buildPage(htmlPath: string): Promise<Map<string, { body: Buffer; type: string }>> {
  const result = await build({
    configFile: false,
    logLevel: 'silent',
    root: dirname(htmlPath),
    base: './',
    build: { write: false, minify: false, rollupOptions: { input: htmlPath } },
  });
  const outputs = (Array.isArray(result) ? result : [result]) as Rollup.RollupOutput[];
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const output of outputs)
    for (const file of output.output) {
      const body = Buffer.from(file.type === 'chunk' ? file.code : file.source);
      const type = file.fileName.endsWith('.html') ? 'text/html' : 'text/javascript';
      files.set(`/${file.fileName}`, { body, type });
    }
  return files;
}

/** Serves `files` at `PAGE_ORIGIN` in `context`; `/` is the HTML page named `index`. */
export async function routePage(
  context: BrowserContext,
  files: Map<string, { body: Buffer; type: string }>,
  index: string,
): Promise<void> {
  await context.route(`${PAGE_ORIGIN}/**`, (route) => {
    const path = new URL(route.request().url()).pathname;
    const file = files.get(path === '/' ? `/${index}` : path);
    return file
      ? route.fulfill({ status: 200, contentType: file.type, body: file.body })
      : route.fulfill({ status: 404, body: '' });
  });
}
