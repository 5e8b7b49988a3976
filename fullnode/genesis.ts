import { readFile, stat } from 'node:fs/promises';
import { z } from 'zod';
import { genesisConfigSchema } from '../src/core/config';
import { err, ok, type Result } from '../src/core/result';
import type { GenesisConfig } from '../src/core/types';
import { canonicalPublicKeyPem } from '../src/crypto';

/*
 * Which network the always-on node joins: a genesis config (`--genesis FILE`), else the devnet
 * configuration the signaling server serves to its tabs (`GET <signaling>/devnet.json`), else the
 * repository's public/devnet.json. Every source goes through one schema.
 */

/** The room the tabs join when a config names none (src/net/channel.ts's default). */
export const DEFAULT_NETWORK = 'tabchain-devnet';

/** A genesis config file larger than this is not a genesis config. */
export const MAX_GENESIS_FILE_BYTES = 64 * 1024;

/** How long the signaling server's devnet.json may take to answer (ms). */
export const DEVNET_FETCH_TIMEOUT_MS = 5_000;

/** A network as the node needs it: its consensus parameters and the signaling room of its tabs. */
export interface NetworkConfig {
  /** The signaling room (devnet.json's `network`). */
  readonly network: string;
  readonly genesis: GenesisConfig;
  /** Where it was read, for the start-up line. */
  readonly source: string;
}

// The core's genesis config plus the room; not strict: devnet.json carries more (the published
// keys, a warning) that the node has no use for.
const genesisFileSchema = z.object({
  ...genesisConfigSchema.shape,
  network: z.string().trim().min(1).max(100).optional(),
});

/** Decodes a genesis config (or a devnet.json) from `source`; its key is normalised to canonical PEM. */
export function decodeNetworkConfig(value: unknown, source: string): Result<NetworkConfig, string> {
  const parsed = genesisFileSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || 'the file';
    return err(`${source}: ${where}: ${issue?.message ?? 'not a genesis config'}`);
  }
  const { network, profile, genesisPublicKey, maxTotalStake } = parsed.data;
  let key: string;
  try {
    key = canonicalPublicKeyPem(genesisPublicKey);
  } catch (error) {
    return err(`${source}: genesisPublicKey is not an RSA public key (${(error as Error).message})`);
  }
  return ok({
    network: network ?? DEFAULT_NETWORK,
    genesis: {
      genesisPublicKey: key,
      ...(profile ? { profile } : {}),
      ...(maxTotalStake !== undefined ? { maxTotalStake } : {}),
    },
    source,
  });
}

/** Reads and decodes a genesis config file (`--genesis FILE`, or public/devnet.json). */
export async function readNetworkFile(path: string): Promise<Result<NetworkConfig, string>> {
  let text: string;
  try {
    const { size } = await stat(path);
    if (size > MAX_GENESIS_FILE_BYTES)
      return err(`${path}: ${size} bytes is more than a genesis config (${MAX_GENESIS_FILE_BYTES} at most)`);
    text = await readFile(path, 'utf8');
  } catch (error) {
    return err(`cannot read ${path}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return err(`${path} is not JSON: ${(error as Error).message}`);
  }
  return decodeNetworkConfig(value, path);
}

/** Fetches and decodes the devnet.json a signaling server serves to its tabs. */
export async function fetchNetworkConfig(
  signalingUrl: string,
  fetchImpl: typeof fetch = fetch,
): Promise<Result<NetworkConfig, string>> {
  const url = new URL('devnet.json', signalingUrl).toString();
  let response: Response;
  try {
    response = await fetchImpl(url, { signal: AbortSignal.timeout(DEVNET_FETCH_TIMEOUT_MS) });
  } catch (error) {
    return err(`could not fetch ${url}: ${(error as Error).message}`);
  }
  // Vite answers an unknown path with its index.html (a 200 of HTML): that is no devnet.json.
  if (!response.ok || !(response.headers.get('content-type') ?? '').includes('json'))
    return err(`${url} serves no devnet configuration (HTTP ${response.status})`);
  const text = await response.text();
  if (text.length > MAX_GENESIS_FILE_BYTES) return err(`${url} is larger than a devnet configuration`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return err(`${url} is not JSON: ${(error as Error).message}`);
  }
  return decodeNetworkConfig(value, url);
}

/**
 * The network to join: `--genesis FILE` when given (an error there is final); else the signaling
 * server's devnet.json; else `fallbackFile`, with `notice` saying why the server's was not used.
 */
export async function resolveNetworkConfig(options: {
  readonly genesisFile: string | undefined;
  readonly signalingUrl: string;
  readonly fallbackFile: string;
  readonly fetchImpl?: typeof fetch;
}): Promise<Result<NetworkConfig & { readonly notice: string | null }, string>> {
  if (options.genesisFile !== undefined) {
    const fromFile = await readNetworkFile(options.genesisFile);
    return fromFile.ok ? ok({ ...fromFile.value, notice: null }) : fromFile;
  }
  const served = await fetchNetworkConfig(options.signalingUrl, options.fetchImpl);
  if (served.ok) return ok({ ...served.value, notice: null });
  const local = await readNetworkFile(options.fallbackFile);
  if (!local.ok) return err(`${served.error}; and ${local.error}`);
  return ok({ ...local.value, notice: `${served.error}: using ${options.fallbackFile}` });
}
