/**
 * The pure-JS fallback for pages without WebCrypto (`crypto.subtle` is missing outside secure
 * contexts, e.g. a devnet page opened over plain http from another machine). It must accept and
 * reject exactly what the WebCrypto provider does, or tabs on the two paths would fork.
 *
 * Its private key handle is the key's PKCS#8 DER bytes (`ForgePrivateKey`), not a node-forge
 * object: plain bytes survive structured clone, so the wallet record keeps them in IndexedDB and
 * a reload restores the key. On this path the key is therefore readable by anyone with this
 * browser's profile (or the page's scripts): there is no WebCrypto to keep it opaque.
 */
import forge from 'node-forge';
import {
  createPublicKeyChecker,
  isByteArray,
  KeyFormatError,
  KeyNotExtractableError,
  parsePrivateKeyPem,
  parsePublicKeyPem,
  privateKeyToPkcs1Pem,
  privateKeyToPkcs8Der,
  publicKeyPemFromPrivateKey,
  signatureHexToBytes,
  toForgeBytes,
} from './pem';
import type { CryptoProvider, KeyPair } from './types';

/** The forge provider's private key: PKCS#8 DER, a plain value that IndexedDB stores as is. */
export interface ForgePrivateKey {
  readonly format: 'pkcs8';
  readonly der: Uint8Array;
}

/** Longest PKCS#8 DER accepted back (an RSA-16384 key is about 9.4 kB). */
export const MAX_PKCS8_BYTES = 16_384;

/** True for the forge provider's key handle (its shape only; the bytes are checked when used). */
export function isForgePrivateKey(value: unknown): value is ForgePrivateKey {
  if (typeof value !== 'object' || value === null) return false;
  const k = value as Partial<ForgePrivateKey>;
  return k.format === 'pkcs8' && isByteArray(k.der) && k.der.length <= MAX_PKCS8_BYTES;
}

/** Default number of parsed public keys kept per provider (as for WebCrypto). */
export const DEFAULT_PUBLIC_KEY_CACHE_SIZE = 1024;

interface ParsedKey {
  readonly key: forge.pki.rsa.PublicKey;
  readonly modulusBytes: number;
}

/**
 * The DER DigestInfo for SHA-256 with NULL parameters, the only encoding OpenSSL (so WebCrypto)
 * accepts. forge's default verify also takes absent parameters and the SHA-512/256 OID, which
 * would let a key holder make a signature that forge tabs accept and WebCrypto tabs reject.
 */
function sha256DigestInfo(digest: string): string {
  const { asn1 } = forge;
  const info = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
      asn1.create(
        asn1.Class.UNIVERSAL,
        asn1.Type.OID,
        false,
        asn1.oidToDer(forge.pki.oids.sha256 as string).getBytes(),
      ),
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, ''),
    ]),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, digest),
  ]);
  return asn1.toDer(info).getBytes();
}

function sha256(message: Uint8Array): forge.md.MessageDigest {
  return forge.md.sha256.create().update(toForgeBytes(message));
}

/** PKCS#8 DER -> node-forge key, through the same strict parser as every imported PEM. */
function parsePkcs8Der(der: Uint8Array): forge.pki.rsa.PrivateKey {
  const body = forge.util.encode64(toForgeBytes(der), 64);
  return parsePrivateKeyPem(`-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----`);
}

/** forge's incremental key generation (in node-forge, missing from its type definitions). */
interface SteppedKeyGeneration {
  createKeyPairGenerationState(bits: number, e: number): { keys?: forge.pki.rsa.KeyPair };
  stepKeyPairGenerationState(state: { keys?: forge.pki.rsa.KeyPair }, milliseconds: number): boolean;
}

/** Milliseconds of prime search between yields to the page: short enough to keep it responsive. */
const KEYGEN_SLICE_MS = 40;

/**
 * Generates an RSA-2048 pair without blocking the page. forge's callback form is not usable in
 * a browser: wherever `Worker` exists it starts workers from `forge/prime.worker.js`, a script
 * the app does not serve, and never calls back. So a browser drives forge's incremental
 * generator in slices; Node (no `Worker`) keeps the callback form, which uses its native keygen.
 */
function generateForgeKeyPair(): Promise<forge.pki.rsa.KeyPair> {
  if (typeof Worker === 'undefined') {
    return new Promise((resolve, reject) => {
      forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 }, (error, pair) => {
        if (error) reject(error);
        else resolve(pair);
      });
    });
  }
  const rsa = forge.pki.rsa as unknown as SteppedKeyGeneration;
  const state = rsa.createKeyPairGenerationState(2048, 0x10001);
  return new Promise((resolve, reject) => {
    const step = () => {
      try {
        if (rsa.stepKeyPairGenerationState(state, KEYGEN_SLICE_MS) && state.keys) resolve(state.keys);
        else setTimeout(step, 0);
      } catch (error) {
        reject(error);
      }
    };
    step();
  });
}

