/**
 * What `npm start` changes in the `/devnet.json` it serves: one override, made of
 * - `--profile NAME`: which consensus profile the devnet runs (docs/consensus-resilient.md).
 *   The profile lives in the genesis config, which the tab reads from `/devnet.json`; a devnet
 *   on a profile other than `reference` serves `public/devnet.json` with `"profile"` set and its
 *   own network name (the signaling room), so tabs of two profiles never even meet to be refused.
 * - `--stun URL`, `--turn URL [--turn-user U --turn-credential C]`: the ICE servers every tab
 *   uses, served as `"iceServers"` (RTCIceServer entries: `{urls, username?, credential?}`).
 * `public/devnet.json` itself stays the reference devnet's: the override is a middleware.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { CONSENSUS_PROFILES, type ConsensusProfile } from '../src/core/types';

/** `parseArgs` option for the profile flag. */
export const PROFILE_FLAG = { profile: { type: 'string' } } as const;

/** The profile a devnet runs when `--profile` is not given. */
export const DEFAULT_PROFILE: ConsensusProfile = 'reference';

/** A `--profile` value that names no profile: `npm start` exits 2 with its message. */
export class UnknownProfileError extends Error {
  override readonly name = 'UnknownProfileError';
}

/** Reads `--profile`: absent is `reference`; anything but a known profile's name throws `UnknownProfileError`. */
export function readProfileFlag(value: string | boolean | undefined): ConsensusProfile {
  if (value === undefined) return DEFAULT_PROFILE;
  const known = CONSENSUS_PROFILES as readonly unknown[];
  if (typeof value === 'string' && known.includes(value)) return value as ConsensusProfile;
  throw new UnknownProfileError(
    `--profile must be one of ${CONSENSUS_PROFILES.join(', ')}, not ${JSON.stringify(value === true ? '' : value)}`,
  );
}

/**
 * The network name of a devnet on `profile`: the reference's own name, or that name with the
 * profile appended (`tabchain-devnet-resilient`). The tab uses it as its signaling room.
 */
export function networkNameFor(baseName: string, profile: ConsensusProfile): string {
  return profile === 'reference' ? baseName : `${baseName}-${profile}`;
}

/** One ICE server as the browser's `RTCIceServer` takes it. */
export interface IceServer {
  readonly urls: string;
  readonly username?: string;
  readonly credential?: string;
}

/** What the served `/devnet.json` differs in from `public/devnet.json`. */
export interface DevnetOverride {
  readonly profile: ConsensusProfile;
  /** Served as `"iceServers"` when not empty. */
  readonly iceServers?: readonly IceServer[];
}

/** `parseArgs` options for the ICE server flags (`--turn` and `--stun` repeat, or take a comma list). */
export const ICE_FLAGS = {
  stun: { type: 'string', multiple: true },
  turn: { type: 'string', multiple: true },
  'turn-user': { type: 'string' },
  'turn-credential': { type: 'string' },
} as const;

/** A bad ICE flag: `npm start` exits 2 with its message. */
export class IceFlagError extends Error {
  override readonly name = 'IceFlagError';
}

/** Most ICE servers a devnet hands out (the tab caps its own setting at 16 too). */
const MAX_ICE_SERVERS = 16;
const stunUrl = z
  .string()
  .max(512)
  .regex(/^stuns?:[^\s,]+$/);
const turnUrl = z
  .string()
  .max(512)
  .regex(/^turns?:[^\s,]+$/);
const credentialText = z.string().min(1).max(512);

/**
 * Reads the ICE flags into RTCIceServer entries: one per STUN URL, then one per TURN URL with
 * the TURN username and credential (browsers refuse a TURN server without both).
 * Throws `IceFlagError` on a URL of the wrong scheme, credentials without `--turn`, or a
 * `--turn` without both credentials.
 */
