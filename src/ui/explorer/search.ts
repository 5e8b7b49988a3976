import type { NodeSnapshot } from '../../node/node';
import type { NodeApi } from '../app-services';
import { accountByFingerprint, type Decoded, decodeSearch } from '../decoders';
import { fingerprint, shortHash } from '../format';
import type { Route } from '../router';

/**
 * The fewest hex digits a prefix search takes: 8 digits are 4 billion values, so on a classroom
 * chain a prefix that long is almost always unique, and shorter ones stay fingerprints only.
 */
export const MIN_PREFIX_DIGITS = 8;

/** Blocks read per step while scanning the chain for a prefix. */
const SCAN_CHUNK = 500;

/** A hash as the app shows it, `shortHash`'s `prefix…suffix` (three dots or two also read as the ellipsis). */
const ABBREVIATED = /^([0-9a-f]+)\s*(?:…|\.{2,3})\s*([0-9a-f]+)$/i;

/** What a search by part of a hash found: a page, and how to name it in an "ambiguous" message. */
interface Match {
  readonly route: Route;
  readonly label: string;
}

/** A hex pattern: digits the value starts with, and digits it ends with (empty for a prefix). */
interface HexPattern {
  readonly prefix: string;
  readonly suffix: string;
}

const matches = (value: string, { prefix, suffix }: HexPattern): boolean =>
  value.startsWith(prefix) && value.endsWith(suffix);

/**
 * Every block hash, transaction id (on chain or pooled) and known account fingerprint that fits
 * `pattern`. A block's hash is its successor's `lastHash`, the head's is the snapshot's, so
 * the chain is read once, in chunks, and nothing is hashed again.
 */
async function findByPattern(
  pattern: HexPattern,
  node: Pick<NodeApi, 'readBlocks'>,
  snapshot: Pick<NodeSnapshot, 'height' | 'headHash' | 'pool'>,
  knownAccounts: readonly string[],
  knownNodes: readonly string[],
): Promise<readonly Match[]> {
  const found: Match[] = [];
  for (let from = 0; from <= snapshot.height; from += SCAN_CHUNK) {
    const blocks = await node.readBlocks(from, Math.min(from + SCAN_CHUNK - 1, snapshot.height));
    for (const block of blocks) {
      if (block.blockCount > 0 && matches(block.lastHash, pattern)) {
        const height = block.blockCount - 1;
        found.push({ route: { page: 'block', height }, label: `block #${height}` });
      }
      for (const tx of block.transactions) {
        if (matches(tx.id, pattern))
          found.push({ route: { page: 'tx', id: tx.id }, label: `transaction ${shortHash(tx.id, 8)}` });
      }
    }
  }
  if (matches(snapshot.headHash, pattern))
    found.push({ route: { page: 'block', height: snapshot.height }, label: `block #${snapshot.height}` });
  for (const { transaction } of snapshot.pool) {
    if (matches(transaction.id, pattern))
      found.push({
        route: { page: 'tx', id: transaction.id },
        label: `pending transaction ${shortHash(transaction.id, 8)}`,
      });
  }
  for (const pem of knownAccounts) {
    const fp = fingerprint(pem);
    if (matches(fingerprint(pem, 64), pattern))
      found.push({ route: { page: 'account', fingerprint: fp }, label: `account ${fp}` });
  }
  for (const id of knownNodes) {
    if (matches(id.toLowerCase(), pattern))
      found.push({ route: { page: 'network', node: id }, label: `node ${id}` });
  }
  return found;
}

/** The one thing `shown` named, or why there is none or more than one. */
function oneMatch(shown: string, found: readonly Match[]): Decoded<Route> {
  const [only] = found;
  if (found.length === 1 && only) return { ok: true, value: only.route };
  if (found.length === 0) {
    return {
      ok: false,
      error: `Nothing on this chain matches ${shown}: no block hash, transaction id, known account's fingerprint or known node id.`,
    };
  }
  const named = found.slice(0, 3).map((match) => match.label);
  const more = found.length > named.length ? `, and ${found.length - named.length} more` : '';
  return {
    ok: false,
    error: `${shown} is ambiguous: it matches ${found.length} things (${named.join(', ')}${more}). Type more digits.`,
  };
}

