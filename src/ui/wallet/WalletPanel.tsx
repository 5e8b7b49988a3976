import { useState } from 'react';
import { LazyBalanceChart } from '../charts/lazy';
import { AccountLabel, ErrorAlert, type TaskState } from '../components/bits';
import { errorMessage } from '../decoders';
import { downloadText } from '../files';
import { fingerprint } from '../format';
import { useNode, useServices, useSnapshot, useWalletKey } from '../services';
import { ForgingStatus } from './ForgingStatus';
import { KeySetup, KeySetupFeedback } from './KeySetup';
import { spendable } from './submit';

/** Exporting the wallet's private key: with a warning, and only when the key is extractable. */
function ExportKey() {
  const { crypto } = useServices();
  const wallet = useSnapshot().wallet;
  const key = useWalletKey();
  const [pem, setPem] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  if (!wallet) return null;
  if (!wallet.extractable) {
    return (
      <p className="muted" data-testid="export-key-unavailable">
        This key is not exportable: it was made so that the browser signs with it but never reveals it.
        Nothing can back it up; create an exportable key if you need a copy.
      </p>
    );
  }
  const reveal = async () => {
    setError(null);
    if (!key)
      return setError('This tab does not hold the private key (it was set elsewhere): import it again.');
    try {
      setPem(await crypto.exportPrivateKeyPem(key));
    } catch (error) {
      setError(`The key could not be exported: ${errorMessage(error)}.`);
    }
  };
  return (
    <details className="export-key">
      <summary>Export the private key</summary>
      <p className="notice" role="note">
        Whoever has this text controls the account: never share it and never paste it into a website. On this
        devnet it protects nothing of value, so exporting it to back it up or to use the account in another
        tab is fine.
      </p>
      <div className="button-row">
        <button type="button" data-testid="export-key" onClick={reveal}>
          Show the private key
        </button>
        {pem ? (
          <button
            type="button"
            onClick={() =>
              downloadText(`tabchain-${fingerprint(wallet.publicKeyPem)}.pem`, pem, 'application/x-pem-file')
            }
          >
            Download .pem
          </button>
        ) : null}
      </div>
      {pem ? (
        <textarea
          className="pem-output"
          readOnly
          rows={6}
          aria-label="Private key PEM"
          data-testid="exported-key"
          value={pem}
        />
      ) : null}
      <ErrorAlert error={error} />
    </details>
  );
}

/** The wallet: the account, its balance and stake, key export, and creating or importing a key. */
export function WalletPanel() {
  const snapshot = useSnapshot();
  const node = useNode();
  const wallet = snapshot.wallet;
  const [confirmForget, setConfirmForget] = useState(false);
  const [setup, setSetup] = useState<TaskState>({ status: 'idle' });
  const funds = wallet ? spendable(snapshot, wallet.publicKeyPem) : null;
  const stake = wallet ? snapshot.state.stakes.get(wallet.publicKeyPem, 0) : 0;
  return (
    <section className="card" aria-labelledby="wallet-heading">
      <h2 id="wallet-heading">Wallet</h2>
      {wallet && funds ? (
        <>
          <dl className="fields">
            <dt>Account</dt>
            <dd>
              <AccountLabel pem={wallet.publicKeyPem} testId="my-public-key" />
            </dd>
            <dt>Balance</dt>
            <dd>
              <span className="amount" data-testid="my-balance">
                {funds.balance}
              </span>
              {funds.pending > 0 ? <span className="muted"> ({funds.pending} pending out)</span> : null}
            </dd>
            <dt>Stake</dt>
            <dd>
              <span className="amount" data-testid="my-stake">
                {stake}
              </span>
            </dd>
            <dt>Forging</dt>
            <dd data-testid="my-forging">
              {snapshot.waitingFor.isMe
                ? snapshot.forging
                  ? 'You forge the next block.'
                  : snapshot.forgingElsewhere !== null
                    ? 'Your key forges the next block, in the always-on node that forges with it.'
                    : 'Your key forges the next block, in the tab or node that forges with it.'
                : stake > 0
                  ? 'This tab forges whenever the lottery picks your key.'
                  : 'Stake coins to take part in the forger lottery.'}
            </dd>
          </dl>
          <LazyBalanceChart pem={wallet.publicKeyPem} />
          <details className="pem-details">
            <summary>Public key (PEM)</summary>
            <pre className="pem">{wallet.publicKeyPem}</pre>
          </details>
          <ExportKey />
          <details className="replace-key">
            <summary>Use another key</summary>
            <p className="hint">
              Replacing the wallet forgets this key in this tab: export it first if you want to come back to
              it.
            </p>
            <KeySetup state={setup} onState={setSetup} />
            <div className="button-row">
              {confirmForget ? (
                <>
                  <button
                    type="button"
                    className="danger"
                    data-testid="forget-wallet-confirm"
                    onClick={() => void node.setWallet(null)}
                  >
                    Forget the key {fingerprint(wallet.publicKeyPem)}
                  </button>
                  <button type="button" onClick={() => setConfirmForget(false)}>
                    Keep it
                  </button>
                </>
              ) : (
                <button type="button" data-testid="forget-wallet" onClick={() => setConfirmForget(true)}>
                  Forget this wallet…
                </button>
              )}
            </div>
          </details>
        </>
      ) : (
        <>
          <p>
            This tab has no wallet yet. An account is an RSA key pair: its public key is the address, its
            private key signs. Create one, import one, or use a devnet key.
          </p>
          <KeySetup state={setup} onState={setSetup} />
        </>
      )}
      <ForgingStatus />
      <KeySetupFeedback state={setup} />
    </section>
  );
}
