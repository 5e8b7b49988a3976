/**
 * PEM and key-format plumbing shared by both providers.
 *
 * A public key *string* is an account's identity (the reference compares PEM text), so every
 * key that enters the node is parsed and re-encoded into the one string the reference prints:
 * SPKI, base64 in 64-character lines joined by `\n`, no trailing newline. Base64 and ASN.1 go
 * through node-forge so that no hand-written codec can disagree with the reference's.
 */

import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import type Forge from 'node-forge';
import forge from './forge-formats';

/** Hex codecs (lower-case output), re-exported so callers need not know where they come from. */
export { bytesToHex, hexToBytes };

/** Thrown for anything that is not a supported RSA key in a supported PEM form. */
export class KeyFormatError extends Error {
  /** Stable tag for callers that cannot rely on `instanceof` across bundles or realms. */
  readonly code = 'KEY_FORMAT' as const;
  constructor(message: string) {
    super(message);
    this.name = 'KeyFormatError';
  }
}

/** Thrown when exporting a private key that was created or imported as non-extractable. */
export class KeyNotExtractableError extends Error {
  /** Stable tag, as for `KeyFormatError`. */
  readonly code = 'KEY_NOT_EXTRACTABLE' as const;
  constructor(
    message = 'this private key is not extractable: it was created with extractable: false, so its PEM cannot be exported',
  ) {
    super(message);
    this.name = 'KeyNotExtractableError';
  }
}

/** Longest PEM text accepted; an RSA-16384 private key is ~13 KB, and peers may send anything. */
export const MAX_PEM_LENGTH = 16_384;
/** Smallest RSA modulus accepted, in bits: smaller keys are factorable by anyone. */
export const MIN_RSA_BITS = 1024;
/** Largest RSA modulus accepted, in bits: OpenSSL (and so WebCrypto) refuses larger ones. */
export const MAX_RSA_BITS = 16_384;
/** Public exponents must be below 2^32: OpenSSL caps them for large moduli, and a huge one makes pure-JS verify slow. */
const MAX_EXPONENT_BITS = 32;

const PUBLIC_LABEL = 'PUBLIC KEY';
const RSA_PUBLIC_LABEL = 'RSA PUBLIC KEY';
const PRIVATE_LABEL = 'PRIVATE KEY';
const RSA_PRIVATE_LABEL = 'RSA PRIVATE KEY';

type Asn1 = Forge.asn1.Asn1;

/** Uint8Array -> node-forge binary string. */
export function toForgeBytes(bytes: Uint8Array): string {
  return forge.util.binary.raw.encode(bytes);
}

/** node-forge binary string -> Uint8Array. */
export function fromForgeBytes(bytes: string): Uint8Array {
  return forge.util.binary.raw.decode(bytes);
}

/**
 * Splits PEM armour. Tolerates CR/CRLF/LF, surrounding whitespace and any line length, like the
 * reference's pycryptodome; rejects encrypted PEM, several blocks, or text outside the armour.
 */
function decodePem(pem: unknown): { label: string; der: string } {
  if (typeof pem !== 'string') throw new KeyFormatError('key PEM must be a string');
  if (pem.length === 0) throw new KeyFormatError('key PEM is empty');
  if (pem.length > MAX_PEM_LENGTH)
    throw new KeyFormatError(`key PEM is longer than ${MAX_PEM_LENGTH} characters`);
  const text = pem.trim();
  const match = /^-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----$/.exec(text);
  if (!match)
    throw new KeyFormatError('not a PEM block: expected "-----BEGIN ...-----" ... "-----END ...-----"');
  const [, label = '', body = '', endLabel = ''] = match;
  if (label !== endLabel)
    throw new KeyFormatError(`PEM BEGIN label "${label}" does not match END label "${endLabel}"`);
  if (label.includes('ENCRYPTED') || /Proc-Type|DEK-Info/.test(body)) {
    throw new KeyFormatError('encrypted PEM keys are not supported: export the key without a passphrase');
  }
  const base64 = body.replace(/\s+/g, '');
  if (base64.length === 0) throw new KeyFormatError(`${label} PEM has no body`);
  // Strict base64: forge's decoder silently drops stray characters, so check before decoding.
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64) || base64.length % 4 !== 0) {
    throw new KeyFormatError(`${label} PEM body is not valid base64 (truncated or corrupted?)`);
  }
  return { label, der: forge.util.decode64(base64) };
}

