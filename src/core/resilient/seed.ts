import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { maxTotalStakeOf } from '../config';
import { hash } from '../hash';
import { err, ok, type Result } from '../result';
import type { GenesisConfig } from '../types';

/*
 * The `resilient` profile's seed chain. Each block carries `seedSignature`, the forger's
 * RSASSA-PKCS1-v1_5 / SHA-256 signature over `seedSigningBytes(previous seed)`; the block's
 * seed is SHA-256 of that signature's raw bytes. PKCS#1 v1.5 is deterministic, so a key has
 * exactly one valid signature per message: the forger can withhold the seed but not choose it.
 * Verifying the signature is the caller's (the `SignatureVerifier` port), as for block signatures.
 */

/** Prefixes the signed bytes so they can never be a block or transaction signature (JSON starts with `{`). */
export const SEED_DOMAIN = 'tabchain-resilient-seed:';

const SEED_PATTERN = /^[0-9a-f]{64}$/;

/** Why a seed signature is refused; `code` is stable. */
export type SeedError =
  | { readonly code: 'BAD_SEED'; readonly message: string }
  | { readonly code: 'BAD_SEED_SIGNATURE'; readonly message: string };

/** The bytes a forger signs for the seed: ASCII `tabchain-resilient-seed:` and the previous seed's 64 hex digits. */
export function seedSigningBytes(previousSeed: string): Result<Uint8Array, SeedError> {
  if (!SEED_PATTERN.test(previousSeed)) {
    return err({ code: 'BAD_SEED', message: 'the previous seed must be 64 lower-case hex digits' });
  }
  return ok(utf8ToBytes(SEED_DOMAIN + previousSeed));
}

/**
 * The seed a block's `seedSignature` yields: SHA-256 of its raw bytes. The signature must have
 * its one spelling, lower-case hex of exactly `modulusBytes` bytes (256 for RSA-2048), else two
 * spellings of one signature would be two seeds to choose from.
 */
export function seedFromSignature(signatureHex: string, modulusBytes: number): Result<string, SeedError> {
  if (signatureHex.length !== 2 * modulusBytes || !/^[0-9a-f]*$/.test(signatureHex)) {
    return err({
      code: 'BAD_SEED_SIGNATURE',
      message: `the seed signature must be ${2 * modulusBytes} lower-case hex digits`,
    });
  }
  return ok(bytesToHex(sha256(hexToBytes(signatureHex))));
}

/**
 * The seed before block 1, so each network has its own: SHA-256 of the canonical JSON of
 * `{"profile": "resilient", "genesisPublicKey": …, "maxTotalStake": …}`, built here in this
 * order with the default filled in, so neither a config file's key order nor an explicit
 * default changes it.
 */
export function genesisSeed(config: GenesisConfig): string {
  return hash({
    profile: 'resilient',
    genesisPublicKey: config.genesisPublicKey,
    maxTotalStake: maxTotalStakeOf(config),
  });
}

/**
 * The height whose state's stakes rank the stakers for block `height`: a stake in block j
 * first counts for block j + delay + 1 (0, the genesis state, while that is below 0).
 */
export function stakeSnapshotHeight(height: number, delay: number): number {
  return Math.max(0, height - 1 - delay);
}
