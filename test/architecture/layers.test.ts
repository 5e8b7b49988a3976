import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * ARCHITECTURE.md's rule of who may import whom, checked on every source file: an import that
 * crosses the layers the wrong way fails here, type-only imports included. The composition root
 * (`src/main.tsx`) is the only module that may import every layer.
 */
const SRC = join(import.meta.dirname, '..', '..', 'src');

/** Each folder of src/ and the folders it may import from (besides itself). */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  core: [],
  crypto: ['core'],
  ports: ['core'],
  net: ['core', 'ports'],
  storage: ['core', 'ports'],
  locks: ['core', 'ports'],
  node: ['core', 'crypto', 'ports'],
  ui: ['core', 'crypto', 'ports', 'node'],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.tsx?$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** The src/ folders `file` imports from, by relative specifier (`from '../node/x'`). */
function importedLayers(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const layers = new Set<string>();
  for (const match of text.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']*)'/g)) {
    const target = relative(SRC, join(file, '..', match[1] as string));
    const layer = target.split(/[\\/]/)[0];
    if (layer && !layer.startsWith('..')) layers.add(layer);
  }
  return [...layers];
}

describe('the layers of src/', () => {
  const files = sourceFiles(SRC).filter((file) => relative(SRC, file) !== 'main.tsx');

  it('every source file lives in a known layer', () => {
    const unknown = files
      .map((file) => relative(SRC, file).split(/[\\/]/)[0] ?? '')
      .filter((layer) => !(layer in ALLOWED));
    expect(unknown).toEqual([]);
  });

  it('no file imports a layer it may not', () => {
    const wrong: string[] = [];
    for (const file of files) {
      const own = relative(SRC, file).split(/[\\/]/)[0] as string;
      for (const layer of importedLayers(file)) {
        if (layer !== own && !ALLOWED[own]?.includes(layer)) wrong.push(`${relative(SRC, file)} → ${layer}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('catches a wrong import (the check itself works)', () => {
    // src/node/node.ts imports core; were core to import node, the rule above would list it.
    expect(importedLayers(join(SRC, 'node', 'node.ts'))).toContain('core');
    expect(ALLOWED.core).not.toContain('node');
  });
});
