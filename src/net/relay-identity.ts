/**
 * A node's relay identity: an ECDSA P-256 key pair of its own (not the wallet's), made with
 * WebCrypto and non-extractable, so page scripts cannot read the private key. The node's peer id
 * is derived from its public key (`peerIdOfPublicKey`): the signaling server hands out that id
 * once the join proves the key (signaling-protocol.ts), and peers check every signal relayed
 * through other peers against it (relay.ts), so a relay can neither forge nor redirect an offer.
 *
 * A fresh key is made per start; the id follows it. Pages without WebCrypto (an insecure
 * context) get no identity: their transport keeps the server's token-derived id and signals only
 * through the server.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import type { PeerId } from '../ports/transport';
import {
  type JoinKey,
  joinProofBytes,
  PUBLIC_KEY_HEX_PATTERN,
  peerIdOfPublicKey,
} from './signaling-protocol';

const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNATURE_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;

/** A node's relay identity: its id, its public key, and a signer that never exposes the private key. */
export interface RelayIdentity {
  /** `peerIdOfPublicKey(publicKey)`. */
  readonly id: PeerId;
  /** Hex of the public key's SPKI DER. */
  readonly publicKey: string;
  /** Signs `bytes` (ECDSA P-256 with SHA-256); hex of r‖s. */
  sign(bytes: Uint8Array): Promise<string>;
  /** A join's proof of this key for `room` and the session `token` (signaling-protocol.ts). */
  joinKey(room: string, token: string): Promise<JoinKey>;
}

/**
 * Makes a fresh non-extractable identity with `subtle` (default the page's WebCrypto); undefined
 * where WebCrypto is missing (`null`: an insecure page).
 */
export async function createRelayIdentity(
  subtle: SubtleCrypto | null = globalThis.crypto?.subtle ?? null,
): Promise<RelayIdentity | undefined> {
  if (subtle === null) return undefined;
  const pair = (await subtle.generateKey(KEY_ALGORITHM, false, ['sign', 'verify'])) as CryptoKeyPair;
  const publicKey = bytesToHex(new Uint8Array(await subtle.exportKey('spki', pair.publicKey)));
  const sign = async (bytes: Uint8Array): Promise<string> =>
    bytesToHex(
      new Uint8Array(await subtle.sign(SIGNATURE_ALGORITHM, pair.privateKey, bytes as BufferSource)),
    );
  return {
    id: peerIdOfPublicKey(publicKey),
    publicKey,
    sign,
    joinKey: async (room, token) => ({ publicKey, signature: await sign(joinProofBytes(room, token)) }),
  };
}

/**
 * Whether `signatureHex` is `publicKeyHex`'s signature of `bytes`. Malformed keys or signatures
 * are simply not valid (false), never an exception.
 */
export async function verifyRelaySignature(
  publicKeyHex: string,
  signatureHex: string,
  bytes: Uint8Array,
  subtle: SubtleCrypto | undefined = globalThis.crypto?.subtle,
): Promise<boolean> {
  if (subtle === undefined || !PUBLIC_KEY_HEX_PATTERN.test(publicKeyHex)) return false;
  try {
    const key = await subtle.importKey(
      'spki',
      hexToBytes(publicKeyHex) as BufferSource,
      KEY_ALGORITHM,
      false,
      ['verify'],
    );
    return await subtle.verify(
      SIGNATURE_ALGORITHM,
      key,
      hexToBytes(signatureHex) as BufferSource,
      bytes as BufferSource,
    );
  } catch {
    return false;
  }
}
