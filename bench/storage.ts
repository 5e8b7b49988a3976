/**
 * Storage figures, measured in Node under fake-indexeddb: what IndexedDB holds per block. Reload
 * time needs a real browser's IndexedDB and is measured in Chromium, not here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serialize } from 'node:v8';
import {
  type Block,
  blockHash,
  canonicalBytes,
  createBlock,
  GENESIS_BLOCK,
  type Transaction,
  timestampSeconds,
} from '../src/core';
import { type HeadPointer, replayedBlockAggregates, type StoredBlock } from '../src/ports/store';
import { type Figure, round } from './harness';

/** Blocks stored for the measurement: enough that the per-block average is steady. */
const BLOCKS = 50;
/** Transactions per block, as the figure's name says. */
const TX_PER_BLOCK = 10;

/** The blocks of chain-long.json: real keys, signatures and transactions to size records by. */
function vectorBlocks(): Block[] {
  const path = join(import.meta.dirname, '..', 'test', 'vectors', 'chain-long.json');
  return (JSON.parse(readFileSync(path, 'utf8')) as { chain: { blocks: Block[] } }).chain.blocks;
}

/**
 * A chain of `BLOCKS` blocks of `TX_PER_BLOCK` transactions linked by real hashes: the vector's
 * signed transactions reused with fresh ids (so the index grows), its block 1's forger and
 * signature (not checked here; a real one keeps the record its real size).
 */
function chain(): { blocks: StoredBlock[]; head: HeadPointer } {
  const source = vectorBlocks();
  const sample = source[1];
  if (!sample) throw new Error('chain-long.json has no block 1');
  const pool = source.flatMap((block) => block.transactions);
  const blocks: StoredBlock[] = [];
  let lastHash = blockHash(GENESIS_BLOCK);
  for (let height = 1; height <= BLOCKS; height++) {
    const body = Array.from({ length: TX_PER_BLOCK }, (_, k): Transaction => {
      const i = (height - 1) * TX_PER_BLOCK + k;
      const tx = pool[i % pool.length] as Transaction;
      return { ...tx, id: `${tx.id.slice(0, 24)}${i.toString(16).padStart(8, '0')}` };
    });
    const unsigned = createBlock(
      body,
      lastHash,
      sample.forger,
      height,
      timestampSeconds(sample.timestamp) + height,
    );
    const block: Block = { ...unsigned, signature: sample.signature };
    const hash = blockHash(block);
    blocks.push({ height, hash, block });
    lastHash = hash;
  }
  return { blocks, head: { height: BLOCKS, hash: lastHash } };
}

/**
 * `idb-bytes-per-block-10tx` and `idb-txindex-bytes-per-tx`: stores 50 ten-transaction blocks
 * through the real `openIndexedDbStore` (on fake-indexeddb), reads back what the object stores
 * hold, and sizes it. Size = the V8 structured-clone serialization of each stored value (the
 * format Chromium's IndexedDB writes, before its own compression) plus the UTF-8 length of each
 * primary and index key. The head, accounts, checkpoints, pool and wallet records do not grow per
 * block (accounts per account, a checkpoint per 256 blocks) and are left out.
 */
export async function storageFigures(): Promise<Figure[]> {
  // Installs fake-indexeddb's IDB* globals, which idb uses to recognise IndexedDB objects.
  const { IDBFactory } = await import('fake-indexeddb');
  // A non-literal specifier: the package's `auto` entry ships no types its `exports` map reaches.
  const installGlobals = 'fake-indexeddb/auto';
  await import(installGlobals);
  const { openIndexedDbStore } = await import('../src/storage/indexeddb');
  const { wrap } = await import('idb');

  const factory = new IDBFactory();
  const { blocks, head } = chain();
  const store = await openIndexedDbStore('bench', { indexedDB: factory });
  await store.writeChain({
    fromHeight: 1,
    blocks,
    head,
    accounts: [],
    checkpoints: [],
    aggregates: replayedBlockAggregates(blocks),
  });
  await store.close();

  const db = await wrap(factory.open('tabchain-node-bench'));
  if (!db) throw new Error('no database');
  const blockRecords = (await db.getAll('blocks')) as StoredBlock[];
  const txRecords = (await db.getAll('txIndex')) as { id: string; height: number }[];
  const hashRecords = (await db.getAll('hashes')) as string[];
  const aggregateRecords = (await db.getAll('aggregates')) as unknown[];
  db.close();
  if (blockRecords.length !== BLOCKS || txRecords.length !== BLOCKS * TX_PER_BLOCK) {
    throw new Error(`stored ${blockRecords.length} blocks / ${txRecords.length} index entries`);
  }

  const utf8 = (text: string): number => new TextEncoder().encode(text).length;
  // Heights as keys are numbers: 8 bytes each.
  const blockBytes =
    blockRecords.reduce((sum, record) => sum + serialize(record).length + 8, 0) + // value, key
    hashRecords.reduce((sum, hash) => sum + serialize(hash).length + 8, 0); // the hashes store
  const txBytes = txRecords.reduce(
    (sum, entry) => sum + serialize(entry).length + utf8(entry.id) + (8 + utf8(entry.id)), // value, key, byHeight entry
    0,
  );
  const jsonBytes = blockRecords.reduce(
    (sum, r) => sum + utf8(JSON.stringify(r)),
    txRecords.reduce((sum, e) => sum + utf8(JSON.stringify(e)), 0),
  );
  const wireBytes = blockRecords.reduce((sum, record) => sum + canonicalBytes(record.block).length, 0);

  const perBlock = (blockBytes + txBytes) / BLOCKS;
  const aggregateBytes = aggregateRecords.reduce<number>(
    (sum, record) => sum + serialize(record).length + 8,
    0,
  );
  return [
    {
      name: 'idb-aggregate-bytes-per-block',
      value: round(aggregateBytes / BLOCKS, 0),
      unit: 'bytes',
      ratio: round(aggregateBytes / (blockBytes + txBytes), 3),
      note:
        `V8 structured-clone size of each block's aggregate record (the charts' data: the forger's PEM is most of it) plus its key, ` +
        `mean of ${BLOCKS} blocks; ratio = that / the block's own records (idb-bytes-per-block-10tx). A whole chunk of ` +
        '256 blocks keeps them once more in its aggregate chunk record',
    },
    {
      name: 'idb-bytes-per-block-10tx',
      value: round(perBlock, 0),
      unit: 'bytes',
      ratio: round((blockBytes + txBytes) / wireBytes, 2),
      note:
        `V8 structured-clone size of each stored block record, its hashes record and its 10 txIndex records, plus keys and ` +
        `index entries, mean of ${BLOCKS} blocks (JSON of the same records: ${round(jsonBytes / BLOCKS, 0)} B); ` +
        `ratio = stored / the block's canonical JSON (the wire size)`,
    },
    {
      name: 'idb-txindex-bytes-per-tx',
      value: round(txBytes / txRecords.length, 0),
      unit: 'bytes',
      ratio: null,
      note: 'one txIndex record {id, height}: V8 structured-clone size + its key + its byHeight index entry',
    },
  ];
}
