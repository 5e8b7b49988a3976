import { type FormEvent, type ReactNode, useId, useRef, useState } from 'react';
import { balanceOf, type ChainState } from '../../core/state';
import type { TransactionDraft } from '../../core/transaction';
import type { KeyPair } from '../../crypto/types';
import type { NodeSnapshot } from '../../node/node';
import { useKnownAccounts } from '../accounts';
import { useTransactionPlaces } from '../chain-reads';
import { AccountLabel, BlockLink, TxLink } from '../components/bits';
import {
  type AmountBounds,
  checkCovered,
  type Decoded,
  decodeAmount,
  decodeReceiver,
  errorMessage,
} from '../decoders';
import { fingerprint } from '../format';
import { type NodeApi, useNode, useServices, useSession, useSnapshot } from '../services';
import { ConfirmTransaction } from './ConfirmTransaction';
import { signAndSubmit, spendable } from './submit';

/**
 * Where a form is: idle, showing its summary for confirmation, signing and submitting, refused
 * (with the field at fault), or sent.
 */
type FormState =
  | { readonly status: 'idle' }
  | { readonly status: 'confirming'; readonly ready: Ready }
  | { readonly status: 'busy' }
  | { readonly status: 'error'; readonly field: 'amount' | 'receiver' | null; readonly message: string }
  | { readonly status: 'sent'; readonly id: string };

const NO_WALLET = 'Set up a wallet first: create a key pair or import one in the Wallet section.';
const NO_KEY = "The node holds no private key for the wallet's account: import the key again.";

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
  const places = useTransactionPlaces([id]);
  const place = places.status === 'ready' ? places.value.get(id) : undefined;
  const landed = place?.status === 'landed' ? place : undefined;
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

/** A transaction as a form builds it: the wallet signs as the sender. */
type Draft = Omit<TransactionDraft, 'senderPublicKey'>;

/** What a form's own checks pass on: the transaction, and the key that signs it. */
interface Ready {
  readonly draft: Draft;
  /**
   * A key this tab holds (checked before the form goes busy), or a fetch of one that runs once
   * the form shows it is busy (the exchange's published key is downloaded).
   */
  readonly key: KeyPair | (() => Promise<Decoded<KeyPair>>);
  /** The account that signs: the wallet, or the exchange for a purchase (null if devnet.json does not name it). */
  readonly sender: string | null;
}

/** What a form checks on submit, given the wallet, what it can spend and the amount typed. */
type Check = (input: {
  readonly wallet: NonNullable<NodeSnapshot['wallet']>;
  readonly available: number;
  readonly amount: string;
  /** The head state the form checks the chain's bounds against. */
  readonly state: ChainState;
}) => Ready | FormState;

/** The amount typed, decoded within `bounds` and covered by what the wallet can spend. */
function decodeSpend(amount: string, available: number, bounds: AmountBounds): Decoded<number> {
  const decoded = decodeAmount(amount, bounds);
  return decoded.ok ? checkCovered(decoded.value, available) : decoded;
}

/** The coins staked in total on `state`, the genesis stake included (the stake cap counts it). */
function totalStakeOf(state: ChainState): number {
  let total = 0;
  for (const stake of state.stakes.values()) total += stake;
  return total;
}

/** A draft the wallet signs with its own key (the node's wallet key pair). */
function signedByWallet(node: NodeApi, draft: Draft): Ready | FormState {
  const key = node.walletKeyPair();
  return key ? { draft, key, sender: key.publicKeyPem } : invalid(null, NO_KEY);
}

/**
 * The flow the three forms share: refuse without a wallet, run the form's own checks, show the
 * summary; once it is confirmed go busy, sign and submit, then record the transaction in "My
 * transactions" and report it. Going back from the summary keeps what was typed.
 */
