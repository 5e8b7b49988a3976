/**
 * The `Store` port on LevelDB (`classic-level`), for the always-on Node.js node. Node-only: it is
 * not exported from `./index` (which the browser bundle imports); the node's composition root
 * imports this file directly.
 */
import { createHash, KeyObject, webcrypto } from 'node:crypto';
import { deserialize, serialize } from 'node:v8';
import { ClassicLevel } from 'classic-level';
import { z } from 'zod';
import {
  type AccountRecord,
  type AccountTxRecord,
  type AggregateRange,
  accountTxRecords,
  type BlockAggregate,
  type BlockRange,
  type ChainIndex,
  type ChainWrite,
  type CheckpointRecord,
  DEFAULT_RECENT_BLOCKS,
  type HeadPointer,
  MAX_MY_TRANSACTIONS,
  replayedBlockAggregates,
  StorageUnavailableError,
  type Store,
  type StoredBlock,
  type StoredNode,
  type WalletRecord,
} from '../ports/store';
import {
  decodeAccount,
  decodeAccountTx,
  decodeBlockAggregate,
  decodeCheckpoint,
  decodeHeadPointer,
  decodeMyTransactions,
  decodePool,
  decodeStoredBlock,
  decodeStoredHash,
  decodeStoredTxId,
  decodeTxIndexEntry,
  decodeWallet,
} from './records';
import {
  checkAggregates,
  checkChainWrite,
  checkCheckpoints,
  checkFromHeight,
  GENESIS_HASH,
  StoreWriteError,
} from './write-checks';

/**
 * The key layout's version, kept in the `schema` meta record. Bump it (with a migration) when
 * the layout changes.
 */
export const LEVEL_SCHEMA_VERSION = 2;

/*
 * The key layout: one LevelDB keyspace, every key a prefix letter, `:`, then its parts. Heights
 * are zero-padded to 16 digits (every safe integer), so key order is height order and a range of
 * heights is one ordered scan:
 * - `b:<height>` the stored block (a `StoredBlock`);
 * - `h:<height>` its hash alone, so load and the chain index read hashes without blocks;
 * - `t:<txId>` which height holds the transaction (`{ id, height }`);
 * - `u:<height>:<txId>` (empty value) the same by height: a range's ids are a key scan, and
 *   cutting a tail finds the ids to drop even when the cut blocks are damaged;
 * - `a:<publicKey>` one account of the head state;
 * - `c:<height>` a checkpoint (the whole account model after that block);
 * - `g:<height>` the block's aggregate (the charts' data; layout 2): a range of them is one scan;
 * - `l:<digest>:<height>:<txIndex>` one history line of the account whose public key's SHA-256
 *   is `digest` (fixed length, so one account's lines are one prefix whatever its key holds);
 * - `m:<height>:<txIndex>:<digest>` (empty value) the same by height, for cutting a tail;
 * - `z:<name>` meta records: `head`, `pool`, `wallet`, `mine`, `schema`.
 * Values are Node's structured-clone serialization (`node:v8`), as IndexedDB stores them: a
 * value that cannot be cloned (a function) is refused before anything is written.
 */
const HEIGHT_DIGITS = 16;
const TX_INDEX_DIGITS = 8;
const padHeight = (height: number): string => String(height).padStart(HEIGHT_DIGITS, '0');
const padTxIndex = (index: number): string => String(index).padStart(TX_INDEX_DIGITS, '0');
const keyDigest = (publicKey: string): string => createHash('sha256').update(publicKey).digest('hex');

const key = {
  block: (height: number) => `b:${padHeight(height)}`,
  hash: (height: number) => `h:${padHeight(height)}`,
  checkpoint: (height: number) => `c:${padHeight(height)}`,
  aggregate: (height: number) => `g:${padHeight(height)}`,
  tx: (id: string) => `t:${id}`,
  txAt: (height: number, id: string) => `u:${padHeight(height)}:${id}`,
  account: (publicKey: string) => `a:${publicKey}`,
  line: (digest: string, height: number, txIndex: number) =>
    `l:${digest}:${padHeight(height)}:${padTxIndex(txIndex)}`,
  lineAt: (height: number, txIndex: number, digest: string) =>
    `m:${padHeight(height)}:${padTxIndex(txIndex)}:${digest}`,
  meta: (name: 'head' | 'pool' | 'wallet' | 'mine' | 'schema') => `z:${name}`,
};

