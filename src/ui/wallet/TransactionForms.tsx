import { type FormEvent, useId, useState } from 'react';
import { useKnownAccounts } from '../accounts';
import { BlockLink, TxLink } from '../components/bits';
import { checkCovered, decodeAmount, decodeReceiver, errorMessage } from '../decoders';
import { fingerprint } from '../format';
import { useNode, useServices, useSession, useSnapshot } from '../services';
import type { SentTransaction } from '../session';
import { signAndSubmit, spendable } from './submit';

/** Where a form is: idle, signing and submitting, refused (with the field at fault), or sent. */
type FormState =
  | { readonly status: 'idle' }
  | { readonly status: 'busy' }
  | { readonly status: 'error'; readonly field: 'amount' | 'receiver' | null; readonly message: string }
  | { readonly status: 'sent'; readonly id: string };

const NO_WALLET = 'Set up a wallet first: create a key pair or import one in the Wallet section.';
const NO_KEY =
  "This tab cannot sign for the wallet's account (its private key is not loaded here): import the key again.";

function invalid(field: 'amount' | 'receiver' | null, message: string): FormState {
  return { status: 'error', field, message };
}

/** The error (role=alert) or the sent notice (role=status) under a form. */
function Feedback({
  state,
  prefix,
  errorId,
}: {
  readonly state: FormState;
  readonly prefix: string;
  readonly errorId: string;
}) {
  if (state.status === 'error') {
    return (
      <p className="field-error" role="alert" id={errorId} data-testid={`${prefix}-error`}>
        {state.message}
      </p>
    );
  }
  if (state.status === 'sent') return <SentFeedback id={state.id} prefix={prefix} />;
  if (state.status === 'busy') {
    return (
      <p className="form-status muted" role="status">
        Signing and submitting…
      </p>
    );
  }
  return null;
}

/** Where a just-sent transaction is: in a block already, or waiting in the pool. */
function SentFeedback({ id, prefix }: { readonly id: string; readonly prefix: string }) {
  const node = useNode();
  useSnapshot();
  const landed = node.findTransaction(id);
  return (
    <p className="form-status" role="status" data-testid={`${prefix}-status`}>
      Sent transaction <TxLink id={id} />
      {landed ? (
        <>
          : it is in block <BlockLink height={landed.height} />.
        </>
      ) : (
        ': it waits in the pool for the next block (see “My transactions”).'
      )}
    </p>
  );
}

/** The amount field every form shares. */
function AmountField({
  id,
  testId,
  value,
  onChange,
  state,
  errorId,
  hint,
}: {
  readonly id: string;
  readonly testId: string;
  readonly value: string;
  readonly onChange: (value: string) => void;
  readonly state: FormState;
  readonly errorId: string;
  readonly hint?: string;
}) {
  const hintId = `${id}-hint`;
  const wrong = state.status === 'error' && state.field === 'amount';
  return (
    <div className="field">
      <label htmlFor={id}>Amount (whole coins)</label>
      <input
        id={id}
        data-testid={testId}
        type="text"
        inputMode="numeric"
        autoComplete="off"
        value={value}
        onChange={(event) => onChange(event.target.value)}
        aria-invalid={wrong || undefined}
        aria-describedby={[hint ? hintId : '', wrong ? errorId : ''].filter(Boolean).join(' ') || undefined}
      />
      {hint ? (
        <p className="hint" id={hintId}>
          {hint}
        </p>
      ) : null}
    </div>
  );
}

function useRecord(): (entry: Omit<SentTransaction, 'sentAt'>) => void {
  const services = useServices();
  const session = useSession();
  return (entry) => session.sent.add({ ...entry, sentAt: services.now() });
}

