import { z } from 'zod';
import { parseJson, stringifyJson } from '../core/json';
import {
  HASH_PATTERN,
  MAX_PUBLIC_KEY_CHARS,
  MAX_SIGNATURE_CHARS,
  PUBLIC_KEY_PATTERN,
  SIGNATURE_PATTERN,
} from '../core/limits';
import { err, ok, type Result } from '../core/result';
import { CONSENSUS_PROFILES } from '../core/types';

/**
 * The wire protocol, version 2. Its kinds cover the reference's (`DISCOVERY`, `TRANSACTION`,
 * `BLOCK`, `BLOCKCHAINREQUEST`, `BLOCKCHAIN`), but sync moves ranges of blocks, not the whole
 * chain, and `STATUS` and `PING`/`PONG` carry heads and round-trip times.
 *
 * Version 2 adds the handshake: `STATUS`, the first message each side sends on a new channel,
 * names the sender's network (`networkIdOf` its genesis config) and consensus profile. A node
 * whose own differ answers with `REFUSED` (why, in words) and closes the channel: profiles and
 * genesis configs never mix. (Both fields are optional on the wire so a hand-made client that
 * names no network is judged by its blocks alone, as every peer's are; every node names its own.)
 *
 * New blocks are announced (`ANNOUNCE`) and fetched by peers that lack them (`GETBLOCK` → `BLOCK`),
 * and pushed whole to a few peers only (see `gossip.ts`), so a node hears of each block about
 * once per peer and decodes it once.
 *
 * Every message from a peer goes through `decodeMessage`: a size cap on the raw text, then a
 * schema with count caps. Blocks and transactions inside stay `unknown` here and go through the
 * core's decoders, so one bad block is reported as that block's error.
 */

/** The protocol version this node speaks; messages of another version are refused. */
export const PROTOCOL_VERSION = 2;

/** The largest message accepted, in characters (a sync chunk of big blocks fits). */
export const MAX_MESSAGE_CHARS = 16 * 1024 * 1024;
/** Peer ids in one DISCOVERY message. */
export const MAX_DISCOVERY_PEERS = 64;
/** Blocks in one BLOCKCHAIN message (and the most one BLOCKCHAINREQUEST may ask for). */
export const MAX_BLOCKS_PER_MESSAGE = 64;
/** Characters in a REFUSED message's reason. */
export const MAX_REFUSAL_CHARS = 300;
/** Hops in a block's trail (ANNOUNCE, BLOCK): the forging node, the relays, the receiver. */
export const MAX_TRAIL_HOPS = 32;
/** A hop's delay at most (ms): anything slower is no propagation worth drawing. */
export const MAX_HOP_DELAY_MS = 3_600_000;

const peerId = z.string().min(1).max(128);
const height = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const hash = z.string().regex(HASH_PATTERN);
const forgerKey = z.string().max(MAX_PUBLIC_KEY_CHARS).regex(PUBLIC_KEY_PATTERN);
/**
 * How a block came to the receiver, from the node that forged it (`gossip.ts`): each entry is a
 * node and the delay (ms) from the previous node having the block to this one having it; the
 * forging node's is 0 and the last entry is the receiver itself. At least the sender and the
 * receiver.
 */
const trail = z
  .array(
    z.strictObject({
      node: peerId,
      delayMs: z.number().int().nonnegative().max(MAX_HOP_DELAY_MS),
    }),
  )
  .min(2)
  .max(MAX_TRAIL_HOPS);

