import type { SignatureVerifier } from '../core/types';

/**
 * An RSA key pair held by this tab. `privateKey` is opaque: a WebCrypto `CryptoKey` on the
 * WebCrypto path, the key's PKCS#8 bytes on the node-forge fallback (`ForgePrivateKey`). Both
 * survive structured clone, so a wallet record keeps either. Only the provider that made it uses it.
 */
export interface KeyPair {
  /** The account's identity: the public key as the reference prints it (canonical SPKI PEM). */
  readonly publicKeyPem: string;
  /** Provider-specific private key handle. */
  readonly privateKey: unknown;
  /** False for a non-extractable WebCrypto key: its PEM cannot be exported. */
  readonly extractable: boolean;
}

/** Keys, PEM and sign/verify behind one interface (WebCrypto, or node-forge where it is missing). */
export interface CryptoProvider extends SignatureVerifier {
  /** `webcrypto` or `forge`: which implementation is in use. */
  readonly name: 'webcrypto' | 'forge';
  /** Generates an RSA-2048 key pair (e = 65537). */
  generateKeyPair(options?: { extractable?: boolean }): Promise<KeyPair>;
  /** Imports a private key PEM, PKCS#1 (`BEGIN RSA PRIVATE KEY`) or PKCS#8 (`BEGIN PRIVATE KEY`). Throws `KeyFormatError`. */
  importPrivateKeyPem(pem: string, options?: { extractable?: boolean }): Promise<KeyPair>;
  /** Exports the private key as PKCS#1 PEM, the reference's format. Throws if not extractable. */
  exportPrivateKeyPem(keyPair: KeyPair): Promise<string>;
  /** Signs `message` (RSASSA-PKCS1-v1_5 over SHA-256); returns lower-case hex. */
  sign(keyPair: KeyPair, message: Uint8Array): Promise<string>;
}
