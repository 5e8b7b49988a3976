import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { createForgeProvider, createWebCryptoProvider, isByteArray } from '../../src/crypto';

describe.each([
  ['webcrypto', createWebCryptoProvider()],
  ['forge', createForgeProvider()],
])('%s: bytes from another realm (iframe, jsdom, worker)', (_name, provider) => {
  it('verify accepts them like local bytes', async () => {
    const key = await provider.generateKeyPair();
    const local = new TextEncoder().encode('payload');
    const foreign = runInNewContext('new Uint8Array([112, 97, 121, 108, 111, 97, 100])') as Uint8Array;
    expect(foreign instanceof Uint8Array).toBe(false);
    expect(isByteArray(foreign)).toBe(true);
    const signature = await provider.sign(key, local);
    expect(await provider.verify(key.publicKeyPem, foreign, signature)).toBe(true);
    expect(isByteArray(new Uint16Array(2))).toBe(false);
  }, 60_000);
});
