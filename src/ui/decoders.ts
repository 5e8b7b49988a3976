/**
 * The one gate for untrusted input in the UI: form fields, pasted PEMs, imported files and the
 * served devnet.json. Each decoder returns a value or a sentence a student can act on; none
 * throws. Consensus rules stay in src/core: these only check what a form can check before signing.
 */
import { z } from 'zod';
import { decodeChainEnvelope } from '../core/decode';
import { parseJson } from '../core/json';
import { MAX_PUBLIC_KEY_CHARS, PUBLIC_KEY_PATTERN } from '../core/limits';
import { err, ok, type Result } from '../core/result';
import { CONSENSUS_PROFILES, type ConsensusProfile } from '../core/types';
import { canonicalPublicKeyPem, KeyFormatError, MAX_PEM_LENGTH } from '../crypto';
import { fingerprint } from './format';

/** A decoded value, or why the input was refused (a whole sentence, shown as is): the one `Result` shape. */
export type Decoded<T> = Result<T, string>;

const fail = <T>(error: string): Decoded<T> => err(error);

/** Text with `\r\n` and `\r` line endings made `\n`, and outer whitespace removed. */
function normaliseText(text: string): string {
  return text.replace(/\r\n?/g, '\n').trim();
}

/** The message of an error-like value. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * What the chain holds now for the accounts an amount moves between, when the form knows it:
 * each bound the chain enforces (`BALANCE_OUT_OF_RANGE`, `STAKE_CAP_EXCEEDED`) is then refused
 * here, before anything is signed.
 */
export interface AmountBounds {
  /** The receiver's balance (a TRANSFER or an EXCHANGE adds the amount to it). */
  readonly receiverBalance?: number;
  /** The sender's balance (the exchange's may be negative; an EXCHANGE takes the amount from it). */
  readonly senderBalance?: number;
  /** For a STAKE: the coins staked in total now, the genesis stake included. */
  readonly totalStake?: number;
  /** For a STAKE: the network's cap on the total stake. */
  readonly maxTotalStake?: number;
}

const MAX_COINS = Number.MAX_SAFE_INTEGER;

/**
 * Reads an amount of coins: a positive whole number written in digits, at most 2^53-1, and
 * within every bound in `bounds`: the receiver's balance stays at most 2^53-1, the sender's at
 * least -(2^53-1), and the total stake within the network's cap. The chain refuses each of
 * those, so the form refuses them before signing. No amount is ever rounded.
 */
export function decodeAmount(text: string, bounds: AmountBounds = {}): Decoded<number> {
  const value = text.trim();
  if (value === '') return fail('Enter an amount.');
  if (/^[-−]/.test(value)) return fail('The amount must be positive.');
  // Exponent notation first: `1e30` has no decimal point, and calling it "decimals" misleads.
  if (/^\+?(?:\d+\.?\d*|\.\d+)e[+-]?\d+$/i.test(value)) {
    const written = Number(value.replace(/^\+/, ''));
    if (!Number.isSafeInteger(written)) {
      return fail(
        Number.isInteger(written) || written > Number.MAX_SAFE_INTEGER
          ? `The amount ${value} is written in exponent notation and is too large: at most ${Number.MAX_SAFE_INTEGER}.`
          : `The amount ${value} is written in exponent notation and is not a whole number of coins: write whole coins in digits, like 25.`,
      );
    }
    return fail(`The amount ${value} is written in exponent notation: write it in digits, ${written}.`);
  }
  if (/^\+?\d*[.,]\d*$/.test(value)) {
    return fail('The amount must be a whole number of coins (no decimals).');
  }
  if (!/^\d+$/.test(value)) return fail('The amount must be a whole number written in digits, like 25.');
  const amount = Number(value);
  if (!Number.isSafeInteger(amount))
    return fail(`The amount is too large: at most ${Number.MAX_SAFE_INTEGER}.`);
  if (amount === 0) return fail('The amount must be at least 1.');
  const { receiverBalance, senderBalance, totalStake, maxTotalStake } = bounds;
  // Compared before adding, so that no sum here is rounded either.
  if (receiverBalance !== undefined && receiverBalance > MAX_COINS - amount) {
    return fail(
      `The amount is too large: the receiver would hold more than ${MAX_COINS} coins, the most the chain counts exactly.`,
    );
  }
  if (senderBalance !== undefined && senderBalance < -MAX_COINS + amount) {
    return fail(`The amount is too large: the sender's balance would fall below -${MAX_COINS}.`);
  }
  if (totalStake !== undefined && maxTotalStake !== undefined && totalStake > maxTotalStake - amount) {
    return fail(
      `The amount is too large: this network allows ${maxTotalStake} coins staked in total, and ${totalStake} are staked now.`,
    );
  }
  return ok(amount);
}