/** Every key that starts with `prefix` (which ends in `:`): `:` + 1 is `;`. */
const prefixRange = (prefix: string) => ({ gte: prefix, lt: `${prefix.slice(0, -1)};` });

/** The keys of `letter` for heights `from`..`to` (inclusive); `to` defaults to the last one. */
const heightRange = (letter: string, from: number, to?: number) => ({
  gte: `${letter}:${padHeight(Math.max(0, from))}`,
  ...(to === undefined ? { lt: `${letter};` } : { lte: `${letter}:${padHeight(to)}\uffff` }),
});

/** The height in a height-first key (`b:`, `h:`, `c:`, `g:`, `u:`, `m:`), or null if it is not ours. */
function heightOfKey(stored: string): number | null {
  const digits = stored.slice(2, 2 + HEIGHT_DIGITS);
  return /^\d{16}$/.test(digits) ? Number(digits) : null;
}

/** What a value that did not deserialize reads as: every decoder refuses it. */
const UNREADABLE = Symbol('unreadable stored bytes');
const EMPTY = new Uint8Array(0);

const encode = (value: unknown): Uint8Array => serialize(value);
function decodeBytes(bytes: Uint8Array | undefined): unknown {
  if (bytes === undefined) return undefined;
  try {
    return deserialize(bytes);
  } catch {
    return UNREADABLE;
  }
}

/*
 * The wallet's private key is a WebCrypto `CryptoKey`, which Node's serializer refuses (a host
 * object). It is stored as its PKCS#8 bytes with what `importKey` needs to rebuild the same key,
 * non-extractable ones included: the browser keeps a non-extractable key's bytes in its
 * IndexedDB files too; "non-extractable" is a promise of the API, not of the disk.
 */
const cryptoKeySchema = z.strictObject({
  pkcs8: z.instanceof(Uint8Array).refine((bytes) => bytes.length <= 16_384, 'key too long'),
  algorithm: z.looseObject({ name: z.string().max(64) }),
  usages: z.array(z.enum(['sign', 'verify', 'encrypt', 'decrypt', 'deriveKey', 'deriveBits'])).max(6),
  extractable: z.boolean(),
});
const walletEnvelopeSchema = z.discriminatedUnion('keyKind', [
  z.strictObject({ keyKind: z.literal('cryptoKey'), wallet: z.unknown(), key: cryptoKeySchema }),
  z.strictObject({ keyKind: z.literal('plain'), wallet: z.unknown() }),
]);

async function walletEnvelope(wallet: WalletRecord): Promise<unknown> {
  const { privateKey } = wallet;
  if (!(privateKey instanceof globalThis.CryptoKey)) return { keyKind: 'plain', wallet };
  const pkcs8 = KeyObject.from(privateKey).export({ format: 'der', type: 'pkcs8' });
  return {
    keyKind: 'cryptoKey',
    wallet: { ...wallet, privateKey: null },
    key: {
      pkcs8: new Uint8Array(pkcs8),
      algorithm: privateKey.algorithm,
      usages: privateKey.usages,
      extractable: privateKey.extractable,
    },
  };
}

/** The stored wallet: the envelope checked, the key rebuilt, the record through `decodeWallet`. */
async function walletOfEnvelope(
  value: unknown,
): Promise<{ wallet: WalletRecord | null; notice: string | null }> {
  const damaged = (reason: string) => ({
    wallet: null,
    notice: `The saved wallet record is damaged (${reason}): it was ignored.`,
  });
  const envelope = walletEnvelopeSchema.safeParse(value);
  if (!envelope.success) return damaged(envelope.error.issues[0]?.message ?? 'invalid');
  let record = envelope.data.wallet;
  if (envelope.data.keyKind === 'cryptoKey') {
    const { pkcs8, algorithm, usages, extractable } = envelope.data.key;
    try {
      const privateKey = await webcrypto.subtle.importKey(
        'pkcs8',
        new Uint8Array(pkcs8),
        algorithm as unknown as webcrypto.AlgorithmIdentifier,
        extractable,
        usages,
      );
      record = { ...(record as object), privateKey };
    } catch (error) {
      return damaged(`its key could not be imported: ${(error as Error)?.message ?? String(error)}`);
    }
  }
  const wallet = decodeWallet(record);
  return wallet.ok
    ? { wallet: wallet.value, notice: null }
    : { wallet: null, notice: `${wallet.error.message}: it was ignored.` };
}

