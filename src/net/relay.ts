/**
 * Signaling relayed through peers, after Nimiq's SignalProcessor: when the signaling server is
 * down (or does not know a peer), a transport sends its offers, answers and hellos to a peer it
 * has a channel to, and that peer forwards them to the target if it has a channel to it too. So
 * the server is needed only to get in; peers found later through peer exchange are reached
 * through peers both sides already have.
 *
 * Relay frames are transport-level control frames on the data channels (frame kind 'r', see
 * channel.ts), never node messages:
 *   {k:'signal', from, to, publicKey, nonce, at, hops, payload, signature}
 *   {k:'unroutable', to, nonce, reason}   back to the neighbour that handed us a signal we could
 *                                          not pass on (no channel to `to`, or out of hops)
 * `payload` is the JSON text of one signal (what would otherwise go through the server).
 * `signature` is the sender's relay key's (relay-identity.ts) over the room, from, to, nonce, `at`
 * and payload: everything except `hops`, which relays raise. The receiver checks that `from` is
 * the id of `publicKey` and the signature before it uses the payload, so a relay can neither
 * forge nor redirect a signal; a relay checks the id (cheap) but leaves the signature to the
 * receiver. A signal is passed on at most `MAX_RELAY_HOPS` times, only to the peer it is for,
 * and each neighbour's relay frames are rate-limited by a token bucket.
 */
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { z } from 'zod';
import { err, ok, type Result } from '../core/result';
import type { Clock } from '../ports/clock';
import type { PeerId } from '../ports/transport';
import { randomHex } from './channel';
import { type RelayIdentity, verifyRelaySignature } from './relay-identity';
import {
  PEER_ID_PATTERN,
  PUBLIC_KEY_HEX_PATTERN,
  peerIdOfPublicKey,
  SIGNATURE_HEX_PATTERN,
} from './signaling-protocol';

/** A signal is passed on at most this many times (Nimiq's limit too). */
export const MAX_RELAY_HOPS = 3;
/** The largest payload (one offer or answer with its candidates) a relay frame carries, in characters. */
export const MAX_RELAY_PAYLOAD_CHARS = 16 * 1024;
/** The largest relay frame, in characters: the payload and the envelope. */
export const MAX_RELAY_FRAME_CHARS = MAX_RELAY_PAYLOAD_CHARS + 1024;
/** A signal signed longer ago than this (or this far in the future: clocks differ) is refused. */
export const RELAY_MAX_AGE_MS = 5 * 60_000;
/** Relay frames per neighbour: a burst covers a few connection attempts, the rate a steady trickle. */
export const DEFAULT_RELAY_RATE = { perSecond: 4, burst: 24 } as const;
/** Signals remembered against replays (and duplicates that came through several relays). */
const MAX_SEEN_SIGNALS = 4096;

const peerId = z.string().regex(PEER_ID_PATTERN);
const nonce = z.string().regex(/^[0-9a-f]{16}$/);

const signalFrameSchema = z.strictObject({
  k: z.literal('signal'),
  from: peerId,
  to: peerId,
  publicKey: z.string().regex(PUBLIC_KEY_HEX_PATTERN),
  nonce,
  at: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  hops: z.number().int().min(0).max(MAX_RELAY_HOPS),
  payload: z.string().max(MAX_RELAY_PAYLOAD_CHARS),
  signature: z.string().regex(SIGNATURE_HEX_PATTERN),
});

const unroutableFrameSchema = z.strictObject({
  k: z.literal('unroutable'),
  to: peerId,
  nonce,
  reason: z.enum(['no-route', 'hops']),
});

const relayFrameSchema = z.discriminatedUnion('k', [signalFrameSchema, unroutableFrameSchema]);

/** A signed signal on its way to `to`. */
export type RelaySignalFrame = z.infer<typeof signalFrameSchema>;
/** A relay's answer: it could not pass a signal for `to` on. */
export type UnroutableFrame = z.infer<typeof unroutableFrameSchema>;
/** Either relay frame. */
export type RelayFrame = z.infer<typeof relayFrameSchema>;

