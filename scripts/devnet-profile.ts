/**
 * `npm start -- --profile NAME`: which consensus profile the devnet runs (docs/consensus-resilient.md).
 * The profile lives in the genesis config, which the tab reads from `/devnet.json`; a devnet on
 * a profile other than `reference` serves `public/devnet.json` with `"profile"` set and its own
 * network name (the signaling room), so tabs of two profiles never even meet to be refused.
 * `public/devnet.json` itself stays the reference devnet's: the override is a middleware.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
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

/**
 * `public/devnet.json`'s content for a devnet on `profile`: unchanged on `reference`; else with
 * `"profile"` set (right after `"network"`) and the network renamed. Null when the file's text
 * is not a JSON object with a string `network` (the tab then reports the file as broken itself).
 */
export function devnetJsonFor(text: string, profile: ConsensusProfile): string | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const { network, profile: _ignored, ...rest } = value as Record<string, unknown>;
  if (typeof network !== 'string') return null;
  if (profile === 'reference') return text;
  return `${JSON.stringify({ network: networkNameFor(network, profile), profile, ...rest }, null, 2)}\n`;
}

/** A connect-style request handler, as the signaling server takes for the app. */
export type Middleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/**
 * A middleware that answers `GET|HEAD /devnet.json` with the profile's devnet config, read from
 * `devnetFile` at each request (a regenerated key shows at the next reload, as a static file
 * would), and hands every other request, or a missing or broken file, to `next`.
 */
export function devnetProfileMiddleware(profile: ConsensusProfile, devnetFile: string): Middleware {
  return (req, res, next) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/devnet.json' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      next();
      return;
    }
    readFile(devnetFile, 'utf8').then(
      (text) => {
        const body = devnetJsonFor(text, profile);
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
