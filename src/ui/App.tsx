import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { useEffect, useState } from 'react';
import { blockHash, GENESIS_BLOCK } from '../core/block';

/** What `public/devnet.json` holds (written by `npm run devnet-keys`); the shell reads only these fields. */
interface DevnetConfig {
  readonly network: string;
  readonly warning?: string;
  readonly genesisPublicKey: string;
}

type DevnetState =
  | { readonly status: 'loading' }
  | { readonly status: 'error'; readonly message: string; readonly missing: boolean }
  | { readonly status: 'ready'; readonly config: DevnetConfig };

const DEVNET_URL = `${import.meta.env.BASE_URL}devnet.json`;

/** The file is absent (not merely broken): the page explains how to create it. */
class MissingDevnetError extends Error {}

/** The genesis block is fixed for every network; its hash is block 1's `lastHash`. */
const GENESIS_HASH = blockHash(GENESIS_BLOCK);

/** A short, stable name for a key: the first 16 hex digits of SHA-256 of its PEM text. */
function keyFingerprint(pem: string): string {
  return bytesToHex(sha256(utf8ToBytes(pem))).slice(0, 16);
}

function parseDevnet(value: unknown): DevnetConfig {
  if (typeof value !== 'object' || value === null) throw new Error('devnet.json is not a JSON object.');
  const { network, warning, genesisPublicKey } = value as Record<string, unknown>;
  if (typeof network !== 'string' || network === '') throw new Error('devnet.json has no "network" name.');
  if (typeof genesisPublicKey !== 'string' || !genesisPublicKey.includes('BEGIN PUBLIC KEY')) {
    throw new Error('devnet.json has no "genesisPublicKey" PEM.');
  }
  return { network, genesisPublicKey, ...(typeof warning === 'string' ? { warning } : {}) };
}

async function loadDevnet(signal: AbortSignal): Promise<DevnetConfig> {
  const response = await fetch(DEVNET_URL, { signal, cache: 'no-store' });
  // Vite answers an unknown path with index.html (SPA fallback), so a missing file is a 200 of HTML.
  const isJson = (response.headers.get('content-type') ?? '').includes('json');
  if (!response.ok || !isJson) {
    throw new MissingDevnetError(`No network configuration at ${DEVNET_URL}.`);
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    throw new Error(`${DEVNET_URL} is not valid JSON.`);
  }
  return parseDevnet(body);
}

function useDevnet(): DevnetState {
  const [state, setState] = useState<DevnetState>({ status: 'loading' });
  useEffect(() => {
    const controller = new AbortController();
    loadDevnet(controller.signal).then(
      (config) => setState({ status: 'ready', config }),
      (error: unknown) => {
        if (controller.signal.aborted) return;
        const message = error instanceof Error ? error.message : String(error);
        setState({ status: 'error', message, missing: error instanceof MissingDevnetError });
      },
    );
    return () => controller.abort();
  }, []);
  return state;
}

function NetworkPanel({ state }: { readonly state: DevnetState }) {
  if (state.status === 'loading') {
    return (
      <section className="card" aria-busy="true" data-testid="devnet-loading">
        <h2>Network</h2>
        <p className="muted">Loading the network configuration…</p>
      </section>
    );
  }
  if (state.status === 'error') {
    return (
      <section className="card card-error" role="alert" data-testid="devnet-error">
        <h2>Network configuration unavailable</h2>
        <p>{state.message}</p>
        {state.missing ? (
          <p>
            Create <code>public/devnet.json</code> with <code>npm run devnet-keys</code>, then reload.
          </p>
        ) : null}
      </section>
    );
  }
  const { config } = state;
  return (
    <section className="card" aria-labelledby="network-heading">
      <h2 id="network-heading">Network</h2>
      {config.warning ? (
        <p className="notice" data-testid="devnet-warning">
          {config.warning}
        </p>
      ) : null}
      <dl className="fields">
        <dt>Name</dt>
        <dd data-testid="network-name">{config.network}</dd>
        <dt>Genesis staker key</dt>
        <dd>
          <code data-testid="genesis-key-fingerprint">{keyFingerprint(config.genesisPublicKey)}</code>
          <span className="muted"> (SHA-256 of the PEM, first 16 hex digits)</span>
        </dd>
      </dl>
      <details>
        <summary>Genesis public key (PEM)</summary>
        <pre className="pem" data-testid="genesis-public-key">
          {config.genesisPublicKey}
        </pre>
      </details>
    </section>
  );
}

function GenesisBlockPanel() {
  const block = GENESIS_BLOCK;
  return (
    <section className="card" aria-labelledby="genesis-heading">
      <h2 id="genesis-heading">Genesis block</h2>
      <dl className="fields">
        <dt>Hash</dt>
        <dd>
          <code className="hash" data-testid="genesis-hash">
            {GENESIS_HASH}
          </code>
        </dd>
        <dt>Block count</dt>
        <dd data-testid="genesis-block-count">{String(block.blockCount)}</dd>
        <dt>Last hash</dt>
        <dd>
          <code>{block.lastHash}</code>
        </dd>
        <dt>Forger</dt>
        <dd>
          <code>{block.forger}</code>
        </dd>
        <dt>Timestamp</dt>
        <dd>{String(block.timestamp)}</dd>
        <dt>Signature</dt>
        <dd>
          <code>{block.signature === '' ? '""' : block.signature}</code>
        </dd>
        <dt>Transactions</dt>
        <dd>{String(block.transactions.length)}</dd>
      </dl>
    </section>
  );
}

export function App() {
  const state = useDevnet();
  return (
    <div className="app">
      <header className="app-header">
        <h1>tabchain</h1>
        <p className="tagline">A proof-of-stake blockchain where every browser tab is a full node.</p>
      </header>
      <main className="app-main">
        <NetworkPanel state={state} />
        <GenesisBlockPanel />
      </main>
    </div>
  );
}
