import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import forge from 'node-forge';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { CryptoProvider, KeyPair } from '../../src/crypto';
import {
  bytesToHex,
  canonicalPublicKeyPem,
  createCryptoProvider,
  createForgeProvider,
  createWebCryptoProvider,
  hexToBytes,
  KeyFormatError,
  KeyNotExtractableError,
  parsePrivateKeyPem,
  pkcs8DerToPkcs1Pem,
  privateKeyPemToPkcs8Der,
  publicKeyPemFromPrivateKeyPem,
} from '../../src/crypto';

const vectorsDir = fileURLToPath(new URL('../vectors/', import.meta.url));
const read = (name: string): string => readFileSync(`${vectorsDir}${name}`, 'utf8');
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

interface TxRow {
  readonly tx: { readonly senderPublicKey: string; readonly signature: string };
  readonly payloadJson: string;
  readonly signatureValid: boolean;
}
const rows = JSON.parse(read('transactions.json')) as TxRow[];

const KEY_NAMES = ['bob', 'exchange', 'genesis', 'staker', 'user0', 'user1', 'user2', 'user3'] as const;
const keyFiles = KEY_NAMES.map((name) => ({
  name,
  privatePem: read(`keys/${name}PrivateKey.pem`),
  publicPem: read(`keys/${name}PublicKey.pem`),
}));
/** The vectors' files are the reference's output; compare modulo a trailing newline, if any. */
const withoutTrailingNewline = (text: string): string => text.replace(/\r?\n$/, '');

/** The private key whose canonical public key is `publicPem`, found by deriving, not by file name. */
function privateKeyFor(publicPem: string): string {
  const match = keyFiles.find((k) => publicKeyPemFromPrivateKeyPem(k.privatePem) === publicPem);
  if (!match) throw new Error('no vector private key for this public key');
  return match.privatePem;
}

/** Narrows away `undefined` (noUncheckedIndexedAccess) with a failing assertion instead of `!`. */
function defined<T>(value: T | undefined, what = 'value'): T {
  if (value === undefined) throw new Error(`test fixture: missing ${what}`);
  return value;
}

const genesis = defined(
  keyFiles.find((k) => k.name === 'genesis'),
  'genesis key',
);
const validRow = defined(
  rows.find((r) => r.signatureValid),
  'valid row',
);

const PROVIDERS = [
  { name: 'webcrypto', make: (): CryptoProvider => createWebCryptoProvider() },
  { name: 'forge', make: (): CryptoProvider => createForgeProvider() },
] as const;

function expectKeyFormatError(fn: () => unknown): void {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(KeyFormatError);
  expect((thrown as KeyFormatError).code).toBe('KEY_FORMAT');
  expect((thrown as Error).message.length).toBeGreaterThan(10);
}

/** RSA "signature" over an arbitrary DigestInfo, for encodings a correct signer never produces. */
function signRawDigestInfo(privatePem: string, digestInfo: forge.asn1.Asn1): string {
  const key = parsePrivateKeyPem(privatePem);
  return forge.util.bytesToHex(key.sign(forge.asn1.toDer(digestInfo).getBytes(), 'NONE'));
}

function digestInfo(oid: string, digest: string, nullParameters: boolean): forge.asn1.Asn1 {
  const { asn1 } = forge;
  const algorithm = [asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(oid).getBytes())];
  if (nullParameters) algorithm.push(asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, ''));
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, algorithm),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, digest),
  ]);
}