export function readIceFlags(values: {
  stun?: readonly string[];
  turn?: readonly string[];
  'turn-user'?: string;
  'turn-credential'?: string;
}): IceServer[] {
  const list = (flag: readonly string[] | undefined) =>
    (flag ?? [])
      .flatMap((value) => value.split(','))
      .map((url) => url.trim())
      .filter((url) => url !== '');
  const stuns = list(values.stun);
  const turns = list(values.turn);
  const username = values['turn-user'];
  const credential = values['turn-credential'];
  for (const url of stuns) {
    if (!stunUrl.safeParse(url).success)
      throw new IceFlagError(`--stun takes stun: or stuns: URLs, not ${JSON.stringify(url)}`);
  }
  for (const url of turns) {
    if (!turnUrl.safeParse(url).success)
      throw new IceFlagError(`--turn takes turn: or turns: URLs, not ${JSON.stringify(url)}`);
  }
  if (turns.length === 0 && (username !== undefined || credential !== undefined)) {
    throw new IceFlagError('--turn-user and --turn-credential need --turn');
  }
  if (
    turns.length > 0 &&
    (!credentialText.safeParse(username).success || !credentialText.safeParse(credential).success)
  ) {
    throw new IceFlagError('--turn needs --turn-user and --turn-credential (1 to 512 characters each)');
  }
  if (stuns.length + turns.length > MAX_ICE_SERVERS) {
    throw new IceFlagError(`at most ${MAX_ICE_SERVERS} STUN and TURN URLs in all`);
  }
  return [
    ...stuns.map((urls) => ({ urls })),
    ...turns.map((urls) => ({ urls, username: username as string, credential: credential as string })),
  ];
}

/** True when the served `/devnet.json` differs from `public/devnet.json` under `override`. */
export function overridesDevnet(override: DevnetOverride): boolean {
  return override.profile !== 'reference' || (override.iceServers ?? []).length > 0;
}

/**
 * `public/devnet.json`'s content for a devnet on `profile`: unchanged on `reference`; else with
 * `"profile"` set (right after `"network"`) and the network renamed. Null when the file's text
 * is not a JSON object with a string `network` (the tab then reports the file as broken itself).
 */
export function devnetJsonFor(text: string, profile: ConsensusProfile): string | null {
  return devnetJsonWith(text, { profile });
}

/**
 * `public/devnet.json`'s content under `override`: unchanged when it overrides nothing; else
 * with the profile applied as `devnetJsonFor` does and `"iceServers"` set (replacing any in the
 * file) when the override has some. Null when the text is not a JSON object with a string `network`.
 */
export function devnetJsonWith(text: string, override: DevnetOverride): string | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const { network, profile: _ignored, ...rest } = value as Record<string, unknown>;
  if (typeof network !== 'string') return null;
  if (!overridesDevnet(override)) return text;
  const { profile } = override;
  const iceServers = override.iceServers ?? [];
  const served = {
    network: networkNameFor(network, profile),
    ...(profile === 'reference' ? {} : { profile }),
    ...rest,
    ...(iceServers.length > 0 ? { iceServers } : {}),
  };
  return `${JSON.stringify(served, null, 2)}\n`;
}

/** A connect-style request handler, as the signaling server takes for the app. */
export type Middleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/** `devnetMiddleware` for a profile alone. */
export function devnetProfileMiddleware(profile: ConsensusProfile, devnetFile: string): Middleware {
  return devnetMiddleware({ profile }, devnetFile);
}

/**
 * A middleware that answers `GET|HEAD /devnet.json` with the devnet config under `override`,
 * read from `devnetFile` at each request (a regenerated key shows at the next reload, as a
 * static file would), and hands every other request, or a missing or broken file, to `next`.
 */
export function devnetMiddleware(override: DevnetOverride, devnetFile: string): Middleware {
  return (req, res, next) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/devnet.json' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      next();
      return;
    }
    readFile(devnetFile, 'utf8').then(
      (text) => {
        const body = devnetJsonWith(text, override);
        if (body === null) {
          next();
          return;
        }
        res.statusCode = 200;
        res.setHeader('Content-Type', 'application/json; charset=utf-8');
        res.setHeader('Cache-Control', 'no-store');
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      () => next(),
    );
  };
}
