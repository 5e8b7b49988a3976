/**
 * `npm run verify-chain -- FILE [--genesis CONFIG_FILE | --genesis-key PEM_FILE]`: validates a
 * chain in the shape of the reference's `GET /blockchain` and prints one line of JSON. Exit 0
 * valid, 1 invalid, 2 unusable input (with a message on stderr).
 *
 * The network's genesis config comes from `--genesis`, a JSON file
 * `{"profile"?: "reference" | "resilient", "genesisPublicKey": PEM, "maxTotalStake"?: N}`;
 * else it is the reference profile with the key of `--genesis-key` (the devnet's by default).
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CONSENSUS_PROFILES,
  decodeChainEnvelope,
  type GenesisConfig,
  genesisConfigSchema,
  nextForgerOf,
  parseJson,
  stateToJSON,
  validateChain,
} from '../src/core';
import { canonicalPublicKeyPem, createCryptoProvider } from '../src/crypto';

/** The devnet's genesis key, used when `--genesis-key` is not given. */
export const DEFAULT_GENESIS_KEY = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'public',
  'keys',
  'genesisPublicKey.pem',
);

/** Chain files larger than this are refused rather than read into memory. */
const MAX_CHAIN_FILE_BYTES = 512 * 1024 * 1024;

/** A genesis key or genesis config file is a few hundred bytes; anything past this is not one. */
const MAX_GENESIS_FILE_BYTES = 64 * 1024;

const USAGE = 'usage: npm run verify-chain -- FILE [--genesis CONFIG_FILE | --genesis-key PEM_FILE]';

/** Where the command writes; injectable for tests. */
export interface CommandIO {
  out(line: string): void;
  err(line: string): void;
}

class UsageError extends Error {}

/** Where the genesis config comes from: a config file, or the reference profile with a key file. */
type GenesisSource = { readonly configFile: string } | { readonly keyFile: string };

function parseArgs(args: readonly string[]): { file: string; genesis: GenesisSource } {
  let file: string | undefined;
  let genesisKeyFile: string | undefined;
  let genesisFile: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--genesis-key') {
      const value = args[++i];
      if (value === undefined) throw new UsageError('--genesis-key needs a PEM file');
      genesisKeyFile = value;
    } else if (arg.startsWith('--genesis-key=')) {
      genesisKeyFile = arg.slice('--genesis-key='.length);
    } else if (arg === '--genesis') {
      const value = args[++i];
      if (value === undefined) throw new UsageError('--genesis needs a genesis config file (JSON)');
      genesisFile = value;
    } else if (arg.startsWith('--genesis=')) {
      genesisFile = arg.slice('--genesis='.length);
    } else if (arg === '--help' || arg === '-h') {
      throw new UsageError(USAGE);
    } else if (arg.startsWith('-')) {
      throw new UsageError(`unknown option ${arg}`);
    } else if (file === undefined) {
      file = arg;
    } else {
      throw new UsageError('only one chain file at a time');
    }
  }
  if (file === undefined) throw new UsageError('no chain file given');
  if (genesisFile !== undefined && genesisKeyFile !== undefined)
    throw new UsageError('give --genesis or --genesis-key, not both (a genesis config names its key)');
  return {
    file,
    genesis:
      genesisFile !== undefined
        ? { configFile: genesisFile }
        : { keyFile: genesisKeyFile ?? DEFAULT_GENESIS_KEY },
  };
}

async function readText(path: string, what: string, maxBytes = MAX_CHAIN_FILE_BYTES): Promise<string> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    throw new UsageError(`cannot read ${what} ${path}: no such file`);
  }
  if (size > maxBytes) throw new UsageError(`${what} ${path} is larger than ${maxBytes} bytes`);
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${what} ${path}: ${(error as Error).message}`);
  }
}

/** A PEM public key in its canonical form, or a usage error naming `where`. */
function canonicalKey(pem: string, where: string): string {
  try {
    return canonicalPublicKeyPem(pem);
  } catch (error) {
    throw new UsageError(`${where}: ${(error as Error).message}`);
  }
}

/** Reads and decodes a `--genesis` file: the genesis config, or a usage error that says what is wrong. */
async function readGenesisConfig(path: string): Promise<GenesisConfig> {
  const text = await readText(path, 'genesis config', MAX_GENESIS_FILE_BYTES);
  let value: unknown;
  try {
    // Plain JSON.parse: a config holds no float the reference wrote, and a number past 2^53 is refused below.
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`genesis config ${path} is not JSON: ${(error as Error).message}`);
  }
  // A `--genesis` file is a genesis config, no other field (the core's one schema).
  const decoded = genesisConfigSchema.safeParse(value);
  if (!decoded.success) {
    const issue = decoded.error.issues[0];
    const field = issue?.path.length ? `"${issue.path.join('.')}"` : 'the file';
    throw new UsageError(
      `genesis config ${path}: ${field}: ${issue?.message ?? 'invalid'} (expected {"profile"?: ${CONSENSUS_PROFILES.map((name) => `"${name}"`).join(' | ')}, "genesisPublicKey": PEM, "maxTotalStake"?: whole number})`,
    );
  }
  const { profile, genesisPublicKey, maxTotalStake } = decoded.data;
  return {
    ...(profile === undefined ? {} : { profile }),
    genesisPublicKey: canonicalKey(genesisPublicKey, `genesis config ${path}: "genesisPublicKey"`),
    ...(maxTotalStake === undefined ? {} : { maxTotalStake }),
  };
}

/** The genesis config from its source (see `parseArgs`). */
async function readGenesis(source: GenesisSource): Promise<GenesisConfig> {
  if ('configFile' in source) return readGenesisConfig(source.configFile);
  const pem = await readText(source.keyFile, 'genesis key', MAX_GENESIS_FILE_BYTES);
  return { genesisPublicKey: canonicalKey(pem, `genesis key ${source.keyFile}`) };
}

/** Runs the command; returns the exit code. */
export async function verifyChainMain(args: readonly string[], io: CommandIO): Promise<number> {
  try {
    const { file, genesis } = parseArgs(args);
    const text = await readText(file, 'chain file');
    // Lossless: a whole-number float such as 1795670516.0 stays a float and hashes as the reference's.
    const json = parseJson(text);
    if (!json.ok) throw new UsageError(`${file} is not JSON: ${json.error}`);
    const envelope = decodeChainEnvelope(json.value);
    if (!envelope.ok) throw new UsageError(`${file}: ${envelope.error}`);
    if (envelope.value.length === 0)
      throw new UsageError(`${file}: the chain has no blocks, not even genesis`);
    const config = await readGenesis(genesis);

    const result = await validateChain(envelope.value, config, createCryptoProvider());
    const { balances, stakes } = stateToJSON(result.state);
    const report = {
      valid: result.valid,
      height: result.height,
      head: result.height > 0 ? result.state.headHash : null,
      firstInvalidBlock: result.firstInvalid,
      error: result.error ? { code: result.error.code, message: result.error.message } : null,
      balances,
      stakes,
      nextForger: result.height > 0 ? nextForgerOf(result.state) : null,
    };
    io.out(JSON.stringify(report));
    return result.valid ? 0 : 1;
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`verify-chain: ${error.message}`);
      if (!error.message.startsWith('usage:')) io.err(USAGE);
      return 2;
    }
    throw error;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  verifyChainMain(process.argv.slice(2), {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`verify-chain: internal error: ${String(error)}\n`);
      process.exitCode = 3;
    },
  );
}