/** Buys coins: an EXCHANGE transaction from the devnet's exchange (signed with its published key) to the wallet. */
export function ExchangeForm() {
  const services = useServices();
  const session = useSession();
  const snapshot = useSnapshot();
  const record = useRecord();
  const id = useId();
  const errorId = `${id}-error`;
  const [amount, setAmount] = useState('');
  const [state, setState] = useState<FormState>({ status: 'idle' });

  const onSubmit = async (event: FormEvent) => {
    event.preventDefault();
    const wallet = snapshot.wallet;
    if (!wallet) return setState(invalid(null, NO_WALLET));
    const decoded = decodeAmount(amount);
    if (!decoded.ok) return setState(invalid('amount', decoded.error));
    setState({ status: 'busy' });
    let exchange: Awaited<ReturnType<typeof session.devnetKey>>;
    try {
      exchange = await session.devnetKey('exchange');
    } catch (error) {
      return setState(invalid(null, `The exchange's key is not available: ${errorMessage(error)}`));
    }
    const draft = {
      receiverPublicKey: wallet.publicKeyPem,
      amount: decoded.value,
      type: 'EXCHANGE',
    } as const;
    const sent = await signAndSubmit(services, exchange, draft);
    if (!sent.ok) return setState(invalid(null, sent.error));
    record({
      id: sent.value.id,
      type: 'EXCHANGE',
      amount: decoded.value,
      receiverPublicKey: wallet.publicKeyPem,
    });
    setAmount('');
    setState({ status: 'sent', id: sent.value.id });
  };

  return (
    <form className="card action" onSubmit={onSubmit} aria-labelledby={`${id}-title`} noValidate>
      <h3 id={`${id}-title`}>Buy coins</h3>
      <p className="muted">
        The exchange sells coins on this devnet for free: the page signs an EXCHANGE with the exchange's
        published test key, paying your wallet.
      </p>
      <AmountField
        id={`${id}-amount`}
        testId="exchange-amount"
        value={amount}
        onChange={setAmount}
        state={state}
        errorId={errorId}
      />
      <button type="submit" data-testid="exchange-submit" disabled={state.status === 'busy'}>
        Buy
      </button>
      <Feedback state={state} prefix="exchange" errorId={errorId} />
    </form>
  );
}

/** Stakes coins: a STAKE transaction from the wallet to itself, which buys lots in the forger lottery. */
export function StakeForm() {
  const services = useServices();
  const snapshot = useSnapshot();
  const record = useRecord();
  const id = useId();
  const errorId = `${id}-error`;
  const [amount, setAmount] = useState('');
  const [state, setState] = useState<FormState>({ status: 'idle' });
  const wallet = snapshot.wallet;
  const funds = wallet ? spendable(snapshot, wallet.publicKeyPem) : null;

  const onSubmit = async (event: FormEvent) => {
    event.preventDefault();
    if (!wallet || !funds) return setState(invalid(null, NO_WALLET));
    const decoded = decodeAmount(amount);
    if (!decoded.ok) return setState(invalid('amount', decoded.error));
    const covered = checkCovered(decoded.value, funds.available);
    if (!covered.ok) return setState(invalid('amount', covered.error));
    const key = services.keyring.get(wallet.publicKeyPem);
    if (!key) return setState(invalid(null, NO_KEY));
    setState({ status: 'busy' });
    const draft = { receiverPublicKey: wallet.publicKeyPem, amount: decoded.value, type: 'STAKE' } as const;
    const sent = await signAndSubmit(services, key, draft);
    if (!sent.ok) return setState(invalid(null, sent.error));
    record({
      id: sent.value.id,
      type: 'STAKE',
      amount: decoded.value,
      receiverPublicKey: wallet.publicKeyPem,
    });
    setAmount('');
    setState({ status: 'sent', id: sent.value.id });
  };

  return (
    <form className="card action" onSubmit={onSubmit} aria-labelledby={`${id}-title`} noValidate>
      <h3 id={`${id}-title`}>Stake</h3>
      <p className="muted">
        Each staked coin is one lot in the lottery that picks the next forger. Staked coins leave your
        balance.
      </p>
      <AmountField
        id={`${id}-amount`}
        testId="stake-amount"
        value={amount}
        onChange={setAmount}
        state={state}
        errorId={errorId}
        {...(funds ? { hint: `You can spend ${funds.available}.` } : {})}
      />
      <button type="submit" data-testid="stake-submit" disabled={state.status === 'busy'}>
        Stake
      </button>
      <Feedback state={state} prefix="stake" errorId={errorId} />
    </form>
  );
}

