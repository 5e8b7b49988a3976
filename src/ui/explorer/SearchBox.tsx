import { type FormEvent, useState } from 'react';
import type { NodeSnapshot } from '../../node/node';
import { useKnownAccounts } from '../accounts';
import { navigate } from '../router';
import { useNode, useServices, useSession, useSnapshot } from '../services';
import { resolveSearch } from './search';

/** Every node id this tab shows: its storage id, its network id, its peers' and the map's. */
export function knownNodeIds(
  snapshot: Pick<NodeSnapshot, 'nodeId' | 'peers' | 'topology'>,
  storageId: string,
): string[] {
  const ids = new Set<string>([storageId, snapshot.nodeId]);
  for (const peer of snapshot.peers) ids.add(peer.id);
  for (const known of snapshot.topology.nodes) ids.add(known.id);
  ids.delete('');
  return [...ids];
}

/** The explorer's one search box: block height, block hash, transaction id, or account (PEM or fingerprint). */
export function SearchBox() {
  const node = useNode();
  const { nodeId } = useServices();
  const snapshot = useSnapshot();
  const session = useSession();
  const accounts = useKnownAccounts();
  const [query, setQuery] = useState('');
  const [error, setError] = useState<string | null>(null);
  const onSubmit = async (event: FormEvent) => {
    event.preventDefault();
    const found = await resolveSearch(
      query,
      node,
      snapshot,
      accounts.map((account) => account.publicKeyPem),
      (pem) => session.searchedAccounts.add(pem),
      knownNodeIds(snapshot, nodeId),
    );
    if (!found.ok) return setError(found.error);
    setError(null);
    setQuery('');
    navigate(found.value);
  };
  return (
    <search className="search">
      <form className="search-form" onSubmit={onSubmit} noValidate>
        <label htmlFor="search-input" className="visually-hidden">
          Search the chain
        </label>
        <input
          id="search-input"
          data-testid="search-input"
          type="search"
          placeholder="Height, hash, tx id, account, node…"
          autoComplete="off"
          spellCheck={false}
          value={query}
          onChange={(event) => setQuery(event.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'search-error' : undefined}
        />
        <button type="submit" data-testid="search-submit">
          Search
        </button>
        {error ? (
          <p className="field-error search-error" role="alert" id="search-error" data-testid="search-error">
            {error}
          </p>
        ) : null}
      </form>
    </search>
  );
}