/** "1 block" / "2 blocks". */
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

type Db = ClassicLevel<string, Uint8Array>;
type Op = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string };
const put = (k: string, value: unknown): Op => ({ type: 'put', key: k, value: encode(value) });
const del = (k: string): Op => ({ type: 'del', key: k });

const UNKNOWN_LAYOUT_NOTICE =
  'The node database held data without a layout record (not written by this version): the chain was ' +
  'cleared and the node will resync it from its peers. The wallet was kept.';

/** A LevelDB store: the `Store` port, with the directory it keeps its database in. */
export interface LevelStore extends Store {
  readonly directory: string;
}

/**
 * Opens (creating if missing) the LevelDB store in `directory`. Rejects with
 * `StorageUnavailableError` when the database cannot be opened (another process holds it, the
 * directory is not writable, it was written by a newer layout). `close()` waits for the writes
 * under way and closes LevelDB cleanly: the node calls it on SIGINT/SIGTERM.
 */
export async function openLevelStore(directory: string): Promise<LevelStore> {
  const db: Db = new ClassicLevel<string, Uint8Array>(directory, {
    keyEncoding: 'utf8',
    valueEncoding: 'view',
  });
  try {
    await db.open();
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
    const why =
      cause?.code === 'LEVEL_LOCKED'
        ? 'another process (a node already running on this --data directory?) holds it'
        : (cause?.message ?? (error as Error)?.message ?? String(error));
    throw new StorageUnavailableError(
      'unavailable',
      `Could not open the node database in ${directory}: ${why}.`,
    );
  }
  const notices: string[] = [];
  try {
    await checkSchema(db, notices);
  } catch (error) {
    await db.close();
    throw error;
  }
  return levelStore(db, directory, notices);
}

/**
 * Checks the `schema` record: this layout's, or the database is fresh. A newer layout is refused
 * (nothing is touched); data without the record loses its chain and keeps its wallet.
 */
async function checkSchema(db: Db, notices: string[]): Promise<void> {
  const record = decodeBytes(await db.get(key.meta('schema')));
  const version = (record as { version?: unknown } | undefined)?.version;
  if (typeof version === 'number' && version > LEVEL_SCHEMA_VERSION) {
    throw new StorageUnavailableError(
      'unavailable',
      `The node database was written by a newer version of tabchain (layout ${version}): run that version, or start over with another --data directory.`,
    );
  }
  if (version === LEVEL_SCHEMA_VERSION) return;
  if (version === 1) {
    await migrateFrom1(db);
    return;
  }
  const ops: Op[] = [];
  for (const stored of await db.keys().all()) {
    if (stored !== key.meta('wallet')) ops.push(del(stored));
  }
  if (ops.length > 0) notices.push(UNKNOWN_LAYOUT_NOTICE);
  ops.push(put(key.meta('schema'), { version: LEVEL_SCHEMA_VERSION }));
  await db.batch(ops, { sync: true });
}

/**
 * Layout 1 → 2: writes each stored block's aggregate (`g:`), its stakes replayed from the blocks
 * (`replayedBlockAggregates`), with no measured propagation time. The first damaged or missing
 * block ends them: load cuts the chain there anyway.
 */
async function migrateFrom1(db: Db): Promise<void> {
  const blocks: StoredBlock[] = [];
  for await (const [stored, bytes] of db.iterator(heightRange('b', 1))) {
    const height = blocks.length + 1;
    if (stored !== key.block(height)) break;
    const block = decodeStoredBlock(decodeBytes(bytes), height);
    if (!block.ok) break;
    blocks.push(block.value);
  }
  const ops = replayedBlockAggregates(blocks).map((aggregate) =>
    put(key.aggregate(aggregate.height), aggregate),
  );
  ops.push(put(key.meta('schema'), { version: LEVEL_SCHEMA_VERSION }));
  await db.batch(ops, { sync: true });
}

