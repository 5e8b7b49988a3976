import { z } from 'zod';
import { hash } from './hash';
import { MAX_PUBLIC_KEY_CHARS } from './limits';
import { CONSENSUS_PROFILES, type ConsensusProfile, type GenesisConfig } from './types';

/*
 * Reading a genesis config: its defaults filled in. A config is trusted input (the network's
 * own file, decoded at the edge), so a nonsensical value throws here.
 */

/** The total stake a network allows when its genesis config sets none: 10,000 coins. */
export const DEFAULT_MAX_TOTAL_STAKE = 10_000;

/** The network's stake cap: `config.maxTotalStake`, else the default. Throws for a nonsensical one (a config is trusted input). */
export function maxTotalStakeOf(config: GenesisConfig): number {
  const cap = config.maxTotalStake ?? DEFAULT_MAX_TOTAL_STAKE;
  if (!Number.isSafeInteger(cap) || cap < 1)
    throw new RangeError(`maxTotalStake must be a whole number from 1 to 2^53-1, not ${cap}`);
  return cap;
}

/** The network's consensus profile: `config.profile`, else `reference`. */
export function profileOf(config: GenesisConfig): ConsensusProfile {
  const profile = config.profile ?? 'reference';
  if (profile !== 'reference' && profile !== 'resilient')
    throw new RangeError(`profile must be "reference" or "resilient", not ${JSON.stringify(profile)}`);
  return profile;
}

/**
 * The network a genesis config makes, as one digest: SHA-256 of the canonical JSON of its
 * profile, genesis key and stake cap, defaults filled in (so a config file's key order or an
 * explicit default never splits a network). Peers compare it at the handshake and a tab keys
 * its stored chain by it: chains of two networks never meet.
 */
export function networkIdOf(config: GenesisConfig): string {
  return hash({
    profile: profileOf(config),
    genesisPublicKey: config.genesisPublicKey,
    maxTotalStake: maxTotalStakeOf(config),
  });
}

/**
 * The one schema of a genesis config read from a file or a server (`verify-chain --genesis`,
 * the always-on node's `--genesis` and devnet.json): exactly `GenesisConfig`'s fields, strict.
 * A reader that takes a larger document (devnet.json) extends its `shape`. The key is checked for
 * its shape here; its canonical encoding needs the crypto port, so the caller checks that.
 */
export const genesisConfigSchema = z.strictObject({
  profile: z.enum(CONSENSUS_PROFILES).optional(),
  genesisPublicKey: z.string().min(1).max(MAX_PUBLIC_KEY_CHARS),
  maxTotalStake: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
});