/** Refuses an amount larger than what the sender can spend now. */
export function checkCovered(amount: number, available: number): Decoded<number> {
  if (amount > available) {
    return fail(`Not enough coins: you can spend ${available} now, and this needs ${amount}.`);
  }
  return ok(amount);
}

const PUBLIC_BEGIN = /-----BEGIN (?:RSA )?PUBLIC KEY-----/;
const PRIVATE_BEGIN = /-----BEGIN (?:RSA )?PRIVATE KEY-----/;

/**
 * Checks pasted or uploaded text for a private key PEM, PKCS#1 or PKCS#8, before the crypto
 * provider parses it (which may still refuse it with a `KeyFormatError`).
 */
export function decodePrivateKeyText(text: string): Decoded<string> {
  const pem = normaliseText(text);
  if (pem === '') return fail('Paste a private key PEM, or choose a .pem file.');
  if (pem.length > MAX_PEM_LENGTH) return fail('That text is too long to be an RSA private key PEM.');
  if (PUBLIC_BEGIN.test(pem)) {
    return fail(
      'This is a public key. Using an account needs its private key: "-----BEGIN RSA PRIVATE KEY-----" (PKCS#1) or "-----BEGIN PRIVATE KEY-----" (PKCS#8).',
    );
  }
  if (/ENCRYPTED/.test(pem)) {
    return fail('This private key is protected by a passphrase: export it without one, then import it.');
  }
  if (!PRIVATE_BEGIN.test(pem)) {
    return fail(
      'Not a PEM private key: expected text starting with "-----BEGIN RSA PRIVATE KEY-----" or "-----BEGIN PRIVATE KEY-----".',
    );
  }
  return ok(pem);
}

/** The message for a key the crypto provider refused. */
export function keyImportError(error: unknown): string {
  if (error instanceof KeyFormatError) return `The key could not be read: ${error.message}.`;
  return `The key could not be imported: ${errorMessage(error)}.`;
}

/**
 * Checks that a (canonical) public key is one the chain can carry: peers refuse transactions
 * whose keys exceed the size cap (RSA up to 4096 bits).
 */
export function checkAccountKey(publicKeyPem: string): Decoded<string> {
  if (publicKeyPem.length > MAX_PUBLIC_KEY_CHARS || !PUBLIC_KEY_PATTERN.test(publicKeyPem)) {
    return fail(
      'This key is larger than the chain accepts: use an RSA key of 4096 bits or fewer (2048 is usual).',
    );
  }
  return ok(publicKeyPem);
}

/** Finds the one known account whose fingerprint starts with `prefix` (lower-case hex). */
export function accountByFingerprint(prefix: string, accounts: Iterable<string>): Decoded<string> {
  const wanted = prefix.toLowerCase();
  const matches = [...accounts].filter((pem) => fingerprint(pem, 64).startsWith(wanted));
  if (matches.length === 1) return ok(matches[0] as string);
  if (matches.length === 0) return fail(`No known account has the fingerprint ${wanted}.`);
  return fail(`${matches.length} known accounts start with ${wanted}: type more digits of the fingerprint.`);
}

/**
 * Reads a receiver: a public key PEM (SPKI or PKCS#1; its armour normalised to the canonical
 * text the chain uses as the account's identity), or the fingerprint of an account the chain
 * already knows. The key's DER must be its one canonical encoding (`parsePublicKeyPem`): the
 * same RSA key encoded otherwise would be a second account, so it is refused.
 */
