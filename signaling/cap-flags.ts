/**
 * The connection-cap settings, shared by `signaling/cli.ts` and `npm start` (scripts/start.mjs):
 *   --max-per-address N   (TABCHAIN_MAX_PER_ADDRESS)  sockets per client address; default 64
 *   --max-per-room N      (TABCHAIN_MAX_PER_ROOM)     peers per room; default and most 256
 *   --trust-proxy LIST    (TABCHAIN_TRUST_PROXY)      proxies whose X-Forwarded-For names the
 *                         client: `loopback`, `uniquelocal`, addresses, CIDRs, comma-separated
 * Flags win over the environment.
 */
import type { ParseArgsConfig } from 'node:util';
import { z } from 'zod';
import { MAX_ROOM_PEERS } from '../src/net/signaling-protocol';
import type { SignalingServerOptions } from './server';

/** `parseArgs` options for the cap flags. */
export const CAP_FLAGS = {
  'max-per-address': { type: 'string' },
  'max-per-room': { type: 'string' },
  'trust-proxy': { type: 'string' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

/** The cap flags' values as `parseArgs` returns them. */
export type CapFlagValues = { readonly [flag in keyof typeof CAP_FLAGS]?: string | boolean };

const count = z
  .string()
  .regex(/^\d{1,7}$/, 'a positive decimal integer')
  .transform(Number)
  .refine((value) => value >= 1, 'at least 1');

const capsSchema = z.strictObject({
  maxPerAddress: count.optional(),
  maxPerRoom: count.refine((value) => value <= MAX_ROOM_PEERS, `at most ${MAX_ROOM_PEERS}`).optional(),
  trustProxy: z
    .string()
    .max(4096)
    .transform((list) =>
      list
        .split(',')
        .map((entry) => entry.trim())
        .filter((entry) => entry !== ''),
    )
    .optional(),
});

/** The server options the cap settings give. */
export type SignalingCaps = Pick<SignalingServerOptions, 'maxPerAddress' | 'maxPerRoom' | 'trustProxy'>;

/** The server options the cap settings give; throws a readable error on a bad value. */
export function readCapFlags(
  values: CapFlagValues,
  env: Readonly<Record<string, string | undefined>>,
): SignalingCaps {
  const pick = (flag: keyof typeof CAP_FLAGS, variable: string) => {
    const value = values[flag];
    return typeof value === 'string' ? value : env[variable] || undefined;
  };
  const parsed = capsSchema.safeParse({
    maxPerAddress: pick('max-per-address', 'TABCHAIN_MAX_PER_ADDRESS'),
    maxPerRoom: pick('max-per-room', 'TABCHAIN_MAX_PER_ROOM'),
    trustProxy: pick('trust-proxy', 'TABCHAIN_TRUST_PROXY'),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const flag = String(issue?.path[0] ?? 'caps').replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
    throw new Error(`--${flag}: ${issue?.message ?? 'invalid'}`);
  }
  const { maxPerAddress, maxPerRoom, trustProxy } = parsed.data;
  return {
    ...(maxPerAddress === undefined ? {} : { maxPerAddress }),
    ...(maxPerRoom === undefined ? {} : { maxPerRoom }),
    ...(trustProxy === undefined || trustProxy.length === 0 ? {} : { trustProxy }),
  };
}