/**
 * Resolves the explorer's one search box to a page: a height or block hash to the block, a
 * transaction id (on chain or pooled) to the transaction, a public key or a known account's
 * fingerprint to the account. A hash as the app shows it (`62853fc1f4…6a7f`) or a hex prefix of
 * at least `MIN_PREFIX_DIGITS` digits finds the one block, transaction or account it fits, and
 * says so when it fits several. A node id this tab knows (its own, its peers', the map's) finds
 * the node in the Network view. `remember` is told about pasted keys the chain may not know yet.
 * Runs when the search is submitted, never while rendering: the chain is read through the node's
 * asynchronous reads, heights and the pool come from the snapshot the user saw.
 */
export async function resolveSearch(
  text: string,
  node: Pick<NodeApi, 'heightOf' | 'readTransaction' | 'readBlocks'>,
  snapshot: Pick<NodeSnapshot, 'height' | 'headHash' | 'pool'>,
  knownAccounts: readonly string[],
  remember: (publicKeyPem: string) => void = () => {},
  knownNodes: readonly string[] = [],
): Promise<Decoded<Route>> {
  const trimmed = text.trim();
  // A node id as shown: ids are not all hex, so an exact one is looked for before anything else;
  // a hex one that is also part of a hash is left to the pattern search, which says "ambiguous".
  if (knownNodes.includes(trimmed) && !/^[0-9a-f]+$/i.test(trimmed))
    return { ok: true, value: { page: 'network', node: trimmed } };
  const abbreviated = ABBREVIATED.exec(text.trim());
  if (abbreviated) {
    const prefix = (abbreviated[1] ?? '').toLowerCase();
    const suffix = (abbreviated[2] ?? '').toLowerCase();
    if (prefix.length + suffix.length < MIN_PREFIX_DIGITS) {
      return {
        ok: false,
        error: `Type at least ${MIN_PREFIX_DIGITS} hex digits of the hash, before and after the “…” together.`,
      };
    }
    const shown = `${prefix}…${suffix}`;
    return oneMatch(
      shown,
      await findByPattern({ prefix, suffix }, node, snapshot, knownAccounts, knownNodes),
    );
  }
  const query = decodeSearch(text);
  if (!query.ok) return query;
  const q = query.value;
  switch (q.kind) {
    case 'height':
      if (q.height > snapshot.height) {
        // A hash's first digits may all be decimal ones: past the head, a long number is a prefix.
        const digits = text.trim();
        if (/^\d+$/.test(digits) && digits.length >= MIN_PREFIX_DIGITS) {
          const found = await findByPattern(
            { prefix: digits, suffix: '' },
            node,
            snapshot,
            knownAccounts,
            knownNodes,
          );
          if (found.length > 0) return oneMatch(digits, found);
        }
        return {
          ok: false,
          error: `There is no block ${q.height} yet: the chain is at height ${snapshot.height}.`,
        };
      }
      return { ok: true, value: { page: 'block', height: q.height } };
    case 'hash': {
      const height = await node.heightOf(q.hash);
      if (height !== undefined) return { ok: true, value: { page: 'block', height } };
      const account = accountByFingerprint(q.hash, knownAccounts);
      if (account.ok)
        return { ok: true, value: { page: 'account', fingerprint: fingerprint(account.value) } };
      return { ok: false, error: `No block on this chain has the hash ${q.hash.slice(0, 16)}…` };
    }
    case 'tx': {
      const known =
        snapshot.pool.some((entry) => entry.transaction.id === q.id) ||
        (await node.readTransaction(q.id)) !== undefined;
      if (known) return { ok: true, value: { page: 'tx', id: q.id } };
      // 32 digits may also be the first half of a block hash, or of a fingerprint.
      const found = await findByPattern(
        { prefix: q.id, suffix: '' },
        node,
        snapshot,
        knownAccounts,
        knownNodes,
      );
      if (found.length > 0) return oneMatch(q.id, found);
      return { ok: false, error: `No transaction ${q.id} on this chain or in the pool.` };
    }
    case 'account':
      remember(q.publicKeyPem);
      return { ok: true, value: { page: 'account', fingerprint: fingerprint(q.publicKeyPem) } };
    case 'fingerprint': {
      if (q.prefix.length >= MIN_PREFIX_DIGITS) {
        const pattern = { prefix: q.prefix, suffix: '' };
        return oneMatch(q.prefix, await findByPattern(pattern, node, snapshot, knownAccounts, knownNodes));
      }
      const account = accountByFingerprint(q.prefix, knownAccounts);
      if (!account.ok) return account;
      return { ok: true, value: { page: 'account', fingerprint: fingerprint(account.value) } };
    }
  }
}
