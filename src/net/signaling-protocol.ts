/**
 * The signaling protocol between a tab and the signaling server (signaling/server.ts): JSON text
 * frames over one WebSocket. Both ends decode every frame they receive with the schemas below,
 * so the server and the browser client share one definition of the wire format and its caps.
 *
 * Client to server:
 *   {type:'join', room, token?, key?}   once, first; `token` resumes the id of an earlier session.
 *       With `key` (a node's relay identity: its P-256 public key and a signature over the room
 *       and the token), the id is derived from that key instead (`peerIdOfPublicKey`), so that
 *       peers can check signals relayed through other peers (src/net/relay.ts) against it.
 *   {type:'signal', to, data}     relayed to `to` if it is in the same room; `data` is opaque
 * Server to client:
 *   {type:'welcome', id, token, room, peers}   the joiner's id and the room's other live peers
 *   {type:'peer-joined', id} / {type:'peer-left', id}
 *   {type:'signal', from, data}
 *   {type:'error', code, message}
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { z } from 'zod';
import { err, ok, type Result } from '../core/result';

/** Cap on one frame in either direction (UTF-8 bytes on the server, characters in the browser). */
export const MAX_SIGNALING_MESSAGE_BYTES = 64 * 1024;
/** Most peers one room can hold (the server's per-room cap is at most this); caps a welcome's `peers`. */
export const MAX_ROOM_PEERS = 256;
/** A room name: the network's name, 1-64 characters of [A-Za-z0-9._-]. */
export const ROOM_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
/** A peer id: 16 lower-case hex digits (64 bits), derived by the server from the session token. */
export const PEER_ID_PATTERN = /^[0-9a-f]{16}$/;
/** A session token: 32 random bytes in hex; whoever holds it may resume its id. */
export const TOKEN_PATTERN = /^[0-9a-f]{64}$/;

/** A P-256 public key as hex of its SubjectPublicKeyInfo DER (always 91 bytes). */
export const PUBLIC_KEY_HEX_PATTERN = /^[0-9a-f]{182}$/;
/** An ECDSA P-256 signature as hex of r‖s (IEEE P1363, WebCrypto's format). */
export const SIGNATURE_HEX_PATTERN = /^[0-9a-f]{128}$/;

/**
 * The peer id a relay identity's public key (hex SPKI) gives: the first 64 bits of its SHA-256,
 * the same shape as the ids derived from tokens, so nothing downstream tells them apart.
 */
export function peerIdOfPublicKey(publicKeyHex: string): string {
  return bytesToHex(sha256(hexToBytes(publicKeyHex))).slice(0, 16);
}

/**
 * What a join's `key.signature` signs: the room and the session token the client chose, so a
 * signature is good for that one session only.
 */
export function joinProofBytes(room: string, token: string): Uint8Array {
  return utf8ToBytes(`tabchain-signaling-join\n${room}\n${token}`);
}

/**
 * Close codes the server ends a socket with (the application range, 4000-4999); the close reason
 * is text for people. `replaced`: a newer socket resumed this session, so retrying would fight
 * it. The others are refusals: the server is at a cap, and a client retries only after a long
 * backoff instead of hammering it.
 */
export const SIGNALING_CLOSE_CODES = {
  replaced: 4000,
  /** Too many sockets from this client's address (signaling and PeerJS together). */
  addressFull: 4001,
  /** The room holds as many peers as the server allows in one room. */
  roomFull: 4002,
  /** The server is at its cap on sockets or rooms. */
  serverFull: 4003,
} as const;

/** The close codes that mean "refused: at a cap" (see `SIGNALING_CLOSE_CODES`). */
export const SIGNALING_REFUSAL_CODES: ReadonlySet<number> = new Set([
  SIGNALING_CLOSE_CODES.addressFull,
  SIGNALING_CLOSE_CODES.roomFull,
  SIGNALING_CLOSE_CODES.serverFull,
]);