/** Wraps DER in PEM armour the way the reference writes it: 64-character lines, `\n`, no trailing newline. */
function encodePem(label: string, der: string): string {
  // forge breaks base64 lines with CRLF; the reference uses LF.
  const body = forge.util.encode64(der, 64).replace(/\r\n/g, '\n');
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----`;
}

/** Parses DER strictly (all bytes consumed); forge errors become `KeyFormatError`. */
function parseDer(der: string, what: string): Asn1 {
  try {
    return forge.asn1.fromDer(der, true);
  } catch {
    throw new KeyFormatError(`${what}: the DER inside the PEM is malformed (truncated or corrupted?)`);
  }
}

function isSequence(node: unknown): node is Asn1 & { value: Asn1[] } {
  const n = node as Asn1 | undefined;
  return (
    n !== undefined &&
    n.tagClass === forge.asn1.Class.UNIVERSAL &&
    n.type === forge.asn1.Type.SEQUENCE &&
    Array.isArray(n.value)
  );
}

function isInteger(node: unknown): node is Asn1 & { value: string } {
  const n = node as Asn1 | undefined;
  return (
    n !== undefined &&
    n.tagClass === forge.asn1.Class.UNIVERSAL &&
    n.type === forge.asn1.Type.INTEGER &&
    typeof n.value === 'string'
  );
}

/** The algorithm OID of an SPKI / PKCS#8 AlgorithmIdentifier, or undefined if malformed. */
function algorithmOid(algorithmIdentifier: unknown): string | undefined {
  if (!isSequence(algorithmIdentifier)) return undefined;
  const oid = algorithmIdentifier.value[0];
  if (!oid || oid.type !== forge.asn1.Type.OID || typeof oid.value !== 'string') return undefined;
  try {
    return forge.asn1.derToOid(oid.value);
  } catch {
    return undefined;
  }
}

function describeOid(oid: string | undefined): string {
  if (oid === undefined) return 'an unreadable algorithm';
  const name = forge.pki.oids[oid];
  return name ? `${name} (${oid})` : oid;
}

/** Rejects RSA parameters that either provider would handle differently, or that are unsafe to accept. */
function checkRsaParameters(n: Forge.jsbn.BigInteger, e: Forge.jsbn.BigInteger): void {
  const bits = n.bitLength();
  if (n.signum() <= 0 || !n.testBit(0))
    throw new KeyFormatError('RSA modulus must be a positive odd integer');
  if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) {
    throw new KeyFormatError(
      `unsupported RSA key size ${bits} bits: expected ${MIN_RSA_BITS} to ${MAX_RSA_BITS}`,
    );
  }
  if (e.signum() <= 0 || !e.testBit(0) || e.bitLength() < 2 || e.bitLength() > MAX_EXPONENT_BITS) {
    throw new KeyFormatError('unsupported RSA public exponent: expected an odd value from 3 to 2^32 - 1');
  }
}

/** A public key after parsing: the canonical PEM, its DER, and forge's key object. */
export interface ParsedPublicKey {
  /** Canonical SPKI PEM, the account identity. */
  readonly pem: string;
  /** SPKI DER of `pem`, ready for WebCrypto `importKey('spki', ...)`. */
  readonly der: Uint8Array;
  /** node-forge's key, for the pure-JS path. */
  readonly key: Forge.pki.rsa.PublicKey;
  /** Modulus length in bytes: the only valid signature length for this key. */
  readonly modulusBytes: number;
}

function fromForgePublicKey(key: Forge.pki.rsa.PublicKey): ParsedPublicKey {
  checkRsaParameters(key.n, key.e);
  const der = forge.asn1.toDer(forge.pki.publicKeyToAsn1(key)).getBytes();
  return {
    pem: encodePem(PUBLIC_LABEL, der),
    der: fromForgeBytes(der),
    key,
    modulusBytes: Math.ceil(key.n.bitLength() / 8),
  };
}

/**
 * Parses an SPKI (`BEGIN PUBLIC KEY`) or PKCS#1 (`BEGIN RSA PUBLIC KEY`) RSA public key PEM.
 * The DER must be the key's one canonical encoding: it is re-encoded from the key's numbers
 * (minimal lengths, minimal integers, the `NULL` parameters the reference writes) and compared
 * byte for byte. Another encoding of the same RSA key (a long-form length such as
 * `30 83 00 01 22`, a padded integer) verifies the same signatures, so it would be a second
 * account for one key: it is refused. The PEM armour itself (line length, CR/LF, surrounding
 * whitespace) may vary; `pem` of the result is the one canonical text. Throws `KeyFormatError`.
 */
export function parsePublicKeyPem(pem: string): ParsedPublicKey {
  const { label, der } = decodePem(pem);
  if (label === PRIVATE_LABEL || label === RSA_PRIVATE_LABEL) {
    throw new KeyFormatError(
      `expected a public key but got a private key (BEGIN ${label}); never share a private key`,
    );
  }
  if (label !== PUBLIC_LABEL && label !== RSA_PUBLIC_LABEL) {
    throw new KeyFormatError(`expected "BEGIN PUBLIC KEY" but got "BEGIN ${label}"`);
  }
  const obj = parseDer(der, `${label} PEM`);
  if (!isSequence(obj)) throw new KeyFormatError(`${label} PEM does not hold an ASN.1 SEQUENCE`);
  if (label === PUBLIC_LABEL) {
    // SubjectPublicKeyInfo: SEQUENCE { AlgorithmIdentifier, BIT STRING }. forge would also take a
    // bare PKCS#1 key here; insist the label and the content agree.
    const oid = algorithmOid(obj.value[0]);
    if (obj.value.length !== 2 || oid === undefined) {
      throw new KeyFormatError('PUBLIC KEY PEM does not hold a SubjectPublicKeyInfo');
    }
    if (oid !== forge.pki.oids.rsaEncryption) {
      throw new KeyFormatError(`not an RSA public key: its algorithm is ${describeOid(oid)}`);
    }
  } else if (obj.value.length !== 2 || !isInteger(obj.value[0]) || !isInteger(obj.value[1])) {
    throw new KeyFormatError('RSA PUBLIC KEY PEM does not hold a PKCS#1 RSAPublicKey');
  }
  let key: Forge.pki.rsa.PublicKey;
  try {
    key = forge.pki.publicKeyFromAsn1(obj);
  } catch {
    throw new KeyFormatError(`${label} PEM does not hold a readable RSA public key`);
  }
  const parsed = fromForgePublicKey(key);
  const canonicalDer =
    label === PUBLIC_LABEL
      ? toForgeBytes(parsed.der)
      : forge.asn1.toDer(forge.pki.publicKeyToRSAPublicKey(key)).getBytes();
  if (canonicalDer !== der) {
    throw new KeyFormatError(
      `${label} PEM is not in its canonical DER encoding (minimal lengths and integers): the same RSA key in another encoding would be a second account`,
    );
  }
  return parsed;
}

/**
 * Null when `pem` is an account key exactly as the chain must carry it: an RSA public key in
 * its canonical SPKI DER, in the reference's PEM layout (64-character lines, `\n`, no trailing
 * newline); else why not. Never throws.
 */
export function publicKeyEncodingError(pem: string): string | null {
  let parsed: ParsedPublicKey;
  try {
    parsed = parsePublicKeyPem(pem);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  return parsed.pem === pem ? null : 'the key is not in the canonical PEM layout of an SPKI public key';
}

/**
 * The reference's string for a public key: SPKI PEM, 64-character base64 lines joined by `\n`,
 * no trailing newline. Line endings, whitespace and line length of the input do not matter.
 * Throws `KeyFormatError` for anything that is not an RSA public key.
 */
export function canonicalPublicKeyPem(pem: string): string {
  return parsePublicKeyPem(pem).pem;
}

/** Canonical public PEM from SPKI DER (what WebCrypto's `exportKey('spki')` returns). Throws `KeyFormatError`. */
export function publicKeyPemFromSpkiDer(der: Uint8Array): string {
  return canonicalPublicKeyPem(encodePem(PUBLIC_LABEL, toForgeBytes(der)));
}

/**
 * Parses a PKCS#1 (`BEGIN RSA PRIVATE KEY`) or PKCS#8 (`BEGIN PRIVATE KEY`) RSA private key PEM.
 * Throws `KeyFormatError`; messages never include key material.
 */
export function parsePrivateKeyPem(pem: string): Forge.pki.rsa.PrivateKey {
  const { label, der } = decodePem(pem);
  if (label === PUBLIC_LABEL || label === RSA_PUBLIC_LABEL) {
    throw new KeyFormatError(`expected a private key but got a public key (BEGIN ${label})`);
  }
  if (label !== PRIVATE_LABEL && label !== RSA_PRIVATE_LABEL) {
    throw new KeyFormatError(
      `expected "BEGIN RSA PRIVATE KEY" or "BEGIN PRIVATE KEY" but got "BEGIN ${label}"`,
    );
  }
  let rsaKey = parseDer(der, `${label} PEM`);
  if (label === PRIVATE_LABEL) {
    // PrivateKeyInfo: SEQUENCE { version, AlgorithmIdentifier, OCTET STRING { RSAPrivateKey } }.
    // forge does not check the algorithm, so an EC key would only fail later with a vaguer error.
    if (!isSequence(rsaKey) || rsaKey.value.length < 3)
      throw new KeyFormatError('PRIVATE KEY PEM does not hold a PKCS#8 PrivateKeyInfo');
    const oid = algorithmOid(rsaKey.value[1]);
    if (oid !== forge.pki.oids.rsaEncryption) {
      throw new KeyFormatError(`not an RSA private key: its algorithm is ${describeOid(oid)}`);
    }
    const inner = rsaKey.value[2];
    if (!inner || inner.type !== forge.asn1.Type.OCTETSTRING || typeof inner.value !== 'string') {
      throw new KeyFormatError('PRIVATE KEY PEM does not hold a PKCS#8 PrivateKeyInfo');
    }
    rsaKey = parseDer(inner.value, 'PKCS#8 RSA private key');
  }
  // RSAPrivateKey: version 0 and eight integers. Version 1 (multi-prime) is not supported.
  if (!isSequence(rsaKey) || rsaKey.value.length !== 9 || !rsaKey.value.every(isInteger)) {
    throw new KeyFormatError('the PEM does not hold a two-prime PKCS#1 RSAPrivateKey');
  }
  const version = rsaKey.value[0];
  if (!version || forge.asn1.derToInteger(version.value as string) !== 0) {
    throw new KeyFormatError('unsupported RSAPrivateKey version (multi-prime keys are not supported)');
  }
  let key: Forge.pki.rsa.PrivateKey;
  try {
    key = forge.pki.privateKeyFromAsn1(rsaKey);
  } catch {
    throw new KeyFormatError('the PEM does not hold a readable RSA private key');
  }
  checkRsaParameters(key.n, key.e);
  // Cheap consistency check: a key whose primes do not multiply to n signs garbage.
  if (!key.p.multiply(key.q).equals(key.n))
    throw new KeyFormatError('inconsistent RSA private key: p * q != n');
  return key;
}

/** PKCS#1 PEM (`BEGIN RSA PRIVATE KEY`), 64-character lines, `\n`, no trailing newline: the reference's file format. */
export function privateKeyToPkcs1Pem(key: Forge.pki.rsa.PrivateKey): string {
  return encodePem(RSA_PRIVATE_LABEL, forge.asn1.toDer(forge.pki.privateKeyToAsn1(key)).getBytes());
}

/** PKCS#8 DER of a forge private key, the only private format WebCrypto imports. */
export function privateKeyToPkcs8Der(key: Forge.pki.rsa.PrivateKey): Uint8Array {
  const info = forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(key));
  return fromForgeBytes(forge.asn1.toDer(info).getBytes());
}

/** PKCS#1 or PKCS#8 private PEM -> PKCS#8 DER (for WebCrypto). Throws `KeyFormatError`. */
export function privateKeyPemToPkcs8Der(pem: string): Uint8Array {
  return privateKeyToPkcs8Der(parsePrivateKeyPem(pem));
}

/** PKCS#8 DER (WebCrypto's `exportKey('pkcs8')`) -> PKCS#1 PEM in the reference's style. Throws `KeyFormatError`. */
export function pkcs8DerToPkcs1Pem(der: Uint8Array): string {
  return privateKeyToPkcs1Pem(parsePrivateKeyPem(encodePem(PRIVATE_LABEL, toForgeBytes(der))));
}

/** Any supported private PEM -> the reference's PKCS#1 PEM. Throws `KeyFormatError`. */
export function canonicalPrivateKeyPem(pem: string): string {
  return privateKeyToPkcs1Pem(parsePrivateKeyPem(pem));
}

/** The canonical public PEM of a forge private key. */
export function publicKeyPemFromPrivateKey(key: Forge.pki.rsa.PrivateKey): string {
  return fromForgePublicKey(forge.pki.setRsaPublicKey(key.n, key.e)).pem;
}

/** The canonical public PEM (account identity) of a private key PEM. Throws `KeyFormatError`. */
export function publicKeyPemFromPrivateKeyPem(pem: string): string {
  return publicKeyPemFromPrivateKey(parsePrivateKeyPem(pem));
}

/**
 * Decodes a hex signature, or returns null if it is not hex. Either case is accepted, as the
 * reference's `bytes.fromhex` does; whitespace, odd length and `0x` prefixes are not. The
 * validator decodes each signature of a block once and hands the verifier the bytes; this is
 * for a signature that arrives as text alone.
 */
export function signatureHexToBytes(hex: unknown): Uint8Array | null {
  if (typeof hex !== 'string' || hex.length === 0) return null;
  try {
    return hexToBytes(hex);
  } catch {
    return null;
  }
}

/**
 * True for a byte array from any realm: a page's iframes, jsdom and workers each have their own
 * `Uint8Array`, so `instanceof` would refuse bytes that are perfectly good.
 */
export function isByteArray(value: unknown): value is Uint8Array {
  return ArrayBuffer.isView(value) && Object.prototype.toString.call(value) === '[object Uint8Array]';
}

/**
 * `publicKeyEncodingError` with a bounded memory of its answers (most recent last): a block
 * carries many transactions from few keys, and parsing a key costs more than a lookup.
 */
export function createPublicKeyChecker(cacheSize: number): (pem: string) => string | null {
  const answers = new Map<string, string | null>();
  return (pem) => {
    const cached = answers.get(pem);
    if (cached !== undefined) {
      answers.delete(pem);
      answers.set(pem, cached);
      return cached;
    }
    const answer = publicKeyEncodingError(pem);
    answers.set(pem, answer);
    while (answers.size > cacheSize) {
      const oldest = answers.keys().next();
      if (oldest.done) break;
      answers.delete(oldest.value);
    }
    return answer;
  };
}
