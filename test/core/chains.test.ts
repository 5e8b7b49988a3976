import { describe, expect, it } from 'vitest';
import { type Block, blockHash, nextForgerOf, stateToJSON, validateChain } from '../../src/core';
import { createForgeProvider } from '../../src/crypto/forge';
import { createWebCryptoProvider } from '../../src/crypto/webcrypto';
import {
  type ChainVector,
  type InvalidChainVector,
  readVector,
  VECTOR_GENESIS_KEY,
} from '../helpers/vectors';

const providers = [
  ['webcrypto', createWebCryptoProvider()],
  ['forge', createForgeProvider()],
] as const;

describe.each(providers)('chains, verified with %s', (_name, provider) => {
  const config = { genesisPublicKey: VECTOR_GENESIS_KEY() };

  it.each(['chain-interaction.json', 'chain-long.json'])(
    '%s is valid with the expected outcome',
    async (file) => {
      const { chain, expect: want } = readVector<ChainVector>(file);
      const result = await validateChain(chain.blocks, config, provider);
      expect(result.error).toBeNull();
      expect(result.valid).toBe(true);
      expect(result.firstInvalid).toBeNull();
      expect(result.height).toBe(want.blocks);
      expect(result.state.headHash).toBe(want.head);
      expect(stateToJSON(result.state)).toEqual({ balances: want.balances, stakes: want.stakes });
      expect(result.validBlocks.map((block) => block.forger)).toEqual(want.forgers);
      expect(nextForgerOf(result.state)).toBe(want.nextForger);
    },
  );

  const invalid = readVector<InvalidChainVector[]>('chains-invalid.json');
  // The stable error code each defect must produce (verify-chain prints these).
  const expectedCode: Record<string, string> = {
    'block signature does not match': 'BAD_BLOCK_SIGNATURE',
    'lastHash does not link to the previous block': 'BAD_LAST_HASH',
    'blockCount skips': 'BAD_BLOCK_COUNT',
    'transaction amount altered after signing': 'BAD_TX_SIGNATURE',
    'block forged and signed by a key that did not win the lottery': 'WRONG_FORGER',
    'transfer of more than the sender holds': 'INSUFFICIENT_BALANCE',
    'two transfers each covered alone but not together': 'INSUFFICIENT_BALANCE',
    'negative amount (would take coins from the receiver)': 'BAD_AMOUNT',
    'transaction already in an earlier block (replay)': 'REPLAYED_TX',
    'STAKE whose receiver is not its sender': 'STAKE_NOT_TO_SELF',
    'unknown transaction type': 'UNKNOWN_TX_TYPE',
  };
  it('covers every defect in the vectors', () => {
    expect(invalid.map((row) => row.defect).sort()).toEqual(Object.keys(expectedCode).sort());
  });
  it.each(invalid.map((row) => [row.defect, row] as const))(
    'rejects "%s" at exactly its block',
    async (_d, row) => {
      const result = await validateChain(row.chain.blocks, config, provider);
      expect(result.valid).toBe(false);
      expect(result.firstInvalid).toBe(row.firstInvalidBlock);
      expect(result.height).toBe(row.firstInvalidBlock);
      expect(result.error?.code).toBe(expectedCode[row.defect]);
      // The valid prefix is kept: its head is the block before the bad one.
      const prefix = row.chain.blocks.slice(0, row.firstInvalidBlock) as Block[];
      const last = prefix[prefix.length - 1];
      expect(last && result.state.headHash).toBe(last && blockHash(last));
      const again = await validateChain(prefix, config, provider);
      expect(again.valid).toBe(true);
      expect(stateToJSON(again.state)).toEqual(stateToJSON(result.state));
    },
  );
});
