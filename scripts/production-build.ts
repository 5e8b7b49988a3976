/**
 * `npm start` serves a production build of the app, not Vite's dev server: built once at start
 * (`vite build` through Vite's JS API, watching), rebuilt when a source changes, and served
 * from the latest *complete* build. Each build is copied into a folder of its own once it has
 * finished, and the middleware switches to it then, so a request never sees half a build.
 * `npm run dev` (scripts/start.mjs --dev) keeps Vite's dev server with hot reload.
 *
 * The folders live in `.tabchain/build/run-PID/` (gitignored), one per running devnet so that
 * two devnets never write into each other's build; those of processes that are gone are
 * removed at the next start.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import express from 'express';
import { build, type Rolldown } from 'vite';

/** A connect-style request handler, as the signaling server takes for the app. */
export type Middleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/** A running production build: its request handler and how to stop watching. */
export interface ProductionBuild {
  /** Answers the app's files from the latest complete build; page routes get index.html. */
  readonly middleware: Middleware;
  /** How many builds have completed (1 after start). */
  builds(): number;
  /** Resolves once the build that is running now (or the next one) has completed or failed. */
  nextBuild(): Promise<void>;
  close(): Promise<void>;
}

export interface ProductionBuildOptions {
  /** The project root (index.html, public/). */
  readonly root: string;
  /** Vite config file, or false for none (tests build a tiny project of their own). */
  readonly configFile: string | false;
  /** Where the run folders go (`.tabchain/build`). */
  readonly cacheDir: string;
  readonly log: (line: string) => void;
}

/** Hashed assets never change under their name; everything else is checked on each load. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

/** A build folder's static handler, with the single-page app's fallback to index.html. */
function serveBuild(dir: string): Middleware {
  const files = express.static(dir, {
    index: ['index.html'],
    setHeaders: (res, path) => {
      res.setHeader('Cache-Control', path.startsWith(join(dir, 'assets')) ? IMMUTABLE : 'no-cache');
    },
  });
  const indexFile = join(dir, 'index.html');
  return (req, res, next) => {
    files(req as express.Request, res as express.Response, () => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const wantsPage =
        (req.method === 'GET' || req.method === 'HEAD') &&
        (req.headers.accept ?? '').includes('text/html') &&
        !/\.[A-Za-z0-9]+$/.test(path);
      if (!wantsPage) {
        next();
        return;
      }
      res.setHeader('Cache-Control', 'no-cache');
      (res as express.Response).sendFile(indexFile, (error) => {
        if (error) next(error);
      });
    });
  };
}

/** True while process `pid` exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the run folders of devnets that are no longer running. */
function removeStaleRuns(cacheDir: string): void {
  if (!existsSync(cacheDir)) return;
  for (const name of readdirSync(cacheDir)) {
    const pid = Number(/^run-(\d+)$/.exec(name)?.[1]);
    if (Number.isInteger(pid) && pid !== process.pid && !alive(pid)) {
      rmSync(join(cacheDir, name), { recursive: true, force: true });
    }
  }
}

/**
 * Builds the app and keeps rebuilding it on change; resolves once the first build has
 * completed (rejects if it failed: a devnet that serves no app is of no use).
 */
export async function startProductionBuild(options: ProductionBuildOptions): Promise<ProductionBuild> {
  removeStaleRuns(options.cacheDir);
  const runDir = join(options.cacheDir, `run-${process.pid}`);
  rmSync(runDir, { recursive: true, force: true });
  const outDir = join(runDir, 'out');
  mkdirSync(outDir, { recursive: true });

  let serving: Middleware | undefined;
  let servingDir: string | undefined;
  let completed = 0;
  let waiting: (() => void)[] = [];
  let firstError: unknown;
  const settle = () => {
    const done = waiting;
    waiting = [];
    for (const resolve of done) resolve();
  };

  const watcher = (await build({
    root: options.root,
    configFile: options.configFile,
    logLevel: 'warn',
    clearScreen: false,
    build: { outDir, emptyOutDir: true, watch: {} },
  })) as Rolldown.RolldownWatcher;

  watcher.on('event', (event) => {
    if (event.code === 'BUNDLE_END') void event.result.close();
    if (event.code === 'ERROR') {
      void event.result?.close();
      if (completed === 0) firstError ??= event.error;
      options.log(`tabchain: the app's build failed; still serving the last one: ${event.error.message}`);
      settle();
    }
    if (event.code === 'END') {
      // Watch mode emits END after a failed bundle as well: only a build with an index.html is served.
      if (!existsSync(join(outDir, 'index.html'))) {
        settle();
        return;
      }
      const snapshot = join(runDir, `build-${completed + 1}`);
      cpSync(outDir, snapshot, { recursive: true });
      const previous = servingDir;
      serving = serveBuild(snapshot);
      servingDir = snapshot;
      completed++;
      if (completed > 1) options.log(`tabchain: the app was rebuilt (build ${completed})`);
      // Pages still loading the previous build's assets get a minute to finish.
      if (previous) setTimeout(() => rmSync(previous, { recursive: true, force: true }), 60_000).unref();
      settle();
    }
  });

  const nextBuild = () => new Promise<void>((resolve) => waiting.push(resolve));
  await nextBuild();
  if (completed === 0) {
    await watcher.close();
    rmSync(runDir, { recursive: true, force: true });
    throw new Error(
      `the app's build failed: ${firstError instanceof Error ? firstError.message : String(firstError)}`,
    );
  }

  return {
    middleware: (req, res, next) => {
      if (serving) serving(req, res, next);
      else next();
    },
    builds: () => completed,
    nextBuild,
    close: async () => {
      await watcher.close();
      settle();
      rmSync(runDir, { recursive: true, force: true });
    },
  };
}
