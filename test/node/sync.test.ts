import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Block, blockHash, type ChainState, createBlock, genesisState } from '../../src/core';
import type { ExtendResult } from '../../src/core/validate';
import { PENALTY } from '../../src/node/peers';
import { type SyncChainReader, type SyncCommand, SyncMachine } from '../../src/node/sync';

/*
 * The sync state machine on its own: events in, commands out. Blocks here are well-formed and
 * linked but carry made-up signatures; validation is the node's command, so each test decides
 * what a `validate` came to and feeds that back.
 */

const FORGER = readFileSync(
  join(import.meta.dirname, '..', '..', 'public', 'keys', 'genesisPublicKey.pem'),
  'utf8',
);
const GENESIS = genesisState({ genesisPublicKey: FORGER });
const SIGNATURE = 'ab'.repeat(128);

/** `count` blocks on top of `parentHash` at `parentHeight`; `tag` tells forks apart. */
function blocksOn(parentHash: string, parentHeight: number, count: number, tag: number): Block[] {
  const blocks: Block[] = [];
  let lastHash = parentHash;
  for (let i = 1; i <= count; i++) {
    const block = {
      ...createBlock([], lastHash, FORGER, parentHeight + i, tag * 1000 + i),
      signature: SIGNATURE,
    };
    blocks.push(block);
    lastHash = blockHash(block);
  }
  return blocks;
}

/** The state after `block` as far as the machine looks (height and hash). */
const stateAfter = (block: Block): ChainState => ({
  ...GENESIS,
  height: block.blockCount,
  headHash: blockHash(block),
});

/** Our chain: blocks 1.. of `blocks` on genesis. */
function chainOf(blocks: readonly Block[]): SyncChainReader & { blocks: Block[] } {
  return {
    blocks: [...blocks],
    get height() {
      return this.blocks.length;
    },
    hashAt(height: number) {
      if (height === 0) return GENESIS.headHash;
      const block = this.blocks[height - 1];
      return block ? blockHash(block) : undefined;
    },
    stateAt(height: number) {
      const block = this.blocks[height - 1];
      return height === 0 || !block ? GENESIS : stateAfter(block);
    },
  };
}

/** What `extendChain` would say: the first `valid` of `blocks` are valid, the next one is not. */
function validated(blocks: readonly unknown[], valid = blocks.length): ExtendResult {
  const good = (blocks as Block[]).slice(0, valid);
  const states = good.map(stateAfter);
  const invalid = valid < blocks.length;
  return {
    state: states[states.length - 1] ?? GENESIS,
    validBlocks: good,
    validStates: states,
    firstInvalid: invalid ? valid : null,
    error: invalid ? { code: 'BAD_BLOCK_SIGNATURE', message: 'block signature does not verify' } : null,
  };
}

const CHUNK = 8;
const TIMEOUT = 10_000;
const machine = () => new SyncMachine({ chunk: CHUNK, timeoutMs: TIMEOUT });
const reply = (peer: string, from: number, blocks: readonly Block[], height: number) =>
  ({ kind: 'reply', peer, from, blocks, height }) as const;
const only = <K extends SyncCommand['kind']>(commands: SyncCommand[], kind: K) =>
  commands.filter((c): c is Extract<SyncCommand, { kind: K }> => c.kind === kind);
const kinds = (commands: SyncCommand[]) => commands.map((c) => c.kind);

/** The peer's chain: ours up to `forkAt`, then its own blocks up to `height`. */
function peerChain(ours: readonly Block[], forkAt: number, height: number): Block[] {
  const shared = ours.slice(0, forkAt);
  const parent = forkAt === 0 ? GENESIS.headHash : blockHash(shared[forkAt - 1] as Block);
  return [...shared, ...blocksOn(parent, forkAt, height - forkAt, 2)];
}
const range = (chain: readonly Block[], from: number, count = CHUNK) =>
  chain.slice(from - 1, from - 1 + count);

