/**
 * `npm run verify-chain -- FILE [--genesis-key PEM_FILE]`: validates a chain in the shape of the
 * reference's `GET /blockchain` and prints one line of JSON. Exit 0 valid, 1 invalid, 2 unusable
 * input (with a message on stderr).
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeChainEnvelope, nextForgerOf, parseJson, stateToJSON, validateChain } from '../src/core';
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

const USAGE = 'usage: npm run verify-chain -- FILE [--genesis-key PEM_FILE]';

/** Where the command writes; injectable for tests. */
export interface CommandIO {
  out(line: string): void;
  err(line: string): void;
}

class UsageError extends Error {}

function parseArgs(args: readonly string[]): { file: string; genesisKeyFile: string } {
  let file: string | undefined;
  let genesisKeyFile = DEFAULT_GENESIS_KEY;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--genesis-key') {
      const value = args[++i];
      if (value === undefined) throw new UsageError('--genesis-key needs a PEM file');
      genesisKeyFile = value;
    } else if (arg.startsWith('--genesis-key=')) {
      genesisKeyFile = arg.slice('--genesis-key='.length);
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
  return { file, genesisKeyFile };
}

async function readText(path: string, what: string): Promise<string> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    throw new UsageError(`cannot read ${what} ${path}: no such file`);
  }
  if (size > MAX_CHAIN_FILE_BYTES)
    throw new UsageError(`${what} ${path} is larger than ${MAX_CHAIN_FILE_BYTES} bytes`);
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${what} ${path}: ${(error as Error).message}`);
  }
}

/** Runs the command; returns the exit code. */
export async function verifyChainMain(args: readonly string[], io: CommandIO): Promise<number> {
  try {
    const { file, genesisKeyFile } = parseArgs(args);
    const text = await readText(file, 'chain file');
    // Lossless: a whole-number float such as 1795670516.0 stays a float and hashes as the reference's.
    const json = parseJson(text);
    if (!json.ok) throw new UsageError(`${file} is not JSON: ${json.error}`);
    const envelope = decodeChainEnvelope(json.value);
    if (!envelope.ok) throw new UsageError(`${file}: ${envelope.error}`);
    if (envelope.value.length === 0)
      throw new UsageError(`${file}: the chain has no blocks, not even genesis`);
    let genesisPublicKey: string;
    try {
      genesisPublicKey = canonicalPublicKeyPem(await readText(genesisKeyFile, 'genesis key'));
    } catch (error) {
      if (error instanceof UsageError) throw error;
      throw new UsageError(`genesis key ${genesisKeyFile}: ${(error as Error).message}`);
    }

    const result = await validateChain(envelope.value, { genesisPublicKey }, createCryptoProvider());
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
