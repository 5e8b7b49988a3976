import { useMemo } from 'react';
import type { NodeSnapshot } from '../node/node';
import { useServices, useSession, useSnapshot } from './services';

/** A known account and the name the UI gives it, if any ("you", "devnet genesis"…). */
export interface KnownAccount {
  readonly publicKeyPem: string;
  readonly name: string | null;
}

/** Names for the devnet's published keys and this tab's wallet. */
export function accountNames(
  devnet: { genesisPublicKey: string; stakerPublicKey?: string; exchangePublicKey?: string },
  walletPem: string | null,
): Map<string, string> {
  const names = new Map<string, string>();
  names.set(devnet.genesisPublicKey, 'devnet genesis');
  if (devnet.stakerPublicKey) names.set(devnet.stakerPublicKey, 'devnet staker');
  if (devnet.exchangePublicKey) names.set(devnet.exchangePublicKey, 'exchange');
  if (walletPem) names.set(walletPem, names.has(walletPem) ? `you, ${names.get(walletPem)}` : 'you');
  return names;
}

/** Every account in the chain state (balances and stakes), in the pool, and the named ones. */
export function knownAccountKeys(
  snapshot: NodeSnapshot,
  names: ReadonlyMap<string, string>,
  extra: Iterable<string> = [],
): string[] {
  const keys = new Set<string>(names.keys());
  for (const key of snapshot.state.balances.keys()) keys.add(key);
  for (const key of snapshot.state.stakes.keys()) keys.add(key);
  for (const { transaction } of snapshot.pool) {
    keys.add(transaction.senderPublicKey);
    keys.add(transaction.receiverPublicKey);
  }
  for (const key of extra) keys.add(key);
  return [...keys];
}

/** The names of accounts this page knows ("you", "devnet staker"…). */
export function useAccountNames(): ReadonlyMap<string, string> {
  const { devnet } = useServices();
  const walletPem = useSnapshot().wallet?.publicKeyPem ?? null;
  return useMemo(() => accountNames(devnet, walletPem), [devnet, walletPem]);
}

/** Known accounts with their names, named ones first. */
export function useKnownAccounts(): readonly KnownAccount[] {
  const snapshot = useSnapshot();
  const session = useSession();
  const names = useAccountNames();
  // The searched set only grows: its size says whether it changed.
  const searched = session.searchedAccounts.size;
  // biome-ignore lint/correctness/useExhaustiveDependencies: `searched` stands for the mutable set's contents
  return useMemo(() => {
    const keys = knownAccountKeys(snapshot, names, session.searchedAccounts);
    return keys.map((publicKeyPem) => ({ publicKeyPem, name: names.get(publicKeyPem) ?? null }));
  }, [snapshot, names, session, searched]);
}