describe('the sync state machine', () => {
  it('asks the claimed peer for the blocks after our head, validates them and adopts the longer chain', () => {
    const ours = blocksOn(GENESIS.headHash, 0, 5, 1);
    const chain = chainOf(ours);
    const theirs = peerChain(ours, 5, 9);
    const sync = machine();
    const started = sync.step({ kind: 'start', peer: 'p', claimedHeight: 9 }, chain);
    expect(only(started, 'request')).toEqual([{ kind: 'request', peer: 'p', from: 6, count: CHUNK }]);
    expect(only(started, 'armTimer')).toHaveLength(1);
    expect(sync.awaits('p', 6)).toBe(true);
    expect(sync.awaits('q', 6)).toBe(false);

    const got = sync.step(reply('p', 6, range(theirs, 6), 9), chain);
    const [validate] = only(got, 'validate');
    expect(validate?.base).toEqual(chain.stateAt(5));
    expect(validate?.blocks).toEqual(range(theirs, 6));
    expect(only(got, 'request')).toEqual([]); // 6..9 is all it claims: nothing to ask ahead

    const done = sync.step({ kind: 'validated', result: validated(range(theirs, 6)) }, chain);
    expect(kinds(done)).toEqual(['proven', 'adopt', 'log', 'cancelTimer', 'log', 'done']);
    expect(only(done, 'proven')).toEqual([{ kind: 'proven', peer: 'p', height: 9 }]);
    expect(only(done, 'adopt')[0]).toMatchObject({ forkHeight: 5, blocks: range(theirs, 6) });
    expect(only(done, 'done')).toEqual([{ kind: 'done', peer: 'p', reason: 'reached 9', failed: false }]);
    expect(sync.active).toBe(false);
  });

  it('steps back twice as far each time to the fork point, and does not validate the blocks we hold', () => {
    const ours = blocksOn(GENESIS.headHash, 0, 40, 1);
    const chain = chainOf(ours);
    const theirs = peerChain(ours, 10, 50);
    const sync = machine();
    const requests: number[] = [];
    const run = (commands: SyncCommand[]) => {
      requests.push(...only(commands, 'request').map((r) => r.from));
      return commands;
    };
    run(sync.step({ kind: 'start', peer: 'p', claimedHeight: 50 }, chain));
    // 41, then back 8, 16, 32 (clamped at block 1): each reply fails to link to our chain.
    for (const from of [41, 33, 17]) {
      const commands = run(sync.step(reply('p', from, range(theirs, from), 50), chain));
      expect(only(commands, 'penalize')).toEqual([]);
      expect(sync.holdsForging).toBe(false);
    }
    expect(requests).toEqual([41, 33, 17, 1]);
    // Blocks 1..8 are ours: the fork point moves up without validation, and it asks on.
    const shared = run(sync.step(reply('p', 1, range(theirs, 1), 50), chain));
    expect(only(shared, 'validate')).toEqual([]);
    expect(requests.at(-1)).toBe(9);
    // 9 and 10 are ours; 11.. are the fork, validated on our state at 10.
    const forked = run(sync.step(reply('p', 9, range(theirs, 9), 50), chain));
    const [validate] = only(forked, 'validate');
    expect(validate?.base).toEqual(chain.stateAt(10));
    expect(validate?.blocks).toEqual(range(theirs, 11, 6));
    expect(sync.progress()).toMatchObject({ forkHeight: 10, targetHeight: 50, validatedHeight: 10 });
    expect(requests.at(-1)).toBe(17); // one request ahead while this chunk is validated
    // 11..16 validated: not longer than our 40 blocks yet, so nothing is adopted.
    const after = sync.step({ kind: 'validated', result: validated(range(theirs, 11, 6)) }, chain);
    expect(only(after, 'adopt')).toEqual([]);
    expect(only(after, 'proven')).toEqual([{ kind: 'proven', peer: 'p', height: 16 }]);
    expect(sync.progress()).toMatchObject({ forkHeight: 10, validatedHeight: 16 });
  });

  it('penalizes a chain that does not link even to our genesis block', () => {
    const ours = blocksOn(GENESIS.headHash, 0, 3, 1);
    const chain = chainOf(ours);
    const foreign = blocksOn('c'.repeat(64), 0, 10, 3);
    const sync = machine();
    sync.step({ kind: 'start', peer: 'p', claimedHeight: 10 }, chain);
    const back = sync.step(reply('p', 4, range(foreign, 4), 10), chain);
    expect(only(back, 'request').map((r) => r.from)).toEqual([1]);
    const end = sync.step(reply('p', 1, range(foreign, 1), 10), chain);
    expect(only(end, 'penalize')).toEqual([
      { kind: 'penalize', peer: 'p', points: PENALTY.invalid, reason: 'its chain does not link to genesis' },
    ]);
    expect(only(end, 'done')[0]).toMatchObject({ failed: true });
    expect(sync.active).toBe(false);
  });

  it('penalizes an empty reply below the claimed height and ends the sync', () => {
    const chain = chainOf(blocksOn(GENESIS.headHash, 0, 3, 1));
    const sync = machine();
    sync.step({ kind: 'start', peer: 'liar', claimedHeight: 1_000_000 }, chain);
    const end = sync.step(reply('liar', 4, [], 1_000_000), chain);
    expect(only(end, 'penalize')).toEqual([
      {
        kind: 'penalize',
        peer: 'liar',
        points: PENALTY.useless,
        reason: 'empty reply from 4 (claimed 1000000)',
      },
    ]);
    expect(kinds(end).slice(-3)).toEqual(['cancelTimer', 'log', 'done']);
    expect(only(end, 'done')[0]).toMatchObject({ peer: 'liar', failed: true });
    expect(only(end, 'request')).toEqual([]);
  });

  it('penalizes a useless reply: blocks we already hold instead of the ones asked for', () => {
    const ours = blocksOn(GENESIS.headHash, 0, 5, 1);
    const chain = chainOf(ours);
    const sync = machine();
    sync.step({ kind: 'start', peer: 'p', claimedHeight: 20 }, chain);
    const end = sync.step(reply('p', 6, ours.slice(0, 5), 20), chain);
    expect(only(end, 'penalize')).toEqual([
      {
        kind: 'penalize',
        peer: 'p',
        points: PENALTY.useless,
        reason: 'reply starts at block 1, not at 6 as asked',
      },
    ]);
    expect(only(end, 'validate')).toEqual([]);
    expect(only(end, 'done')[0]).toMatchObject({ failed: true });
  });

  it('penalizes a reply that makes no progress past a partly served chain', () => {
    const ours = blocksOn(GENESIS.headHash, 0, 5, 1);
    const chain = chainOf(ours);
    const theirs = peerChain(ours, 5, 6);
    const sync = machine();
    sync.step({ kind: 'start', peer: 'p', claimedHeight: 30 }, chain);
    // It serves one real block (proving it ahead by one) but claims 30; then it serves nothing.
    sync.step(reply('p', 6, range(theirs, 6), 30), chain);
    const adopted = sync.step({ kind: 'validated', result: validated(range(theirs, 6)) }, chain);
    expect(only(adopted, 'adopt')).toHaveLength(1);
    expect(sync.holdsForging).toBe(true);
    chain.blocks.push(theirs[5] as Block); // the node carried out the adopt
    const end = sync.step(reply('p', 7, [], 30), chain);
    expect(only(end, 'penalize')[0]).toMatchObject({ points: PENALTY.useless });
    expect(only(end, 'done')[0]).toMatchObject({ failed: true });
    expect(sync.holdsForging).toBe(false);
  });

  it('keeps the valid prefix of a reply that is invalid part-way, and penalizes the peer', () => {
    const ours = blocksOn(GENESIS.headHash, 0, 2, 1);
    const chain = chainOf(ours);
    const theirs = peerChain(ours, 2, 10);
    const sync = machine();
    sync.step({ kind: 'start', peer: 'p', claimedHeight: 10 }, chain);
    sync.step(reply('p', 3, range(theirs, 3), 10), chain);
    const end = sync.step({ kind: 'validated', result: validated(range(theirs, 3), 5) }, chain);
    expect(only(end, 'proven')).toEqual([{ kind: 'proven', peer: 'p', height: 7 }]);
    expect(only(end, 'penalize')).toEqual([
      {
        kind: 'penalize',
        peer: 'p',
        points: PENALTY.invalid,
        reason: 'invalid chain at block 8: block signature does not verify',
      },
    ]);
    // Blocks 3..7 are valid and longer than our 2: adopted before the sync ends.
    expect(only(end, 'adopt')[0]).toMatchObject({ forkHeight: 2, blocks: range(theirs, 3, 5) });
    expect(only(end, 'done')[0]).toMatchObject({ reason: 'invalid block', failed: true });
  });

  it('ends by timeout when the armed timer fires, ignoring timers it re-armed since', () => {
    const ours = blocksOn(GENESIS.headHash, 0, 2, 1);
    const chain = chainOf(ours);
    const theirs = peerChain(ours, 2, 30);
    const sync = machine();
    const first = only(sync.step({ kind: 'start', peer: 'p', claimedHeight: 30 }, chain), 'armTimer')[0];
    expect(first?.ms).toBe(TIMEOUT);
    const got = sync.step(reply('p', 3, range(theirs, 3), 30), chain);
    const second = only(got, 'armTimer')[0]; // re-armed by the request running ahead
    expect(second?.token).not.toBe(first?.token);
    expect(sync.step({ kind: 'timeout', token: first?.token ?? -1 }, chain)).toEqual([]);
    expect(sync.active).toBe(true);
    const end = sync.step({ kind: 'timeout', token: second?.token ?? -1 }, chain);
    expect(only(end, 'penalize')).toEqual([
      { kind: 'penalize', peer: 'p', points: PENALTY.timeout, reason: 'sync request timed out' },
    ]);
    expect(only(end, 'done')[0]).toMatchObject({ reason: 'timeout', failed: true });
    // The validation still under way comes back to a machine that has moved on.
    expect(sync.step({ kind: 'validated', result: validated(range(theirs, 3)) }, chain)).toEqual([]);
  });

  it('ends without blame when the peer leaves mid-sync, and ignores its late replies', () => {
    const ours = blocksOn(GENESIS.headHash, 0, 2, 1);
    const chain = chainOf(ours);
    const theirs = peerChain(ours, 2, 30);
    const sync = machine();
    sync.step({ kind: 'start', peer: 'p', claimedHeight: 30 }, chain);
    expect(sync.step({ kind: 'peerGone', peer: 'other', reason: 'the peer left' }, chain)).toEqual([]);
    const end = sync.step({ kind: 'peerGone', peer: 'p', reason: 'the peer left' }, chain);
    expect(kinds(end)).toEqual(['cancelTimer', 'log', 'done']);
    expect(only(end, 'done')[0]).toEqual({ kind: 'done', peer: 'p', reason: 'the peer left', failed: false });
    expect(sync.awaits('p', 3)).toBe(false);
    expect(sync.step(reply('p', 3, range(theirs, 3), 30), chain)).toEqual([]);
    // A new sync may start at once.
    expect(only(sync.step({ kind: 'start', peer: 'q', claimedHeight: 30 }, chain), 'request')).toHaveLength(
      1,
    );
  });

  it('keeps one request running ahead, and takes a reply that comes while a chunk is validated', () => {
    const ours = blocksOn(GENESIS.headHash, 0, 2, 1);
    const chain = chainOf(ours);
    const theirs = peerChain(ours, 2, 30);
    const sync = machine();
    sync.step({ kind: 'start', peer: 'p', claimedHeight: 30 }, chain);
    const first = sync.step(reply('p', 3, range(theirs, 3), 30), chain);
    expect(kinds(first)).toEqual(['request', 'armTimer', 'validate']);
    expect(only(first, 'request')[0]?.from).toBe(11);
    // The reply running ahead arrives before the first chunk's validation is done: kept.
    expect(sync.awaits('p', 11)).toBe(true);
    expect(sync.awaits('p', 19)).toBe(false); // never two ahead
    expect(sync.step(reply('p', 11, range(theirs, 11), 30), chain)).toEqual([]);
    const second = sync.step({ kind: 'validated', result: validated(range(theirs, 3)) }, chain);
    // Adopted 3..10, then the kept reply is taken on the adopted head (not yet on our chain).
    expect(only(second, 'adopt')[0]).toMatchObject({ forkHeight: 2 });
    expect(only(second, 'request').map((r) => r.from)).toEqual([19]);
    const [validate] = only(second, 'validate');
    expect(validate?.base.headHash).toBe(blockHash(theirs[9] as Block));
    expect(validate?.blocks).toEqual(range(theirs, 11));
    expect(sync.holdsForging).toBe(true);
  });

  it('ends without adopting when our chain changed under the sync at the fork point', () => {
    const ours = blocksOn(GENESIS.headHash, 0, 2, 1);
    const chain = chainOf(ours);
    const theirs = peerChain(ours, 2, 5);
    const sync = machine();
    sync.step({ kind: 'start', peer: 'p', claimedHeight: 5 }, chain);
    sync.step(reply('p', 3, range(theirs, 3), 5), chain);
    // A chain import replaced our block 2 while the chunk was validated.
    chain.blocks.splice(1, 1, ...blocksOn(blockHash(ours[0] as Block), 1, 1, 9));
    const end = sync.step({ kind: 'validated', result: validated(range(theirs, 3)) }, chain);
    expect(only(end, 'adopt')).toEqual([]);
    expect(only(end, 'penalize')).toEqual([]);
    expect(only(end, 'done')[0]).toMatchObject({ reason: 'our chain changed under the sync', failed: false });
  });

  it('never pauses forging on a claim: only after the peer delivered blocks beyond our head', () => {
    const ours = blocksOn(GENESIS.headHash, 0, 2, 1);
    const chain = chainOf(ours);
    const sync = machine();
    sync.step({ kind: 'start', peer: 'liar', claimedHeight: 1_000_000 }, chain);
    expect(sync.active).toBe(true);
    expect(sync.holdsForging).toBe(false);
    // A claim at or below our height starts nothing.
    const idle = machine();
    expect(idle.step({ kind: 'start', peer: 'p', claimedHeight: 2 }, chain)).toEqual([]);
    expect(idle.active).toBe(false);
  });
});

