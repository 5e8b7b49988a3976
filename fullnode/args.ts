import { parseArgs } from 'node:util';
import { err, ok, type Result } from '../src/core/result';

/*
 * `npm run node -- [--signaling URL] [--key PEM_FILE] [--api-port N] [--api-host HOST]
 * [--data DIR] [--genesis FILE]`: the always-on node's command line, read by `node:util`'s
 * parseArgs and checked here.
 */

/** Where `npm start` serves the devnet and its signaling server by default. */
export const DEFAULT_SIGNALING_URL = 'http://127.0.0.1:5173/';
/** The reference's first node's API port (`Main.py localhost 10001 5000`). */
export const DEFAULT_API_PORT = 5000;
/** The API listens on this machine only unless told otherwise. */
export const DEFAULT_API_HOST = '127.0.0.1';

export const USAGE = `usage: npm run node -- [options]
  --signaling URL   the devnet's signaling server (default ${DEFAULT_SIGNALING_URL})
  --key PEM_FILE    the private key to forge with (PKCS#1 or PKCS#8 PEM), as Main.py's KEY_FILE
  --api-port N      the HTTP API's port (default ${DEFAULT_API_PORT}; 0 picks a free one)
  --api-host HOST   the HTTP API's address (default ${DEFAULT_API_HOST})
  --data DIR        where the chain is kept (default ./tabchain-data/<network id>)
  --genesis FILE    the network's genesis config (JSON: {profile?, genesisPublicKey, maxTotalStake?});
                    default: the signaling server's devnet.json, else public/devnet.json`;

/** What the command line asks for. */
export interface NodeArgs {
  readonly signalingUrl: string;
  readonly keyFile: string | undefined;
  readonly apiPort: number;
  readonly apiHost: string;
  readonly dataDir: string | undefined;
  readonly genesisFile: string | undefined;
  readonly help: boolean;
}

const OPTIONS = {
  signaling: { type: 'string' },
  key: { type: 'string' },
  'api-port': { type: 'string' },
  'api-host': { type: 'string' },
  data: { type: 'string' },
  genesis: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Reads the command line (without `node` and the script); an error is a sentence for the user. */
export function parseNodeArgs(argv: readonly string[]): Result<NodeArgs, string> {
  let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; strict: true }>>['values'];
  try {
    ({ values } = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (error) {
    return err((error as Error).message);
  }
  const signalingUrl = values.signaling ?? DEFAULT_SIGNALING_URL;
  let parsedUrl: URL;
  try {
    parsedUrl = new URL(signalingUrl);
  } catch {
    return err(`--signaling must be an http(s) URL, not ${JSON.stringify(signalingUrl)}`);
  }
  if (parsedUrl.protocol !== 'http:' && parsedUrl.protocol !== 'https:')
    return err(`--signaling must be an http(s) URL, not ${JSON.stringify(signalingUrl)}`);
  const portText = values['api-port'];
  const apiPort = portText === undefined ? DEFAULT_API_PORT : Number(portText);
  if (portText !== undefined && (!/^\d+$/.test(portText) || apiPort > 65535))
    return err(`--api-port must be a whole number 0..65535, not ${JSON.stringify(portText)}`);
  for (const name of ['key', 'data', 'genesis', 'api-host'] as const) {
    if (values[name] === '') return err(`--${name} needs a value`);
  }
  return ok({
    // A base URL: devnet.json and the WebSocket resolve against its root.
    signalingUrl: new URL('/', parsedUrl).toString(),
    keyFile: values.key,
    apiPort,
    apiHost: values['api-host'] ?? DEFAULT_API_HOST,
    dataDir: values.data,
    genesisFile: values.genesis,
    help: values.help ?? false,
  });
}
