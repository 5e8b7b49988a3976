import { type ReactNode, useEffect, useRef, useState } from 'react';
import { useAccountNames } from '../accounts';
import { fingerprint, relativeTime, relativeTimeRefreshMs, shortHash } from '../format';
import { hrefFor, type Route } from '../router';
import { useServices } from '../services';
import { Identicon } from './Identicon';

/** Copies `text` to the clipboard; falls back to a hidden textarea where the Clipboard API is missing. */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // Denied (no user gesture, insecure context): try the old way.
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.append(area);
  area.select();
  let copied = false;
  try {
    copied = typeof document.execCommand === 'function' && document.execCommand('copy');
  } catch {
    copied = false;
  }
  area.remove();
  return copied;
}

/** Two overlapping sheets: the copy icon (drawn, so no font needs the glyph). */
function CopyIcon() {
  return (
    <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true" focusable="false" className="icon">
      <rect x="5" y="5" width="9" height="9" rx="1.5" fill="none" stroke="currentColor" strokeWidth="1.5" />
      <path
        d="M11 3.5V3a1 1 0 0 0-1-1H3a1 1 0 0 0-1 1v7a1 1 0 0 0 1 1h.5"
        fill="none"
        stroke="currentColor"
        strokeWidth="1.5"
      />
    </svg>
  );
}

/** A button that copies `text`, announcing the result to screen readers. */
export function CopyButton({ text, label }: { readonly text: string; readonly label: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);
  const onClick = async () => {
    const copied = await copyText(text);
    setState(copied ? 'copied' : 'failed');
    clearTimeout(timer.current);
    timer.current = setTimeout(() => setState('idle'), 2000);
  };
  return (
    <>
      <button type="button" className="icon-button" aria-label={label} title={label} onClick={onClick}>
        {state === 'copied' ? '✓' : <CopyIcon />}
      </button>
      <span className="visually-hidden" aria-live="polite">
        {state === 'copied'
          ? 'Copied.'
          : state === 'failed'
            ? 'Copy failed: select the text and copy it.'
            : ''}
      </span>
    </>
  );
}

/** An account: identicon, fingerprint (a link to its page), its name if known, and a copy button. */
export function AccountLabel({
  pem,
  testId,
  link = true,
  copy = true,
}: {
  readonly pem: string;
  readonly testId?: string;
  readonly link?: boolean;
  readonly copy?: boolean;
}) {
  const name = useAccountNames().get(pem);
  const fp = fingerprint(pem);
  const code = <code className="fingerprint">{fp}</code>;
  return (
    <span className="account" data-testid={testId} data-value={pem} title={pem}>
      <Identicon pem={pem} />
      {link ? (
        <a
          href={hrefFor({ page: 'account', fingerprint: fp })}
          aria-label={`Account ${fp}${name ? `, ${name}` : ''}`}
        >
          {code}
        </a>
      ) : (
        code
      )}
      {name ? <span className="account-name">{name}</span> : null}
      {copy ? <CopyButton text={pem} label={`Copy the public key of account ${fp}`} /> : null}
    </span>
  );
}

/**
 * A hash, shortened in the text (as the search box takes it back), in full in `title` and
 * `data-value`; a link to `to` when it names a page (never inside another link).
 */
export function HashText({
  hash,
  testId,
  full = false,
  to,
  label,
}: {
  readonly hash: string;
  readonly testId?: string;
  readonly full?: boolean;
  /** The page the hash names (its block, its transaction). */
  readonly to?: Route;
  /** What the link says to screen readers ("Block 12, hash …"); the hash alone by default. */
  readonly label?: string;
}) {
  const code = (
    <code className="hash" title={hash} data-testid={testId} data-value={hash}>
      {full ? hash : shortHash(hash)}
    </code>
  );
  if (!to) return code;
  return (
    <a href={hrefFor(to)} aria-label={label}>
      {code}
    </a>
  );
}

/** A block's hash as a link to the block's page. */
export function BlockHashLink({
  hash,
  height,
  testId,
}: {
  readonly hash: string;
  readonly height: number;
  readonly testId?: string;
}) {
  return (
    <HashText
      hash={hash}
      testId={testId}
      to={{ page: 'block', height }}
      label={`Block ${height}, hash ${shortHash(hash)}`}
    />
  );
}

