/**
 * `npm start -- --lan`: the self-signed certificate the devnet serves HTTPS with, so that every
 * machine of the class gets a secure context (WebCrypto, and keys that persist). Made on first
 * run with node-forge and kept in `.tabchain/lan-cert/` (gitignored); made again only when it
 * lacks one of this machine's addresses (a new Wi-Fi) or is about to expire.
 */
import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';

/** A certificate and its key, PEM. */
export interface LanCertificate {
  readonly key: string;
  readonly cert: string;
  /** SHA-256 of the certificate's DER, as browsers show it (`AB:CD:…`). */
  readonly fingerprint256: string;
  /** True when it was made by this call, false when an earlier one was reused. */
  readonly created: boolean;
}

/** How long a made certificate is valid (browsers cap trusted ones at ~13 months; ours is never trusted). */
const VALID_DAYS = 825;
/** A certificate this close to its end is made again. */
const RENEW_BEFORE_MS = 7 * 24 * 3600 * 1000;

/** This machine's non-loopback IPv4 addresses: the ones students' machines can reach. */
export function lanAddresses(): string[] {
  const addresses: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const entry of list ?? []) {
      if (entry.family === 'IPv4' && !entry.internal) addresses.push(entry.address);
    }
  }
  return addresses;
}

/** Every address a certificate should name: localhost, loopback, and every address of this machine. */
function certificateAddresses(): { dns: string[]; ips: string[] } {
  const ips = new Set(['127.0.0.1', '::1']);
  for (const list of Object.values(networkInterfaces())) {
    for (const entry of list ?? []) {
      // Link-local IPv6 addresses need a zone id, which no URL (nor certificate) carries.
      if (entry.family === 'IPv6' && entry.address.toLowerCase().startsWith('fe80:')) continue;
      ips.add(entry.address);
    }
  }
  return { dns: ['localhost'], ips: [...ips] };
}

/** The names and addresses in a certificate's subjectAltName, as node prints them (`IP Address:…`). */
export function subjectAltNames(certPem: string): string[] {
  const san = new X509Certificate(certPem).subjectAltName ?? '';
  return san
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

/** Node prints IPv6 SAN entries expanded or not depending on version: compare by parsed value. */
function sanHasIp(names: readonly string[], ip: string): boolean {
  const normal = (address: string) => (address.includes(':') ? expandIpv6(address) : address);
  return names.some((name) => name.startsWith('IP Address:') && normal(name.slice(11)) === normal(ip));
}

function expandIpv6(address: string): string {
  const [head = '', tail = ''] = address.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const middle = address.includes('::') ? Array(8 - left.length - right.length).fill('0') : [];
  return [...left, ...middle, ...right].map((group) => group.replace(/^0+(?=.)/, '')).join(':');
}

function makeCertificate(): { key: string; cert: string } {
  // Node makes the key (native, fast); node-forge builds and signs the X.509 structure.
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const key = forge.pki.privateKeyFromPem(keyPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = `01${forge.util.bytesToHex(forge.random.getBytesSync(15))}`;
  const now = new Date();
  cert.validity.notBefore = new Date(now.getTime() - 60_000);
  cert.validity.notAfter = new Date(now.getTime() + VALID_DAYS * 24 * 3600 * 1000);
  const subject = [
    { name: 'commonName', value: 'tabchain devnet (self-signed)' },
    { name: 'organizationName', value: 'tabchain classroom' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  const { dns, ips } = certificateAddresses();
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [...dns.map((value) => ({ type: 2, value })), ...ips.map((ip) => ({ type: 7, ip }))],
    },
  ]);
  cert.sign(key, forge.md.sha256.create());
  return { key: keyPem, cert: forge.pki.certificateToPem(cert) };
}

/** True when `cert` names every address this machine has now and is not about to expire. */
function stillFits(certPem: string): boolean {
  const x509 = new X509Certificate(certPem);
  if (Date.parse(x509.validTo) - Date.now() < RENEW_BEFORE_MS) return false;
  const names = subjectAltNames(certPem);
  const { ips } = certificateAddresses();
  return names.includes('DNS:localhost') && ips.every((ip) => sanHasIp(names, ip));
}

/**
 * The certificate in `dir` (`key.pem`, `cert.pem`) when it still fits this machine, else a new
 * one written there (the key readable by this user only).
 */
export function lanCertificate(dir: string): LanCertificate {
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  try {
    const key = readFileSync(keyFile, 'utf8');
    const cert = readFileSync(certFile, 'utf8');
    const x509 = new X509Certificate(cert);
    if (x509.checkPrivateKey(createPrivateKey(key)) && stillFits(cert)) {
      return { key, cert, fingerprint256: x509.fingerprint256, created: false };
    }
  } catch {
    // Missing or unreadable: made below.
  }
  const made = makeCertificate();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(keyFile, made.key, { mode: 0o600 });
  writeFileSync(certFile, made.cert);
  return { ...made, fingerprint256: new X509Certificate(made.cert).fingerprint256, created: true };
}