describe('the sync state machine at a tie (a peer at our height with another head)', () => {
  /** Our chain and a peer's of the same height that forks after `forkAt`, split by the fork choice. */
  function tie(height: number, forkAt: number) {
    const ours = blocksOn(GENESIS.headHash, 0, height, 1);
    // Tags until our branch's first block after the fork has the larger hash (so theirs wins).
    const branches = [2, 3, 4, 5, 6, 7, 8, 9].map((tag) => {
      const parent = forkAt === 0 ? GENESIS.headHash : blockHash(ours[forkAt - 1] as Block);
      return [...ours.slice(0, forkAt), ...blocksOn(parent, forkAt, height - forkAt, tag)];
    });
    const firstHash = (chain: readonly Block[]) => blockHash(chain[forkAt] as Block);
    const better = branches.find((b) => firstHash(b) < firstHash(ours));
    const worse = branches.find((b) => firstHash(b) > firstHash(ours));
    if (!better || !worse) throw new Error('no branch on each side of ours');
    return { ours, better, worse, head: (b: readonly Block[]) => blockHash(b[height - 1] as Block) };
  }

  it('fetches the head block first, validates the branch and adopts it when the rule prefers it', () => {
    const { ours, better, head } = tie(6, 5);
    const chain = chainOf(ours);
    const sync = machine();
    const started = sync.step({ kind: 'tie', peer: 'p', height: 6, head: head(better) }, chain);
    expect(only(started, 'request')).toEqual([{ kind: 'request', peer: 'p', from: 6, count: CHUNK }]);
    expect(sync.holdsForging).toBe(false);
    const got = sync.step(reply('p', 6, range(better, 6), 6), chain);
    const [validate] = only(got, 'validate');
    expect(validate?.base).toEqual(chain.stateAt(5));
    expect(validate?.blocks).toEqual(range(better, 6));
    const done = sync.step({ kind: 'validated', result: validated(range(better, 6)) }, chain);
    expect(only(done, 'adopt')[0]).toMatchObject({ forkHeight: 5, blocks: range(better, 6) });
    expect(only(done, 'kept')).toEqual([]);
    expect(only(done, 'done')[0]).toMatchObject({ failed: false });
    expect(sync.hasJudged(head(better))).toBe(true);
  });

  it('steps back to a deeper fork point and keeps our branch when the rule prefers it, once', () => {
    const { ours, worse, head } = tie(20, 3);
    const chain = chainOf(ours);
    const sync = machine();
    const requests: number[] = [];
    const run = (commands: SyncCommand[]) => {
      requests.push(...only(commands, 'request').map((r) => r.from));
      return commands;
    };
    run(sync.step({ kind: 'tie', peer: 'p', height: 20, head: head(worse) }, chain));
    run(sync.step(reply('p', 20, range(worse, 20), 20), chain)); // does not link: back 8
    run(sync.step(reply('p', 12, range(worse, 12), 20), chain)); // back 16, clamped at 1
    expect(requests).toEqual([20, 12, 1]);
    const linked = run(sync.step(reply('p', 1, range(worse, 1), 20), chain));
    expect(only(linked, 'validate')[0]?.blocks).toEqual(range(worse, 4, 5));
    run(sync.step({ kind: 'validated', result: validated(range(worse, 4, 5)) }, chain));
    run(sync.step(reply('p', 9, range(worse, 9), 20), chain));
    run(sync.step({ kind: 'validated', result: validated(range(worse, 9)) }, chain));
    run(sync.step(reply('p', 17, range(worse, 17), 20), chain));
    const end = sync.step({ kind: 'validated', result: validated(range(worse, 17)) }, chain);
    // Equally long, but its first block after the fork (4) has the larger hash: ours stays.
    expect(only(end, 'adopt')).toEqual([]);
    expect(only(end, 'kept')).toEqual([{ kind: 'kept', peer: 'p', rival: worse[3] }]);
    expect(only(end, 'penalize')).toEqual([]);
    expect(only(end, 'done')[0]).toMatchObject({ failed: false });
    // The losing head is remembered: the same STATUS again starts nothing.
    expect(sync.hasJudged(head(worse))).toBe(true);
    expect(sync.step({ kind: 'tie', peer: 'p', height: 20, head: head(worse) }, chain)).toEqual([]);
    expect(sync.step({ kind: 'tie', peer: 'q', height: 20, head: head(worse) }, chain)).toEqual([]);
    expect(sync.active).toBe(false);
  });

  it('ignores a tie with our own head, at another height, or while a sync runs', () => {
    const { ours, better, head } = tie(6, 5);
    const chain = chainOf(ours);
    const sync = machine();
    expect(sync.step({ kind: 'tie', peer: 'p', height: 6, head: head(ours) }, chain)).toEqual([]);
    expect(sync.step({ kind: 'tie', peer: 'p', height: 5, head: head(better) }, chain)).toEqual([]);
    sync.step({ kind: 'start', peer: 'q', claimedHeight: 9 }, chain);
    expect(sync.step({ kind: 'tie', peer: 'p', height: 6, head: head(better) }, chain)).toEqual([]);
    expect(sync.peer).toBe('q');
    // Not judged: once the running sync ends, the tie is still worth a look.
    expect(sync.hasJudged(head(better))).toBe(false);
  });

  it('becomes an ordinary sync when the reply shows the peer has grown past us', () => {
    const { ours, worse, head } = tie(6, 5);
    const longer = [...worse, ...blocksOn(blockHash(worse[5] as Block), 6, 2, 4)];
    const chain = chainOf(ours);
    const sync = machine();
    sync.step({ kind: 'tie', peer: 'p', height: 6, head: head(worse) }, chain);
    const got = sync.step(reply('p', 6, range(longer, 6), 8), chain);
    expect(only(got, 'validate')[0]?.blocks).toEqual(range(longer, 6));
    const done = sync.step({ kind: 'validated', result: validated(range(longer, 6)) }, chain);
    // Longer wins whatever its first hash.
    expect(only(done, 'adopt')[0]).toMatchObject({ forkHeight: 5, blocks: range(longer, 6) });
  });

  it('an ordinary sync adopts an equal-length valid prefix the rule prefers, even if the rest fails', () => {
    const { ours, better } = tie(6, 5);
    const chain = chainOf(ours);
    const sync = machine();
    const theirs = [...better, ...blocksOn(blockHash(better[5] as Block), 6, 24, 5)];
    sync.step({ kind: 'start', peer: 'p', claimedHeight: 30 }, chain);
    sync.step(reply('p', 7, range(theirs, 7), 30), chain); // does not link: back to 1
    sync.step(reply('p', 1, range(theirs, 1, 6), 30), chain);
    // Blocks 1..5 are ours, 6 is the fork; block 7 then fails validation.
    // As soon as the fork's block 6 is validated the branch is as long as ours and preferred.
    const six = sync.step({ kind: 'validated', result: validated(range(theirs, 6, 1)) }, chain);
    expect(only(six, 'adopt')[0]).toMatchObject({ forkHeight: 5, blocks: range(theirs, 6, 1) });
    chain.blocks.splice(5, 1, theirs[5] as Block); // the node carries the adopt out
    sync.step(reply('p', 7, range(theirs, 7), 30), chain);
    const end = sync.step({ kind: 'validated', result: validated(range(theirs, 7), 0) }, chain);
    expect(only(end, 'penalize')[0]).toMatchObject({ points: PENALTY.invalid });
    expect(only(end, 'adopt')).toEqual([]);
    expect(only(end, 'done')[0]).toMatchObject({ failed: true });
  });
});

