/**
 * Counts the server's WebSockets (signaling and PeerJS together) per client address and in all,
 * and decides each new upgrade: accept it, refuse it politely (complete the handshake, then close
 * with a refusal code and a reason the client can show), or, when even refusals pile up from one
 * address or overall, drop it with a bare HTTP status. A socket counts from its upgrade until its
 * TCP connection closes, so sockets still in their handshake count too and a burst of upgrades
 * cannot slip past a cap.
 */
import type { Duplex } from 'node:stream';
import { SIGNALING_CLOSE_CODES } from '../src/net/signaling-protocol';

/** Sockets from one address being refused politely at once; past it, refusals are bare HTTP. */
export const MAX_REFUSING_PER_ADDRESS = 8;
/** Sockets being refused politely at once, over all addresses. */
export const MAX_REFUSING = 256;

/** What to do with a new upgrade. */
export type Admission =
  | { readonly kind: 'accept' }
  | {
      readonly kind: 'refuse';
      /** Close code (one of the refusal codes of `SIGNALING_CLOSE_CODES`). */
      readonly code: number;
      /** The signaling protocol's error code for the same refusal. */
      readonly error: 'address-full' | 'server-full';
      /** For people; at most 123 bytes (a close reason's limit). */
      readonly reason: string;
    }
  | { readonly kind: 'drop'; readonly status: 429 | 503; readonly text: string };

/** The caps the ledger enforces. */
export interface ConnectionCaps {
  /** Sockets one client address may hold. */
  readonly maxPerAddress: number;
  /** Sockets the server holds in all. */
  readonly maxClients: number;
}

interface Counts {
  held: number;
  refusing: number;
}

/** The ledger of live sockets; one per server. */
export interface ConnectionLedger {
  /** Decides an upgrade from `address` (a key from client-address.ts). */
  admit(address: string): Admission;
  /**
   * Counts `socket` under `address` as held (accepted) or refusing until it closes. False, and
   * nothing counted, when the socket is already destroyed (it will never report its close).
   */
  track(address: string, as: keyof Counts, socket: Duplex): boolean;
  /** Sockets `address` holds now. */
  heldBy(address: string): number;
}

/** Creates an empty ledger enforcing `caps`. */
export function createConnectionLedger(caps: ConnectionCaps): ConnectionLedger {
  const byAddress = new Map<string, Counts>();
  const total: Counts = { held: 0, refusing: 0 };

  const refuse = (
    counts: Counts | undefined,
    code: number,
    error: 'address-full' | 'server-full',
    reason: string,
    status: 429 | 503,
  ): Admission => {
    // A polite refusal costs a handshake and a socket for a moment; a client that keeps many of
    // them open gets the cheap answer instead.
    if ((counts?.refusing ?? 0) >= MAX_REFUSING_PER_ADDRESS || total.refusing >= MAX_REFUSING) {
      return { kind: 'drop', status, text: status === 429 ? 'Too Many Requests' : 'Service Unavailable' };
    }
    return { kind: 'refuse', code, error, reason };
  };

  return {
    admit(address) {
      const counts = byAddress.get(address);
      if ((counts?.held ?? 0) >= caps.maxPerAddress) {
        return refuse(
          counts,
          SIGNALING_CLOSE_CODES.addressFull,
          'address-full',
          `too many connections from your address (at most ${caps.maxPerAddress}); close some tabs`,
          429,
        );
      }
      if (total.held >= caps.maxClients) {
        return refuse(
          counts,
          SIGNALING_CLOSE_CODES.serverFull,
          'server-full',
          `the server is full (${caps.maxClients} connections); try again later`,
          503,
        );
      }
      return { kind: 'accept' };
    },

    track(address, as, socket) {
      if (socket.destroyed) return false;
      let counts = byAddress.get(address);
      if (counts === undefined) {
        counts = { held: 0, refusing: 0 };
        byAddress.set(address, counts);
      }
      const entry = counts;
      entry[as] += 1;
      total[as] += 1;
      socket.once('close', () => {
        entry[as] -= 1;
        total[as] -= 1;
        if (entry.held === 0 && entry.refusing === 0 && byAddress.get(address) === entry) {
          byAddress.delete(address);
        }
      });
      return true;
    },

    heldBy(address) {
      return byAddress.get(address)?.held ?? 0;
    },
  };
}
