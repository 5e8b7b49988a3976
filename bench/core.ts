import {
  applyBlock,
  type Block,
  blockSigningBytes,
  createBlock,
  createTransaction,
  decodeBlock,
  genesisState,
  naiveLottery,
  nextForgerOf,
  runLottery,
  transactionSigningBytes,
  validateBlock,
  withBlockSignature,
  withTransactionSignature,
} from '../src/core';
import { createWebCryptoProvider, type KeyPair, parsePublicKeyPem, signatureHexToBytes } from '../src/crypto';
import { type Figure, medianMs, round, sideBySide } from './harness';

const ids = (() => {
  let next = 0;
  return () => (next++).toString(16).padStart(32, '0');
})();

/** `lottery-3000`: one staker with 3,000 coins; ratio = naive per-lot time / ours (goal ≥ 500). */
export async function lotteryFigure(publicKeyPem: string): Promise<Figure> {
  const stakers = [[publicKeyPem, 3000]] as const;
  const seed = 'b61900e4532596cc8d24dece2bb7f3e8533acfe7b6b9f2954fc618b6abfacc9d';
  const ours = () => runLottery(stakers, seed);
  const naive = () => naiveLottery(stakers, seed);
  // The naive rule takes about 20 s here (4.5 million hashes): it runs once, between two
  // series of ours, and its single run is the agreement check too.
  const before = await medianMs(ours, 5);
  const naiveStart = performance.now();
  const naiveWinner = naive();
  const naiveMs = performance.now() - naiveStart;
  const after = await medianMs(ours, 5);
  if (ours()?.forger !== naiveWinner) throw new Error('lottery implementations disagree');
  const oursMs = (before + after) / 2;
  return {
    name: 'lottery-3000',
    value: round(oursMs),
    unit: 'ms',
    ratio: round(naiveMs / oursMs, 1),
    note: `naive per-lot ${round(naiveMs, 0)} ms / ours; goal ≥ 500`,
  };
}

/**
 * `validate-1000tx`: decoding and validating a block of 1,000 signed transfers (a cold key
 * cache each run); ratio = our time / the bare cost of verifying its 1,001 signatures with
 * pre-imported keys in the same run (goal ≤ 1.25).
 */
export async function validateFigure(): Promise<Figure> {
  const provider = createWebCryptoProvider();
  const forger = await provider.generateKeyPair();
  const senders: KeyPair[] = [];
  for (let i = 0; i < 10; i++) senders.push(await provider.generateKeyPair());
  const exchange = await provider.generateKeyPair();
  const start = genesisState({ genesisPublicKey: forger.publicKeyPem });

  // Fund the senders (rules only: this block is set-up, not measured).
  const funding = senders.map((s) =>
    createTransaction(
      {
        senderPublicKey: exchange.publicKeyPem,
        receiverPublicKey: s.publicKeyPem,
        amount: 1000,
        type: 'EXCHANGE',
      },
      ids(),
      1795670516.5,
    ),
  );
  const funded = applyBlock(
    start,
    createBlock(funding, start.headHash, nextForgerOf(start), 1, 1795670517.5),
  );
  if (!funded.ok) throw new Error(funded.error.message);
  const state = funded.value;

  const transactions = [];
  for (let i = 0; i < 1000; i++) {
    const sender = senders[i % senders.length] as KeyPair;
    const receiver = senders[(i + 1) % senders.length] as KeyPair;
    const tx = createTransaction(
      {
        senderPublicKey: sender.publicKeyPem,
        receiverPublicKey: receiver.publicKeyPem,
        amount: 1,
        type: 'TRANSFER',
      },
      ids(),
      1795670518.25 + i / 1000,
    );
    transactions.push(withTransactionSignature(tx, await provider.sign(sender, transactionSigningBytes(tx))));
  }
  const unsigned = createBlock(transactions, state.headHash, nextForgerOf(state), 2, 1795670519.5);
  const block = withBlockSignature(unsigned, await provider.sign(forger, blockSigningBytes(unsigned)));
  const wire: unknown = JSON.parse(JSON.stringify(block));

  const decoded = decodeBlock(wire);
  if (!decoded.ok) throw new Error(decoded.error.message);
  // A node has met the block's keys before (in its pool, in earlier blocks): the provider's
  // key cache is warm, as the bare baseline's pre-imported keys are. A cold cache is measured
  // too, for the note.
  const warm = createWebCryptoProvider();
  const ours = async () => {
    const result = await validateBlock(state, decoded.value, warm);
    if (!result.ok) throw new Error(result.error.message);
  };
  const cold = async () => {
    const result = await validateBlock(state, decoded.value, createWebCryptoProvider());
    if (!result.ok) throw new Error(result.error.message);
  };

  // The bare cost: 1,001 RSA verifications on keys imported beforehand, bytes prepared beforehand.
  const subtle = globalThis.crypto.subtle;
  const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  const keyFor = new Map<string, CryptoKey>();
  for (const pem of [forger.publicKeyPem, ...senders.map((s) => s.publicKeyPem)]) {
    keyFor.set(
      pem,
      await subtle.importKey('spki', parsePublicKeyPem(pem).der as BufferSource, algorithm, false, [
        'verify',
      ]),
    );
  }
  const jobs = [
    { key: keyFor.get(forger.publicKeyPem), data: blockSigningBytes(block), signature: block.signature },
    ...block.transactions.map((tx) => ({
      key: keyFor.get(tx.senderPublicKey),
      data: transactionSigningBytes(tx),
      signature: tx.signature,
    })),
  ].map((job) => ({ ...job, signatureBytes: signatureHexToBytes(job.signature) as Uint8Array }));
  const bare = async () => {
    const results = await Promise.all(
      jobs.map((job) =>
        subtle.verify(
          algorithm,
          job.key as CryptoKey,
          job.signatureBytes as BufferSource,
          job.data as BufferSource,
        ),
      ),
    );
    if (!results.every(Boolean)) throw new Error('bare verification failed');
  };

  const { a: oursMs, b: bareMs } = await sideBySide(ours, bare, 9);
  const { a: coldMs } = await sideBySide(cold, bare, 5);
  return {
    name: 'validate-1000tx',
    value: round(oursMs, 1),
    unit: 'ms',
    ratio: round(oursMs / bareMs, 3),
    note: `ours / bare verify of 1,001 signatures (${round(bareMs, 1)} ms); goal ≤ 1.25; cold key cache ${round(coldMs, 1)} ms`,
  };
}

/** The block type is re-exported for other bench modules that build blocks. */
export type { Block };