export function decodeReceiver(text: string, knownAccounts: Iterable<string>): Decoded<string> {
  const value = normaliseText(text);
  if (value === '') return fail('Enter the receiver: paste their public key, or pick a known account.');
  if (PRIVATE_BEGIN.test(value)) {
    return fail(
      'This is a private key: never share it. Paste the receiver\'s PUBLIC key ("-----BEGIN PUBLIC KEY-----").',
    );
  }
  if (/^[0-9a-f]{6,64}$/i.test(value)) {
    const found = accountByFingerprint(value, knownAccounts);
    return found.ok ? found : fail(`${found.error} Paste the receiver's full public key instead.`);
  }
  if (!PUBLIC_BEGIN.test(value)) {
    return fail(
      'Not a public key: paste a PEM starting with "-----BEGIN PUBLIC KEY-----", or the fingerprint of a known account.',
    );
  }
  let pem: string;
  try {
    pem = canonicalPublicKeyPem(value);
  } catch (error) {
    return fail(`Not a valid public key: ${errorMessage(error)}.`);
  }
  return checkAccountKey(pem);
}

/** What a search box query names, before it is looked up on the chain. */
export type SearchQuery =
  | { readonly kind: 'height'; readonly height: number }
  | { readonly kind: 'hash'; readonly hash: string }
  | { readonly kind: 'tx'; readonly id: string }
  | { readonly kind: 'account'; readonly publicKeyPem: string }
  | { readonly kind: 'fingerprint'; readonly prefix: string };

/** Reads the explorer's search box: a height, a block hash, a transaction id, a PEM or a fingerprint. */
export function decodeSearch(text: string): Decoded<SearchQuery> {
  const value = normaliseText(text);
  if (value === '') return fail('Type a block height, a block hash, a transaction id, or an account.');
  if (/^#?\d+$/.test(value)) {
    const height = Number(value.replace('#', ''));
    if (!Number.isSafeInteger(height)) return fail('That height is too large.');
    return ok({ kind: 'height', height });
  }
  if (PRIVATE_BEGIN.test(value))
    return fail('That is a private key: never paste it anywhere. Search by public key.');
  if (PUBLIC_BEGIN.test(value)) {
    try {
      return ok({ kind: 'account', publicKeyPem: canonicalPublicKeyPem(value) });
    } catch (error) {
      return fail(`Not a valid public key: ${errorMessage(error)}.`);
    }
  }
  const hex = value.toLowerCase();
  if (/^[0-9a-f]{64}$/.test(hex)) return ok({ kind: 'hash', hash: hex });
  if (/^[0-9a-f]{32}$/.test(hex)) return ok({ kind: 'tx', id: hex });
  if (/^[0-9a-f]{6,63}$/.test(hex)) return ok({ kind: 'fingerprint', prefix: hex });
  return fail(
    'Not something the explorer can find: type a block height (12), a block hash (64 hex digits), a transaction id (32 hex digits), an account fingerprint, or paste a public key.',
  );
}

/** The largest chain file the import reads. */
export const MAX_CHAIN_FILE_BYTES = 256 * 1024 * 1024;

/** Reads a chain file's text: JSON in the reference's `GET /blockchain` shape, `{"blocks": [...]}`. */
export function decodeChainFile(text: string): Decoded<readonly unknown[]> {
  // Lossless: a reference chain's whole-number floats (1795670516.0) stay floats, as signed.
  const parsed = parseJson(text);
  if (!parsed.ok) return fail(`The file is not JSON: ${parsed.error}.`);
  const envelope = decodeChainEnvelope(parsed.value);
  if (!envelope.ok) return fail(`Not a chain file: ${envelope.error}.`);
  if (envelope.value.length === 0)
    return fail('The chain file holds no blocks: it needs at least the genesis block.');
  return ok(envelope.value);
}

/** Names of the devnet's published test keys. */
export type DevnetKeyName = 'genesis' | 'staker' | 'exchange';