function useTransactionForm(check: Check) {
  const services = useServices();
  const session = useSession();
  const snapshot = useSnapshot();
  const id = useId();
  const [amount, setAmount] = useState('');
  const [state, setState] = useState<FormState>({ status: 'idle' });
  const submitRef = useRef<HTMLButtonElement>(null);
  const amountRef = useRef<HTMLInputElement>(null);
  const wallet = snapshot.wallet;
  const available = wallet ? spendable(snapshot, wallet.publicKeyPem).available : null;

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    if (!wallet || available === null) return setState(invalid(null, NO_WALLET));
    const ready = check({ wallet, available, amount, state: snapshot.state });
    if (!('draft' in ready)) return setState(ready);
    setState({ status: 'confirming', ready });
  };

  /** Back to the form as it was, focus on its submit button (where the user left it). */
  const cancel = () => {
    setState({ status: 'idle' });
    // The button is back once the summary is gone: focus it after this render.
    queueMicrotask(() => submitRef.current?.focus());
  };

  /** An edit while the summary shows makes it stale: it closes, the form stays. */
  const edited = () => {
    if (state.status === 'confirming') setState({ status: 'idle' });
  };

  const confirm = async () => {
    if (state.status !== 'confirming') return;
    const { ready } = state;
    // The summary goes away: the amount field is where the next purchase or transfer starts.
    amountRef.current?.focus();
    setState({ status: 'busy' });
    const key = typeof ready.key === 'function' ? await ready.key() : { ok: true as const, value: ready.key };
    if (!key.ok) return setState(invalid(null, key.error));
    const { draft } = ready;
    const sent = await signAndSubmit(services, key.value, draft);
    if (!sent.ok) return setState(invalid(null, sent.error));
    session.sent.add({
      id: sent.value.id,
      type: draft.type,
      amount: draft.amount,
      receiverPublicKey: draft.receiverPublicKey,
      sentAt: services.now(),
    });
    setAmount('');
    setState({ status: 'sent', id: sent.value.id });
  };

  return {
    id,
    errorId: `${id}-error`,
    amount,
    setAmount,
    state,
    available,
    onSubmit,
    cancel,
    confirm,
    edited,
    submitRef,
    amountRef,
  };
}

/** A transaction form's frame: title, the form's own fields, the amount field, submit button and feedback. */
function TransactionFormCard({
  form,
  prefix,
  title,
  submit,
  showSpendable = false,
  children,
}: {
  readonly form: ReturnType<typeof useTransactionForm>;
  /** The start of every data-testid in the form (`exchange-amount`, `exchange-submit`…). */
  readonly prefix: 'exchange' | 'stake' | 'transfer';
  readonly title: string;
  /** The submit button's label. */
  readonly submit: string;
  /** Whether the amount field's hint says what the wallet can spend. */
  readonly showSpendable?: boolean;
  readonly children: ReactNode;
}) {
  const { id, errorId, state } = form;
  const hintId = `${id}-amount-hint`;
  const hint = showSpendable && form.available !== null ? `You can spend ${form.available}.` : null;
  const wrong = state.status === 'error' && state.field === 'amount';
  return (
    <form className="card action" onSubmit={form.onSubmit} aria-labelledby={`${id}-title`} noValidate>
      <h3 id={`${id}-title`}>{title}</h3>
      {children}
      <div className="field">
        <label htmlFor={`${id}-amount`}>Amount (whole coins)</label>
        <input
          id={`${id}-amount`}
          data-testid={`${prefix}-amount`}
          type="text"
          inputMode="numeric"
          autoComplete="off"
          ref={form.amountRef}
          value={form.amount}
          onChange={(event) => {
            form.setAmount(event.target.value);
            form.edited();
          }}
          aria-invalid={wrong || undefined}
          aria-describedby={[hint ? hintId : '', wrong ? errorId : ''].filter(Boolean).join(' ') || undefined}
        />
        {hint ? (
          <p className="hint" id={hintId}>
            {hint}
          </p>
        ) : null}
      </div>
      <button
        type="submit"
        ref={form.submitRef}
        data-testid={`${prefix}-submit`}
        disabled={state.status === 'busy'}
        aria-expanded={state.status === 'confirming'}
      >
        {submit}
      </button>
      {state.status === 'confirming' ? (
        <ConfirmTransaction
          draft={state.ready.draft}
          senderPublicKey={state.ready.sender}
          onConfirm={() => void form.confirm()}
          onCancel={form.cancel}
        />
      ) : null}
      <Feedback state={state} prefix={prefix} errorId={errorId} />
    </form>
  );
}

/** Buys coins: an EXCHANGE transaction from the devnet's exchange (signed with its published key) to the wallet. */
export function ExchangeForm() {
  const session = useSession();
  const { devnet } = useServices();
  const form = useTransactionForm(({ wallet, amount, state }) => {
    // The chain refuses a purchase that would take the buyer past 2^53-1: so does the form.
    const decoded = decodeAmount(amount, { receiverBalance: balanceOf(state, wallet.publicKeyPem) });
    if (!decoded.ok) return invalid('amount', decoded.error);
    return {
      draft: { receiverPublicKey: wallet.publicKeyPem, amount: decoded.value, type: 'EXCHANGE' },
      sender: devnet.exchangePublicKey ?? null,
      key: async () => {
        try {
          return { ok: true, value: await session.devnetKey('exchange') };
        } catch (error) {
          return { ok: false, error: `The exchange's key is not available: ${errorMessage(error)}` };
        }
      },
    };
  });
  return (
    <TransactionFormCard form={form} prefix="exchange" title="Buy coins" submit="Buy">
      <p className="muted">
        The exchange sells coins on this devnet for free: the page signs an EXCHANGE with the exchange's
        published test key, paying your wallet.
      </p>
    </TransactionFormCard>
  );
}