// Hostile or malformed public keys: every one must be a KeyFormatError, and verify false.
const ecKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const ed25519Keys = generateKeyPairSync('ed25519');
const smallRsa = generateKeyPairSync('rsa', { modulusLength: 512 });
const genesisLines = genesis.publicPem.split('\n');
const genesisBody = genesisLines.slice(1, -1).join('');
const HOSTILE_PUBLIC_KEYS: ReadonlyArray<readonly [string, string]> = [
  ['empty string', ''],
  ['whitespace only', ' \n\t\r\n'],
  ['garbage text', 'hello, I am not a key'],
  ['armour with an empty body', '-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----'],
  ['a private key passed as public', genesis.privatePem],
  [
    'a PKCS#8 private key passed as public',
    createPrivateKey(genesis.privatePem).export({ type: 'pkcs8', format: 'pem' }).toString(),
  ],
  [
    'truncated base64 (one character cut)',
    genesisLines.map((line, i) => (i === genesisLines.length - 2 ? line.slice(0, -1) : line)).join('\n'),
  ],
  ['truncated DER (last line cut)', [...genesisLines.slice(0, -2), genesisLines.at(-1)].join('\n')],
  ['extra DER bytes after the key', genesis.publicPem.replace('\n-----END', 'AAAA\n-----END')],
  ['non-base64 characters in the body', genesis.publicPem.replace('MIIB', 'MI*B')],
  ['mismatched END label', genesis.publicPem.replace('END PUBLIC KEY', 'END RSA PUBLIC KEY')],
  ['text after the END line', `${genesis.publicPem}\nrm -rf /`],
  ['two PEM blocks', `${genesis.publicPem}\n${genesis.publicPem}`],
  ['certificate label', genesis.publicPem.replace(/PUBLIC KEY/g, 'CERTIFICATE')],
  [
    'PKCS#1 content under a PUBLIC KEY label',
    createPublicKey(genesis.publicPem)
      .export({ type: 'pkcs1', format: 'pem' })
      .toString()
      .replace(/RSA PUBLIC KEY/g, 'PUBLIC KEY'),
  ],
  ['an EC (P-256) SPKI key', ecKeys.publicKey.export({ type: 'spki', format: 'pem' }).toString()],
  ['an Ed25519 SPKI key', ed25519Keys.publicKey.export({ type: 'spki', format: 'pem' }).toString()],
  ['a 512-bit RSA key', smallRsa.publicKey.export({ type: 'spki', format: 'pem' }).toString()],
  ['an over-long input', `-----BEGIN PUBLIC KEY-----\n${'A'.repeat(20_000)}\n-----END PUBLIC KEY-----`],
];

describe('canonicalPublicKeyPem', () => {
  it.each(keyFiles)("returns $name's public key file exactly (the reference's string)", ({ publicPem }) => {
    expect(canonicalPublicKeyPem(publicPem)).toBe(withoutTrailingNewline(publicPem));
    expect(canonicalPublicKeyPem(publicPem)).not.toMatch(/\r|\n$/);
  });

  it('maps line-ending, whitespace and line-length variants to the one canonical string', () => {
    const original = genesis.publicPem;
    const variants = [
      original.replace(/\n/g, '\r\n'),
      `${original}\n`,
      `${original}\r\n\r\n`,
      original.replace(/\n/g, '\r'),
      `  \n\t${original}  \n`,
      // 76-character lines (MIME style) and one long line.
      `-----BEGIN PUBLIC KEY-----\n${genesisBody.match(/.{1,76}/g)?.join('\n')}\n-----END PUBLIC KEY-----`,
      `-----BEGIN PUBLIC KEY-----\n${genesisBody}\n-----END PUBLIC KEY-----\n`,
    ];
    for (const variant of variants) {
      expect(variant).not.toBe(original);
      expect(canonicalPublicKeyPem(variant)).toBe(original);
    }
  });

  it('canonicalises a PKCS#1 "RSA PUBLIC KEY" to the SPKI form', () => {
    const pkcs1 = createPublicKey(genesis.publicPem).export({ type: 'pkcs1', format: 'pem' }).toString();
    expect(pkcs1).toContain('BEGIN RSA PUBLIC KEY');
    expect(canonicalPublicKeyPem(pkcs1)).toBe(genesis.publicPem);
  });

  it('agrees with OpenSSL on keys it did not make (node-generated SPKI)', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const spki = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    // OpenSSL writes the same DER and line layout, plus a trailing newline.
    expect(canonicalPublicKeyPem(spki)).toBe(spki.trimEnd());
  });

  it.each(HOSTILE_PUBLIC_KEYS)('throws KeyFormatError for %s', (_label, pem) => {
    expectKeyFormatError(() => canonicalPublicKeyPem(pem));
  });

  it('throws KeyFormatError for non-string input', () => {
    for (const value of [undefined, null, 42, {}, new Uint8Array(4)]) {
      expectKeyFormatError(() => canonicalPublicKeyPem(value as unknown as string));
    }
  });

  it('names the algorithm of a non-RSA key in its message', () => {
    expect(() =>
      canonicalPublicKeyPem(ecKeys.publicKey.export({ type: 'spki', format: 'pem' }).toString()),
    ).toThrow(/not an RSA public key: its algorithm is .*1\.2\.840\.10045\.2\.1/);
  });
});