/** What `public/devnet.json` holds (written by `npm run devnet-keys`). */
export interface DevnetConfig {
  readonly network: string;
  readonly warning?: string;
  /** The consensus profile (docs/consensus-resilient.md); `reference` when absent. */
  readonly profile?: ConsensusProfile;
  /** Canonical PEM: with `profile`, the network's genesis config. */
  readonly genesisPublicKey: string;
  readonly stakerPublicKey?: string;
  readonly exchangePublicKey?: string;
  /** Private key files relative to the site root, by name. */
  readonly keys: Readonly<Record<DevnetKeyName, string>>;
  /** STUN/TURN servers for every tab (`npm start -- --turn ...`); a tab's own setting wins. */
  readonly iceServers?: readonly RTCIceServer[];
}

const KEY_NAMES: readonly DevnetKeyName[] = ['genesis', 'staker', 'exchange'];
/** Same-origin relative paths only: no scheme, no `//`, no `..`. */
const RELATIVE_PEM_PATH = /^(?!.*\.\.)(?!\/)[A-Za-z0-9_\-./]+\.pem$/;

function optionalKey(value: unknown, field: string): Decoded<string | undefined> {
  if (value === undefined) return ok(undefined);
  if (typeof value !== 'string') return fail(`devnet.json: "${field}" is not a PEM string.`);
  try {
    return ok(canonicalPublicKeyPem(value));
  } catch (error) {
    return fail(`devnet.json: "${field}" is not a valid public key (${errorMessage(error)}).`);
  }
}

/** devnet.json's optional `profile`: one of the profiles' names. */
const profileSchema = z.enum(CONSENSUS_PROFILES).optional();

/** Decodes the served devnet.json. */
export function decodeDevnet(value: unknown): Decoded<DevnetConfig> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail('devnet.json is not a JSON object.');
  }
  const raw = value as Record<string, unknown>;
  if (typeof raw.network !== 'string' || raw.network.trim() === '' || raw.network.length > 100) {
    return fail('devnet.json has no "network" name.');
  }
  if (typeof raw.genesisPublicKey !== 'string' || !raw.genesisPublicKey.includes('BEGIN PUBLIC KEY')) {
    return fail('devnet.json has no "genesisPublicKey" PEM.');
  }
  const profile = profileSchema.safeParse(raw.profile);
  if (!profile.success) {
    return fail(
      `devnet.json: "profile" must be ${CONSENSUS_PROFILES.map((name) => `"${name}"`).join(' or ')}, not ${String(JSON.stringify(raw.profile)).slice(0, 40)}.`,
    );
  }
  const genesis = optionalKey(raw.genesisPublicKey, 'genesisPublicKey');
  const staker = optionalKey(raw.stakerPublicKey, 'stakerPublicKey');
  const exchange = optionalKey(raw.exchangePublicKey, 'exchangePublicKey');
  for (const result of [genesis, staker, exchange]) if (!result.ok) return fail(result.error);
  const keys: Record<DevnetKeyName, string> = {
    genesis: 'keys/genesisPrivateKey.pem',
    staker: 'keys/stakerPrivateKey.pem',
    exchange: 'keys/exchangePrivateKey.pem',
  };
  if (raw.keys !== undefined) {
    if (typeof raw.keys !== 'object' || raw.keys === null)
      return fail('devnet.json: "keys" is not an object.');
    const given = raw.keys as Record<string, unknown>;
    for (const name of KEY_NAMES) {
      const path = given[name];
      if (path === undefined) continue;
      if (typeof path !== 'string' || !RELATIVE_PEM_PATH.test(path)) {
        return fail(`devnet.json: keys.${name} must be a relative path to a .pem file on this site.`);
      }
      keys[name] = path;
    }
  }
  let iceServers: RTCIceServer[] | undefined;
  if (raw.iceServers !== undefined) {
    const decoded = decodeIceServerList(raw.iceServers, 'devnet.json: "iceServers"');
    if (!decoded.ok) return fail(decoded.error);
    iceServers = decoded.value;
  }
  return ok({
    network: raw.network,
    genesisPublicKey: genesis.ok ? (genesis.value as string) : '',
    keys,
    ...(profile.data ? { profile: profile.data } : {}),
    ...(typeof raw.warning === 'string' ? { warning: raw.warning } : {}),
    ...(staker.ok && staker.value ? { stakerPublicKey: staker.value } : {}),
    ...(exchange.ok && exchange.value ? { exchangePublicKey: exchange.value } : {}),
    ...(iceServers ? { iceServers } : {}),
  });
}