/** Stakes coins: a STAKE transaction from the wallet to itself, which buys lots in the forger lottery. */
export function StakeForm() {
  const node = useNode();
  const form = useTransactionForm(({ wallet, available, amount, state }) => {
    const decoded = decodeSpend(amount, available, {
      totalStake: totalStakeOf(state),
      maxTotalStake: state.maxTotalStake,
    });
    if (!decoded.ok) return invalid('amount', decoded.error);
    const draft = { receiverPublicKey: wallet.publicKeyPem, amount: decoded.value, type: 'STAKE' } as const;
    return signedByWallet(node, draft);
  });
  return (
    <TransactionFormCard form={form} prefix="stake" title="Stake" submit="Stake" showSpendable>
      <p className="muted">
        Each staked coin is one lot in the lottery that picks the next forger. Staked coins leave your
        balance.
      </p>
    </TransactionFormCard>
  );
}

/** Sends coins: a TRANSFER from the wallet to a known account or a pasted public key. */
export function TransferForm() {
  const node = useNode();
  const snapshot = useSnapshot();
  const accounts = useKnownAccounts();
  const [receiver, setReceiver] = useState('');
  /** A known account picked from the list: shown as identicon, name and fingerprint, not as PEM. */
  const [picked, setPicked] = useState<string | null>(null);
  const knownKeys = accounts.map((account) => account.publicKeyPem);
  const form = useTransactionForm(({ available, amount, state }) => {
    // A transfer to oneself is valid (the balance stays as it was) and a class may want to see
    // one land: the summary warns about it rather than the form refusing it.
    const to = picked === null ? decodeReceiver(receiver, knownKeys) : { ok: true as const, value: picked };
    if (!to.ok) return invalid('receiver', to.error);
    const decoded = decodeSpend(amount, available, { receiverBalance: balanceOf(state, to.value) });
    if (!decoded.ok) return invalid('amount', decoded.error);
    const draft = { receiverPublicKey: to.value, amount: decoded.value, type: 'TRANSFER' } as const;
    return signedByWallet(node, draft);
  });
  const { id, errorId, state } = form;
  const choices = accounts.filter((account) => account.publicKeyPem !== snapshot.wallet?.publicKeyPem);
  const receiverWrong = state.status === 'error' && state.field === 'receiver';
  // What the typed text names, when it names a valid key: shown under the box as it is typed.
  const typed = picked === null && receiver.trim() !== '' ? decodeReceiver(receiver, knownKeys) : null;
  const pick = (pem: string | null) => {
    setPicked(pem);
    form.edited();
  };

  return (
    <TransactionFormCard form={form} prefix="transfer" title="Transfer" submit="Send" showSpendable>
      <div className="field">
        <label htmlFor={`${id}-known`}>Known account</label>
        <select
          id={`${id}-known`}
          data-testid="transfer-known-account"
          value={picked ?? ''}
          onChange={(event) => pick(event.target.value === '' ? null : event.target.value)}
        >
          <option value="">Pick an account, or type a key below…</option>
          {choices.map((account) => (
            <option key={account.publicKeyPem} value={account.publicKeyPem}>
              {fingerprint(account.publicKeyPem)}
              {account.name ? ` (${account.name})` : ''}
            </option>
          ))}
        </select>
      </div>
      {picked !== null ? (
        <fieldset className="receiver-picked" data-testid="transfer-picked" data-value={picked}>
          <legend>Receiver</legend>
          <AccountLabel pem={picked} link={false} />
          <button type="button" data-testid="transfer-clear-receiver" onClick={() => pick(null)}>
            Type another key
          </button>
          <details>
            <summary>Public key (PEM)</summary>
            <pre className="pem">{picked}</pre>
          </details>
        </fieldset>
      ) : (
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
            onChange={(event) => {
              setReceiver(event.target.value);
              form.edited();
            }}
            aria-invalid={receiverWrong || undefined}
            aria-describedby={receiverWrong ? errorId : typed?.ok ? `${id}-typed` : undefined}
          />
          {typed?.ok ? (
            <p className="hint" id={`${id}-typed`} data-testid="transfer-receiver-preview">
              Sends to <AccountLabel pem={typed.value} link={false} copy={false} />
            </p>
          ) : null}
        </div>
      )}
    </TransactionFormCard>
  );
}