/** Sends coins: a TRANSFER from the wallet to a known account or a pasted public key. */
export function TransferForm() {
  const services = useServices();
  const snapshot = useSnapshot();
  const accounts = useKnownAccounts();
  const record = useRecord();
  const id = useId();
  const errorId = `${id}-error`;
  const [receiver, setReceiver] = useState('');
  const [amount, setAmount] = useState('');
  const [state, setState] = useState<FormState>({ status: 'idle' });
  const wallet = snapshot.wallet;
  const funds = wallet ? spendable(snapshot, wallet.publicKeyPem) : null;
  const choices = accounts.filter((account) => account.publicKeyPem !== wallet?.publicKeyPem);
  const receiverWrong = state.status === 'error' && state.field === 'receiver';

  const onSubmit = async (event: FormEvent) => {
    event.preventDefault();
    if (!wallet || !funds) return setState(invalid(null, NO_WALLET));
    const to = decodeReceiver(
      receiver,
      accounts.map((account) => account.publicKeyPem),
    );
    if (!to.ok) return setState(invalid('receiver', to.error));
    const decoded = decodeAmount(amount);
    if (!decoded.ok) return setState(invalid('amount', decoded.error));
    const covered = checkCovered(decoded.value, funds.available);
    if (!covered.ok) return setState(invalid('amount', covered.error));
    const key = services.keyring.get(wallet.publicKeyPem);
    if (!key) return setState(invalid(null, NO_KEY));
    setState({ status: 'busy' });
    const draft = { receiverPublicKey: to.value, amount: decoded.value, type: 'TRANSFER' } as const;
    const sent = await signAndSubmit(services, key, draft);
    if (!sent.ok) return setState(invalid(null, sent.error));
    record({ id: sent.value.id, type: 'TRANSFER', amount: decoded.value, receiverPublicKey: to.value });
    setAmount('');
    setState({ status: 'sent', id: sent.value.id });
  };

  return (
    <form className="card action" onSubmit={onSubmit} aria-labelledby={`${id}-title`} noValidate>
      <h3 id={`${id}-title`}>Transfer</h3>
      <div className="field">
        <label htmlFor={`${id}-known`}>Known account</label>
        <select
          id={`${id}-known`}
          data-testid="transfer-known-account"
          value=""
          onChange={(event) => {
            if (event.target.value !== '') setReceiver(event.target.value);
          }}
        >
          <option value="">Pick an account to fill in its key…</option>
          {choices.map((account) => (
            <option key={account.publicKeyPem} value={account.publicKeyPem}>
              {fingerprint(account.publicKeyPem)}
              {account.name ? ` (${account.name})` : ''}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={`${id}-receiver`}>Receiver's public key (PEM) or fingerprint</label>
        <textarea
          id={`${id}-receiver`}
          data-testid="transfer-receiver"
          className="pem-input"
          rows={4}
          spellCheck={false}
          autoComplete="off"
          placeholder="-----BEGIN PUBLIC KEY-----"
          value={receiver}
          onChange={(event) => setReceiver(event.target.value)}
          aria-invalid={receiverWrong || undefined}
          aria-describedby={receiverWrong ? errorId : undefined}
        />
      </div>
      <AmountField
        id={`${id}-amount`}
        testId="transfer-amount"
        value={amount}
        onChange={setAmount}
        state={state}
        errorId={errorId}
        {...(funds ? { hint: `You can spend ${funds.available}.` } : {})}
      />
      <button type="submit" data-testid="transfer-submit" disabled={state.status === 'busy'}>
        Send
      </button>
      <Feedback state={state} prefix="transfer" errorId={errorId} />
    </form>
  );
}
