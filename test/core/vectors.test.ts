import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  blockHash,
  canonicalJson,
  GENESIS_BLOCK,
  hash,
  lotHash,
  naiveLottery,
  nextForger,
  runLottery,
  type StakeEntry,
  transactionPayload,
} from '../../src/core';
import { readVector, VECTORS_DIR } from '../helpers/vectors';

const SHARED = join(VECTORS_DIR, '..', '..', '..', 'shared', 'vectors');

describe('the vector copy', () => {
  // test/helpers/vectors-manifest.json records the SHA-256 of every file copied from
  // ../shared/vectors. The copy must match it always; ../shared, where it exists (CI), must match
  // it too, or the copy is stale.
  const manifest = JSON.parse(
    readFileSync(join(import.meta.dirname, '..', 'helpers', 'vectors-manifest.json'), 'utf8'),
  ) as Record<string, string>;
  const list = (dir: string): string[] =>
    readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
      .sort();
  const digest = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

  it('test/vectors is the recorded copy, file for file', () => {
    expect(list(VECTORS_DIR)).toEqual(Object.keys(manifest).sort());
    for (const file of list(VECTORS_DIR)) expect(digest(join(VECTORS_DIR, file)), file).toBe(manifest[file]);
  });

  it('../shared/vectors, where it exists, is still what was copied', () => {
    const present = existsSync(SHARED) ? list(SHARED) : [];
    for (const file of present) expect(digest(join(SHARED, file)), file).toBe(manifest[file]);
    expect(present.length === 0 || present.length === Object.keys(manifest).length).toBe(true);
  });
});

describe('hash.json', () => {
  const rows = readVector<{ input: unknown; pythonJson: string; sha256: string }[]>('hash.json');
  it('has rows', () => expect(rows.length).toBeGreaterThan(20));
  it.each(rows.map((row, index) => [index, row] as const))(
    'row %i: canonical JSON and SHA-256',
    (_i, row) => {
      expect(canonicalJson(row.input)).toBe(row.pythonJson);
      expect(hash(row.input)).toBe(row.sha256);
    },
  );
});

describe('genesis.json', () => {
  const vector = readVector<{ block: unknown; payloadJson: string; hash: string }>('genesis.json');
  it('is our genesis block, byte for byte', () => {
    expect(canonicalJson(GENESIS_BLOCK)).toBe(canonicalJson(vector.block));
    expect(canonicalJson(GENESIS_BLOCK)).toBe(vector.payloadJson);
    expect(blockHash(GENESIS_BLOCK)).toBe(vector.hash);
    expect(vector.hash.startsWith('b61900e4')).toBe(true);
  });
});

describe('transactions.json payloads', () => {
  const rows =
    readVector<
      { tx: Parameters<typeof transactionPayload>[0]; payloadJson: string; payloadSha256: string }[]
    >('transactions.json');
  it.each(rows.map((row, index) => [index, row] as const))('row %i: payload JSON and hash', (_i, row) => {
    expect(canonicalJson(transactionPayload(row.tx))).toBe(row.payloadJson);
    expect(hash(transactionPayload(row.tx))).toBe(row.payloadSha256);
  });
});

describe('lots.json', () => {
  const rows =
    readVector<{ publicKey: string; lastBlockHash: string; iteration: number; lotHash: string }[]>(
      'lots.json',
    );
  it.each(rows.map((row) => [row.iteration, row] as const))('iteration %i', (_i, row) => {
    expect(lotHash(row.publicKey, row.iteration, row.lastBlockHash)).toBe(row.lotHash);
  });
});

describe('forgers.json', () => {
  type Row = { stakers: [string, number][]; seed: string; referenceSha256: string; forger: string };
  type Fairness = {
    fairness: {
      stakers: [string, number][];
      seeds: string[];
      forgers: string[];
      wins: Record<string, number>;
    };
  };
  const all = readVector<(Row | Fairness)[]>('forgers.json');
  const rows = all.filter((row): row is Row => 'seed' in row);
  const fairness = all.find((row): row is Fairness => 'fairness' in row)?.fairness;

  it('has 40 lottery rows and the fairness row', () => {
    expect(rows).toHaveLength(40);
    expect(fairness).toBeDefined();
  });
  it.each(rows.map((row, index) => [index, row] as const))('row %i: winner', (_i, row) => {
    const result = runLottery(row.stakers as StakeEntry[], row.seed);
    expect(result?.referenceHash).toBe(row.referenceSha256);
    expect(result?.forger).toBe(row.forger);
    // The winning lot really is that staker's lot at that iteration.
    expect(lotHash(row.forger, result?.iteration ?? 0, row.seed)).toBe(result?.lotHash);
  });
  it('agrees with the naive per-lot algorithm on every row', () => {
    for (const row of rows) expect(naiveLottery(row.stakers as StakeEntry[], row.seed)).toBe(row.forger);
  });
  it('replays the reference fairness test: each seed, each winner, the win counts', () => {
    if (!fairness) throw new Error('no fairness row');
    const winners = fairness.seeds.map((seed) => nextForger(fairness.stakers as StakeEntry[], seed));
    expect(winners).toEqual(fairness.forgers);
    const wins: Record<string, number> = Object.fromEntries(fairness.stakers.map(([key]) => [key, 0]));
    for (const winner of winners) if (winner !== null) wins[winner] = (wins[winner] ?? 0) + 1;
    expect(wins).toEqual(fairness.wins);
  });
});