/**
 * Creates the node-forge provider. `extractable: false` is honoured as a policy (export throws),
 * but a JS object in the page's heap is not protected the way a WebCrypto key is.
 */
export function createForgeProvider(options: { publicKeyCacheSize?: number } = {}): CryptoProvider {
  const cacheSize = Math.max(1, options.publicKeyCacheSize ?? DEFAULT_PUBLIC_KEY_CACHE_SIZE);
  // Parsing a PEM (base64, ASN.1, BigIntegers) costs more than the verify itself, and a block
  // carries many transactions from few senders. Unusable keys cache null.
  const publicKeys = new Map<string, ParsedKey | null>();

  function publicKey(pem: string): ParsedKey | null {
    const cached = publicKeys.get(pem);
    if (cached !== undefined) {
      publicKeys.delete(pem);
      publicKeys.set(pem, cached);
      return cached;
    }
    let parsed: ParsedKey | null;
    try {
      const { key, modulusBytes } = parsePublicKeyPem(pem);
      parsed = { key, modulusBytes };
    } catch {
      parsed = null;
    }
    publicKeys.set(pem, parsed);
    while (publicKeys.size > cacheSize) {
      const oldest = publicKeys.keys().next();
      if (oldest.done) break;
      publicKeys.delete(oldest.value);
    }
    return parsed;
  }

  // Parsed keys by handle: a handle read back from storage is parsed (and checked) on its first
  // use only. Weak, so a forgotten wallet's key goes with its handle.
  const parsedPrivateKeys = new WeakMap<ForgePrivateKey, forge.pki.rsa.PrivateKey>();

  function keyPairOf(privateKey: forge.pki.rsa.PrivateKey, extractable: boolean): KeyPair {
    const handle: ForgePrivateKey = Object.freeze({ format: 'pkcs8', der: privateKeyToPkcs8Der(privateKey) });
    parsedPrivateKeys.set(handle, privateKey);
    return Object.freeze({
      publicKeyPem: publicKeyPemFromPrivateKey(privateKey),
      privateKey: handle,
      extractable,
    });
  }

  /** The node-forge key of a pair this provider made, or one read back from storage. */
  function forgePrivateKey(keyPair: KeyPair): forge.pki.rsa.PrivateKey {
    const handle = keyPair?.privateKey;
    if (!isForgePrivateKey(handle)) {
      throw new TypeError(
        'this key pair was not made by the forge provider: import its PEM with this provider first',
      );
    }
    const known = parsedPrivateKeys.get(handle);
    if (known) return known;
    const key = parsePkcs8Der(handle.der);
    // A stored record whose bytes and public key disagree would sign for another account.
    if (publicKeyPemFromPrivateKey(key) !== keyPair.publicKeyPem) {
      throw new KeyFormatError("the private key's bytes do not belong to this key pair's public key");
    }
    parsedPrivateKeys.set(handle, key);
    return key;
  }

  return Object.freeze({
    name: 'forge' as const,

    checkPublicKey: createPublicKeyChecker(cacheSize),

    async generateKeyPair(opts: { extractable?: boolean } = {}): Promise<KeyPair> {
      const pair = await generateForgeKeyPair();
      return keyPairOf(pair.privateKey, opts.extractable ?? true);
    },

    async importPrivateKeyPem(pem: string, opts: { extractable?: boolean } = {}): Promise<KeyPair> {
      return keyPairOf(parsePrivateKeyPem(pem), opts.extractable ?? true);
    },

    async exportPrivateKeyPem(keyPair: KeyPair): Promise<string> {
      const key = forgePrivateKey(keyPair);
      if (!keyPair.extractable) throw new KeyNotExtractableError();
      return privateKeyToPkcs1Pem(key);
    },

    async sign(keyPair: KeyPair, message: Uint8Array): Promise<string> {
      // forge's default scheme is RSASSA-PKCS1-v1_5 with the NULL-parameter DigestInfo: deterministic.
      const signature = forgePrivateKey(keyPair).sign(sha256(message));
      return forge.util.bytesToHex(signature);
    },

    async verify(
      publicKeyPem: string,
      message: Uint8Array,
      signatureHex: string | Uint8Array,
    ): Promise<boolean> {
      try {
        if (typeof publicKeyPem !== 'string' || !isByteArray(message)) return false;
        const signature = isByteArray(signatureHex) ? signatureHex : signatureHexToBytes(signatureHex);
        if (signature === null) return false;
        const parsed = publicKey(publicKeyPem);
        if (parsed === null || signature.length !== parsed.modulusBytes) return false;
        const expected = sha256DigestInfo(sha256(message).digest().getBytes());
        // 'NONE': forge checks the 00 01 FF..FF 00 padding and we compare the whole DigestInfo.
        return parsed.key.verify(expected, toForgeBytes(signature), 'NONE');
      } catch {
        // forge throws on a signature >= n or bad padding: that is an invalid signature.
        return false;
      }
    },
  });
}
