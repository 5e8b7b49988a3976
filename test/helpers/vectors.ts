import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The project's copy of the reference vectors (test/vectors, copied from ../shared/vectors). */
export const VECTORS_DIR = join(import.meta.dirname, '..', 'vectors');

/** Reads and parses one vector file. */
export function readVector<T>(name: string): T {
  return JSON.parse(readFileSync(join(VECTORS_DIR, name), 'utf8')) as T;
}

/** Reads a PEM from test/vectors/keys. */
export function readVectorKey(name: string): string {
  return readFileSync(join(VECTORS_DIR, 'keys', name), 'utf8');
}

/** Every file name under test/vectors/keys. */
export function vectorKeyNames(): string[] {
  return readdirSync(join(VECTORS_DIR, 'keys')).sort();
}

/** A chain vector: the reference's `GET /blockchain` body and what it must come to. */
export interface ChainVector {
  chain: { blocks: unknown[] };
  expect: {
    blocks: number;
    head: string;
    balances: Record<string, number>;
    stakes: Record<string, number>;
    forgers: string[];
    nextForger: string;
  };
}

/** An invalid-chain vector. */
export interface InvalidChainVector {
  defect: string;
  firstInvalidBlock: number;
  seedAccepts: boolean;
  chain: { blocks: unknown[] };
}

/** The vectors' genesis staker. */
export const VECTOR_GENESIS_KEY = (): string => readVectorKey('genesisPublicKey.pem');
