/**
 * Creates a node database in storage layout version 1 (the layout of `src/storage/indexeddb.ts`
 * before version 2) from data recorded from that version: fixtures/v1-database.json holds every
 * object store as version 1 wrote it (12 blocks of chain-long.json, the head record, a pool of
 * two transactions, a wallet). A CryptoKey cannot be JSON, so the wallet's private key is recorded
 * as a JWK and imported (non-extractable, as the wallet record says) before it is stored.
 */

import { webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDB } from 'idb';
import { databaseName } from '../../src/storage/indexeddb';

interface RecordedStore {
  readonly keyPath: string | null;
  readonly indexes: readonly { readonly name: string; readonly keyPath: string }[];
  readonly records: readonly { readonly key?: IDBValidKey; readonly value: unknown }[];
}

/** What fixtures/v1-database.json holds. */
export interface RecordedDatabase {
  readonly version: number;
  readonly stores: Readonly<Record<string, RecordedStore>>;
  readonly publicKeyJwk: webcrypto.JsonWebKey;
}

/** The recorded version-1 database. */
export function recordedV1(): RecordedDatabase {
  const path = join(import.meta.dirname, 'fixtures', 'v1-database.json');
  return JSON.parse(readFileSync(path, 'utf8')) as RecordedDatabase;
}

/** A record of `store` in the recording, by key (out-of-line) or position. */
export function recordedValue(store: string, key: IDBValidKey): unknown {
  return recordedV1().stores[store]?.records.find((r) => r.key === key)?.value;
}

const RSA = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;

/** The recorded wallet's public key, to check what the migrated private key signs. */
export function recordedPublicKey(): Promise<webcrypto.CryptoKey> {
  return webcrypto.subtle.importKey('jwk', recordedV1().publicKeyJwk, RSA, true, ['verify']);
}

/** Writes the recorded version-1 database as node `nodeId`'s, on the global (fake) IndexedDB. */
export async function writeV1Database(
  nodeId: string,
  edit?: (db: RecordedDatabase) => RecordedDatabase,
): Promise<void> {
  const recorded = edit ? edit(recordedV1()) : recordedV1();
  const values = new Map<string, { key?: IDBValidKey; value: unknown }[]>();
  for (const [name, store] of Object.entries(recorded.stores)) {
    const records = [];
    for (const record of store.records) {
      let value = record.value as Record<string, unknown>;
      if (record.key === 'wallet') {
        const { jwk } = value.privateKey as { jwk: webcrypto.JsonWebKey };
        const extractable = value.extractable === true;
        value = {
          ...value,
          privateKey: await webcrypto.subtle.importKey('jwk', jwk, RSA, extractable, ['sign']),
        };
      }
      records.push({ ...record, value });
    }
    values.set(name, records);
  }
  const db = await openDB(databaseName(nodeId), recorded.version, {
    upgrade(database) {
      for (const [name, store] of Object.entries(recorded.stores)) {
        const created = database.createObjectStore(
          name,
          store.keyPath === null ? {} : { keyPath: store.keyPath },
        );
        for (const index of store.indexes) created.createIndex(index.name, index.keyPath);
      }
    },
  });
  for (const [name, records] of values) {
    const tx = db.transaction(name, 'readwrite');
    for (const record of records) {
      void (record.key === undefined ? tx.store.put(record.value) : tx.store.put(record.value, record.key));
    }
    await tx.done;
  }
  db.close();
}
