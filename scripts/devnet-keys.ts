/**
 * Generates the local devnet's genesis, staker and exchange keys, written in exactly the
 * reference's formats, plus public/devnet.json naming them. These are PUBLIC TEST KEYS: they are
 * served to every browser by Vite from public/, so anyone can spend with them.
 *
 *   npx tsx scripts/devnet-keys.ts [--force] [--out <dir>]
 *
 * Refuses to overwrite existing keys without --force: a new genesis key is a new network, and
 * every tab's stored chain would stop validating.
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  canonicalPrivateKeyPem,
  canonicalPublicKeyPem,
  publicKeyPemFromPrivateKeyPem,
} from '../src/crypto/pem';

const ROLES = ['genesis', 'staker', 'exchange'] as const;
type Role = (typeof ROLES)[number];

const WARNING =
  'These are PUBLIC TEST KEYS for the local tabchain devnet only. Their private keys are published in this repository and served to every browser: never use them for anything of value.';

const README = `# PUBLIC TEST KEYS — LOCAL DEVNET ONLY

**Every private key in this folder is public.** It is committed to the repository and served by
the dev server to every browser that opens the devnet. Anyone can sign with these keys.

**Never use these keys, or any account derived from them, for anything of value.** They exist so
that a fresh clone can start a local devnet with a known genesis staker, staker and exchange.

| file | what |
| --- | --- |
| \`genesisPrivateKey.pem\` / \`genesisPublicKey.pem\` | the genesis staker (stake 1 at block 0) |
| \`stakerPrivateKey.pem\` / \`stakerPublicKey.pem\` | a staker account for the interaction script |
| \`exchangePrivateKey.pem\` / \`exchangePublicKey.pem\` | the exchange that mints coins (EXCHANGE transactions) |

Formats are the reference's: private keys PKCS#1 PEM (\`BEGIN RSA PRIVATE KEY\`), public keys SPKI
PEM (\`BEGIN PUBLIC KEY\`), 64-character lines, \`\\n\`, no trailing newline. \`../devnet.json\` names
the network and carries the public keys.

Regenerate with \`npx tsx scripts/devnet-keys.ts --force\`. That makes a **new network**: chains
stored by existing tabs will no longer validate against the new genesis key.
`;

function parseArgs(argv: readonly string[]): { force: boolean; outDir: string } {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  let force = false;
  let outDir = join(root, 'public');
  const args = [...argv];
  while (args.length > 0) {
    const arg = args.shift();
    const value = arg === '--out' ? args.shift() : undefined;
    if (arg === '--force') force = true;
    else if (arg === '--out' && value !== undefined) outDir = resolve(value);
    else throw new Error(`bad argument ${arg ?? ''}; usage: devnet-keys.ts [--force] [--out <dir>]`);
  }
  return { force, outDir };
}

function generate(): { privatePem: string; publicPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  // Re-encode through the same code the app uses: same DER, 64-character lines, no trailing newline.
  const privatePem = canonicalPrivateKeyPem(privateKey);
  const publicPem = canonicalPublicKeyPem(publicKey);
  if (publicKeyPemFromPrivateKeyPem(privatePem) !== publicPem)
    throw new Error('generated key pair does not match');
  return { privatePem, publicPem };
}

function main(): void {
  const { force, outDir } = parseArgs(process.argv.slice(2));
  const keysDir = join(outDir, 'keys');
  const files = ROLES.flatMap((role) => [
    join(keysDir, `${role}PrivateKey.pem`),
    join(keysDir, `${role}PublicKey.pem`),
  ]);
  const existing = files.filter((file) => existsSync(file));
  if (existing.length > 0 && !force) {
    console.error(
      `Refusing to overwrite existing devnet keys (a new genesis key is a new network):\n  ${existing.join('\n  ')}\nRe-run with --force to replace them.`,
    );
    process.exitCode = 1;
    return;
  }

  const keys = Object.fromEntries(ROLES.map((role) => [role, generate()])) as Record<
    Role,
    { privatePem: string; publicPem: string }
  >;
  mkdirSync(keysDir, { recursive: true });
  for (const role of ROLES) {
    // No trailing newline, like the reference's files in test/vectors/keys/.
    writeFileSync(join(keysDir, `${role}PrivateKey.pem`), keys[role].privatePem);
    writeFileSync(join(keysDir, `${role}PublicKey.pem`), keys[role].publicPem);
  }
  writeFileSync(join(keysDir, 'README.md'), README);
  const devnet = {
    network: 'tabchain-devnet',
    warning: WARNING,
    genesisPublicKey: keys.genesis.publicPem,
    stakerPublicKey: keys.staker.publicPem,
    exchangePublicKey: keys.exchange.publicPem,
    keys: {
      genesis: 'keys/genesisPrivateKey.pem',
      staker: 'keys/stakerPrivateKey.pem',
      exchange: 'keys/exchangePrivateKey.pem',
    },
  };
  writeFileSync(join(outDir, 'devnet.json'), `${JSON.stringify(devnet, null, 2)}\n`);
  console.log(
    `Wrote devnet keys for ${ROLES.join(', ')} to ${keysDir} and ${join(outDir, 'devnet.json')}.\n${WARNING}`,
  );
}

try {
  main();
} catch (error) {
  console.error((error as Error).message);
  process.exitCode = 1;
}
