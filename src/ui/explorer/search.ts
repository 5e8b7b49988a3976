import type { NodeSnapshot } from '../../node/node';
import type { NodeApi } from '../app-services';
import { accountByFingerprint, type Decoded, decodeSearch } from '../decoders';
import { fingerprint } from '../format';
import type { Route } from '../router';

/**
 * Resolves the explorer's one search box to a page: a height or block hash to the block, a
 * transaction id (on chain or pooled) to the transaction, a public key or a known account's
 * fingerprint to the account. `remember` is told about pasted keys the chain may not know yet.
 * Runs when the search is submitted, never while rendering: a transaction is looked up through
 * the node's asynchronous read, heights and the pool come from the snapshot the user saw.
 */
export async function resolveSearch(
  text: string,
  node: Pick<NodeApi, 'heightOf' | 'readTransaction'>,
  snapshot: Pick<NodeSnapshot, 'height' | 'pool'>,
  knownAccounts: readonly string[],
  remember: (publicKeyPem: string) => void = () => {},
): Promise<Decoded<Route>> {
  const query = decodeSearch(text);
  if (!query.ok) return query;
  const q = query.value;
  switch (q.kind) {
    case 'height':
      if (q.height > snapshot.height) {
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
      const account = accountByFingerprint(q.id, knownAccounts);
      if (account.ok)
        return { ok: true, value: { page: 'account', fingerprint: fingerprint(account.value) } };
      return { ok: false, error: `No transaction ${q.id} on this chain or in the pool.` };
    }
    case 'account':
      remember(q.publicKeyPem);
      return { ok: true, value: { page: 'account', fingerprint: fingerprint(q.publicKeyPem) } };
    case 'fingerprint': {
      const account = accountByFingerprint(q.prefix, knownAccounts);
      if (!account.ok) return account;
      return { ok: true, value: { page: 'account', fingerprint: fingerprint(account.value) } };
    }
  }
}
