import type { KeyPair } from '../crypto/types';
import type { AppServices } from './app-services';
import type { DevnetKeyName } from './decoders';
import { fingerprint } from './format';

/** A transaction this page signed and the node accepted. */
export interface SentTransaction {
  readonly id: string;
  readonly type: 'TRANSFER' | 'EXCHANGE' | 'STAKE';
  readonly amount: number;
  readonly receiverPublicKey: string;
  /** Wall-clock ms when it was submitted. */
  readonly sentAt: number;
}

/**
 * The transactions this page sent, newest first (an external store for `useSyncExternalStore`).
 * Only this page's sends, for this page's signal that one was sent: the list that survives a
 * reload, with each one's state, is the node's (`readMyTransactions`, saved in its store).
 */
export class SentLog {
  private entries: readonly SentTransaction[] = [];
  private readonly listeners = new Set<() => void>();

  /** Records a sent transaction (the newest 50 are kept). */
  add(entry: SentTransaction): void {
    this.entries = [entry, ...this.entries].slice(0, 50);
    for (const listener of this.listeners) listener();
  }

  /** The sent transactions, newest first; the same array until one is added. */
  list(): readonly SentTransaction[] {
    return this.entries;
  }

  /** Calls `listener` after every change; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** UI state that lives as long as the page: sent transactions, searched accounts, devnet keys. */
export interface Session {
  readonly sent: SentLog;
  /** Public keys the user looked up that the chain may not know yet (so `#/account/<fp>` resolves). */
  readonly searchedAccounts: Set<string>;
  /** A devnet key pair, fetched and imported once; checked against devnet.json's public key. */
  devnetKey(name: DevnetKeyName): Promise<KeyPair>;
}

/** A fresh session over `services`. */
export function createSession(services: Pick<AppServices, 'devnet' | 'loadDevnetKey' | 'crypto'>): Session {
  const keys = new Map<DevnetKeyName, Promise<KeyPair>>();
  const expected: Record<DevnetKeyName, string | undefined> = {
    genesis: services.devnet.genesisPublicKey,
    staker: services.devnet.stakerPublicKey,
    exchange: services.devnet.exchangePublicKey,
  };
  const load = async (name: DevnetKeyName): Promise<KeyPair> => {
    const pem = await services.loadDevnetKey(name);
    const keyPair = await services.crypto.importPrivateKeyPem(pem, { extractable: true });
    const want = expected[name];
    if (want !== undefined && keyPair.publicKeyPem !== want) {
      throw new Error(
        `The served ${name} private key does not belong to devnet.json's ${name} public key (${fingerprint(want)}): regenerate both with npm run devnet-keys.`,
      );
    }
    return keyPair;
  };
  return {
    sent: new SentLog(),
    searchedAccounts: new Set(),
    devnetKey(name) {
      let pending = keys.get(name);
      if (!pending) {
        pending = load(name);
        keys.set(name, pending);
        // A failure is not cached: the next click tries again.
        pending.catch(() => keys.delete(name));
      }
      return pending;
    },
  };
}
