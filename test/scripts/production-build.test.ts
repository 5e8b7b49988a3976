import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type ProductionBuild, startProductionBuild } from '../../scripts/production-build';

/** A project of two files, built by the same code that builds the app for `npm start`. */
describe('the production build of npm start', () => {
  const root = mkdtempSync(join(tmpdir(), 'tabchain-build-'));
  const cacheDir = join(root, '.tabchain', 'build');
  let build: ProductionBuild | undefined;
  let server: Server | undefined;
  afterAll(async () => {
    await build?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    rmSync(root, { recursive: true, force: true });
  });

  it('serves the first build, then the rebuilt one after a source changes, and cleans up after itself', async () => {
    writeFileSync(
      join(root, 'index.html'),
      '<!doctype html><div id="root"></div><script type="module" src="/main.js"></script>\n',
    );
    writeFileSync(join(root, 'main.js'), "document.title = 'first build';\n");
    // A run folder of a devnet that is gone (no such pid) is removed at start.
    const stale = join(cacheDir, 'run-999999999');
    mkdirSync(stale, { recursive: true });
    build = await startProductionBuild({ root, configFile: false, cacheDir, log: () => {} });
    expect(build.builds()).toBe(1);
    expect(readdirSync(cacheDir)).toEqual([`run-${process.pid}`]);

    const handler = build.middleware;
    server = createServer((req, res) =>
      handler(req, res, () => {
        res.statusCode = 404;
        res.end('next');
      }),
    );
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const script = async () => {
      const page = await (await fetch(`${base}/`)).text();
      const src = /src="(\/assets\/[^"]+\.js)"/.exec(page)?.[1];
      if (!src) throw new Error(`no built script in ${page}`);
      return (await fetch(`${base}${src}`)).text();
    };
    expect(await script()).toContain('first build');
    expect((await fetch(`${base}/main.js`)).status).toBe(404);

    const rebuilt = build.nextBuild();
    writeFileSync(join(root, 'main.js'), "document.title = 'second build';\n");
    await rebuilt;
    expect(build.builds()).toBe(2);
    expect(await script()).toContain('second build');

    await build.close();
    build = undefined;
    expect(readdirSync(cacheDir)).toEqual([]);
  });
});