/** At most this many ICE servers, URLs per server, and characters per URL, username or credential. */
export const MAX_ICE_SERVERS = 16;
const MAX_ICE_URLS = 8;
const MAX_ICE_URL_CHARS = 512;
const MAX_ICE_SECRET_CHARS = 256;

/**
 * A STUN or TURN URL (RFC 7064, RFC 7065): `stun:host[:port]`, `turn:host[:port][?transport=udp|tcp]`
 * or `turns:`. The host is a name, an IPv4 address or a bracketed IPv6 address.
 */
const ICE_URL =
  /^(stun|turns?):(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::(\d{1,5}))?(\?transport=(?:udp|tcp))?$/;

const iceUrlSchema = z
  .string()
  .max(MAX_ICE_URL_CHARS, `an ICE server URL is longer than ${MAX_ICE_URL_CHARS} characters`)
  .superRefine((url, context) => {
    const match = ICE_URL.exec(url);
    if (!match) {
      context.addIssue({
        code: 'custom',
        message: `"${url.slice(0, 60)}" is not a STUN or TURN URL (like stun:192.168.1.10:3478 or turn:192.168.1.10:3478?transport=udp)`,
      });
    } else if (Number(match[3] ?? 1) > 65_535) {
      context.addIssue({ code: 'custom', message: `the port of "${url.slice(0, 60)}" is above 65535` });
    }
  });
const iceSecretSchema = (what: string) =>
  z.string().max(MAX_ICE_SECRET_CHARS, `the ${what} is longer than ${MAX_ICE_SECRET_CHARS} characters`);

const iceServerSchema = z
  .strictObject({
    urls: z.union(
      [
        iceUrlSchema,
        z
          .array(iceUrlSchema)
          .min(1, 'a server needs a URL')
          .max(MAX_ICE_URLS, `at most ${MAX_ICE_URLS} URLs a server`),
      ],
      { error: 'a server needs "urls": a STUN or TURN URL, or a list of them' },
    ),
    username: iceSecretSchema('username').optional(),
    credential: iceSecretSchema('credential').optional(),
  })
  .transform(({ urls, username, credential }) => ({
    urls: typeof urls === 'string' ? [urls] : urls,
    ...(username !== undefined && username !== '' ? { username } : {}),
    ...(credential !== undefined && credential !== '' ? { credential } : {}),
  }))
  // The browser refuses a TURN server without both (and then opens no connection at all).
  .refine(
    (server) => !server.urls.some((url) => url.startsWith('turn')) || (server.username && server.credential),
    'a turn: or turns: server needs a username and a credential',
  );
const iceServerListSchema = z
  .array(iceServerSchema)
  .max(MAX_ICE_SERVERS, `at most ${MAX_ICE_SERVERS} ICE servers`);

/**
 * Decodes a list of RTCIceServer (STUN and TURN only, within caps): from the setting, from
 * devnet.json or from the form. `source` names where it came from in the message.
 */
export function decodeIceServerList(value: unknown, source: string): Decoded<RTCIceServer[]> {
  const parsed = iceServerListSchema.safeParse(value);
  if (parsed.success) return ok(parsed.data);
  const issue = parsed.error.issues[0];
  const [index, field] = issue?.path ?? [];
  const where =
    typeof index === 'number'
      ? ` server ${index + 1}${field === undefined ? '' : ` (${String(field)})`}`
      : '';
  const reason =
    issue?.code === 'invalid_type' && issue.path.length === 0
      ? 'it must be a JSON array of {"urls": ..., "username": ..., "credential": ...}'
      : (issue?.message ?? 'invalid');
  return fail(`${source}${where}: ${reason}.`);
}

/** Reads the ICE servers setting (JSON text in localStorage); no text is no servers. */
export function decodeIceServers(text: string | null): Decoded<RTCIceServer[]> {
  if (text === null || text.trim() === '') return ok([]);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail('The tabchain.iceServers setting is not JSON: it was ignored.');
  }
  return decodeIceServerList(value, 'The tabchain.iceServers setting');
}
