/**
 * The `resilient` profile wired into blocks and validation: the seed signature field and its
 * check, the timestamp and rank rules, the stake delay, rebuilding the head from stored blocks,
 * and the one property the seed is for: varying a block never changes the next seed.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  applyBlock,
  type Block,
  blockSigningBytes,
  type ChainState,
  canonicalJson,
  createBlock,
  extendChain,
  GENESIS_BLOCK,
  type GenesisConfig,
  genesisState,
  resilient,
  type Transaction,
  validateBlock,
  validateChain,
  withBlockSignature,
} from '../../../src/core';
import type { KeyPair } from '../../../src/crypto';
import { VECTOR_GENESIS_KEY } from '../../helpers/vectors';
import { crypto, signedTx, vectorKeys } from '../signed-chain';

const { genesisSeed, seedFromSignature, seedSigningBytes, rebuildResilientHead, STAKE_DELAY_BLOCKS } =
  resilient;

let keys: Record<string, KeyPair>;
let config: GenesisConfig;
const T0 = 1_800_000_000;

beforeAll(async () => {
  keys = await vectorKeys();
  config = { profile: 'resilient', genesisPublicKey: VECTOR_GENESIS_KEY() };
});

const pair = (publicKey: string): KeyPair => {
  const found = Object.values(keys).find((p) => p.publicKeyPem === publicKey);
  if (!found) throw new Error('no such test key');
  return found;
};

/** A block on `state` by `forger` at `time`, its seed signature over `seedOver` (the parent's seed by default). */
async function resilientBlock(
  state: ChainState,
  transactions: readonly Transaction[],
  options: { forger?: string; time?: number; seedOver?: string; omitSeed?: boolean } = {},
): Promise<Block> {
  const forger = options.forger ?? state.nextForger;
  const signer = pair(forger);
  const seedBytes = seedSigningBytes(options.seedOver ?? state.resilient?.seed ?? '');
  if (!seedBytes.ok) throw new Error(seedBytes.error.message);
  const seedSignature = options.omitSeed ? undefined : await crypto.sign(signer, seedBytes.value);
  const unsigned = createBlock(
    transactions,
    state.headHash,
    forger,
    state.height + 1,
    options.time ?? (state.resilient?.headTime ?? 0) + 1 + (state.height === 0 ? T0 : 0),
    seedSignature,
  );
  return withBlockSignature(unsigned, await crypto.sign(signer, blockSigningBytes(unsigned)));
}