describe('private key formats', () => {
  it.each(keyFiles)(
    "PKCS#1 -> PKCS#8 DER of $name matches OpenSSL's and converts back to the file",
    ({ privatePem }) => {
      const ours = privateKeyPemToPkcs8Der(privatePem);
      const openssl = createPrivateKey(privatePem).export({ type: 'pkcs8', format: 'der' });
      expect(bytesToHex(ours)).toBe(bytesToHex(new Uint8Array(openssl)));
      expect(pkcs8DerToPkcs1Pem(ours)).toBe(withoutTrailingNewline(privatePem));
    },
  );

  it('rejects non-RSA, encrypted and public keys as private keys', () => {
    expectKeyFormatError(() =>
      parsePrivateKeyPem(ecKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()),
    );
    expectKeyFormatError(() =>
      parsePrivateKeyPem(ecKeys.privateKey.export({ type: 'sec1', format: 'pem' }).toString()),
    );
    expectKeyFormatError(() =>
      parsePrivateKeyPem(
        createPrivateKey(genesis.privatePem)
          .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' })
          .toString(),
      ),
    );
    expectKeyFormatError(() =>
      parsePrivateKeyPem(
        createPrivateKey(genesis.privatePem)
          .export({ type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' })
          .toString(),
      ),
    );
    expectKeyFormatError(() => parsePrivateKeyPem(genesis.publicPem));
    expectKeyFormatError(() => parsePrivateKeyPem(genesis.privatePem.slice(0, 800)));
    expectKeyFormatError(() => parsePrivateKeyPem(''));
  });
});

describe.each(PROVIDERS)('$name provider', ({ name, make }) => {
  const provider = make();
  const other = (PROVIDERS.find((p) => p.name !== name) ?? PROVIDERS[0]).make();

  it('reports its name', () => {
    expect(provider.name).toBe(name);
  });

  describe('reference vectors (test/vectors/transactions.json)', () => {
    it('covers valid and invalid rows', () => {
      expect(rows).toHaveLength(8);
      expect(rows.filter((r) => r.signatureValid)).toHaveLength(4);
    });

    it.each(rows.map((row, index) => ({ index, row, valid: row.signatureValid })))(
      'row $index: verify is $valid',
      async ({ row }) => {
        expect(await provider.verify(row.tx.senderPublicKey, utf8(row.payloadJson), row.tx.signature)).toBe(
          row.signatureValid,
        );
      },
    );

    it.each(rows.map((row, index) => ({ index, row })).filter(({ row }) => row.signatureValid))(
      'row $index: signing payloadJson reproduces the signature byte for byte',
      async ({ row }) => {
        const keyPair = await provider.importPrivateKeyPem(privateKeyFor(row.tx.senderPublicKey));
        expect(keyPair.publicKeyPem).toBe(row.tx.senderPublicKey);
        expect(await provider.sign(keyPair, utf8(row.payloadJson))).toBe(row.tx.signature);
      },
    );
  });

  describe('private key import and export', () => {
    it.each(keyFiles)(
      '$name: PKCS#1 import gives the public file, export gives the private file',
      async ({ privatePem, publicPem }) => {
        const keyPair = await provider.importPrivateKeyPem(privatePem);
        expect(keyPair.extractable).toBe(true);
        expect(keyPair.publicKeyPem).toBe(withoutTrailingNewline(publicPem));
        expect(await provider.exportPrivateKeyPem(keyPair)).toBe(withoutTrailingNewline(privatePem));
      },
    );

    it('PKCS#1 and PKCS#8 imports of one key give the same public key and signature', async () => {
      const pkcs8 = createPrivateKey(genesis.privatePem).export({ type: 'pkcs8', format: 'pem' }).toString();
      expect(pkcs8).toContain('BEGIN PRIVATE KEY');
      const a = await provider.importPrivateKeyPem(genesis.privatePem);
      const b = await provider.importPrivateKeyPem(pkcs8);
      const message = utf8('same key, same signature');
      expect(b.publicKeyPem).toBe(a.publicKeyPem);
      expect(await provider.sign(b, message)).toBe(await provider.sign(a, message));
      // PKCS#8 in, PKCS#1 (the reference's format) out.
      expect(await provider.exportPrivateKeyPem(b)).toBe(genesis.privatePem);
    });

    it('export -> import round trip keeps the key', async () => {
      const first = await provider.importPrivateKeyPem(genesis.privatePem.replace(/\n/g, '\r\n'));
      const exported = await provider.exportPrivateKeyPem(first);
      expect(exported).toMatch(/^-----BEGIN RSA PRIVATE KEY-----\n[\s\S]+\n-----END RSA PRIVATE KEY-----$/);
      expect(exported).not.toContain('\r');
      const second = await provider.importPrivateKeyPem(exported);
      expect(second.publicKeyPem).toBe(first.publicKeyPem);
      const message = utf8('round trip');
      expect(await provider.sign(second, message)).toBe(await provider.sign(first, message));
    });

    it('a non-extractable import still signs but refuses to export', async () => {
      const keyPair = await provider.importPrivateKeyPem(genesis.privatePem, { extractable: false });
      expect(keyPair.extractable).toBe(false);
      if (name === 'webcrypto') expect((keyPair.privateKey as CryptoKey).extractable).toBe(false);
      await expect(provider.exportPrivateKeyPem(keyPair)).rejects.toBeInstanceOf(KeyNotExtractableError);
      await expect(provider.exportPrivateKeyPem(keyPair)).rejects.toThrow(/not extractable/);
      const message = utf8(validRow.payloadJson);
      const signature = await provider.sign(keyPair, message);
      expect(await provider.verify(keyPair.publicKeyPem, message, signature)).toBe(true);
    });

    it('rejects hostile private keys with KeyFormatError', async () => {
      const hostile = [
        '',
        'garbage',
        genesis.publicPem,
        genesis.privatePem.slice(0, 900),
        ecKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      ];
      for (const pem of hostile) {
        await expect(provider.importPrivateKeyPem(pem)).rejects.toBeInstanceOf(KeyFormatError);
      }
    });

    it('refuses a key pair made by the other provider, with a clear error', async () => {
      const foreign = await other.importPrivateKeyPem(genesis.privatePem);
      await expect(provider.sign(foreign, utf8('x'))).rejects.toThrow(/not made by the .* provider/);
      await expect(provider.exportPrivateKeyPem(foreign)).rejects.toThrow(/not made by the .* provider/);
    });
  });

  describe('generateKeyPair', () => {
    let generated: KeyPair;
    let nonExtractable: KeyPair;
    beforeAll(async () => {
      // forge falls back to pure-JS prime search where Node's native keygen is unavailable.
      [generated, nonExtractable] = await Promise.all([
        provider.generateKeyPair(),
        provider.generateKeyPair({ extractable: false }),
      ]);
    }, 180_000);

    it('makes a canonical 2048-bit, e = 65537 public key', () => {
      expect(canonicalPublicKeyPem(generated.publicKeyPem)).toBe(generated.publicKeyPem);
      const details = createPublicKey(generated.publicKeyPem).asymmetricKeyDetails;
      expect(details?.modulusLength).toBe(2048);
      expect(details?.publicExponent).toBe(65537n);
      expect(generated.extractable).toBe(true);
      expect(nonExtractable.publicKeyPem).not.toBe(generated.publicKeyPem);
    });

    it('signs messages that both providers verify (cross-provider)', async () => {
      const message = utf8(validRow.payloadJson);
      const signature = await provider.sign(generated, message);
      expect(signature).toMatch(/^[0-9a-f]{512}$/);
      expect(await provider.verify(generated.publicKeyPem, message, signature)).toBe(true);
      expect(await other.verify(generated.publicKeyPem, message, signature)).toBe(true);
      expect(await other.verify(generated.publicKeyPem, utf8(`${validRow.payloadJson} `), signature)).toBe(
        false,
      );
    });

    it('exports PKCS#1 that the other provider imports to the same key and signature', async () => {
      const pem = await provider.exportPrivateKeyPem(generated);
      expect(pem.startsWith('-----BEGIN RSA PRIVATE KEY-----\n')).toBe(true);
      const imported = await other.importPrivateKeyPem(pem);
      expect(imported.publicKeyPem).toBe(generated.publicKeyPem);
      const message = utf8('deterministic');
      expect(await other.sign(imported, message)).toBe(await provider.sign(generated, message));
    });

    it('a non-extractable generated key signs, exposes its public key, and refuses to export', async () => {
      expect(nonExtractable.extractable).toBe(false);
      if (name === 'webcrypto') expect((nonExtractable.privateKey as CryptoKey).extractable).toBe(false);
      expect(canonicalPublicKeyPem(nonExtractable.publicKeyPem)).toBe(nonExtractable.publicKeyPem);
      await expect(provider.exportPrivateKeyPem(nonExtractable)).rejects.toBeInstanceOf(
        KeyNotExtractableError,
      );
      const message = utf8('non-extractable');
      expect(
        await other.verify(
          nonExtractable.publicKeyPem,
          message,
          await provider.sign(nonExtractable, message),
        ),
      ).toBe(true);
    });
  });

  describe('verify on hostile input never throws', () => {
    const message = utf8(validRow.payloadJson);
    const key = validRow.tx.senderPublicKey;
    const signature = validRow.tx.signature;

    it('the unmodified row verifies (control)', async () => {
      expect(await provider.verify(key, message, signature)).toBe(true);
    });

    it.each(HOSTILE_PUBLIC_KEYS)('false for a key that is %s', async (_label, pem) => {
      await expect(provider.verify(pem, message, signature)).resolves.toBe(false);
    });

    it.each([
      ['empty', ''],
      ['odd length', signature.slice(1)],
      ['non-hex', `zz${signature.slice(2)}`],
      ['whitespace inside', `${signature.slice(0, 10)} ${signature.slice(11)}`],
      ['0x prefix', `0x${signature.slice(2)}`],
      ['one byte short', signature.slice(2)],
      ['one byte long (leading 00)', `00${signature}`],
      ['one byte long (trailing 00)', `${signature}00`],
      ['all zero', '0'.repeat(512)],
      ['all ff (>= modulus)', 'f'.repeat(512)],
      ['one bit flipped', (signature[0] === '0' ? '1' : '0') + signature.slice(1)],
    ])('false for a signature that is %s', async (_label, sig) => {
      await expect(provider.verify(key, message, sig)).resolves.toBe(false);
    });

    it('false for a signature >= the modulus, and for non-string or non-bytes arguments', async () => {
      const modulus = createPublicKey(key).export({ format: 'jwk' }).n as string;
      const n = bytesToHex(new Uint8Array(Buffer.from(modulus, 'base64url')));
      expect(n).toHaveLength(512);
      await expect(provider.verify(key, message, n)).resolves.toBe(false);
      await expect(provider.verify(undefined as unknown as string, message, signature)).resolves.toBe(false);
      await expect(provider.verify(key, message, undefined as unknown as string)).resolves.toBe(false);
      await expect(
        provider.verify(key, validRow.payloadJson as unknown as Uint8Array, signature),
      ).resolves.toBe(false);
      await expect(provider.verify(key, null as unknown as Uint8Array, signature)).resolves.toBe(false);
    });

    it('takes the signature as bytes decoded once by the caller, with the same verdicts as hex', async () => {
      expect(await provider.verify(key, message, hexToBytes(signature))).toBe(true);
      const flipped = hexToBytes(signature);
      flipped[5] = (flipped[5] as number) ^ 1;
      expect(await provider.verify(key, message, flipped)).toBe(false);
      expect(await provider.verify(key, message, hexToBytes(signature).subarray(1))).toBe(false);
      expect(await provider.verify(key, message, new Uint8Array(0))).toBe(false);
      // A view into a larger array is read as exactly its bytes.
      const padded = new Uint8Array(600);
      padded.set(hexToBytes(signature), 44);
      expect(await provider.verify(key, message, padded.subarray(44, 300))).toBe(true);
    });

    it("accepts upper-case hex, as the reference's bytes.fromhex does", async () => {
      expect(await provider.verify(key, message, signature.toUpperCase())).toBe(true);
    });

    it('verifies under a CRLF or trailing-newline spelling of the same key (the reference parses those too)', async () => {
      expect(await provider.verify(key.replace(/\n/g, '\r\n'), message, signature)).toBe(true);
      expect(await provider.verify(`${key}\n`, message, signature)).toBe(true);
    });

    it('rejects DigestInfo encodings OpenSSL rejects, so both providers agree', async () => {
      const privatePem = privateKeyFor(key);
      const digest = forge.md.sha256.create().update(validRow.payloadJson).digest().getBytes();
      const canonical = signRawDigestInfo(
        privatePem,
        digestInfo(forge.pki.oids.sha256 as string, digest, true),
      );
      expect(canonical).toBe(signature); // the construction itself is right
      const noParameters = signRawDigestInfo(
        privatePem,
        digestInfo(forge.pki.oids.sha256 as string, digest, false),
      );
      const otherOid = signRawDigestInfo(
        privatePem,
        digestInfo(forge.pki.oids['sha512-256'] as string, digest, true),
      );
      const bareDigest = forge.util.bytesToHex(parsePrivateKeyPem(privatePem).sign(digest, 'NONE'));
      for (const sig of [noParameters, otherOid, bareDigest]) {
        expect(await provider.verify(key, message, sig)).toBe(false);
      }
    });

    it('survives a burst of concurrent verifies of mixed good and bad input', async () => {
      const inputs = rows.flatMap((r) => [
        [r.tx.senderPublicKey, utf8(r.payloadJson), r.tx.signature, r.signatureValid] as const,
        ['garbage', utf8(r.payloadJson), r.tx.signature, false] as const,
      ]);
      const results = await Promise.all(
        Array.from({ length: 5 }, () => inputs.map(([k, m, s]) => provider.verify(k, m, s))).flat(),
      );
      expect(results).toEqual(Array.from({ length: 5 }, () => inputs.map(([, , , valid]) => valid)).flat());
    });
  });
});

describe('the forge key handle: PKCS#8 bytes that survive storage', () => {
  const message = utf8('signed by a stored key');
  const staker = defined(
    keyFiles.find((k) => k.name === 'staker'),
    'staker key',
  );

  it('is the PKCS#8 DER of the key, plain data that structured clone copies', async () => {
    const keyPair = await createForgeProvider().importPrivateKeyPem(genesis.privatePem);
    expect(keyPair.privateKey).toEqual({ format: 'pkcs8', der: privateKeyPemToPkcs8Der(genesis.privatePem) });
    // What IndexedDB does to a record: a clone. A fresh provider (a reloaded page) signs with it.
    const stored = structuredClone({ ...keyPair });
    const reloaded = createForgeProvider();
    expect(await reloaded.sign(stored, message)).toBe(await createForgeProvider().sign(keyPair, message));
    expect(await reloaded.exportPrivateKeyPem(stored)).toBe(genesis.privatePem);
    // And it signs what the WebCrypto path verifies: the two paths agree.
    const signature = await reloaded.sign(stored, message);
    expect(await createWebCryptoProvider().verify(keyPair.publicKeyPem, message, signature)).toBe(true);
  });

  it('a generated key is stored the same way and restores to the same account', async () => {
    const forge = createForgeProvider();
    const made = await forge.generateKeyPair({ extractable: false });
    const stored = structuredClone({ ...made });
    const reloaded = createForgeProvider();
    const signature = await reloaded.sign(stored, message);
    expect(await reloaded.verify(made.publicKeyPem, message, signature)).toBe(true);
    await expect(reloaded.exportPrivateKeyPem(stored)).rejects.toBeInstanceOf(KeyNotExtractableError);
  }, 120_000);

  it('where Worker exists (a browser), generates in slices on the page and starts no worker', async () => {
    // forge's callback form would start workers from a script the app does not serve, and hang.
    const started: unknown[] = [];
    vi.stubGlobal(
      'Worker',
      class {
        constructor(url: unknown) {
          started.push(url);
          throw new Error('no worker script is served');
        }
      },
    );
    try {
      const made = await createForgeProvider().generateKeyPair();
      expect(started).toEqual([]);
      const signature = await createForgeProvider().sign(structuredClone({ ...made }), message);
      expect(await createWebCryptoProvider().verify(made.publicKeyPem, message, signature)).toBe(true);
    } finally {
      vi.unstubAllGlobals();
    }
  }, 300_000);

  it('bytes read back that are damaged, or belong to another account, are refused before signing', async () => {
    const forge = createForgeProvider();
    const keyPair = await forge.importPrivateKeyPem(genesis.privatePem);
    const der = privateKeyPemToPkcs8Der(genesis.privatePem);
    const truncated = { ...keyPair, privateKey: { format: 'pkcs8', der: der.slice(0, 600) } };
    await expect(createForgeProvider().sign(truncated, message)).rejects.toBeInstanceOf(KeyFormatError);
    const otherKey = {
      ...keyPair,
      privateKey: { format: 'pkcs8', der: privateKeyPemToPkcs8Der(staker.privatePem) },
    };
    await expect(createForgeProvider().sign(otherKey, message)).rejects.toThrow(/do not belong/);
    const notBytes = { ...keyPair, privateKey: { format: 'pkcs8', der: Array.from(der) } };
    await expect(createForgeProvider().sign(notBytes, message)).rejects.toThrow(
      /not made by the forge provider/,
    );
  });
});

describe('public key caches', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** A SubtleCrypto that counts spki imports and otherwise defers to the platform's. */
  function countingSubtle(): { subtle: SubtleCrypto; spkiImports: () => number } {
    const real = globalThis.crypto.subtle;
    let count = 0;
    const subtle = new Proxy(real, {
      get(target, property) {
        if (property === 'importKey') {
          return (...args: Parameters<SubtleCrypto['importKey']>) => {
            if (args[0] === 'spki') count += 1;
            return target.importKey(...args);
          };
        }
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    return { subtle, spkiImports: () => count };
  }

  const valid = rows.filter((r) => r.signatureValid);
  const senders = [...new Set(rows.map((r) => r.tx.senderPublicKey))];

  it('webcrypto: 1,000 concurrent verifies from a few senders import each key once', async () => {
    const { subtle, spkiImports } = countingSubtle();
    const provider = createWebCryptoProvider(subtle);
    const batch = Array.from({ length: 1000 }, (_, i) => defined(valid[i % valid.length]));
    const results = await Promise.all(
      batch.map((r) => provider.verify(r.tx.senderPublicKey, utf8(r.payloadJson), r.tx.signature)),
    );
    expect(results.every(Boolean)).toBe(true);
    expect(spkiImports()).toBe(new Set(valid.map((r) => r.tx.senderPublicKey)).size);
  });

  it('webcrypto: the cache is bounded and evicts the least recently used key', async () => {
    const { subtle, spkiImports } = countingSubtle();
    const provider = createWebCryptoProvider(subtle, { publicKeyCacheSize: 2 });
    expect(senders).toHaveLength(3);
    const [a, b, c] = senders as [string, string, string];
    const probe = (key: string) => provider.verify(key, utf8('x'), '00'.repeat(256));
    await probe(a);
    await probe(b);
    await probe(a); // hit: a becomes the most recent
    expect(spkiImports()).toBe(2);
    await probe(c); // evicts b
    await probe(a); // still cached
    expect(spkiImports()).toBe(3);
    await probe(b); // re-imported
    expect(spkiImports()).toBe(4);
  });

  it('forge: repeated verifies parse each key once, and the cache is bounded', async () => {
    // One valid row per sender, verified round-robin.
    const perSender = senders.map((k) => defined(valid.find((r) => r.tx.senderPublicKey === k)));
    const parse = vi.spyOn(forge.pki, 'publicKeyFromAsn1');
    const roomy = createForgeProvider();
    for (let i = 0; i < 30; i += 1) {
      const r = defined(perSender[i % perSender.length]);
      expect(await roomy.verify(r.tx.senderPublicKey, utf8(r.payloadJson), r.tx.signature)).toBe(true);
    }
    expect(parse.mock.calls.length).toBe(3);
    parse.mockClear();
    // 3 senders round-robin through a 2-entry LRU: every lookup misses, and nothing grows past 2.
    const tight = createForgeProvider({ publicKeyCacheSize: 2 });
    for (let i = 0; i < 30; i += 1) {
      const r = defined(perSender[i % perSender.length]);
      expect(await tight.verify(r.tx.senderPublicKey, utf8(r.payloadJson), r.tx.signature)).toBe(true);
    }
    expect(parse.mock.calls.length).toBe(30);
  });
});

describe('createCryptoProvider', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('uses WebCrypto when crypto.subtle exists', () => {
    expect(createCryptoProvider().name).toBe('webcrypto');
  });

  it('falls back to forge when crypto.subtle is missing (insecure context) or crypto is absent', async () => {
    vi.stubGlobal('crypto', { getRandomValues: globalThis.crypto.getRandomValues.bind(globalThis.crypto) });
    const provider = createCryptoProvider();
    expect(provider.name).toBe('forge');
    expect(
      await provider.verify(validRow.tx.senderPublicKey, utf8(validRow.payloadJson), validRow.tx.signature),
    ).toBe(true);
    vi.stubGlobal('crypto', undefined);
    expect(createCryptoProvider().name).toBe('forge');
  });
});
