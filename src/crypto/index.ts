/**
 * The crypto module's public API. Callers get a `CryptoProvider` and never care which one:
 * WebCrypto where the page is a secure context, node-forge where it is not.
 * The node-forge provider (`./forge`) is loaded with a dynamic import the first time it is used,
 * so a page with WebCrypto never downloads or parses it (Vite puts it in a chunk of its own).
 */
import { createPublicKeyChecker } from './pem';
import type { CryptoProvider, KeyPair } from './types';
import { createWebCryptoProvider } from './webcrypto';

/** The parsed form of a public key (canonical PEM, DER, forge key, modulus length). */
export type { ParsedPublicKey } from './pem';
/** Key-format helpers and errors (canonical public PEM, PKCS#1/PKCS#8 conversion, hex). */
export {
  bytesToHex,
  canonicalPrivateKeyPem,
  canonicalPublicKeyPem,
  hexToBytes,
  isByteArray,
  KeyFormatError,
  KeyNotExtractableError,
  MAX_PEM_LENGTH,
  MAX_RSA_BITS,
  MIN_RSA_BITS,
  parsePrivateKeyPem,
  parsePublicKeyPem,
  pkcs8DerToPkcs1Pem,
  privateKeyPemToPkcs8Der,
  privateKeyToPkcs1Pem,
  privateKeyToPkcs8Der,
  publicKeyPemFromPrivateKey,
  publicKeyPemFromPrivateKeyPem,
  publicKeyPemFromSpkiDer,
  signatureHexToBytes,
} from './pem';
/** The provider interface and key pair type. */
export type { CryptoProvider, KeyPair } from './types';
/** The WebCrypto provider, for tests and for callers that must pick one explicitly. */
export { createWebCryptoProvider } from './webcrypto';

/**
 * WebCrypto when `crypto.subtle` exists, else node-forge. `subtle` is absent outside secure
 * contexts (a devnet page opened over plain http from another machine), not only in old browsers.
 */
export function createCryptoProvider(): CryptoProvider {
  const subtle = globalThis.crypto?.subtle;
  return subtle ? createWebCryptoProvider(subtle) : createForgeProvider();
}

/** Default number of parsed public keys the forge provider keeps (as `./forge`'s own default). */
const FORGE_PUBLIC_KEY_CACHE_SIZE = 1024;

/**
 * The node-forge provider, for tests and for callers that must pick one explicitly, and where
 * `crypto.subtle` is missing. Synchronous to make; `./forge` is imported on the first call
 * that needs it (every method but `checkPublicKey` is async anyway). `checkPublicKey` is
 * synchronous by contract and needs only `./pem`, which the WebCrypto provider loads as well.
 */
export function createForgeProvider(options: { publicKeyCacheSize?: number } = {}): CryptoProvider {
  let provider: Promise<CryptoProvider> | undefined;
  const load = (): Promise<CryptoProvider> => {
    provider ??= import('./forge').then((forge) => forge.createForgeProvider(options));
    return provider;
  };
  return Object.freeze({
    name: 'forge' as const,
    checkPublicKey: createPublicKeyChecker(
      Math.max(1, options.publicKeyCacheSize ?? FORGE_PUBLIC_KEY_CACHE_SIZE),
    ),
    generateKeyPair: async (opts?: { extractable?: boolean }) => (await load()).generateKeyPair(opts),
    importPrivateKeyPem: async (pem: string, opts?: { extractable?: boolean }) =>
      (await load()).importPrivateKeyPem(pem, opts),
    exportPrivateKeyPem: async (keyPair: KeyPair) => (await load()).exportPrivateKeyPem(keyPair),
    sign: async (keyPair: KeyPair, message: Uint8Array) => (await load()).sign(keyPair, message),
    verify: async (publicKeyPem: string, message: Uint8Array, signatureHex: string | Uint8Array) => {
      try {
        return await (await load()).verify(publicKeyPem, message, signatureHex);
      } catch {
        // The chunk failed to load: `verify` never throws, so an unchecked signature is false.
        return false;
      }
    },
  });
}
