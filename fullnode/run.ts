import { mkdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import WebSocket from 'ws';
import { networkIdOf } from '../src/core/config';
import { err, ok, type Result } from '../src/core/result';
import { createCryptoProvider, MAX_PEM_LENGTH } from '../src/crypto';
import type { CryptoProvider, KeyPair } from '../src/crypto/types';
import { SimplePeerTransport } from '../src/net/simple-peer';
import { type NodeLogEvent, type NodeSnapshot, TabchainNode } from '../src/node/node';
import { openLevelStore } from '../src/storage/level';
import { type ApiServer, createApiServer } from './api';
import type { NodeArgs } from './args';
import { type NetworkConfig, resolveNetworkConfig } from './genesis';
import { type BarOutput, SyncProgressBar } from './progress';
import type { Wrtc } from './wrtc';

/*
 * The always-on node's composition root: the same `TabchainNode` as a tab, over Node's ports:
 * simple-peer over `@roamhq/wrtc` in the tabs' signaling room, WebCrypto from Node, the LevelDB
 * store in `--data`, the key from `--key`, and the reference's HTTP API in front.
 */

/** Where the node writes: `out` for the one line scripts read, `err` for everything a person reads. */
export interface NodeOutput {
  out(line: string): void;
  err(line: string): void;
  /** stderr itself, for the sync progress bar (redrawn in place on a terminal). */
  readonly bar: BarOutput;
}

/** What starting a node takes besides the command line. */
export interface FullNodeDeps {
  readonly wrtc: Wrtc;
  readonly output: NodeOutput;
  /** The repository's public/devnet.json: the network when neither --genesis nor the server names one. */
  readonly fallbackNetworkFile: string;
  /** Relative --data paths and the default data folder resolve against this. */
  readonly cwd: string;
  /** Stops a start under way (SIGINT while waiting): the start stops what it began and fails. */
  readonly signal?: AbortSignal;
  readonly crypto?: CryptoProvider;
}

/** A started node, its API and where it keeps its chain. */
export interface RunningFullNode {
  readonly node: TabchainNode;
  readonly network: NetworkConfig;
  readonly apiUrl: string;
  readonly dataDir: string;
  /** Stops the API, then the node (its transport and timers), then closes the store. Idempotent. */
  stop(): Promise<void>;
}

/** The line printed once the API answers; scripts (npm start, the tests) wait for it. */
export const READY_LINE_PREFIX = 'tabchain node: api ';

/** The default data folder of a network: one per genesis config, so two networks' chains never mix. */
export function defaultDataDir(cwd: string, network: NetworkConfig): string {
  return join(cwd, 'tabchain-data', networkIdOf(network.genesis).slice(0, 16));
}

/** Reads the PEM at `path` and imports it as the key to forge with. */
export async function readForgingKey(path: string, crypto: CryptoProvider): Promise<Result<KeyPair, string>> {
  let pem: string;
  try {
    const { size } = await stat(path);
    if (size > MAX_PEM_LENGTH) return err(`--key ${path}: ${size} bytes is too large for an RSA key PEM`);
    pem = await readFile(path, 'utf8');
  } catch (error) {
    return err(`--key ${path}: ${(error as Error).message}`);
  }
  try {
    return ok(await crypto.importPrivateKeyPem(pem));
  } catch (error) {
    return err(`--key ${path} is not an RSA private key PEM: ${(error as Error).message}`);
  }
}

/** A short name for a public key in log lines: its base64 body's last characters before the exponent. */
export function keyLabel(publicKeyPem: string): string {
  const body = publicKeyPem.replace(/-----[^-]+-----|\s/g, '');
  return `…${body.slice(-20, -8)}`;
}

const LOGGED_KINDS: ReadonlySet<NodeLogEvent['kind']> = new Set([
  'ban',
  'sync',
  'reorg',
  'forge',
  'equivocation',
  'store',
  'error',
]);

/** Waits until the node has restored its store and runs (phase ready or connected), or fails. */
function whenRunning(node: TabchainNode, started: Promise<void>): Promise<void> {
  return new Promise<void>((resolvePromise, reject) => {
    const check = (): boolean => {
      const { phase } = node.getSnapshot();
      if (phase !== 'ready' && phase !== 'connected') return false;
      unsubscribe();
      resolvePromise();
      return true;
    };
    const unsubscribe = node.subscribe(() => void check());
    started.catch((error: unknown) => {
      unsubscribe();
      reject(error);
    });
    check();
  });
}

/** Starts an always-on node; an error is a sentence for the user (the node is not left running). */
export async function startFullNode(
  args: NodeArgs,
  deps: FullNodeDeps,
): Promise<Result<RunningFullNode, string>> {
  const { output } = deps;
  const network = await resolveNetworkConfig({
    genesisFile: args.genesisFile,
    signalingUrl: args.signalingUrl,
    fallbackFile: deps.fallbackNetworkFile,
  });
  if (!network.ok) return network;
  if (network.value.notice) output.err(`tabchain node: ${network.value.notice}`);
  const crypto = deps.crypto ?? createCryptoProvider();

  let wallet: KeyPair | null = null;
  if (args.keyFile !== undefined) {
    const key = await readForgingKey(args.keyFile, crypto);
    if (!key.ok) return key;
    wallet = key.value;
  }

  const dataDir = args.dataDir ? resolve(deps.cwd, args.dataDir) : defaultDataDir(deps.cwd, network.value);
  let store: Awaited<ReturnType<typeof openLevelStore>>;
  try {
    await mkdir(dataDir, { recursive: true });
    store = await openLevelStore(dataDir);
  } catch (error) {
    return err((error as Error).message);
  }

  const transport = new SimplePeerTransport({
    serverUrl: args.signalingUrl,
    room: network.value.network,
    // A devnet's peers share a machine or a LAN: no public STUN/TURN hosts (see src/net/channel.ts).
    iceServers: [],
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
    wrtc: deps.wrtc,
  });
  const node = new TabchainNode({
    genesis: network.value.genesis,
    transport,
    crypto,
    store,
    wallet,
    // No tab locks here: the node forges with its key from the start. It says it is always-on:
    // tabs rank it above browser peers, and a tab holding the same key yields to it until its
    // user takes over (see `forgingNow` in src/node/node.ts).
    forging: true,
    alwaysOn: true,
    log: (event) => {
      if (LOGGED_KINDS.has(event.kind))
        output.err(`tabchain node: ${event.kind}: ${event.message}${event.peer ? ` (${event.peer})` : ''}`);
    },
  });

  const bar = new SyncProgressBar(output.bar);
  let last: NodeSnapshot | null = null;
  const unsubscribe = node.subscribe(() => {
    const snapshot = node.getSnapshot();
    bar.update(snapshot.sync);
    if (last && snapshot.transport.signaling !== last.transport.signaling) {
      output.err(`tabchain node: signaling server ${args.signalingUrl} is ${snapshot.transport.signaling}`);
    }
    if (snapshot.phase === 'connected' && last?.phase !== 'connected') {
      output.err(
        `tabchain node: joined room ${network.value.network} at ${args.signalingUrl} as ${snapshot.nodeId}`,
      );
    }
    last = snapshot;
  });

  let api: ApiServer | null = null;
  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      unsubscribe();
      bar.update(null);
      await api?.stop();
      // Stops the transport and timers, waits for queued work, and closes the store it was given.
      await node.stop();
      // The node drops a store that failed without closing it: close it here (a no-op when closed).
      await store.close().catch(() => {});
    })();
    return stopped;
  };
  try {
    // No signal for the node itself: a stop goes through `stop` alone, which stops the API first
    // and closes the store only after the node has finished its queued writes.
    const started = node.start();
    // The API answers once the chain is restored; joining the signaling room may take longer
    // (the server may be down: the transport keeps retrying, as a tab's does).
    await whenRunning(node, started);
    started.catch((error: unknown) => output.err(`tabchain node: the transport stopped: ${String(error)}`));
    if (deps.signal?.aborted) throw new Error('stopped while starting');
    api = createApiServer({
      node,
      host: args.apiHost,
      port: args.apiPort,
      profile: network.value.genesis.profile ?? 'reference',
    });
    const address = await api.start();
    const snapshot = node.getSnapshot();
    output.err(
      `tabchain node: network ${network.value.network} (${network.value.source}), chain in ${dataDir}, ` +
        `height ${snapshot.height}, ${wallet ? `forging as ${keyLabel(wallet.publicKeyPem)}` : 'no key: not forging'}`,
    );
    output.out(`${READY_LINE_PREFIX}${address.url}`);
    return ok({ node, network: network.value, apiUrl: address.url, dataDir, stop });
  } catch (error) {
    await stop();
    const message = (error as Error).message ?? String(error);
    const taken = (error as { code?: string }).code === 'EADDRINUSE';
    return err(
      taken
        ? `the API port ${args.apiHost}:${args.apiPort} is taken (another node? pick one with --api-port)`
        : `could not start: ${message}`,
    );
  }
}
