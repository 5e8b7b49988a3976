import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { verifyChainMain } from '../../scripts/verify-chain';
import {
  type Block,
  type ChainState,
  GENESIS_BLOCK,
  type GenesisConfig,
  genesisState,
  type Transaction,
  validateBlock,
} from '../../src/core';
import type { KeyPair } from '../../src/crypto';
import { crypto, signedTx, vectorKeys } from '../core/signed-chain';
import { signResilientBlock } from '../helpers/resilient-chain';
import {
  type ChainVector,
  type InvalidChainVector,
  readVector,
  VECTOR_GENESIS_KEY,
  VECTORS_DIR,
} from '../helpers/vectors';

const GENESIS_KEY = join(VECTORS_DIR, 'keys', 'genesisPublicKey.pem');
const dir = mkdtempSync(join(tmpdir(), 'verify-chain-'));
const file = (name: string, content: string): string => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

async function run(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await verifyChainMain(args, { out: (line) => out.push(line), err: (line) => err.push(line) });
  return { code, out, err };
}

describe('verify-chain', () => {
  it('prints the expected report for a valid chain and exits 0', async () => {
    const vector = readVector<ChainVector>('chain-long.json');
    const path = file('long.json', JSON.stringify(vector.chain));
    const { code, out, err } = await run([path, '--genesis-key', GENESIS_KEY]);
    expect(err).toEqual([]);
    expect(code).toBe(0);
    expect(out).toHaveLength(1);
    const report = JSON.parse(out[0] as string);
    expect(Object.keys(report)).toEqual([
      'valid',
      'height',
      'head',
      'firstInvalidBlock',
      'error',
      'balances',
      'stakes',
      'nextForger',
    ]);
    expect(report).toEqual({
      valid: true,
      height: vector.expect.blocks,
      head: vector.expect.head,
      firstInvalidBlock: null,
      error: null,
      balances: vector.expect.balances,
      stakes: vector.expect.stakes,
      nextForger: vector.expect.nextForger,
    });
  });

  it('reports the first invalid block and the valid prefix, exit 1', async () => {
    const row = readVector<InvalidChainVector[]>('chains-invalid.json').find(
      (r) => r.defect === 'blockCount skips',
    );
    if (!row) throw new Error('vector missing');
    const { code, out } = await run([
      file('bad.json', JSON.stringify(row.chain)),
      `--genesis-key=${GENESIS_KEY}`,
    ]);
    expect(code).toBe(1);
    const report = JSON.parse(out[0] as string);
    expect(report.valid).toBe(false);
    expect(report.firstInvalidBlock).toBe(row.firstInvalidBlock);
    expect(report.height).toBe(row.firstInvalidBlock);
    expect(report.error.code).toBe('BAD_BLOCK_COUNT');
    expect(typeof report.nextForger).toBe('string');
  });

  it('reads a reference chain with whole-number floats losslessly: the reference outcome, exit 0', async () => {
    const vector = readVector<{ valid: { chainText: string; expect: ChainVector['expect'] } }>(
      'chain-whole-floats.json',
    );
    const { code, out } = await run([
      file('floats.json', vector.valid.chainText),
      '--genesis-key',
      GENESIS_KEY,
    ]);
    expect(code).toBe(0);
    const want = vector.valid.expect;
    expect(JSON.parse(out[0] as string)).toEqual({
      valid: true,
      height: want.blocks,
      head: want.head,
      firstInvalidBlock: null,
      error: null,
      balances: want.balances,
      stakes: want.stakes,
      nextForger: want.nextForger,
    });
  });

  it('rejects the whole-floats text with one float rewritten as an integer at that block, exit 1', async () => {
    const bad = readVector<{ intForFloat: { chainText: string; firstInvalidBlock: number } }>(
      'chain-whole-floats.json',
    ).intForFloat;
    const { code, out } = await run([file('int.json', bad.chainText), '--genesis-key', GENESIS_KEY]);
    expect(code).toBe(1);
    const report = JSON.parse(out[0] as string);
    expect(report.firstInvalidBlock).toBe(bad.firstInvalidBlock);
    expect(report.height).toBe(bad.firstInvalidBlock);
    expect(report.error.code).toBe('BAD_BLOCK_SIGNATURE');
  });

  it('refuses a genesis key in a non-canonical DER encoding, exit 2', async () => {
    const pem = readFileSync(GENESIS_KEY, 'utf8');
    const der = Buffer.from(pem.replace(/-----[A-Z ]+-----|\n/g, ''), 'base64');
    const variant = Buffer.concat([Buffer.from([0x30, 0x83, 0x00, 0x01, 0x22]), der.subarray(4)]);
    const body = variant
      .toString('base64')
      .match(/.{1,64}/g)
      ?.join('\n');
    const keyFile = file('variant.pem', `-----BEGIN PUBLIC KEY-----\n${body}\n-----END PUBLIC KEY-----`);
    const vector = readVector<ChainVector>('chain-interaction.json');
    const { code, err } = await run([file('c.json', JSON.stringify(vector.chain)), '--genesis-key', keyFile]);
    expect(code).toBe(2);
    expect(err.join('\n')).toMatch(/canonical DER/);
  });

  it('rejects the vector chains under the devnet genesis key (another network)', async () => {
    const vector = readVector<ChainVector>('chain-interaction.json');
    const { code, out } = await run([file('other.json', JSON.stringify(vector.chain))]);
    expect(code).toBe(1);
    expect(JSON.parse(out[0] as string).error.code).toBe('WRONG_FORGER');
  });

  it.each([
    ['a missing file', [join(dir, 'nope.json')], /no such file/],
    ['not JSON', [file('text.json', 'hello')], /not JSON/],
    ['the wrong shape', [file('shape.json', '[1,2]')], /\{"blocks": \[\.\.\.\]\}/],
    ['no blocks', [file('empty.json', '{"blocks": []}')], /no blocks/],
    ['no file argument', [], /no chain file/],
    ['an unknown option', ['--frobnicate'], /unknown option/],
    [
      'a bad genesis key',
      [file('ok.json', '{"blocks": [{}]}'), '--genesis-key', file('k.pem', 'nope')],
      /genesis key/,
    ],
  ])('exits 2 on %s with a clear message', async (_what, args, message) => {
    const { code, out, err } = await run(args as string[]);
    expect(code).toBe(2);
    expect(out).toEqual([]);
    expect(err.join('\n')).toMatch(message);
  });

  it('runs as an npm script with the documented exit codes', async () => {
    const vector = readVector<ChainVector>('chain-interaction.json');
    const path = file('cli.json', JSON.stringify(vector.chain));
    const exec = promisify(execFile);
    const ok = await exec('npx', ['tsx', 'scripts/verify-chain.ts', path, '--genesis-key', GENESIS_KEY]);
    expect(JSON.parse(ok.stdout).head).toBe(vector.expect.head);
    await expect(
      exec('npx', ['tsx', 'scripts/verify-chain.ts', join(dir, 'missing.json')]),
    ).rejects.toMatchObject({
      code: 2,
    });
  });
});