/** The one decoder of relay frames from peers: size cap first, then JSON, then the schema. */
export function decodeRelayFrame(text: string): Result<RelayFrame, string> {
  if (text.length > MAX_RELAY_FRAME_CHARS) return err(`relay frame over ${MAX_RELAY_FRAME_CHARS} characters`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return err('relay frame: not JSON');
  }
  const parsed = relayFrameSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return err(`relay frame: ${issue?.path.map(String).join('.') ?? ''} ${issue?.message ?? ''}`.trim());
  }
  return ok(parsed.data);
}

/** JSON text of a relay frame (the data channel frame is 'r' + this). */
export function encodeRelayFrame(frame: RelayFrame): string {
  return JSON.stringify(frame);
}

/** What a signal's signature covers: all but `hops`, bound to the network's room. */
export function relaySignedBytes(
  room: string,
  signal: Pick<RelaySignalFrame, 'from' | 'to' | 'nonce' | 'at' | 'payload'>,
): Uint8Array {
  return utf8ToBytes(
    JSON.stringify([
      'tabchain-relay-v1',
      room,
      signal.from,
      signal.to,
      signal.nonce,
      signal.at,
      signal.payload,
    ]),
  );
}

/** A token bucket on the injected clock. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: { readonly perSecond: number; readonly burst: number },
    private readonly clock: Pick<Clock, 'now'>,
  ) {
    this.tokens = rate.burst;
    this.last = clock.now();
  }

  /** Takes one token; false when the bucket is empty. */
  take(): boolean {
    const now = this.clock.now();
    this.tokens = Math.min(
      this.rate.burst,
      this.tokens + (Math.max(0, now - this.last) / 1000) * this.rate.perSecond,
    );
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** What became of one relay frame a neighbour sent us (for the transport's bookkeeping and tests). */
export type RelayOutcome =
  | { readonly kind: 'delivered'; readonly from: PeerId }
  | { readonly kind: 'forwarded'; readonly to: PeerId }
  | { readonly kind: 'unroutable-sent'; readonly reason: UnroutableFrame['reason'] }
  | { readonly kind: 'unroutable-received'; readonly to: PeerId }
  | { readonly kind: 'dropped'; readonly reason: string };

/** What the router needs from its transport. */
export interface RelayRouterOptions {
  /** The network's room: signatures are bound to it. */
  readonly room: string;
  /** This node's relay identity; its id is this node's peer id. */
  readonly identity: RelayIdentity;
  /** `at` stamps, their age, and the token buckets. */
  readonly clock: Pick<Clock, 'now'>;
  /** Whether this node has an open channel to `peer`. */
  isLinked(peer: PeerId): boolean;
  /** Writes one relay frame (JSON text) to a neighbour's channel; false when it cannot. */
  sendFrame(peer: PeerId, text: string): boolean;
  /** A signal for us, checked: `from` signed `payload`; it came through neighbour `via`. */
  onSignal(from: PeerId, payload: string, via: PeerId): void;
  /** Neighbour `via` could not pass a signal for `to` on. */
  onUnroutable?(to: PeerId, via: PeerId): void;
  /** Relay frames per neighbour; default `DEFAULT_RELAY_RATE`. */
  readonly rate?: { readonly perSecond: number; readonly burst: number };
}

/**
 * Signs and sends this node's relayed signals, and handles the relay frames its neighbours send:
 * delivers the ones for us (checked), forwards the ones for a peer we have a channel to, and
 * answers the rest with UNROUTABLE.
 */
export class RelayRouter {
  private readonly buckets = new Map<PeerId, TokenBucket>();
  /** Signals taken (from, nonce, signature), with their `at`, against replays and duplicates. */
  private readonly seen = new Map<string, number>();
  private readonly rate: { readonly perSecond: number; readonly burst: number };

  constructor(private readonly options: RelayRouterOptions) {
    this.rate = options.rate ?? DEFAULT_RELAY_RATE;
  }

  /** This node's id (its relay key's). */
  get id(): PeerId {
    return this.options.identity.id;
  }

  /**
   * Signs `payload` for `to` once and writes it to each neighbour in `via`; resolves to the
   * neighbours it was written to. An oversized payload goes nowhere.
   */
  async send(to: PeerId, payload: string, via: readonly PeerId[]): Promise<PeerId[]> {
    if (payload.length > MAX_RELAY_PAYLOAD_CHARS) return [];
    const unsigned = { from: this.id, to, nonce: randomHex(8), at: this.options.clock.now(), payload };
    const signature = await this.options.identity.sign(relaySignedBytes(this.options.room, unsigned));
    const text = encodeRelayFrame({
      k: 'signal',
      ...unsigned,
      publicKey: this.options.identity.publicKey,
      hops: 0,
      signature,
    });
    return via.filter((neighbour) => neighbour !== to && this.options.sendFrame(neighbour, text));
  }

  /** Handles one relay frame (JSON text) from `neighbour`; bad, excess and unverifiable ones are dropped. */
  async receive(neighbour: PeerId, text: string): Promise<RelayOutcome> {
    if (!this.bucket(neighbour).take()) return { kind: 'dropped', reason: 'rate-limited' };
    const decoded = decodeRelayFrame(text);
    if (!decoded.ok) return { kind: 'dropped', reason: decoded.error };
    const frame = decoded.value;
    if (frame.k === 'unroutable') {
      this.options.onUnroutable?.(frame.to, neighbour);
      return { kind: 'unroutable-received', to: frame.to };
    }
    // Checks that cost nothing come before any that cost a forward or a signature check.
    if (frame.from === this.id) return { kind: 'dropped', reason: 'our own signal came back' };
    if (peerIdOfPublicKey(frame.publicKey) !== frame.from)
      return { kind: 'dropped', reason: 'from is not the id of publicKey' };
    if (frame.hops === 0 && frame.from !== neighbour)
      return { kind: 'dropped', reason: 'a first hop must come from its signer' };
    if (frame.to === this.id) return this.take(frame, neighbour);
    if (frame.to === neighbour) return { kind: 'dropped', reason: 'sent back to its target' };
    if (frame.hops + 1 > MAX_RELAY_HOPS) return this.unroutable(neighbour, frame, 'hops');
    if (!this.options.isLinked(frame.to)) return this.unroutable(neighbour, frame, 'no-route');
    if (!this.options.sendFrame(frame.to, encodeRelayFrame({ ...frame, hops: frame.hops + 1 })))
      return this.unroutable(neighbour, frame, 'no-route');
    return { kind: 'forwarded', to: frame.to };
  }

  /** Forgets a neighbour whose channel closed. */
  forget(neighbour: PeerId): void {
    this.buckets.delete(neighbour);
  }

  private async take(frame: RelaySignalFrame, neighbour: PeerId): Promise<RelayOutcome> {
    const now = this.options.clock.now();
    if (Math.abs(now - frame.at) > RELAY_MAX_AGE_MS) return { kind: 'dropped', reason: 'stale' };
    const key = `${frame.from}:${frame.nonce}:${frame.signature}`;
    if (this.seen.has(key)) return { kind: 'dropped', reason: 'already taken' };
    this.remember(key, frame.at, now);
    const signed = relaySignedBytes(this.options.room, frame);
    if (!(await verifyRelaySignature(frame.publicKey, frame.signature, signed))) {
      this.seen.delete(key);
      return { kind: 'dropped', reason: 'bad signature' };
    }
    this.options.onSignal(frame.from, frame.payload, neighbour);
    return { kind: 'delivered', from: frame.from };
  }

  private unroutable(
    neighbour: PeerId,
    frame: RelaySignalFrame,
    reason: UnroutableFrame['reason'],
  ): RelayOutcome {
    this.options.sendFrame(
      neighbour,
      encodeRelayFrame({ k: 'unroutable', to: frame.to, nonce: frame.nonce, reason }),
    );
    return { kind: 'unroutable-sent', reason };
  }

  private remember(key: string, at: number, now: number): void {
    if (this.seen.size >= MAX_SEEN_SIGNALS) {
      // Entries past the age window can go: their signals would be refused as stale anyway.
      for (const [old, stamp] of this.seen)
        if (Math.abs(now - stamp) > RELAY_MAX_AGE_MS) this.seen.delete(old);
      // Still full (a flood inside the window): the oldest go first.
      for (const old of this.seen.keys()) {
        if (this.seen.size < MAX_SEEN_SIGNALS) break;
        this.seen.delete(old);
      }
    }
    this.seen.set(key, at);
  }

  private bucket(neighbour: PeerId): TokenBucket {
    let bucket = this.buckets.get(neighbour);
    if (bucket === undefined) {
      bucket = new TokenBucket(this.rate, this.options.clock);
      this.buckets.set(neighbour, bucket);
    }
    return bucket;
  }
}
