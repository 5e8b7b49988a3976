import { blockHash, GENESIS_BLOCK } from '../../core/block';
import { pythonTimestamp } from '../../core/canonical-json';
import { networkIdOf, profileOf } from '../../core/config';
import { genesisConfigOf } from '../bootstrap';
import type { DevnetConfig } from '../decoders';
import { FINGERPRINT_LENGTH, fingerprint } from '../format';

/** The genesis block is fixed for every network; its hash is block 1's `lastHash`. */
export const GENESIS_HASH = blockHash(GENESIS_BLOCK);

/** Hex digits of the network id the page shows (as many as name the network's stored data). */
const NETWORK_ID_SHOWN = 16;

/** The network this page joined: its name, warning, consensus profile, network id and genesis staker key. */
export function DevnetCard({ devnet }: { readonly devnet: DevnetConfig }) {
  const genesis = genesisConfigOf(devnet);
  const profile = profileOf(genesis);
  const networkId = networkIdOf(genesis);
  return (
    <section className="card" aria-labelledby="network-heading">
      <h2 id="network-heading">Network</h2>
      {devnet.warning ? (
        <p className="notice" data-testid="devnet-warning">
          {devnet.warning}
        </p>
      ) : null}
      <dl className="fields">
        <dt>Name</dt>
        <dd data-testid="network-name">{devnet.network}</dd>
        <dt>Consensus</dt>
        <dd data-testid="network-profile" data-value={profile}>
          profile: {profile}
          <span className="muted">
            {profile === 'resilient'
              ? ' (ranked forgers with fallback slots, an unbiasable seed, a bound on reorganisations)'
              : ' (the reference: one lottery winner forges each block)'}
          </span>
        </dd>
        <dt>Network id</dt>
        <dd>
          <code data-testid="network-id" data-value={networkId}>
            {networkId.slice(0, NETWORK_ID_SHOWN)}
          </code>
          <span className="muted">
            {' '}
            (a digest of the genesis config: a tab of another profile or genesis key is on another network)
          </span>
        </dd>
        <dt>Genesis staker key</dt>
        <dd>
          <code data-testid="genesis-key-fingerprint">{fingerprint(devnet.genesisPublicKey)}</code>
          <span className="muted"> (SHA-256 of the PEM, first {FINGERPRINT_LENGTH} hex digits)</span>
        </dd>
      </dl>
      <details>
        <summary>Genesis public key (PEM)</summary>
        <pre className="pem" data-testid="genesis-public-key">
          {devnet.genesisPublicKey}
        </pre>
      </details>
    </section>
  );
}

/** The genesis block, the same on every network. */
export function GenesisCard() {
  const block = GENESIS_BLOCK;
  return (
    <section className="card" aria-labelledby="genesis-heading">
      <h2 id="genesis-heading">Genesis block</h2>
      <dl className="fields">
        <dt>Hash</dt>
        <dd>
          <code className="hash wrap" data-testid="genesis-hash">
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
        <dd>{pythonTimestamp(block.timestamp)}</dd>
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
