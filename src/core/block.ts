import { sha256Hex } from './hash';
import { writeBlockBytes } from './signing-bytes';
import type { Block, Timestamp, Transaction } from './types';

/** The reference's genesis block, byte for byte; its payload hashes to `b61900e4…`. */
export const GENESIS_BLOCK: Block = Object.freeze({
  blockCount: 0,
  lastHash: 'genesisHash',
  signature: '',
  forger: 'genesis',
  timestamp: 0,
  transactions: Object.freeze([]) as readonly Transaction[],
});

/** Builds an unsigned block in the reference's field order. */
export function createBlock(
  transactions: readonly Transaction[],
  lastHash: string,
  forger: string,
  blockCount: number,
  timestamp: Timestamp,
  seedSignature?: string,
): Block {
  const block: Block = { blockCount, lastHash, signature: '', forger, timestamp, transactions };
  return seedSignature === undefined ? block : { ...block, seedSignature };
}

/** The object that is hashed and signed: the block with `signature: ""` (reference `payload()`). */
export function blockPayload(block: Block): Block {
  const payload: Block = {
    blockCount: block.blockCount,
    lastHash: block.lastHash,
    signature: '',
    forger: block.forger,
    timestamp: block.timestamp,
    transactions: block.transactions,
  };
  // A resilient block's seed signature is part of what is hashed and signed, after `transactions`.
  return block.seedSignature === undefined ? payload : { ...payload, seedSignature: block.seedSignature };
}

/** The bytes the forger signs: UTF-8 of the payload's canonical JSON (an array of exactly them). */
export function blockSigningBytes(block: Block): Uint8Array {
  const payload = writeBlockBytes(block).payload;
  return payload.byteLength === payload.buffer.byteLength ? payload : payload.slice();
}

/** The block's hash: SHA-256 of its payload, which is the next block's `lastHash`. */
export function blockHash(block: Block): string {
  return sha256Hex(writeBlockBytes(block).payload);
}

/** Returns `block` with `signature` set, keeping field order. */
export function withBlockSignature(block: Block, signature: string): Block {
  return { ...blockPayload(block), signature };
}
