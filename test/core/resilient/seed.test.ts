import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_TOTAL_STAKE, hash } from '../../../src/core';
import {
  genesisSeed,
  SEED_DOMAIN,
  STAKE_DELAY_BLOCKS,
  seedFromSignature,
  seedSigningBytes,
  stakeSnapshotHeight,
} from '../../../src/core/resilient';
import { createForgeProvider } from '../../../src/crypto/forge';

const keys = join(import.meta.dirname, '..', '..', 'vectors', 'keys');
const previous = createHash('sha256').update('previous').digest('hex');

describe('resilient seed', () => {
  it('signs the ASCII domain and the previous seed, 88 bytes', () => {
    const bytes = seedSigningBytes(previous);
    expect(bytes.ok && Buffer.from(bytes.value).toString('latin1')).toBe(
      `tabchain-resilient-seed:${previous}`,
    );
    expect(bytes.ok && bytes.value.length).toBe(88);
    expect(SEED_DOMAIN.startsWith('{')).toBe(false);
    expect(seedSigningBytes(previous.toUpperCase())).toMatchObject({
      ok: false,
      error: { code: 'BAD_SEED' },
    });
  });

  it('gives one seed per key and previous seed: RSA PKCS#1 v1.5 signs deterministically', async () => {
    const provider = createForgeProvider();
    const staker = await provider.importPrivateKeyPem(
      readFileSync(join(keys, 'stakerPrivateKey.pem'), 'utf8'),
    );
    const other = await provider.importPrivateKeyPem(readFileSync(join(keys, 'bobPrivateKey.pem'), 'utf8'));
    const message = seedSigningBytes(previous);
    if (!message.ok) throw new Error(message.error.message);
    const first = await provider.sign(staker, message.value);
    const second = await provider.sign(staker, message.value);
    expect(second).toBe(first);
    expect(await provider.verify(staker.publicKeyPem, message.value, first)).toBe(true);
    const seed = seedFromSignature(first, 256);
    expect(seed).toEqual({
      ok: true,
      value: createHash('sha256').update(Buffer.from(first, 'hex')).digest('hex'),
    });
    const otherSeed = seedFromSignature(await provider.sign(other, message.value), 256);
    expect(otherSeed.ok && seed.ok && otherSeed.value !== seed.value).toBe(true);
  });

  it('accepts only the one spelling of a signature', () => {
    const signature = 'ab'.repeat(256);
    expect(seedFromSignature(signature, 256).ok).toBe(true);
    for (const spelling of [
      signature.toUpperCase(),
      `00${signature}`,
      signature.slice(2),
      `${signature.slice(1)}g`,
    ]) {
      expect(seedFromSignature(spelling, 256)).toMatchObject({
        ok: false,
        error: { code: 'BAD_SEED_SIGNATURE' },
      });
    }
  });

  it('starts each network from the hash of its genesis config', () => {
    const a = genesisSeed({ genesisPublicKey: 'key A' });
    expect(a).toBe(
      hash({ profile: 'resilient', genesisPublicKey: 'key A', maxTotalStake: DEFAULT_MAX_TOTAL_STAKE }),
    );
    expect(genesisSeed({ maxTotalStake: DEFAULT_MAX_TOTAL_STAKE, genesisPublicKey: 'key A' })).toBe(a);
    expect(genesisSeed({ genesisPublicKey: 'key B' })).not.toBe(a);
    expect(genesisSeed({ genesisPublicKey: 'key A', maxTotalStake: 5 })).not.toBe(a);
  });

  it('counts a stake in block j from block j + D + 1 on', () => {
    const d = STAKE_DELAY_BLOCKS;
    expect(stakeSnapshotHeight(1, d)).toBe(0);
    expect(stakeSnapshotHeight(d + 1, d)).toBe(0);
    expect(stakeSnapshotHeight(d + 2, d)).toBe(1);
    expect(stakeSnapshotHeight(100, d)).toBe(100 - 1 - d);
  });
});