describe('verify-chain --genesis', () => {
  let keys: Record<string, KeyPair>;
  let config: GenesisConfig;
  let chain: { blocks: Block[]; last: ChainState };
  const T0 = 1_800_000_000;

  /** The next block on `state`, forged by rank 0 one second after its parent. */
  async function rankZeroBlock(state: ChainState, transactions: readonly Transaction[]): Promise<Block> {
    const signer = Object.values(keys).find((pair) => pair.publicKeyPem === state.nextForger);
    if (!signer || !state.resilient) throw new Error('not a resilient state the test can forge on');
    const time = (state.height === 0 ? T0 : state.resilient.headTime) + 1;
    return signResilientBlock(crypto, state, signer, transactions, time);
  }

  beforeAll(async () => {
    keys = await vectorKeys();
    config = { profile: 'resilient', genesisPublicKey: VECTOR_GENESIS_KEY() };
    let state = genesisState(config);
    const blocks: Block[] = [];
    const staker = keys.staker as KeyPair;
    for (let height = 1; height <= 4; height++) {
      const txs =
        height === 1
          ? [
              await signedTx(keys.exchange as KeyPair, {
                senderPublicKey: (keys.exchange as KeyPair).publicKeyPem,
                receiverPublicKey: staker.publicKeyPem,
                amount: 30,
                type: 'EXCHANGE',
              }),
              await signedTx(staker, {
                senderPublicKey: staker.publicKeyPem,
                receiverPublicKey: staker.publicKeyPem,
                amount: 20,
                type: 'STAKE',
              }),
            ]
          : [];
      const block = await rankZeroBlock(state, txs);
      const next = await validateBlock(state, block, crypto);
      if (!next.ok) throw new Error(`${next.error.code}: ${next.error.message}`);
      state = next.value;
      blocks.push(block);
    }
    chain = { blocks, last: state };
  });

  const chainFile = () =>
    file('resilient.json', JSON.stringify({ blocks: [GENESIS_BLOCK, ...chain.blocks] }));
  const genesisFile = (name: string, value: unknown) =>
    file(name, typeof value === 'string' ? value : JSON.stringify(value));

  it('verifies a resilient chain under its genesis config, exit 0', async () => {
    const { code, out, err } = await run([
      chainFile(),
      '--genesis',
      genesisFile('resilient-genesis.json', config),
    ]);
    expect(err).toEqual([]);
    expect(code).toBe(0);
    const report = JSON.parse(out[0] as string);
    expect(report).toMatchObject({
      valid: true,
      height: 5,
      head: chain.last.headHash,
      firstInvalidBlock: null,
      error: null,
      nextForger: chain.last.resilient?.ranking[0],
    });
    expect(report.stakes[(keys.staker as KeyPair).publicKeyPem]).toBe(20);
    // `--genesis=FILE` and an explicit stake cap say the same.
    const again = await run([
      chainFile(),
      `--genesis=${genesisFile('capped.json', { ...config, maxTotalStake: 10_000 })}`,
    ]);
    expect(again.code).toBe(0);
  });

  it('fails the same chain as reference: with the key alone, or a config without the profile, exit 1', async () => {
    const asReference = await run([chainFile(), '--genesis-key', GENESIS_KEY]);
    expect(asReference.code).toBe(1);
    const report = JSON.parse(asReference.out[0] as string);
    expect(report).toMatchObject({ valid: false, firstInvalidBlock: 1 });
    const noProfile = await run([
      chainFile(),
      '--genesis',
      genesisFile('reference-genesis.json', { genesisPublicKey: config.genesisPublicKey }),
    ]);
    expect(noProfile.code).toBe(1);
    expect(JSON.parse(noProfile.out[0] as string).error).toEqual(report.error);
    // And a reference chain is no resilient chain.
    const vector = readVector<ChainVector>('chain-interaction.json');
    const referenceChain = await run([
      file('reference-chain.json', JSON.stringify(vector.chain)),
      '--genesis',
      genesisFile('resilient-genesis-2.json', config),
    ]);
    expect(referenceChain.code).toBe(1);
    expect(JSON.parse(referenceChain.out[0] as string).firstInvalidBlock).toBe(1);
  });

  it.each([
    ['a file that is not JSON', 'profile: resilient', /genesis config .* is not JSON/],
    [
      'an unknown profile',
      { profile: 'fast', genesisPublicKey: 'x' },
      /"profile": .*\(expected \{"profile"\?: "reference" \| "resilient"/,
    ],
    ['no genesis key', { profile: 'resilient' }, /"genesisPublicKey"/],
    ['an unknown field', { genesisPublicKey: 'x', genesisKey: 'y' }, /genesisKey/],
    ['a stake cap of 0', { genesisPublicKey: 'x', maxTotalStake: 0 }, /"maxTotalStake"/],
    ['a stake cap past 2^53', '{"genesisPublicKey": "x", "maxTotalStake": 1e300}', /"maxTotalStake"/],
    ['an array', [1], /the file/],
    ['a key that is not a PEM', { profile: 'resilient', genesisPublicKey: 'nope' }, /"genesisPublicKey": /],
  ])('exits 2 on a genesis config with %s, with a clear message', async (_what, content, message) => {
    const { code, out, err } = await run([
      chainFile(),
      '--genesis',
      genesisFile('bad-genesis.json', content),
    ]);
    expect(code).toBe(2);
    expect(out).toEqual([]);
    expect(err[0]).toMatch(/^verify-chain: genesis config /);
    expect(err.join('\n')).toMatch(message);
  });

  it('exits 2 on --genesis with --genesis-key, on a missing --genesis file, and on --genesis without a file', async () => {
    const both = await run([
      chainFile(),
      '--genesis',
      genesisFile('g.json', config),
      '--genesis-key',
      GENESIS_KEY,
    ]);
    expect(both.code).toBe(2);
    expect(both.err.join('\n')).toMatch(/--genesis or --genesis-key, not both/);
    const missing = await run([chainFile(), '--genesis', join(dir, 'no-genesis.json')]);
    expect(missing.code).toBe(2);
    expect(missing.err.join('\n')).toMatch(/cannot read genesis config .*no such file/);
    const bare = await run([chainFile(), '--genesis']);
    expect(bare.code).toBe(2);
    expect(bare.err.join('\n')).toMatch(/--genesis needs a genesis config file/);
  });
});