/** A block height as a link to its page. */
export function BlockLink({ height }: { readonly height: number }) {
  return <a href={hrefFor({ page: 'block', height })}>#{height}</a>;
}

/** A node's (or peer's) network id as a link to it in the Network view. */
export function NodeLink({ id, testId }: { readonly id: string; readonly testId?: string }) {
  return (
    <a href={hrefFor({ page: 'network', node: id })} aria-label={`Node ${id} in the network view`}>
      <code className="hash" data-testid={testId} data-value={id}>
        {id}
      </code>
    </a>
  );
}

/**
 * A moment as "12 s ago" (redrawn as time passes), the absolute local date and time on hover and
 * in `dateTime`; `—` when there is none.
 */
export function TimeAgo({ ms, testId }: { readonly ms: number | null; readonly testId?: string }) {
  const { now } = useServices();
  const [nowMs, setNowMs] = useState(now);
  useEffect(() => {
    if (ms === null) return;
    const timer = setTimeout(() => setNowMs(now()), relativeTimeRefreshMs(nowMs - ms));
    return () => clearTimeout(timer);
  }, [ms, now, nowMs]);
  if (ms === null) return <span data-testid={testId}>—</span>;
  const date = new Date(ms);
  return (
    <time dateTime={date.toISOString()} title={date.toLocaleString()} data-testid={testId}>
      {relativeTime(ms, nowMs)}
    </time>
  );
}

/** A transaction id as a link to its page. */
export function TxLink({ id }: { readonly id: string }) {
  return (
    <a href={hrefFor({ page: 'tx', id })} title={id}>
      <code className="hash">{shortHash(id, 8)}</code>
    </a>
  );
}

/** A transaction type as a badge coloured by type (`Transaction.type` is a plain string). */
export function TypeBadge({ type }: { readonly type: string }) {
  return <span className={`badge badge-${type.toLowerCase()}`}>{type}</span>;
}

/** A column of a `Table`: its heading, and a class for its cells (`num`, `hide-narrow`). */
export interface Column {
  readonly label: string;
  readonly className?: string;
}

/**
 * A data table: one row of column headings over the rows given as children. A `stacked` table
 * turns each row into a card on narrow screens (styles.css): its cells then need `data-label`
 * (see `Cell`), which the stylesheet shows in place of the hidden column headings.
 */
export function Table({
  columns,
  testId,
  stacked = false,
  children,
}: {
  readonly columns: readonly Column[];
  readonly testId?: string;
  readonly stacked?: boolean;
  readonly children: ReactNode;
}) {
  return (
    <table className={stacked ? 'table table-stacked' : 'table'} data-testid={testId}>
      <thead>
        <tr>
          {columns.map(({ label, className }) => (
            <th key={label} scope="col" className={className}>
              {label}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  );
}

/** A cell of a stacked `Table`: it carries its column's heading, shown beside it on narrow screens. */
export function Cell({ column, children }: { readonly column: Column; readonly children: ReactNode }) {
  return (
    <td className={column.className} data-label={column.label}>
      {children}
    </td>
  );
}

/** A task started from a control (a key import, a chain import): idle, busy, failed or done. */
export type TaskState =
  | { readonly status: 'idle' }
  | { readonly status: 'busy'; readonly message: string }
  | { readonly status: 'error'; readonly message: string }
  | { readonly status: 'done'; readonly message: string };

/** A task's outcome: an error (role=alert), or progress and success (role=status); nothing while idle. */
export function TaskFeedback({
  state,
  errorTestId,
  statusTestId,
}: {
  readonly state: TaskState;
  readonly errorTestId: string;
  readonly statusTestId: string;
}) {
  if (state.status === 'idle') return null;
  if (state.status === 'error') {
    return (
      <p className="field-error" role="alert" data-testid={errorTestId}>
        {state.message}
      </p>
    );
  }
  return (
    <p className="form-status" role="status" data-testid={statusTestId}>
      {state.message}
    </p>
  );
}

/** An error said to the user at once (role=alert), or nothing. */
export function ErrorAlert({ error }: { readonly error: string | null | undefined }) {
  return error ? (
    <p className="field-error" role="alert">
      {error}
    </p>
  ) : null;
}
