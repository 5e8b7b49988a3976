/**
 * The fast path: RSASSA-PKCS1-v1_5 / SHA-256 on the platform's WebCrypto (native code, async).
 * Key *formats* still go through `pem.ts` (node-forge), so both providers agree on what a key is.
 */

import {
  bytesToHex,
  createPublicKeyChecker,
  isByteArray,
  KeyFormatError,
  KeyNotExtractableError,
  parsePrivateKeyPem,
  parsePublicKeyPem,
  pkcs8DerToPkcs1Pem,
  privateKeyToPkcs8Der,
  publicKeyPemFromPrivateKey,
  publicKeyPemFromSpkiDer,
  signatureHexToBytes,
} from './pem';
import type { CryptoProvider, KeyPair } from './types';

const ALGORITHM: RsaHashedImportParams = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };

/** Default number of imported public keys kept per provider. */
export const DEFAULT_PUBLIC_KEY_CACHE_SIZE = 1024;

interface ImportedPublicKey {
  readonly key: CryptoKey;
  readonly modulusBytes: number;
}

/** WebCrypto wants an ArrayBuffer-backed view; copy only when given something else (e.g. a SharedArrayBuffer view). */
function bufferSource(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}

function isCryptoKey(value: unknown): value is CryptoKey {
  if (typeof value !== 'object' || value === null) return false;
  const k = value as Partial<CryptoKey>;
  return typeof k.type === 'string' && typeof k.extractable === 'boolean' && typeof k.algorithm === 'object';
}

function privateCryptoKey(keyPair: KeyPair): CryptoKey {
  const key = keyPair?.privateKey;
  if (!isCryptoKey(key) || key.type !== 'private') {
    throw new TypeError(
      'this key pair was not made by the webcrypto provider: import its PEM with this provider first',
    );
  }
  return key;
}

/** Creates the WebCrypto provider. `subtle` is injectable for tests; it defaults to the platform's. */
export function createWebCryptoProvider(
  subtle: SubtleCrypto = globalThis.crypto.subtle,
  options: { publicKeyCacheSize?: number } = {},
): CryptoProvider {
  const cacheSize = Math.max(1, options.publicKeyCacheSize ?? DEFAULT_PUBLIC_KEY_CACHE_SIZE);
  // Keyed by the PEM string exactly as received. The Promise is cached, not the key, so a block's
  // 1,000 concurrent verifies from a few senders share one import each. Unusable keys cache null.
  const publicKeys = new Map<string, Promise<ImportedPublicKey | null>>();
  // The same keys once their import has settled, so that `verify` can hand the job to
  // WebCrypto synchronously: a block's verifications then start at once and run on other
  // threads while the caller checks the block's rules, instead of waiting for a microtask turn.
  const settled = new Map<string, ImportedPublicKey | null>();

  /** Marks `pem` most recently used, so the senders of the current block are evicted last. */
  function touch(pem: string, entry: Promise<ImportedPublicKey | null>): void {
    publicKeys.delete(pem);
    publicKeys.set(pem, entry);
  }

  function importPublicKey(pem: string): Promise<ImportedPublicKey | null> {
    const cached = publicKeys.get(pem);
    if (cached) {
      touch(pem, cached);
      return cached;
    }
    const imported = (async (): Promise<ImportedPublicKey | null> => {
      try {
        const parsed = parsePublicKeyPem(pem);
        const key = await subtle.importKey('spki', bufferSource(parsed.der), ALGORITHM, false, ['verify']);
        return { key, modulusBytes: parsed.modulusBytes };
      } catch {
        return null;
      }
    })();
    publicKeys.set(pem, imported);
    void imported.then((value) => {
      if (publicKeys.get(pem) === imported) settled.set(pem, value);
    });
    // Map order is recency: evict the least recently used key.
    while (publicKeys.size > cacheSize) {
      const oldest = publicKeys.keys().next();
      if (oldest.done) break;
      publicKeys.delete(oldest.value);
      settled.delete(oldest.value);
    }
    return imported;
  }

  function verifyWith(
    imported: ImportedPublicKey | null,
    signature: Uint8Array,
    message: Uint8Array,
  ): Promise<boolean> {
    // RSA signatures are exactly as long as the modulus (the reference rejects others too).
    if (imported === null || signature.length !== imported.modulusBytes) return Promise.resolve(false);
    return subtle
      .verify(ALGORITHM, imported.key, bufferSource(signature), bufferSource(message))
      .catch(() => false);
  }

  async function importPrivateKeyPem(pem: string, opts: { extractable?: boolean } = {}): Promise<KeyPair> {
    const extractable = opts.extractable ?? true;
    const forgeKey = parsePrivateKeyPem(pem);
    let privateKey: CryptoKey;
    try {
      privateKey = await subtle.importKey(
        'pkcs8',
        bufferSource(privateKeyToPkcs8Der(forgeKey)),
        ALGORITHM,
        extractable,
        ['sign'],
      );
    } catch (error) {
      throw new KeyFormatError(
        `WebCrypto refused the private key: ${(error as Error)?.message ?? String(error)}`,
      );
    }
    return Object.freeze({ publicKeyPem: publicKeyPemFromPrivateKey(forgeKey), privateKey, extractable });
  }

  return Object.freeze({
    name: 'webcrypto' as const,

    checkPublicKey: createPublicKeyChecker(cacheSize),

    async generateKeyPair(opts: { extractable?: boolean } = {}): Promise<KeyPair> {
      const extractable = opts.extractable ?? true;
      const pair = await subtle.generateKey(
        { ...ALGORITHM, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) },
        extractable,
        ['sign', 'verify'],
      );
      // WebCrypto always makes the public half extractable, whatever `extractable` says.
      const spki = new Uint8Array(await subtle.exportKey('spki', pair.publicKey));
      return Object.freeze({
        publicKeyPem: publicKeyPemFromSpkiDer(spki),
        privateKey: pair.privateKey,
        extractable,
      });
    },

    importPrivateKeyPem,

    async exportPrivateKeyPem(keyPair: KeyPair): Promise<string> {
      const key = privateCryptoKey(keyPair);
      if (!keyPair.extractable || !key.extractable) throw new KeyNotExtractableError();
      return pkcs8DerToPkcs1Pem(new Uint8Array(await subtle.exportKey('pkcs8', key)));
    },

    async sha256(bytes: Uint8Array): Promise<Uint8Array> {
      // Native digest: a 1,000-transaction block is 1.3 MB of JSON (see SignatureVerifier.sha256).
      return new Uint8Array(await subtle.digest('SHA-256', bufferSource(bytes)));
    },

    async sign(keyPair: KeyPair, message: Uint8Array): Promise<string> {
      const key = privateCryptoKey(keyPair);
      return bytesToHex(new Uint8Array(await subtle.sign(ALGORITHM, key, bufferSource(message))));
    },

    verify(publicKeyPem: string, message: Uint8Array, signatureHex: string | Uint8Array): Promise<boolean> {
      try {
        if (typeof publicKeyPem !== 'string' || !isByteArray(message)) return Promise.resolve(false);
        const signature = isByteArray(signatureHex) ? signatureHex : signatureHexToBytes(signatureHex);
        if (signature === null) return Promise.resolve(false);
        const known = settled.get(publicKeyPem);
        if (known !== undefined) {
          touch(publicKeyPem, publicKeys.get(publicKeyPem) as Promise<ImportedPublicKey | null>);
          return verifyWith(known, signature, message);
        }
        return importPublicKey(publicKeyPem).then((imported) => verifyWith(imported, signature, message));
      } catch {
        return Promise.resolve(false);
      }
    },
  });
}