async function valid(state: ChainState, block: Block, now?: number): Promise<ChainState> {
  const result = await validateBlock(state, block, crypto, undefined, undefined, now);
  if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`);
  return result.value;
}

async function rejection(state: ChainState, block: Block, now?: number): Promise<string> {
  const result = await validateBlock(state, block, crypto, undefined, undefined, now);
  return result.ok ? 'accepted' : result.error.code;
}

describe('resilient genesis and seed', () => {
  it('starts from the network seed, with the genesis key ranked first', () => {
    const state = genesisState(config);
    expect(state.resilient?.seed).toBe(genesisSeed(config));
    expect(state.resilient?.ranking).toEqual([config.genesisPublicKey]);
    expect(state.nextForger).toBe(config.genesisPublicKey);
    expect(genesisState({ genesisPublicKey: config.genesisPublicKey }).resilient).toBeUndefined();
  });

  it('carries seedSignature after transactions, covered by the hash and block signature', async () => {
    const state = genesisState(config);
    const block = await resilientBlock(state, []);
    const json = canonicalJson(block);
    expect(json.indexOf('"transactions"')).toBeLessThan(json.indexOf('"seedSignature"'));
    expect(json.endsWith(`"seedSignature": "${block.seedSignature}"}`)).toBe(true);
    const next = await valid(state, block);
    const seed = seedFromSignature(block.seedSignature ?? '', 256);
    expect(next.resilient?.seed).toBe(seed.ok ? seed.value : 'a valid seed');
    expect(next.resilient?.headTime).toBe(block.timestamp);
    // Changing the seed signature after signing breaks the block signature.
    const other = await resilientBlock(state, [], { seedOver: 'a'.repeat(64) });
    expect(await rejection(state, { ...block, seedSignature: other.seedSignature })).toBe(
      'BAD_BLOCK_SIGNATURE',
    );
  });

  it('refuses a missing seed signature, or one over anything but the parent seed', async () => {
    const state = genesisState(config);
    expect(await rejection(state, await resilientBlock(state, [], { omitSeed: true }))).toBe(
      'BAD_SEED_SIGNATURE',
    );
    expect(await rejection(state, await resilientBlock(state, [], { seedOver: 'b'.repeat(64) }))).toBe(
      'BAD_SEED_SIGNATURE',
    );
  });

  it('keeps the reference profile exactly: a seedSignature there is malformed', async () => {
    const referenceState = genesisState({ genesisPublicKey: config.genesisPublicKey });
    const block = await resilientBlock({ ...referenceState, resilient: genesisState(config).resilient }, []);
    const result = applyBlock(referenceState, block);
    expect(result.ok ? 'accepted' : result.error.code).toBe('MALFORMED');
    expect(canonicalJson(GENESIS_BLOCK)).not.toContain('seedSignature');
  });

  it('gives the same next seed however the forger varies its block (no grinding)', async () => {
    const state = genesisState(config);
    const a = await resilientBlock(state, [], { time: T0 + 7 });
    const tx = await signedTx(keys.genesis as KeyPair, {
      senderPublicKey: config.genesisPublicKey,
      receiverPublicKey: config.genesisPublicKey,
      amount: 1,
      type: 'EXCHANGE',
    });
    const b = await resilientBlock(state, [tx], { time: T0 + 31 });
    const [stateA, stateB] = [await valid(state, a), await valid(state, b)];
    expect(stateA.headHash).not.toBe(stateB.headHash);
    expect(stateA.resilient?.seed).toBe(stateB.resilient?.seed);
    expect(stateA.resilient?.ranking).toEqual(stateB.resilient?.ranking);
  });
});

describe('resilient timestamps and ranks', () => {
  it('refuses a gap under a second, a float, and a block from beyond the drift bound', async () => {
    const state = await valid(genesisState(config), await resilientBlock(genesisState(config), []));
    const head = state.resilient?.headTime ?? 0;
    expect(await rejection(state, await resilientBlock(state, [], { time: head }))).toBe(
      'TIMESTAMP_NOT_AFTER_PARENT',
    );
    expect(await rejection(state, await resilientBlock(state, [], { time: head + 1.5 }))).toBe(
      'BAD_TIMESTAMP',
    );
    const ahead = await resilientBlock(state, [], { time: head + 10 });
    const held = await validateBlock(state, ahead, crypto, undefined, undefined, head + 7);
    expect(held.ok ? null : held.error).toMatchObject({ code: 'FROM_THE_FUTURE', dueAt: head + 8 });
    expect(await rejection(state, ahead, head + 8)).toBe('accepted');
  });

  it('counts a stake only after the delay, then lets rank 1 forge from slot 1 only', async () => {
    let state = genesisState(config);
    const funding = await signedTx(keys.exchange as KeyPair, {
      senderPublicKey: keys.exchange?.publicKeyPem ?? '',
      receiverPublicKey: keys.staker?.publicKeyPem ?? '',
      amount: 50,
      type: 'EXCHANGE',
    });
    const stake = await signedTx(keys.staker as KeyPair, {
      senderPublicKey: keys.staker?.publicKeyPem ?? '',
      receiverPublicKey: keys.staker?.publicKeyPem ?? '',
      amount: 40,
      type: 'STAKE',
    });
    state = await valid(state, await resilientBlock(state, [funding, stake]));
    const staker = keys.staker?.publicKeyPem ?? '';
    // The stake landed in block 1; it first counts for block 1 + D + 1.
    for (let height = 2; height <= STAKE_DELAY_BLOCKS + 1; height++) {
      expect(state.resilient?.ranking).not.toContain(staker);
      state = await valid(state, await resilientBlock(state, []));
    }
    expect(state.height).toBe(STAKE_DELAY_BLOCKS + 1);
    expect(state.resilient?.ranking).toContain(staker);
    const ranking = state.resilient?.ranking ?? [];
    const rank1 = ranking[1] as string;
    const head = state.resilient?.headTime ?? 0;
    expect(await rejection(state, await resilientBlock(state, [], { forger: rank1, time: head + 4 }))).toBe(
      'RANK_NOT_DUE',
    );
    const late = await resilientBlock(state, [], { forger: rank1, time: head + 5 });
    expect(await rejection(state, late)).toBe('accepted');
    expect(resilient.readBlockTurn(state.resilient as resilient.ResilientHead, late)).toEqual({
      rank: 1,
      slot: 1,
      reason: 'rank 1: rank 0 was silent for 1 slot',
    });
    const stranger = { ...late, forger: keys.bob?.publicKeyPem ?? '' };
    expect(await rejection(state, stranger)).toBe('WRONG_FORGER');
  });
});

describe('a resilient chain end to end', () => {
  /** A chain of `length` blocks, all by rank 0, one second apart; with its states. */
  async function chain(length: number): Promise<{ blocks: Block[]; states: ChainState[] }> {
    let state = genesisState(config);
    const states = [state];
    const blocks: Block[] = [];
    const stakeAt = new Set([1, 4, 9]);
    for (let height = 1; height <= length; height++) {
      const txs: Transaction[] = [];
      if (stakeAt.has(height)) {
        const user = height === 1 ? 'user0' : height === 4 ? 'user1' : 'staker';
        const me = keys[user] as KeyPair;
        txs.push(
          await signedTx(keys.exchange as KeyPair, {
            senderPublicKey: keys.exchange?.publicKeyPem ?? '',
            receiverPublicKey: me.publicKeyPem,
            amount: 30,
            type: 'EXCHANGE',
          }),
          await signedTx(me, {
            senderPublicKey: me.publicKeyPem,
            receiverPublicKey: me.publicKeyPem,
            amount: 10 + height,
            type: 'STAKE',
          }),
        );
      }
      const block = await resilientBlock(state, txs);
      state = await valid(state, block);
      blocks.push(block);
      states.push(state);
    }
    return { blocks, states };
  }

  it('validates as a whole file with seeds chained across windows, and names a bad seed', async () => {
    const { blocks, states } = await chain(16);
    const whole = await validateChain([GENESIS_BLOCK, ...blocks], config, crypto);
    expect(whole.valid).toBe(true);
    expect(whole.state.resilient?.seed).toBe(states.at(-1)?.resilient?.seed);
    const tampered = [...blocks];
    const fifth = blocks[4] as Block;
    const forged = await resilientBlock(states[4] as ChainState, fifth.transactions, {
      time: fifth.timestamp as number,
      seedOver: 'c'.repeat(64),
    });
    tampered[4] = forged;
    const result = await extendChain(genesisState(config), tampered, crypto);
    expect(result.firstInvalid).toBe(4);
    expect(result.error?.code).toBe('BAD_SEED_SIGNATURE');
    // A resilient chain is not a reference chain.
    const asReference = await validateChain(
      [GENESIS_BLOCK, ...blocks],
      { genesisPublicKey: config.genesisPublicKey },
      crypto,
    );
    expect(asReference.valid).toBe(false);
  });

  it('rebuilds the head from the stored stakes and the last blocks, as the chain built it', async () => {
    const { blocks, states } = await chain(16);
    for (const height of [0, 1, 3, STAKE_DELAY_BLOCKS, STAKE_DELAY_BLOCKS + 1, 16]) {
      const state = states[height] as ChainState;
      const recent = blocks.slice(Math.max(0, height - STAKE_DELAY_BLOCKS - 2), height);
      const rebuilt = rebuildResilientHead(config, state.stakes, height === 0 ? [] : recent);
      const built = state.resilient as resilient.ResilientHead;
      expect(rebuilt.seed).toBe(built.seed);
      expect(rebuilt.headTime).toBe(built.headTime);
      expect(rebuilt.ranking).toEqual(built.ranking);
      expect(rebuilt.stakeWindow.map((s) => [...s.entries()])).toEqual(
        built.stakeWindow.map((s) => [...s.entries()]),
      );
    }
  });
});