function levelStore(db: Db, directory: string, pending: string[]): LevelStore {
  let closed = false;
  /*
   * Every method runs alone, in call order: a write reads the stored tip, checks, then commits one
   * batch, and nothing may land in between (IndexedDB's readwrite transactions give the browser
   * store the same). A read then also sees either all of a write or none of it.
   */
  let queue: Promise<unknown> = Promise.resolve();
  function exclusive<T>(body: () => Promise<T>): Promise<T> {
    if (closed) return Promise.reject(new Error('the LevelDB store is closed'));
    const run = queue.then(body, body);
    queue = run.catch(() => {});
    return run;
  }

  /**
   * Commits `ops` as one LevelDB batch: all of them or none. A full disk becomes
   * `StorageUnavailableError('quota')`, as the browser's quota error does for IndexedDB.
   */
  async function commit(ops: Op[], sync: boolean, action: string): Promise<void> {
    try {
      await db.batch(ops, { sync });
    } catch (error) {
      const text = `${(error as Error)?.message ?? ''} ${String((error as { cause?: unknown })?.cause ?? '')}`;
      if (/ENOSPC|No space left/i.test(text)) {
        throw new StorageUnavailableError(
          'quota',
          `Could not ${action}: the disk holding ${directory} is full. Free space, then restart the node.`,
        );
      }
      throw error;
    }
  }

  const getValue = async (k: string): Promise<unknown> => decodeBytes(await db.get(k));
  const keysIn = (range: { gte: string; lt?: string; lte?: string }): Promise<string[]> =>
    db.keys(range).all();

  /** The height of the last stored hash (0: genesis alone). */
  async function storedTip(): Promise<number> {
    const [last] = await db
      .keys({ ...heightRange('h', 0, 10 ** HEIGHT_DIGITS - 1), reverse: true, limit: 1 })
      .all();
    return last === undefined ? 0 : (heightOfKey(last) ?? 0);
  }

  /** Block `height`'s stored hash, decoded, or undefined. */
  async function hashAt(height: number): Promise<string | undefined> {
    if (height === 0) return GENESIS_HASH;
    const value = await getValue(key.hash(height));
    if (value === undefined) return undefined;
    const hash = decodeStoredHash(value, height);
    return hash.ok ? hash.value : undefined;
  }

  /**
   * The hashes of heights `from`..`to`, keeping the prefix that runs from, from + 1, … and
   * decodes, and what stopped it.
   */
  async function readHashRange(
    from: number,
    to: number,
  ): Promise<{ hashes: string[]; problem: string | null }> {
    if (to < from) return { hashes: [], problem: null };
    const entries = await db.iterator(heightRange('h', from, to)).all();
    const hashes: string[] = [];
    let problem: string | null = null;
    for (const [index, [stored, bytes]] of entries.entries()) {
      const height = from + index;
      if (stored !== key.hash(height)) break;
      const hash = decodeStoredHash(decodeBytes(bytes), height);
      if (!hash.ok) {
        problem = hash.error.message;
        break;
      }
      hashes.push(hash.value);
    }
    if (hashes.length < to - from + 1 && problem === null)
      problem = `block ${from + hashes.length}'s hash is missing`;
    return { hashes, problem: hashes.length < to - from + 1 ? problem : null };
  }

  /**
   * The block records of heights `from`..`from + count - 1`, each decoded and checked against its
   * stored hash and its parent: the valid prefix and what stopped it.
   */
  async function readCheckedBlocks(
    from: number,
    count: number,
    parentHash: string,
    hashOf: (height: number) => string | undefined,
  ): Promise<{ blocks: StoredBlock[]; problem: string | null }> {
    const blocks: StoredBlock[] = [];
    if (count <= 0) return { blocks, problem: null };
    const entries = await db.iterator(heightRange('b', from, from + count - 1)).all();
    let parent = parentHash;
    for (let index = 0; index < count; index++) {
      const height = from + index;
      const entry = entries[index];
      if (!entry || entry[0] !== key.block(height)) return { blocks, problem: `block ${height} is missing` };
      const decoded = decodeStoredBlock(decodeBytes(entry[1]), height);
      if (!decoded.ok) return { blocks, problem: decoded.error.message };
      const stored = decoded.value;
      if (stored.block.lastHash !== parent) {
        return { blocks, problem: `block ${height}'s lastHash does not match block ${height - 1}'s hash` };
      }
      const expected = hashOf(height);
      if (expected !== undefined && stored.hash !== expected) {
        return { blocks, problem: `block ${height}'s hash does not match the stored hash list` };
      }
      blocks.push(stored);
      parent = stored.hash;
    }
    return { blocks, problem: null };
  }

  /**
   * The newest checkpoint at or below `height` that decodes and is for the stored block at its
   * height; damaged ones are skipped (and, when `repair` is given, deleted with a notice).
   */
  async function newestCheckpoint(
    height: number,
    repair: { ops: Op[]; notices: string[] } | null,
  ): Promise<CheckpointRecord | null> {
    if (height < 1) return null;
    for await (const [stored, bytes] of db.iterator({ ...heightRange('c', 1, height), reverse: true })) {
      const checkpoint = decodeCheckpoint(decodeBytes(bytes));
      if (checkpoint.ok && checkpoint.value.hash === (await hashAt(checkpoint.value.height))) {
        if (stored === key.checkpoint(checkpoint.value.height)) return checkpoint.value;
      }
      if (repair) {
        repair.notices.push(
          `The checkpoint at block ${heightOfKey(stored) ?? stored} was damaged and was removed (${checkpoint.ok ? 'it is for another block' : checkpoint.error.message}).`,
        );
        repair.ops.push(del(stored));
      }
    }
    return null;
  }

  /**
   * The deletions of everything from `fromHeight` on: blocks, hashes, checkpoints, the transaction
   * index and history lines (found through their by-height keys, so damaged blocks are no
   * obstacle), and the head pointer: the caller writes a new one or leaves the head state to be
   * rebuilt.
   */
  async function cutTail(fromHeight: number): Promise<Op[]> {
    const ops: Op[] = [];
    for (const letter of ['b', 'h', 'c', 'g']) {
      for (const stored of await keysIn(heightRange(letter, fromHeight))) ops.push(del(stored));
    }
    for (const stored of await keysIn(heightRange('u', fromHeight))) {
      ops.push(del(stored));
      ops.push(del(key.tx(stored.slice(3 + HEIGHT_DIGITS))));
    }
    for (const stored of await keysIn(heightRange('m', fromHeight))) {
      const [, height, txIndex, digest] = stored.split(':');
      ops.push(del(stored));
      if (digest !== undefined) ops.push(del(`l:${digest}:${height}:${txIndex}`));
    }
    ops.push(del(key.meta('head')));
    return ops;
  }

  /** The transaction ids of heights `from`..`to`, from the by-height keys (ordered by height, then id). */
  async function idsOf(from: number, to: number): Promise<string[]> {
    if (to < from) return [];
    return (await keysIn(heightRange('u', from, to))).flatMap((stored) => {
      const id = decodeStoredTxId(stored.slice(3 + HEIGHT_DIGITS));
      return id.ok ? [id.value] : [];
    });
  }

  return {
    directory,

    load(options): Promise<StoredNode> {
      const recent = Math.max(0, options?.recentBlocks ?? DEFAULT_RECENT_BLOCKS);
      return exclusive(async () => {
        const notices = [...pending];
        const repairs: Op[] = [];
        const stored = await storedTip();
        const base = await newestCheckpoint(stored - recent, { ops: repairs, notices });
        const baseHeight = base?.height ?? 0;
        const { hashes, problem: hashProblem } = await readHashRange(baseHeight + 1, stored);
        const hashOf = (height: number): string | undefined =>
          height === baseHeight ? (base?.hash ?? GENESIS_HASH) : hashes[height - baseHeight - 1];
        const checked = await readCheckedBlocks(
          baseHeight + 1,
          hashes.length,
          hashOf(baseHeight) as string,
          hashOf,
        );
        const blocks = checked.blocks;
        const problem = checked.problem ?? hashProblem;
        const tip = baseHeight + blocks.length;
        const cut = tip < stored;
        if (cut) {
          repairs.push(...(await cutTail(tip + 1)));
          notices.push(
            `The stored chain was damaged (${problem}): kept blocks 1–${tip} and removed ${plural(stored - tip, 'block')} after them; the node will fetch the rest from its peers.`,
          );
        }
        // The accounts hold the head state when the head pointer names the stored tip.
        const headValue = await getValue(key.meta('head'));
        const pointer = decodeHeadPointer(headValue);
        const describesTip =
          !cut &&
          (pointer.ok
            ? pointer.value.height === tip && pointer.value.hash === hashOf(tip)
            : headValue === undefined && tip === 0);
        let accounts: AccountRecord[] | null = null;
        if (describesTip) {
          accounts = [];
          for (const bytes of await db.values(prefixRange('a:')).all()) {
            const account = decodeAccount(decodeBytes(bytes));
            if (!account.ok) {
              accounts = null;
              notices.push(
                `The saved account state was damaged (${account.error.message}): it will be rebuilt by replaying the chain.`,
              );
              break;
            }
            accounts.push(account.value);
          }
        } else if (tip > 0 && !cut) {
          notices.push(
            `The saved account state does not match the stored chain (which ends at block ${tip}): it will be rebuilt by replaying the chain.`,
          );
        }
        if (accounts === null && headValue !== undefined) repairs.push(del(key.meta('head')));
        const poolValue = await getValue(key.meta('pool'));
        const pool = poolValue === undefined ? { entries: [], error: null } : decodePool(poolValue);
        if (pool.error) {
          notices.push(
            `${pool.error.message}: kept ${plural(pool.entries.length, 'pending transaction')} before it.`,
          );
        }
        const walletValue = await getValue(key.meta('wallet'));
        let wallet: WalletRecord | null = null;
        if (walletValue !== undefined) {
          const read = await walletOfEnvelope(walletValue);
          wallet = read.wallet;
          if (read.notice) notices.push(read.notice);
        }
        if (repairs.length > 0) await commit(repairs, true, 'repair the stored chain');
        // Notices from opening are shown once, by the first load that succeeds.
        pending.length = 0;
        return {
          head: tip === 0 ? null : { height: tip, hash: hashOf(tip) as string },
          base,
          blocks,
          accounts,
          pool: pool.entries,
          wallet,
          notices,
        };
      });
    },

    writeChain(change: ChainWrite): Promise<void> {
      return exclusive(async () => {
        const tip = await storedTip();
        checkFromHeight(change.fromHeight, tip);
        const baseHash = await hashAt(change.fromHeight - 1);
        if (baseHash === undefined) {
          throw new StoreWriteError(
            'BAD_FROM_HEIGHT',
            `cannot write blocks from height ${change.fromHeight}: block ${change.fromHeight - 1} is not stored`,
          );
        }
        checkChainWrite({ height: change.fromHeight - 1, hash: baseHash }, change.blocks, change.head);
        await checkCheckpoints(change.checkpoints, change.blocks, change.head, (height) =>
          height < change.fromHeight ? hashAt(height) : undefined,
        );
        checkAggregates(change.aggregates, change.blocks);
        // Everything below is built before the one batch: a value that cannot be serialized
        // throws here, and nothing is written.
        const ops: Op[] = change.fromHeight <= tip ? await cutTail(change.fromHeight) : [];
        for (const aggregate of change.aggregates) ops.push(put(key.aggregate(aggregate.height), aggregate));
        for (const stored of change.blocks) {
          ops.push(put(key.block(stored.height), stored));
          ops.push(put(key.hash(stored.height), stored.hash));
          for (const tx of stored.block.transactions) {
            ops.push(put(key.tx(tx.id), { id: tx.id, height: stored.height }));
            ops.push({ type: 'put', key: key.txAt(stored.height, tx.id), value: EMPTY });
          }
        }
        for (const line of accountTxRecords(change.blocks)) {
          const digest = keyDigest(line.publicKey);
          ops.push(put(key.line(digest, line.height, line.txIndex), line));
          ops.push({ type: 'put', key: key.lineAt(line.height, line.txIndex, digest), value: EMPTY });
        }
        if (change.resetAccounts) {
          for (const stored of await keysIn(prefixRange('a:'))) ops.push(del(stored));
        }
        for (const account of change.accounts) {
          ops.push(
            account.balance === null && account.stake === null
              ? del(key.account(account.publicKey))
              : put(key.account(account.publicKey), account),
          );
        }
        for (const checkpoint of change.checkpoints)
          ops.push(put(key.checkpoint(checkpoint.height), checkpoint));
        // A head at height 0 is genesis alone, which `load` reports as null.
        const pointer: HeadPointer = { height: change.head.height, hash: change.head.hash };
        ops.push(change.head.height === 0 ? del(key.meta('head')) : put(key.meta('head'), pointer));
        // Not fsynced: a crash loses at most the last writes, never half of one (each batch is
        // one checksummed log record), and lost blocks are fetched again from peers.
        await commit(ops, false, 'save blocks');
      });
    },

    readBlocks(from, to): Promise<BlockRange> {
      return exclusive(async () => {
        const start = Math.max(1, Math.ceil(from));
        const end = Math.min(await storedTip(), Math.floor(to));
        if (end < start) return { blocks: [], problem: null };
        const [{ hashes }, parentHash] = await Promise.all([readHashRange(start, end), hashAt(start - 1)]);
        const checked = await readCheckedBlocks(
          start,
          end - start + 1,
          parentHash ?? '',
          (height) => hashes[height - start],
        );
        return {
          blocks: checked.blocks,
          problem:
            checked.problem === null
              ? null
              : `Could not read stored block ${start + checked.blocks.length}: ${checked.problem}.`,
        };
      });
    },

    readBlockAggregates(from, to): Promise<AggregateRange> {
      return exclusive(async () => {
        const start = Math.max(1, Math.ceil(from));
        const end = Math.min(await storedTip(), Math.floor(to));
        const aggregates: BlockAggregate[] = [];
        if (end < start) return { aggregates, problem: null };
        // One ordered scan: LevelDB's equivalent of the browser store's chunk records.
        const entries = await db.iterator(heightRange('g', start, end)).all();
        for (let height = start; height <= end; height++) {
          const entry = entries[height - start];
          const decoded =
            entry && entry[0] === key.aggregate(height)
              ? decodeBlockAggregate(decodeBytes(entry[1]), height)
              : null;
          if (!decoded?.ok) {
            const why = decoded ? decoded.error.message : `block ${height}'s aggregate record is missing`;
            return { aggregates, problem: `Could not read the aggregates from block ${height} on: ${why}.` };
          }
          aggregates.push(decoded.value);
        }
        return { aggregates, problem: null };
      });
    },

    readTransactionHeight(id) {
      return exclusive(async () => {
        const entry = decodeTxIndexEntry(await getValue(key.tx(id)));
        return entry.ok && entry.value.id === id ? entry.value.height : undefined;
      });
    },

    readChainIndex(to): Promise<ChainIndex> {
      return exclusive(async () => {
        const end = Math.max(0, Math.min(await storedTip(), Math.floor(to)));
        const { hashes, problem } = await readHashRange(1, end);
        return { hashes, txIds: await idsOf(1, end), problem: hashes.length < end ? problem : null };
      });
    },

    readTransactionIds(from, to) {
      return exclusive(() => idsOf(Math.max(1, Math.ceil(from)), Math.floor(to)));
    },

    readCheckpoint(height) {
      return exclusive(() => newestCheckpoint(Math.floor(height), null));
    },

    readAccountHistory(publicKey, query) {
      return exclusive(async () => {
        const limit = Math.max(0, Math.floor(query.limit));
        const { before } = query;
        if (limit === 0 || (before && (before.height < 0 || before.txIndex < 0))) return [];
        const digest = keyDigest(publicKey);
        const range = prefixRange(`l:${digest}:`);
        const upper = before
          ? { lt: key.line(digest, Math.ceil(before.height), Math.ceil(before.txIndex)) }
          : { lt: range.lt };
        const lines: AccountTxRecord[] = [];
        for await (const bytes of db.values({ gte: range.gte, ...upper, reverse: true })) {
          const line = decodeAccountTx(decodeBytes(bytes));
          // A damaged line is skipped: the history is a view, the blocks stay the reference.
          if (line.ok && line.value.publicKey === publicKey) lines.push(line.value);
          if (lines.length >= limit) break;
        }
        return lines;
      });
    },

    readMyTransactions() {
      return exclusive(async () => {
        const value = await getValue(key.meta('mine'));
        return value === undefined ? [] : decodeMyTransactions(value).entries;
      });
    },

    saveMyTransactions(list) {
      // Fsynced: the user's own transactions cannot be fetched again from peers.
      return exclusive(() =>
        commit([put(key.meta('mine'), list.slice(0, MAX_MY_TRANSACTIONS))], true, 'save your transactions'),
      );
    },

    savePool(pool) {
      return exclusive(() => commit([put(key.meta('pool'), pool)], false, 'save the transaction pool'));
    },

    saveWallet(wallet) {
      return exclusive(async () => {
        // Fsynced: a private key cannot be fetched again.
        const op =
          wallet === null ? del(key.meta('wallet')) : put(key.meta('wallet'), await walletEnvelope(wallet));
        await commit([op], true, 'save the wallet');
      });
    },

    async close() {
      if (closed) return;
      closed = true;
      // The writes under way finish first: a SIGTERM never closes LevelDB under a batch.
      await queue;
      await db.close();
    },
  };
}
