import type { KeyPair } from '../crypto/types';
import type { Store } from '../storage/store';

/**
 * The private keys this tab can sign with, by public key PEM. The node keeps its wallet to
 * itself (its snapshot shows only the public half), so the UI remembers the key pairs it hands
 * to `node.setWallet` and the one the node restores from its store (see `withWalletCapture`).
 */
export class KeyRing {
  private readonly keys = new Map<string, KeyPair>();

  /** Remembers a key pair. */
  add(keyPair: KeyPair): void {
    this.keys.set(keyPair.publicKeyPem, keyPair);
  }

  /** The key pair for this public key, if this tab holds it. */
  get(publicKeyPem: string): KeyPair | undefined {
    return this.keys.get(publicKeyPem);
  }
}

/**
 * The same store, except that the wallet it loads or saves is also put in `keyring`: after a
 * reload the node restores its wallet from the store, and the UI can still sign with it.
 */
export function withWalletCapture(store: Store, keyring: KeyRing): Store {
  return {
    load: async () => {
      const stored = await store.load();
      if (stored.wallet) keyring.add({ ...stored.wallet });
      return stored;
    },
    appendBlocks: (blocks, head) => store.appendBlocks(blocks, head),
    replaceBlocks: (fromHeight, blocks, head) => store.replaceBlocks(fromHeight, blocks, head),
    savePool: (pool) => store.savePool(pool),
    saveWallet: (wallet) => {
      if (wallet) keyring.add({ ...wallet });
      return store.saveWallet(wallet);
    },
    close: () => store.close(),
  };
}
