import { type KeyboardEvent, useEffect, useId, useRef } from 'react';
import type { TransactionDraft } from '../../core/transaction';
import type { NodeSnapshot } from '../../node/node';
import { useAccountNames } from '../accounts';
import { TypeBadge } from '../components/bits';
import { Identicon } from '../components/Identicon';
import { fingerprint } from '../format';
import { useSnapshot } from '../services';
import { spendable } from './submit';
import './ConfirmTransaction.css';

/** What the summary says of a transaction before it is signed: who, what, how much, and the wallet after. */
export interface TransactionSummary {
  readonly type: TransactionDraft['type'];
  readonly amount: number;
  /** Null for a purchase whose exchange key devnet.json does not name (it loads on signing). */
  readonly senderPublicKey: string | null;
  readonly receiverPublicKey: string;
  /** The wallet's balance at the head, before this transaction. */
  readonly balanceBefore: number;
  /** The wallet's balance once this transaction (and the wallet's pending ones) land. */
  readonly balanceAfter: number;
  /** Coins the wallet's pending transactions already spend (counted in `balanceAfter`). */
  readonly pendingOut: number;
  /** The wallet's stake before and after, for a STAKE. */
  readonly stake: { readonly before: number; readonly after: number } | null;
  /** A transfer to the wallet itself: valid, but its balance stays the same. */
  readonly toSelf: boolean;
}

/**
 * The summary of `draft` sent by `senderPublicKey` as `wallet`'s holder sees it, from the head
 * state: what the wallet holds now, and after this transaction and its pending ones land.
 */
export function summarize(
  snapshot: Pick<NodeSnapshot, 'state' | 'pool'>,
  wallet: string,
  senderPublicKey: string | null,
  draft: Omit<TransactionDraft, 'senderPublicKey'>,
): TransactionSummary {
  const { balance, pending } = spendable(snapshot as NodeSnapshot, wallet);
  const out = senderPublicKey === wallet ? draft.amount : 0;
  const into = draft.receiverPublicKey === wallet && draft.type !== 'STAKE' ? draft.amount : 0;
  const stakeNow = snapshot.state.stakes.get(wallet, 0);
  return {
    type: draft.type,
    amount: draft.amount,
    senderPublicKey,
    receiverPublicKey: draft.receiverPublicKey,
    balanceBefore: balance,
    balanceAfter: balance - pending - out + into,
    pendingOut: pending,
    stake: draft.type === 'STAKE' ? { before: stakeNow, after: stakeNow + draft.amount } : null,
    toSelf: draft.type === 'TRANSFER' && draft.receiverPublicKey === senderPublicKey,
  };
}

/** An account as the summary names it: identicon, name (or "unknown account") and short fingerprint. */
function Party({ pem, testId }: { readonly pem: string; readonly testId: string }) {
  const name = useAccountNames().get(pem);
  return (
    <span className="confirm-party" data-testid={testId} data-value={pem}>
      <Identicon pem={pem} size={28} />
      <span>
        <span className={name ? 'confirm-name' : 'confirm-name muted'} data-testid={`${testId}-name`}>
          {name ?? 'unknown account'}
        </span>{' '}
        <code className="fingerprint">{fingerprint(pem)}</code>
      </span>
    </span>
  );
}

const VERB: Record<TransactionDraft['type'], string> = {
  EXCHANGE: 'Buy',
  STAKE: 'Stake',
  TRANSFER: 'Send',
};

/**
 * The step between a form and its signature: who receives, the type, the amount and the wallet's
 * balance before and after. Focus moves into it when it opens (keyboard and screen-reader users
 * land on it); Escape or "Back" return to the form as it was.
 */
export function ConfirmTransaction({
  draft,
  senderPublicKey,
  onConfirm,
  onCancel,
}: {
  readonly draft: Omit<TransactionDraft, 'senderPublicKey'>;
  readonly senderPublicKey: string | null;
  readonly onConfirm: () => void;
  readonly onCancel: () => void;
}) {
  const snapshot = useSnapshot();
  const id = useId();
  const region = useRef<HTMLElement>(null);
  useEffect(() => region.current?.focus(), []);
  const wallet = snapshot.wallet?.publicKeyPem ?? senderPublicKey ?? draft.receiverPublicKey;
  const summary = summarize(snapshot, wallet, senderPublicKey, draft);
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key !== 'Escape') return;
    event.preventDefault();
    onCancel();
  };
  return (
    <section
      ref={region}
      className="confirm"
      tabIndex={-1}
      aria-labelledby={`${id}-title`}
      aria-describedby={`${id}-what`}
      data-testid="confirm-summary"
      data-type={summary.type}
      onKeyDown={onKeyDown}
    >
      <h4 id={`${id}-title`}>Check before signing</h4>
      <p id={`${id}-what`} className="confirm-what">
        <TypeBadge type={summary.type} /> <span data-testid="confirm-amount">{summary.amount}</span>{' '}
        {summary.amount === 1 ? 'coin' : 'coins'}
      </p>
      <dl className="confirm-fields">
        <dt>From</dt>
        <dd>
          {summary.senderPublicKey === null ? (
            <span data-testid="confirm-sender">the devnet exchange</span>
          ) : (
            <Party pem={summary.senderPublicKey} testId="confirm-sender" />
          )}
        </dd>
        <dt>To</dt>
        <dd>
          <Party pem={summary.receiverPublicKey} testId="confirm-receiver" />
        </dd>
        <dt>Your balance</dt>
        <dd>
          <span data-testid="confirm-balance-before">{summary.balanceBefore}</span>
          <span aria-hidden="true"> → </span>
          <span className="visually-hidden"> then </span>
          <strong data-testid="confirm-balance-after">{summary.balanceAfter}</strong>
          {summary.pendingOut > 0 ? (
            <span className="muted"> (after your {summary.pendingOut} pending out too)</span>
          ) : null}
        </dd>
        {summary.stake ? (
          <>
            <dt>Your stake</dt>
            <dd>
              <span>{summary.stake.before}</span>
              <span aria-hidden="true"> → </span>
              <span className="visually-hidden"> then </span>
              <strong data-testid="confirm-stake-after">{summary.stake.after}</strong>
            </dd>
          </>
        ) : null}
      </dl>
      {summary.toSelf ? (
        <p className="field-warning" role="alert" data-testid="confirm-self-warning">
          This is your own account: a transfer to yourself lands in a block, but your balance stays the same.
        </p>
      ) : null}
      <p className="hint">Signing happens in this tab; the signed transaction then goes to every peer.</p>
      <div className="button-row">
        <button type="button" className="primary" data-testid="confirm-submit" onClick={onConfirm}>
          {summary.toSelf ? 'Send to myself anyway' : `Sign and ${VERB[summary.type].toLowerCase()}`}
        </button>
        <button type="button" data-testid="confirm-cancel" onClick={onCancel}>
          Back
        </button>
      </div>
    </section>
  );
}