describe('the sync state machine on a resilient network', () => {
  const OTHER = FORGER.replace('MII', 'MIJ'); // a second staker (the machine never checks keys)
  /** A resilient head ranking FORGER first, then OTHER. */
  const ranked = (seed: string): ChainState['resilient'] => ({
    seed,
    headTime: 0,
    stakeWindow: [],
    ranking: [FORGER, OTHER],
  });
  const resilientAfter = (block: Block): ChainState => ({
    ...stateAfter(block),
    resilient: ranked(blockHash(block)),
  });
  const RESILIENT_GENESIS: ChainState = { ...GENESIS, resilient: ranked('0'.repeat(64)) };

  /** Our chain, with blocks readable (the rank of our first block after a fork is read from it). */
  function resilientChainOf(blocks: readonly Block[]): SyncChainReader & { blocks: Block[] } {
    const chain = chainOf(blocks);
    return {
      ...chain,
      get height() {
        return this.blocks.length;
      },
      stateAt(height: number) {
        const block = this.blocks[height - 1];
        return height === 0 || !block ? RESILIENT_GENESIS : resilientAfter(block);
      },
      blockAt(height: number) {
        return this.blocks[height - 1];
      },
    };
  }
  const resilientValidated = (blocks: readonly Block[]): ExtendResult => {
    const states = blocks.map(resilientAfter);
    return {
      state: states[states.length - 1] ?? RESILIENT_GENESIS,
      validBlocks: [...blocks],
      validStates: states,
      firstInvalid: null,
      error: null,
    };
  };

  /** Runs a whole sync of `theirs`: every request answered, every chunk valid; returns every command. */
  function syncAll(ours: readonly Block[], theirs: readonly Block[]): SyncCommand[] {
    const chain = resilientChainOf(ours);
    const sync = machine();
    const all: SyncCommand[] = [];
    const pending = [...sync.step({ kind: 'start', peer: 'p', claimedHeight: theirs.length }, chain)];
    for (let command = pending.shift(); command; command = pending.shift()) {
      all.push(command);
      if (command.kind === 'request')
        pending.push(
          ...sync.step(reply('p', command.from, range(theirs, command.from), theirs.length), chain),
        );
      if (command.kind === 'validate')
        pending.push(
          ...sync.step({ kind: 'validated', result: resilientValidated(command.blocks as Block[]) }, chain),
        );
    }
    return all;
  }

  it('refuses a longer branch that would replace more than 8 blocks, without blame, and ends the sync', () => {
    const ours = blocksOn(GENESIS.headHash, 0, 12, 1);
    const theirs = peerChain(ours, 3, 14); // forks after block 3: would replace 4..12, 9 blocks
    const chain = resilientChainOf(ours);
    const sync = machine();
    sync.step({ kind: 'start', peer: 'p', claimedHeight: 14 }, chain);
    sync.step(reply('p', 13, range(theirs, 13), 14), chain); // does not link: back 8
    const linked = sync.step(reply('p', 5, range(theirs, 5), 14), chain); // does not link: back 16
    expect(only(linked, 'request')[0]?.from).toBe(1);
    const got = sync.step(reply('p', 1, range(theirs, 1), 14), chain);
    const validate = only(got, 'validate')[0];
    expect(validate?.blocks).toEqual(range(theirs, 4, 5));
    const first = sync.step(
      { kind: 'validated', result: resilientValidated(validate?.blocks as Block[]) },
      chain,
    );
    expect(only(first, 'adopt')).toEqual([]); // 8 blocks of theirs: shorter than our 12
    const next = sync.step(reply('p', 9, range(theirs, 9), 14), chain);
    const end = sync.step(
      { kind: 'validated', result: resilientValidated(only(next, 'validate')[0]?.blocks as Block[]) },
      chain,
    );
    const message = 'refused a branch that would replace 9 blocks; this node never replaces more than 8';
    expect(only(end, 'refuse')).toEqual([{ kind: 'refuse', peer: 'p', depth: 9, maxDepth: 8, message }]);
    expect(only(end, 'adopt')).toEqual([]);
    expect(only(end, 'penalize')).toEqual([]);
    expect(only(end, 'done')).toEqual([{ kind: 'done', peer: 'p', reason: message, failed: false }]);
    expect(sync.active).toBe(false);
  });

  it('adopts a longer branch that replaces 8 blocks, the bound itself', () => {
    const ours = blocksOn(GENESIS.headHash, 0, 12, 1);
    const theirs = peerChain(ours, 4, 14);
    const commands = syncAll(ours, theirs);
    expect(only(commands, 'refuse')).toEqual([]);
    expect(only(commands, 'adopt')[0]).toMatchObject({ forkHeight: 4 });
    expect(only(commands, 'adopt').flatMap((a) => a.blocks)).toEqual(theirs.slice(4));
  });

  it('between equal lengths prefers the lower rank of the first block, whatever its hash', () => {
    // Our block 6 by rank 1 (OTHER), theirs by rank 0 (FORGER): theirs wins even with the larger hash.
    const shared = blocksOn(GENESIS.headHash, 0, 5, 1);
    const parent = blockHash(shared[4] as Block);
    const mine = { ...createBlock([], parent, OTHER, 6, 9_000), signature: SIGNATURE };
    let theirsBlock = { ...createBlock([], parent, FORGER, 6, 9_001), signature: SIGNATURE };
    for (let t = 9_002; blockHash(theirsBlock) < blockHash(mine); t++)
      theirsBlock = { ...createBlock([], parent, FORGER, 6, t), signature: SIGNATURE };
    const ours = [...shared, mine];
    const theirs = [...shared, theirsBlock];
    const chain = resilientChainOf(ours);
    const sync = machine();
    sync.step({ kind: 'tie', peer: 'p', height: 6, head: blockHash(theirsBlock) }, chain);
    const got = sync.step(reply('p', 6, range(theirs, 6), 6), chain);
    const end = sync.step({ kind: 'validated', result: resilientValidated([theirsBlock]) }, chain);
    expect(only(got, 'validate')[0]?.blocks).toEqual([theirsBlock]);
    expect(only(end, 'adopt')[0]).toMatchObject({ forkHeight: 5, blocks: [theirsBlock] });

    // The other way round (ours by rank 0), ours stays and the rival is checked.
    const back = resilientChainOf(theirs);
    const again = machine();
    again.step({ kind: 'tie', peer: 'q', height: 6, head: blockHash(mine) }, back);
    again.step(reply('q', 6, [mine], 6), back);
    const kept = again.step({ kind: 'validated', result: resilientValidated([mine]) }, back);
    expect(only(kept, 'adopt')).toEqual([]);
    expect(only(kept, 'kept')).toEqual([{ kind: 'kept', peer: 'q', rival: mine }]);
  });

  it('a block ahead of our clock ends the valid prefix without blame', () => {
    const ours = blocksOn(GENESIS.headHash, 0, 3, 1);
    const theirs = peerChain(ours, 3, 8);
    const chain = resilientChainOf(ours);
    const sync = machine();
    sync.step({ kind: 'start', peer: 'p', claimedHeight: 8 }, chain);
    const got = sync.step(reply('p', 4, range(theirs, 4), 8), chain);
    const blocks = only(got, 'validate')[0]?.blocks as Block[];
    const prefix = resilientValidated(blocks.slice(0, 2));
    const end = sync.step(
      {
        kind: 'validated',
        result: {
          ...prefix,
          firstInvalid: 2,
          error: { code: 'FROM_THE_FUTURE', message: 'ahead', dueAt: 10 },
        },
      },
      chain,
    );
    expect(only(end, 'penalize')).toEqual([]);
    expect(only(end, 'adopt')[0]).toMatchObject({ forkHeight: 3, blocks: blocks.slice(0, 2) });
    expect(only(end, 'done')[0]).toMatchObject({ failed: false });
  });
});