const messageSchema = z.discriminatedUnion('type', [
  z.strictObject({
    v: z.literal(PROTOCOL_VERSION),
    type: z.literal('STATUS'),
    height,
    head: hash,
    /** The public key this node forges with, if it holds one: lets others see who is online. */
    forgerKey: forgerKey.nullable(),
    /** The sender's network: `networkIdOf` its genesis config (profile, genesis key, stake cap). */
    network: hash.optional(),
    /** The sender's consensus profile, so a refusal can say what differs. */
    profile: z.enum(CONSENSUS_PROFILES).optional(),
    /** The sender is an always-on node (`npm run node`), not a browser tab: a steady sync source. */
    alwaysOn: z.boolean().optional(),
    /**
     * Whether the sender forges with `forgerKey` right now (a key may be held and not forge: a
     * tab without its forging lock, or one that yields to an always-on node). Absent: unknown.
     */
    forging: z.boolean().optional(),
    /**
     * An always-on node's proof that it holds `forgerKey`: its signature over the sender's id
     * (`forgingClaimBytes`). A tab holding the same key yields only to a proven claim, so no
     * peer can stop a tab forging by announcing the tab's public key.
     */
    forgingProof: z.string().max(MAX_SIGNATURE_CHARS).regex(SIGNATURE_PATTERN).optional(),
  }),
  /**
   * A tab takes forging with `key` over from an always-on node (see `takeover.ts`): signed by
   * `key` over the target node's id and `at` (ms), so it works on that node only, briefly.
   */
  z.strictObject({
    v: z.literal(PROTOCOL_VERSION),
    type: z.literal('FORGING_TAKEOVER'),
    key: forgerKey,
    at: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    signature: z.string().max(MAX_SIGNATURE_CHARS).regex(SIGNATURE_PATTERN),
  }),
  /** The last message before a node closes a channel it will not keep: why, for the user. */
  z.strictObject({
    v: z.literal(PROTOCOL_VERSION),
    type: z.literal('REFUSED'),
    reason: z.string().min(1).max(MAX_REFUSAL_CHARS),
  }),
  z.strictObject({
    v: z.literal(PROTOCOL_VERSION),
    type: z.literal('DISCOVERY'),
    peers: z.array(peerId).max(MAX_DISCOVERY_PEERS),
  }),
  z.strictObject({
    v: z.literal(PROTOCOL_VERSION),
    type: z.literal('TRANSACTION'),
    transaction: z.unknown(),
  }),
  /**
   * A whole block: pushed right after the sender validated it (to a few peers; see `gossip.ts`),
   * or the answer to a GETBLOCK. The trail is optional: a hand-made client may send none.
   */
  z.strictObject({
    v: z.literal(PROTOCOL_VERSION),
    type: z.literal('BLOCK'),
    block: z.unknown(),
    trail: trail.optional(),
  }),
  /**
   * A new block the sender validated and made its head: its hash, height and parent, so the
   * receiver can tell at once whether it lacks it and whether it builds on its own head (then it
   * asks with GETBLOCK). It also tells the receiver the sender's head, as a STATUS would.
   */
  z.strictObject({
    v: z.literal(PROTOCOL_VERSION),
    type: z.literal('ANNOUNCE'),
    hash,
    height: height.min(1),
    lastHash: hash,
    trail,
  }),
  /** Asks for a block the receiver announced to the sender; answered by a BLOCK. */
  z.strictObject({ v: z.literal(PROTOCOL_VERSION), type: z.literal('GETBLOCK'), hash }),
  z.strictObject({
    v: z.literal(PROTOCOL_VERSION),
    type: z.literal('BLOCKCHAINREQUEST'),
    from: height,
    count: z.number().int().min(1).max(MAX_BLOCKS_PER_MESSAGE),
  }),
  z.strictObject({
    v: z.literal(PROTOCOL_VERSION),
    type: z.literal('BLOCKCHAIN'),
    from: height,
    blocks: z.array(z.unknown()).max(MAX_BLOCKS_PER_MESSAGE),
    height,
    head: hash,
  }),
  z.strictObject({
    v: z.literal(PROTOCOL_VERSION),
    type: z.literal('PING'),
    nonce: z.number().int().nonnegative(),
  }),
  z.strictObject({
    v: z.literal(PROTOCOL_VERSION),
    type: z.literal('PONG'),
    nonce: z.number().int().nonnegative(),
  }),
]);

/** A decoded message. */
export type WireMessage = z.infer<typeof messageSchema>;

/** A block's trail as it travels in ANNOUNCE and BLOCK (see `trail` above). */
export type Trail = z.infer<typeof trail>;

/** Why a peer's message was refused; every one costs the peer score. */
export type DecodeError = { readonly code: 'OVERSIZED' | 'NOT_JSON' | 'MALFORMED'; readonly message: string };

/** Decodes one message from a peer. Never throws. */
export function decodeMessage(data: unknown): Result<WireMessage, DecodeError> {
  if (typeof data !== 'string') return err({ code: 'MALFORMED', message: 'a message must be text' });
  if (data.length > MAX_MESSAGE_CHARS) {
    return err({
      code: 'OVERSIZED',
      message: `message of ${data.length} characters exceeds ${MAX_MESSAGE_CHARS}`,
    });
  }
  // Lossless: a block or transaction keeps a whole-number float (1795670516.0) as the float it is.
  const json = parseJson(data);
  if (!json.ok) return err({ code: 'NOT_JSON', message: `message is not JSON: ${json.error}` });
  const parsed = messageSchema.safeParse(json.value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return err({
      code: 'MALFORMED',
      message: `bad message: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim(),
    });
  }
  return ok(parsed.data);
}

/** Distributes `Omit` over a union. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Encodes a message for the wire, adding the protocol version. */
export function encodeMessage(message: DistributiveOmit<WireMessage, 'v'>): string {
  return stringifyJson({ v: PROTOCOL_VERSION, ...message });
}

/**
 * Encodes one block for several peers, each with its own trail: the block (the bulk of the
 * message) is serialized once, and each peer's trail appended as the last field. Decodes to what
 * `encodeMessage({ type: 'BLOCK', block, trail })` gives.
 */
export function blockMessageEncoder(block: unknown): (trail: Trail) => string {
  const body = encodeMessage({ type: 'BLOCK', block });
  const open = body.slice(0, -1);
  return (trail) => `${open},"trail":${stringifyJson(trail)}}`;
}