/** Error codes the server sends. */
export const SIGNALING_ERROR_CODES = [
  'bad-json',
  'bad-message',
  'binary',
  'too-large',
  'not-joined',
  'already-joined',
  'unknown-peer',
  'rate-limited',
  'too-many-errors',
  'room-full',
  'server-full',
  'address-full',
] as const;

/** One of `SIGNALING_ERROR_CODES`. */
export type SignalingErrorCode = (typeof SIGNALING_ERROR_CODES)[number];

const room = z.string().regex(ROOM_PATTERN, 'room: 1-64 characters of A-Z a-z 0-9 . _ -');
const peerId = z.string().regex(PEER_ID_PATTERN, 'peer id: 16 lower-case hex digits');
const token = z.string().regex(TOKEN_PATTERN, 'token: 64 lower-case hex digits');
// Opaque to the server: any JSON object (offers, answers, candidates). The frame cap bounds it.
const data = z.looseObject({});

const joinKey = z.strictObject({
  publicKey: z.string().regex(PUBLIC_KEY_HEX_PATTERN, 'key.publicKey: hex of a P-256 SPKI'),
  signature: z.string().regex(SIGNATURE_HEX_PATTERN, 'key.signature: 64 bytes in hex'),
});

const clientMessageSchema = z.discriminatedUnion('type', [
  z
    .strictObject({ type: z.literal('join'), room, token: token.optional(), key: joinKey.optional() })
    .refine((join) => join.key === undefined || join.token !== undefined, {
      message: 'a join with a key names its token (the key signs it)',
      path: ['token'],
    }),
  z.strictObject({ type: z.literal('signal'), to: peerId, data }),
]);

const serverMessageSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('welcome'),
    id: peerId,
    token,
    room,
    peers: z.array(peerId).max(MAX_ROOM_PEERS),
  }),
  z.strictObject({ type: z.literal('peer-joined'), id: peerId }),
  z.strictObject({ type: z.literal('peer-left'), id: peerId }),
  z.strictObject({ type: z.literal('signal'), from: peerId, data }),
  z.strictObject({
    type: z.literal('error'),
    code: z.enum(SIGNALING_ERROR_CODES),
    message: z.string().max(500),
  }),
]);

/** A join's proof that the client holds a relay identity's key. */
export type JoinKey = z.infer<typeof joinKey>;
/** A frame a client sends. */
export type ClientMessage = z.infer<typeof clientMessageSchema>;
/** A frame the server sends. */
export type ServerMessage = z.infer<typeof serverMessageSchema>;

/** Why a frame was refused. */
export interface FrameError {
  readonly code: 'too-large' | 'bad-json' | 'bad-message';
  readonly reason: string;
}

/** The outcome of decoding one frame: the project's one result shape (`Result`). */
export type Decoded<T> = Result<T, FrameError>;

function decodeWith<T>(schema: z.ZodType<T>, text: string, maxChars: number): Decoded<T> {
  // Checked before parsing so that a huge frame costs nothing; the server's `ws` maxPayload
  // enforces the same cap in bytes before a frame is even buffered.
  if (text.length > maxChars) return err({ code: 'too-large', reason: `over ${maxChars} characters` });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return err({ code: 'bad-json', reason: 'not JSON' });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.map(String).join('.') ?? '';
    return err({ code: 'bad-message', reason: `${path === '' ? '' : `${path}: `}${issue?.message}` });
  }
  return ok(parsed.data);
}

/** Decodes an untrusted frame from a client (server side). */
export function decodeClientMessage(text: string): Decoded<ClientMessage> {
  return decodeWith(clientMessageSchema, text, MAX_SIGNALING_MESSAGE_BYTES);
}

/** Decodes an untrusted frame from the server (client side). */
export function decodeServerMessage(text: string): Decoded<ServerMessage> {
  return decodeWith(serverMessageSchema, text, MAX_SIGNALING_MESSAGE_BYTES + 1024);
}
