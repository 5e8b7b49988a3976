/**
 * Placeholder identities for tests of the rules alone: `applyBlock` checks every rule but
 * signatures, so these need only the shape of a canonical SPKI PEM, not a real key.
 */
export function placeholderPem(seed: string): string {
  const body = Buffer.from(seed.repeat(300)).toString('base64').slice(0, 392);
  return `-----BEGIN PUBLIC KEY-----\n${body.match(/.{1,64}/g)?.join('\n')}\n-----END PUBLIC KEY-----`;
}
