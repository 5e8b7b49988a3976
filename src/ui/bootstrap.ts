/**
 * Helpers for the composition root (src/main.tsx): reading devnet.json and the settings.
 * Nothing here creates a port; main.tsx does. (Whether the node has restored its chain is its
 * snapshot's `phase`.)
 */
import type { GenesisConfig } from '../core/types';
import {
  type Decoded,
  type DevnetConfig,
  type DevnetKeyName,
  decodeDevnet,
  decodeIceServers,
  errorMessage,
} from './decoders';

/** Where the page reads the network configuration. */
export const DEVNET_URL = `${import.meta.env.BASE_URL}devnet.json`;

/** The localStorage key of the ICE servers setting (JSON array of RTCIceServer). */
export const ICE_SERVERS_SETTING_KEY = 'tabchain.iceServers';

/** The file is absent (not merely broken): the page explains how to create it. */
export class MissingDevnetError extends Error {
  override readonly name = 'MissingDevnetError';
}

/** Fetches and decodes devnet.json; throws `MissingDevnetError` when the server has none. */
export async function loadDevnet(
  fetchImpl: typeof fetch = fetch,
  url: string = DEVNET_URL,
): Promise<DevnetConfig> {
  const response = await fetchImpl(url, { cache: 'no-store' });
  // Vite answers an unknown path with index.html (SPA fallback), so a missing file is a 200 of HTML.
  const isJson = (response.headers.get('content-type') ?? '').includes('json');
  if (!response.ok || !isJson) throw new MissingDevnetError(`No network configuration at ${url}.`);
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    throw new Error(`${url} is not valid JSON.`);
  }
  const decoded = decodeDevnet(body);
  if (!decoded.ok) throw new Error(decoded.error);
  return decoded.value;
}

/**
 * The genesis config of the devnet's network, which the node runs: its profile (absent on
 * `reference`, so a reference devnet's config, and its network id, stay what they were) and
 * its genesis key.
 */
export function genesisConfigOf(devnet: Pick<DevnetConfig, 'profile' | 'genesisPublicKey'>): GenesisConfig {
  return {
    ...(devnet.profile && devnet.profile !== 'reference' ? { profile: devnet.profile } : {}),
    genesisPublicKey: devnet.genesisPublicKey,
  };
}

/** Fetches one of the devnet's published private keys (PEM text) relative to the site root. */
export function devnetKeyLoader(
  devnet: DevnetConfig,
  fetchImpl: typeof fetch = fetch,
  base: string = import.meta.env.BASE_URL,
): (name: DevnetKeyName) => Promise<string> {
  return async (name) => {
    const url = `${base}${devnet.keys[name]}`;
    let response: Response;
    try {
      response = await fetchImpl(url, { cache: 'no-store' });
    } catch (error) {
      throw new Error(`Could not fetch ${url}: ${errorMessage(error)}`);
    }
    const text = response.ok ? await response.text() : '';
    // A missing file comes back as the SPA's index.html: say so rather than "not a PEM".
    if (!text.includes('PRIVATE KEY'))
      throw new Error(`The server has no key at ${url} (npm run devnet-keys).`);
    return text;
  };
}

/** The ICE servers setting's text, or null when it is not set (or storage cannot be read). */
export function readIceServersSetting(
  storage: Pick<Storage, 'getItem'> | undefined = globalThis.localStorage,
): string | null {
  try {
    const raw = storage?.getItem(ICE_SERVERS_SETTING_KEY) ?? null;
    return raw === null || raw.trim() === '' ? null : raw;
  } catch {
    // Storage can throw (disabled cookies): not set.
    return null;
  }
}

/** The ICE servers setting, or none with the reason it was ignored. */
export function iceServersFromSettings(
  storage: Pick<Storage, 'getItem'> | undefined = globalThis.localStorage,
): Decoded<RTCIceServer[]> {
  return decodeIceServers(readIceServersSetting(storage));
}

/** Where a tab's ICE servers came from: its own setting, the devnet's config, or nowhere. */
export type IceServerSource = 'setting' | 'devnet' | 'none';

/** The ICE servers a tab uses, chosen once at load (the transport is made with them). */
export interface IceServerChoice {
  readonly servers: readonly RTCIceServer[];
  readonly source: IceServerSource;
  /** Why the setting was ignored, when it was (shown as a start-up notice). */
  readonly notice: string | null;
}

/**
 * The user's own setting when it is set (an empty list included: "no ICE servers"), else the
 * devnet's `iceServers` (from `npm start -- --turn ...`), else none. A damaged setting is
 * ignored with a notice, and the devnet's servers are used instead.
 */
export function chooseIceServers(
  devnet: Pick<DevnetConfig, 'iceServers'>,
  storage: Pick<Storage, 'getItem'> | undefined = globalThis.localStorage,
): IceServerChoice {
  const raw = readIceServersSetting(storage);
  let notice: string | null = null;
  if (raw !== null) {
    const setting = decodeIceServers(raw);
    if (setting.ok) return { servers: setting.value, source: 'setting', notice: null };
    notice = setting.error;
  }
  const fromDevnet = devnet.iceServers ?? [];
  return fromDevnet.length > 0
    ? { servers: fromDevnet, source: 'devnet', notice }
    : { servers: [], source: 'none', notice };
}

/**
 * Reads and removes the "open this node" parameter from the address, so that a reload or a
 * duplicate of this tab does not ask for that node again.
 */
export function takeOpenNodeParam(param: string, location: Location = window.location): string | null {
  const url = new URL(location.href);
  const value = url.searchParams.get(param);
  if (value === null) return null;
  url.searchParams.delete(param);
  try {
    window.history.replaceState(window.history.state, '', url.toString());
  } catch {
    // The address keeps the parameter: a busy node is not opened anyway.
  }
  return value;
}
