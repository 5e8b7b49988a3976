import { stringifyJson } from '../core/json';
import { err, ok, type Result } from '../core/result';
import type { SignatureVerifier } from '../core/types';
import type { CryptoProvider, KeyPair } from '../crypto/types';
import type { PeerId } from '../ports/transport';
import type { WireMessage } from './protocol';

/*
 * Forging take-over between a tab and an always-on node that hold the same key. The always-on
 * node forges with it and says so (STATUS `forging: true`); a tab holding the key yields to it.
 * When the tab's user takes over, the tab sends the node a FORGING_TAKEOVER signed by the key
 * itself: only the key's holder can stop the node forging with it. The signed text names its
 * purpose (domain separation: no transaction or block signature can be passed off as one),
 * the network, the target node's id (it works on that node alone) and the tab's clock (it goes
 * stale within `TAKEOVER_MAX_SKEW_MS`, and the node takes each `at` once, in increasing order).
 *
 * The other way round, the always-on node proves it holds the key before a tab yields to it:
 * its STATUS carries `forgingProof`, its signature over `forgingClaimBytes` (its own id), which
 * the tab checks once per peer and key. Claiming a tab's public key costs nothing; this does.
 */

/** A take-over stamped further than this from the receiving node's clock is refused (ms). */
export const TAKEOVER_MAX_SKEW_MS = 60_000;

/**
 * An always-on node that yielded to a tab forges again once that tab has been disconnected
 * this long (ms): a reload or a network blip keeps the tab's hold; a closed tab gives it back.
 */
export const TAKEOVER_RELEASE_MS = 30_000;

/** The take-over message as it travels. */
export type TakeoverMessage = Extract<WireMessage, { type: 'FORGING_TAKEOVER' }>;

/** What a take-over signs: its purpose, the network, the target node, the time and the key. */
export function takeoverSigningBytes(fields: {
  readonly network: string;
  readonly target: PeerId;
  readonly key: string;
  readonly at: number;
}): Uint8Array {
  return new TextEncoder().encode(
    stringifyJson({
      purpose: 'tabchain forging takeover v1',
      network: fields.network,
      target: fields.target,
      at: fields.at,
      key: fields.key,
    }),
  );
}

/**
 * What an always-on node signs to prove, in its STATUS, that it holds the key it forges with:
 * its purpose, the network and the node's own id (a peer cannot reuse it under another id).
 */
export function forgingClaimBytes(fields: {
  readonly network: string;
  readonly node: PeerId;
  readonly key: string;
}): Uint8Array {
  return new TextEncoder().encode(
    stringifyJson({
      purpose: 'tabchain always-on forging claim v1',
      network: fields.network,
      node: fields.node,
      key: fields.key,
    }),
  );
}

/** Signs a take-over of forging with `wallet`'s key on node `target`, at `at` (ms). */
export async function signTakeover(
  crypto: CryptoProvider,
  wallet: KeyPair,
  network: string,
  target: PeerId,
  at: number,
): Promise<Omit<TakeoverMessage, 'v'>> {
  const key = wallet.publicKeyPem;
  const signature = await crypto.sign(wallet, takeoverSigningBytes({ network, target, key, at }));
  return { type: 'FORGING_TAKEOVER', key, at, signature };
}

/** Why a take-over was refused: `NOT_MINE` and `BAD_SIGNATURE` no honest tab sends. */
export interface TakeoverRefusal {
  readonly code: 'NOT_MINE' | 'STALE' | 'REPLAYED' | 'BAD_SIGNATURE';
  readonly message: string;
}

/** What the receiving node checks a take-over against. */
export interface TakeoverContext {
  readonly verifier: SignatureVerifier;
  readonly network: string;
  /** The receiving node's id: the take-over must name it. */
  readonly localId: PeerId;
  /** The key the receiving node forges with right now, or null. */
  readonly forgingKey: string | null;
  /** The receiving node's clock (ms). */
  readonly now: number;
  /** The `at` of the last take-over this node accepted, or null: only a later one counts. */
  readonly lastAcceptedAt: number | null;
}

/**
 * Checks a decoded take-over, cheapest first: the key must be the one this node forges with,
 * `at` within `TAKEOVER_MAX_SKEW_MS` of our clock and later than any accepted before, and the
 * signature must verify under the key. Never throws.
 */
export async function verifyTakeover(
  message: TakeoverMessage,
  context: TakeoverContext,
): Promise<Result<void, TakeoverRefusal>> {
  if (context.forgingKey === null || message.key !== context.forgingKey) {
    return err({ code: 'NOT_MINE', message: 'take-over of a key this node does not forge with' });
  }
  if (Math.abs(message.at - context.now) > TAKEOVER_MAX_SKEW_MS) {
    return err({
      code: 'STALE',
      message: `take-over stamped ${message.at}, more than ${TAKEOVER_MAX_SKEW_MS} ms from this node's clock ${context.now}`,
    });
  }
  if (context.lastAcceptedAt !== null && message.at <= context.lastAcceptedAt) {
    return err({ code: 'REPLAYED', message: 'take-over no later than one already accepted' });
  }
  const bytes = takeoverSigningBytes({
    network: context.network,
    target: context.localId,
    key: message.key,
    at: message.at,
  });
  if (!(await context.verifier.verify(message.key, bytes, message.signature))) {
    return err({ code: 'BAD_SIGNATURE', message: 'take-over signature does not verify under its key' });
  }
  return ok(undefined);
}
