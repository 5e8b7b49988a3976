/**
 * Valid signed chains on the devnet genesis, built in Node for benchmarks and browser tests:
 * block 1 funds ten accounts from the exchange, every later block carries transfers between
 * them, each block signed by the lottery's winner (the devnet genesis key, the only staker).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  applyBlock,
  type Block,
  blockSigningBytes,
  createBlock,
  createTransaction,
  GENESIS_BLOCK,
  genesisState,
  nextForgerOf,
  type Transaction,
  transactionSigningBytes,
  withBlockSignature,
  withTransactionSignature,
} from '../src/core';
import { createWebCryptoProvider, type KeyPair } from '../src/crypto';

/** The devnet's public test keys. */
export const KEYS = join(import.meta.dirname, '..', 'public', 'keys');
/** One provider (and key cache) for every bench module. */
export const crypto = createWebCryptoProvider();
/** Imports one of the devnet's key pairs. */
export const devnetKey = (name: string): Promise<KeyPair> =>
  crypto.importPrivateKeyPem(readFileSync(join(KEYS, `${name}PrivateKey.pem`), 'utf8'));
/** The devnet genesis configuration. */
export const genesisConfig = (): { genesisPublicKey: string } => ({
  genesisPublicKey: readFileSync(join(KEYS, 'genesisPublicKey.pem'), 'utf8'),
});

/** Signatures in flight at once: WebCrypto signs on libuv's thread pool, so both cores work. */
const SIGN_WINDOW = 256;

/** Signs `messages` with `key`, `SIGN_WINDOW` at a time; returns the hex signatures in order. */
async function signAll(items: readonly { key: KeyPair; message: Uint8Array }[]): Promise<string[]> {
  const out: string[] = new Array(items.length);
  for (let start = 0; start < items.length; start += SIGN_WINDOW) {
    const window = items.slice(start, start + SIGN_WINDOW);
    const signatures = await Promise.all(window.map((item) => crypto.sign(item.key, item.message)));
    signatures.forEach((signature, i) => {
      out[start + i] = signature;
    });
  }
  return out;
}

/**
 * A valid chain of `blockCount` blocks on the devnet genesis, forged by the devnet genesis key.
 * Block 1 funds ten fresh accounts through the exchange (EXCHANGE, 1,000,000 each); every later
 * block holds `perBlock` signed TRANSFERs of 1 coin between them (round robin, so no account
 * runs dry). Every transaction and block is really signed, and each block is checked against the
 * rules as it is built. Signing runs in parallel windows (block hashes do not cover the block's
 * own signature), so 10,000 one-transaction blocks take seconds, not minutes.
 */
export async function buildSignedChain(blockCount: number, perBlock: number): Promise<Block[]> {
  const forger = await devnetKey('genesis');
  const exchange = await devnetKey('exchange');
  const accounts: KeyPair[] = [];
  for (let i = 0; i < 10; i++) accounts.push(await crypto.generateKeyPair());
  let id = 0;
  const nextId = () => (id++).toString(16).padStart(32, '0');
  const unsignedTxs: Transaction[][] = [];
  const signers: { key: KeyPair; message: Uint8Array }[] = [];
  let turn = 0;
  for (let b = 1; b <= blockCount; b++) {
    const body: Transaction[] = [];
    const count = b === 1 ? accounts.length : perBlock;
    for (let t = 0; t < count; t++) {
      const funding = b === 1;
      const sender = funding ? exchange : (accounts[turn % accounts.length] as KeyPair);
      const receiver = funding
        ? (accounts[t] as KeyPair)
        : (accounts[(turn + 1) % accounts.length] as KeyPair);
      if (!funding) turn++;
      const tx = createTransaction(
        {
          senderPublicKey: sender.publicKeyPem,
          receiverPublicKey: receiver.publicKeyPem,
          amount: funding ? 1_000_000 : 1,
          type: funding ? 'EXCHANGE' : 'TRANSFER',
        },
        nextId(),
        1795670518.25 + b + t / 1000,
      );
      body.push(tx);
      signers.push({ key: sender, message: transactionSigningBytes(tx) });
    }
    unsignedTxs.push(body);
  }
  const txSignatures = await signAll(signers);
  let next = 0;
  const bodies = unsignedTxs.map((body) =>
    body.map((tx) => withTransactionSignature(tx, txSignatures[next++] as string)),
  );

  // Links and rules first (a block's hash is of its payload, without its signature), then every
  // block signature at once.
  let state = genesisState(genesisConfig());
  const unsignedBlocks: Block[] = [];
  for (const [index, body] of bodies.entries()) {
    const height = index + 1;
    const unsigned = createBlock(body, state.headHash, nextForgerOf(state), height, 1795670518.5 + height);
    const applied = applyBlock(state, unsigned);
    if (!applied.ok) throw new Error(`block ${height}: ${applied.error.message}`);
    if (unsigned.forger !== forger.publicKeyPem)
      throw new Error(`block ${height}: not the genesis key's turn`);
    state = applied.value;
    unsignedBlocks.push(unsigned);
  }
  const blockSignatures = await signAll(
    unsignedBlocks.map((block) => ({ key: forger, message: blockSigningBytes(block) })),
  );
  return unsignedBlocks.map((block, i) => withBlockSignature(block, blockSignatures[i] as string));
}

/** A chain file as the UI imports it: `{"blocks": [genesis, ...chain]}`. */
export function chainFileText(chain: readonly Block[]): string {
  return JSON.stringify({ blocks: [GENESIS_BLOCK, ...chain] });
}
