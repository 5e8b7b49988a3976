/**
 * The crypto module's public API. Callers get a `CryptoProvider` and never care which one:
 * WebCrypto where the page is a secure context, node-forge where it is not.
 */
import { createForgeProvider } from './forge';
import type { CryptoProvider } from './types';
import { createWebCryptoProvider } from './webcrypto';

/** The node-forge provider, for tests and for callers that must pick one explicitly. */
export { createForgeProvider } from './forge';
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
