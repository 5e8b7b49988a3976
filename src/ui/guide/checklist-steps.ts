import { z } from 'zod';
import { err, ok } from '../../core/result';
import type { Transaction } from '../../core/types';
import type { NodeSnapshot } from '../../node/node';
import type { Decoded } from '../decoders';
import type { Route } from '../router';
import type { SentTransaction } from '../session';

/*
 * The classroom checklist: the README's quick start as steps the app ticks off by itself, from the
 * node's snapshot and this page's own sends. Pure, so each step's rule is tested without a DOM.
 */

/** A step of the quick start. */
export interface ChecklistStep {
  readonly id: 'second-tab' | 'key' | 'buy' | 'stake' | 'transfer' | 'explorer';
  readonly title: string;
  /** How to do it, in the app's own words (the buttons it names). */
  readonly how: string;
}

export const CHECKLIST_STEPS: readonly ChecklistStep[] = [
  {
    id: 'second-tab',
    title: 'Open a second tab',
    how: 'Open this page again in another tab: the two tabs find each other and become peers.',
  },
  {
    id: 'key',
    title: 'Get a key',
    how: 'Wallet → “Use the devnet genesis key” (or the staker key), or “Create a key pair”.',
  },
  { id: 'buy', title: 'Buy coins', how: 'Wallet → type 50 under “Buy coins” and click Buy.' },
  {
    id: 'stake',
    title: 'Stake',
    how: 'Wallet → type 20 under “Stake” and click Stake: your key joins the lottery.',
  },
  {
    id: 'transfer',
    title: 'Make a transfer',
    how: 'Wallet → send a few coins to another account (the other tab’s, for one).',
  },
  {
    id: 'explorer',
    title: 'Watch the explorer',
    how: 'Explorer → see your block arrive in every tab, and who forged it.',
  },
];

/** What the steps are judged from. */
export interface ChecklistInputs {
  readonly snapshot: NodeSnapshot;
  /** What this page sent (the session's log). */
  readonly sent: readonly SentTransaction[];
  /** The page the user is on now. */
  readonly route: Route;
}

/**
 * Whether the wallet made a transaction of `type`: in this page's log, the pool or the head block.
 * A purchase (EXCHANGE) is signed by the exchange and received by the wallet; the others are sent by it.
 */
function walletMade({ snapshot, sent }: ChecklistInputs, type: SentTransaction['type']): boolean {
  if (sent.some((tx) => tx.type === type)) return true;
  const key = snapshot.wallet?.publicKeyPem;
  if (key === undefined) return false;
  const mine = (tx: Transaction) =>
    tx.type === type && (type === 'EXCHANGE' ? tx.receiverPublicKey : tx.senderPublicKey) === key;
  return snapshot.pool.some((entry) => mine(entry.transaction)) || snapshot.head.transactions.some(mine);
}

const EXPLORER_PAGES: ReadonlySet<Route['page']> = new Set(['explorer', 'block', 'tx', 'account']);

/** The steps done now (the component keeps each tick once seen, so a peer leaving does not undo it). */
export function stepsDoneNow(inputs: ChecklistInputs): Set<ChecklistStep['id']> {
  const { snapshot, route } = inputs;
  const done = new Set<ChecklistStep['id']>();
  if (snapshot.peers.length > 0) done.add('second-tab');
  if (snapshot.wallet !== null) done.add('key');
  // Coins received in a transfer are no purchase: only an EXCHANGE to the wallet counts.
  if (walletMade(inputs, 'EXCHANGE')) done.add('buy');
  if (walletMade(inputs, 'STAKE')) done.add('stake');
  if (walletMade(inputs, 'TRANSFER')) done.add('transfer');
  if (EXPLORER_PAGES.has(route.page) && snapshot.height > 0) done.add('explorer');
  return done;
}

/** The localStorage key of the checklist's setting. */
export const CHECKLIST_SETTING_KEY = 'tabchain.checklist';

const settingSchema = z.object({ dismissed: z.boolean() }).strict();

/** The stored setting, JSON of at most this many characters (anything longer is not ours). */
const MAX_SETTING_CHARS = 200;

/** The checklist's stored setting; untrusted (any script or person may have written it). */
export function decodeChecklistSetting(text: string | null): Decoded<{ readonly dismissed: boolean }> {
  if (text === null) return ok({ dismissed: false });
  if (text.length > MAX_SETTING_CHARS) return err('The checklist setting is too long.');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return err('The checklist setting is not JSON.');
  }
  const parsed = settingSchema.safeParse(value);
  return parsed.success ? ok(parsed.data) : err('The checklist setting is not {"dismissed": true|false}.');
}

/** Whether the checklist was dismissed in this browser; an unreadable setting counts as not dismissed. */
export function checklistDismissed(
  storage: Pick<Storage, 'getItem'> | undefined = globalThis.localStorage,
): boolean {
  try {
    const decoded = decodeChecklistSetting(storage?.getItem(CHECKLIST_SETTING_KEY) ?? null);
    return decoded.ok && decoded.value.dismissed;
  } catch {
    return false;
  }
}

/** Remembers the dismissal; storage denied, it lasts for this page only. */
export function rememberDismissed(
  storage: Pick<Storage, 'setItem'> | undefined = globalThis.localStorage,
): void {
  try {
    storage?.setItem(CHECKLIST_SETTING_KEY, JSON.stringify({ dismissed: true }));
  } catch {
    // Storage denied: the checklist stays hidden until the page reloads.
  }
}
