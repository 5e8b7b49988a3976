/**
 * `tsx signaling/cli.ts [--host H] [--port P] [--origins a,b] [--static DIR] [--heartbeat MS]
 *   [--max-per-address N] [--max-per-room N] [--trust-proxy LIST]`:
 * runs the signaling server (and the PeerJS server beside it; with `--static`, the built app too).
 * Environment: TABCHAIN_HOST, TABCHAIN_PORT, TABCHAIN_ORIGINS, TABCHAIN_STATIC, and those of the
 * cap flags (signaling/cap-flags.ts); flags win.
 * Prints `tabchain signaling: ws://HOST:PORT/` once it listens.
 */
import process from 'node:process';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { CAP_FLAGS, readCapFlags, type SignalingCaps } from './cap-flags';
import { createSignalingServer } from './server';

const DEFAULT_PORT = 8787;

const configSchema = z.strictObject({
  host: z.string().min(1).max(255).default('127.0.0.1'),
  port: z
    .string()
    .regex(/^\d{1,5}$/, 'a decimal integer')
    .transform(Number)
    .refine((port) => port <= 65535, 'at most 65535')
    .default(DEFAULT_PORT),
  origins: z
    .string()
    .max(4096)
    .transform((list) =>
      list
        .split(',')
        .map((origin) => origin.trim())
        .filter((origin) => origin !== ''),
    )
    .default([]),
  static: z.string().min(1).max(4096).optional(),
  heartbeat: z
    .string()
    .regex(/^\d{1,7}$/, 'milliseconds')
    .transform(Number)
    .refine((ms) => ms >= 100, 'at least 100 ms')
    .optional(),
});

/** Reads the configuration from flags, then the environment. */
function readConfig(): z.infer<typeof configSchema> & { readonly caps: SignalingCaps } {
  const { values } = parseArgs({
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      origins: { type: 'string' },
      static: { type: 'string' },
      heartbeat: { type: 'string' },
      ...CAP_FLAGS,
    },
    strict: true,
  });
  const env = process.env;
  const raw = {
    host: values.host ?? (env.TABCHAIN_HOST || undefined),
    port: values.port ?? (env.TABCHAIN_PORT || undefined),
    origins: values.origins ?? (env.TABCHAIN_ORIGINS || undefined),
    static: values.static ?? (env.TABCHAIN_STATIC || undefined),
    heartbeat: values.heartbeat,
  };
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${issue?.path.join('.') ?? 'config'}: ${issue?.message ?? 'invalid'}`);
  }
  return { ...parsed.data, caps: readCapFlags(values, env) };
}

async function main(): Promise<void> {
  const config = readConfig();
  const server = createSignalingServer({
    host: config.host,
    port: config.port,
    origins: config.origins,
    ...(config.static === undefined ? {} : { serveStatic: config.static }),
    ...(config.heartbeat === undefined ? {} : { heartbeatMs: config.heartbeat }),
    ...config.caps,
    log: (line) => console.error(line),
  });
  const { url, port } = await server.start();
  console.log(`tabchain signaling: ${url}`);
  if (config.static !== undefined) {
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    console.log(`tabchain app: http://${host}:${port}/`);
  }
  let stopping = false;
  const stop = async () => {
    // A second Ctrl-C while closing: give up waiting.
    if (stopping) process.exit(130);
    stopping = true;
    await server.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((error: unknown) => {
  console.error(`tabchain signaling: could not start: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
});
