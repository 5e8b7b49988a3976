/**
 * Runs in Chromium (built and served by bench/chromium-validation.ts): validation and sync as a
 * tab runs them, side by side with bare `crypto.subtle.verify` of the same signatures, and the
 * longest main-thread task the page saw meanwhile.
 */
import {
  type Block,
  blockSigningBytes,
  GENESIS_BLOCK,
  genesisState,
  transactionSigningBytes,
  validateBlock,
} from '../../src/core';
import { createWebCryptoProvider, parsePublicKeyPem, signatureHexToBytes } from '../../src/crypto';
import { MemoryNetwork, SeededRandom, VirtualClock } from '../../src/net/memory';
import { TabchainNode } from '../../src/node/node';
import { pagePacing } from '../../src/node/slices';
import { startValidationWorker } from '../../src/node/validation-worker-client';
import type { Transport } from '../../src/ports/transport';

/** What one side-by-side series came to (every run's time in ms, in order). */
interface Series {
  readonly oursMs: number[];
  readonly bareMs: number[];
}

/** The longest main-thread stretch seen while some work ran. */
interface LongestTask {
  /** The longest 'longtask' entry (Chromium reports tasks over 50 ms only), else 0. */
  readonly longTaskMs: number;
  /** The longest gap between two animation frames. */
  readonly frameGapMs: number;
  /** The longest gap between two beats of a `MessageChannel` heartbeat. */
  readonly heartbeatGapMs: number;
  /** Long tasks seen. */
  readonly longTasks: number;
}

declare global {
  interface Window {
    chromiumValidation: {
      validate(input: ValidateInput): Promise<Series & { longest: LongestTask; bareLongest: LongestTask }>;
      sync(input: SyncInput): Promise<Series & { longest: LongestTask; bareLongest: LongestTask }>;
    };
    /**
     * Starts one of the above from a task of the page's own and keeps its outcome in
     * `benchOutcome`: work awaited by DevTools' evaluate counts as one long task to the end.
     */
    benchBegin(kind: 'validate' | 'sync', input: ValidateInput | SyncInput): void;
    benchOutcome:
      | { result?: Series & { longest: LongestTask; bareLongest?: LongestTask }; error?: string }
      | undefined;
  }
}

interface ValidateInput {
  readonly genesisPublicKey: string;
  /** Block 1 (funding) and block 2 (1,000 transfers), as JSON text. */
  readonly chainText: string;
  readonly runs: number;
}

interface SyncInput {
  readonly genesisPublicKey: string;
  /** Blocks 1..n as JSON text. */
  readonly chainText: string;
  readonly runs: number;
}

const ALGORITHM = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };

/** Bare verification of every signature of `blocks`: keys imported and bytes built beforehand. */
async function bareVerifier(blocks: readonly Block[]): Promise<() => Promise<void>> {
  const subtle = globalThis.crypto.subtle;
  const keys = new Map<string, CryptoKey>();
  const jobs: { key: string; data: Uint8Array; signature: Uint8Array }[] = [];
  for (const block of blocks) {
    jobs.push({
      key: block.forger,
      data: blockSigningBytes(block),
      signature: signatureHexToBytes(block.signature) as Uint8Array,
    });
    for (const tx of block.transactions)
      jobs.push({
        key: tx.senderPublicKey,
        data: transactionSigningBytes(tx),
        signature: signatureHexToBytes(tx.signature) as Uint8Array,
      });
  }
  for (const { key } of jobs)
    if (!keys.has(key))
      keys.set(
        key,
        await subtle.importKey('spki', parsePublicKeyPem(key).der as BufferSource, ALGORITHM, false, [
          'verify',
        ]),
      );
  // In windows as the validator keeps its checks in flight (bench/node.ts does the same).
  return async () => {
    for (let i = 0; i < jobs.length; i += 4096) {
      const results = await Promise.all(
        jobs
          .slice(i, i + 4096)
          .map((job) =>
            subtle.verify(
              ALGORITHM,
              keys.get(job.key) as CryptoKey,
              job.signature as BufferSource,
              job.data as BufferSource,
            ),
          ),
      );
      if (!results.every(Boolean)) throw new Error('bare verification failed');
    }
  };
}

/**
 * Runs `ours` and `bare` alternately `runs` times after one unmeasured run each; `ours` times
 * itself (its set-up is not measured).
 */
async function sideBySide(
  ours: () => Promise<number>,
  bare: () => Promise<void>,
  runs: number,
): Promise<Series> {
  await ours();
  await bare();
  const oursMs: number[] = [];
  const bareMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    oursMs.push(await ours());
    const start = performance.now();
    await bare();
    bareMs.push(performance.now() - start);
  }
  return { oursMs, bareMs };
}

/** Times `work`. */
async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

/**
 * Runs `work` while watching the main thread: long-task entries, the longest gap between
 * animation frames (what a moving progress bar needs) and between beats of a `MessageChannel`
 * heartbeat (what any other task of the page waits at most).
 */
async function watchMainThread(work: () => Promise<unknown>): Promise<LongestTask> {
  let longTaskMs = 0;
  let longTasks = 0;
  const watchStart = performance.now();
  const noteLongTasks = (entries: PerformanceEntryList) => {
    for (const entry of entries) {
      if (entry.startTime < watchStart) continue;
      longTasks++;
      longTaskMs = Math.max(longTaskMs, entry.duration);
    }
  };
  const observer = new PerformanceObserver((list) => noteLongTasks(list.getEntries()));
  observer.observe({ type: 'longtask' });
  let watching = true;
  let frameGapMs = 0;
  let lastFrame = watchStart;
  const frame = () => {
    const now = performance.now();
    frameGapMs = Math.max(frameGapMs, now - lastFrame);
    lastFrame = now;
    if (watching) requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  let heartbeatGapMs = 0;
  let lastBeat = watchStart;
  const channel = new MessageChannel();
  channel.port1.onmessage = () => {
    const now = performance.now();
    heartbeatGapMs = Math.max(heartbeatGapMs, now - lastBeat);
    lastBeat = now;
    // One beat a millisecond at most: the heartbeat must not crowd out the work it watches.
    if (watching) setTimeout(() => channel.port2.postMessage(null), 1);
  };
  channel.port2.postMessage(null);
  try {
    await work();
    // Let the last frame, beat and long-task entries arrive.
    await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    watching = false;
    noteLongTasks(observer.takeRecords());
    observer.disconnect();
    channel.port1.close();
  }
  return { longTaskMs, frameGapMs, heartbeatGapMs, longTasks };
}

/** One validation Worker for the page, as a tab has. */
const validationWorker = startValidationWorker();

window.chromiumValidation = {
  async validate({ genesisPublicKey, chainText, runs }) {
    const [funding, block] = JSON.parse(chainText) as [Block, Block];
    const provider = createWebCryptoProvider();
    const funded = await validateBlock(genesisState({ genesisPublicKey }), funding, provider);
    if (!funded.ok) throw new Error(`set-up: ${funded.error.message}`);
    const state = funded.value;
    const pacing = pagePacing();
    const tabCrypto = validationWorker?.verifying(provider) ?? provider;
    // As a tab validates a block: its pause between batches, its sliced lottery, its checks in the Worker.
    const ours = () =>
      timed(async () => {
        const result = await validateBlock(state, block, tabCrypto, undefined, pacing.lottery, undefined, {
          pause: pacing.pause,
        });
        if (!result.ok) throw new Error(result.error.message);
      });
    const bare = await bareVerifier([block]);
    const series = await sideBySide(ours, bare, runs);
    const bareLongest = await watchMainThread(bare);
    // The longest task as a tab meets the block: a node on its parent receives it from a peer.
    const sync = await prepareSync(genesisPublicKey, [funding, block], 1);
    const longest = await watchMainThread(sync);
    return { ...series, longest, bareLongest };
  },

  async sync({ genesisPublicKey, chainText, runs }) {
    const chain = JSON.parse(chainText) as Block[];
    const bare = await bareVerifier(chain);
    const series = await sideBySide(
      async () => (await prepareSync(genesisPublicKey, chain, 0))(),
      bare,
      runs,
    );
    const longest = await watchMainThread(await prepareSync(genesisPublicKey, chain, 0));
    // The same watch over bare verification alone: what WebCrypto's own replies cost the page.
    const bareLongest = await watchMainThread(bare);
    return { ...series, longest, bareLongest };
  },
};

/** The source's answers to sync requests, by request text, for each chain synced (see `replaying`). */
const recordedAnswers = new WeakMap<readonly Block[], Map<string, string>>();

/**
 * The source node's transport, answering a sync request it has answered before from the record:
 * the source stands for another tab, whose work (reading and encoding blocks) must not run on
 * the measured page's main thread. Its first answers are recorded (in the unmeasured run); a
 * request's answer is the next BLOCKCHAIN the source sends after it (it answers in order).
 */
function replaying(inner: Transport, answers: Map<string, string>): Transport {
  const unanswered: string[] = [];
  const isRequest = (data: string) => data.startsWith('{"v":2,"type":"BLOCKCHAINREQUEST"');
  return {
    get localId() {
      return inner.localId;
    },
    start: (handlers, signal) =>
      inner.start(
        {
          ...handlers,
          onMessage(peer, data) {
            const answer = isRequest(data) ? answers.get(data) : undefined;
            if (answer !== undefined) {
              inner.send(peer, answer);
              return;
            }
            if (isRequest(data)) unanswered.push(data);
            handlers.onMessage(peer, data);
          },
        },
        signal,
      ),
    stop: () => inner.stop(),
    connectedPeers: () => inner.connectedPeers(),
    connect: (peer) => inner.connect(peer),
    disconnect: (peer) => inner.disconnect(peer),
    send(peer, data) {
      if (data.startsWith('{"v":2,"type":"BLOCKCHAIN"')) {
        const request = unanswered.shift();
        if (request !== undefined) answers.set(request, data);
      }
      return inner.send(peer, data);
    },
    status: () => inner.status(),
  };
}

/**
 * Sets up a sync, returned ready to run: a fresh tab node syncs `chain` from a peer that holds
 * it, over the in-memory transport (JSON text on the wire, as on a data channel), on a virtual
 * clock run as fast as the nodes go. `startAt`: the fresh node holds this many blocks first.
 * Running it resolves with its time in ms (set-up excluded).
 */
async function prepareSync(
  genesisPublicKey: string,
  chain: readonly Block[],
  startAt: number,
): Promise<() => Promise<number>> {
  const clock = new VirtualClock();
  const random = new SeededRandom(8);
  const net = new MemoryNetwork({ random: random.fork(), clock, latency: { min: 5, max: 50 } });
  let answers = recordedAnswers.get(chain);
  if (!answers) {
    answers = new Map();
    recordedAnswers.set(chain, answers);
  }
  const make = (
    id: string,
    pacing: Partial<ReturnType<typeof pagePacing>>,
    crypto = createWebCryptoProvider(),
    transport = net.createTransport(id),
  ) => {
    const stream = random.fork();
    return new TabchainNode({
      genesis: { genesisPublicKey },
      transport,
      crypto,
      clock,
      random: () => stream.next(),
      limits: { maxPeers: 4 },
      ...pacing,
    });
  };
  const source = make(
    'source',
    {},
    createWebCryptoProvider(),
    replaying(net.createTransport('source'), answers),
  );
  // The fresh node is set up as src/main.tsx sets up a tab's node: paced, its checks in the Worker.
  const provider = createWebCryptoProvider();
  const fresh = make('fresh', pagePacing(), validationWorker?.verifying(provider) ?? provider);
  await source.start();
  // Started now (its channels open once the network runs): set-up, as the blocks it holds first.
  await fresh.start();
  const imported = await source.importChain([{ ...GENESIS_BLOCK }, ...chain]);
  if (!imported.adopted) throw new Error(`set-up: ${imported.error?.message}`);
  if (startAt > 0) {
    const first = await fresh.importChain([{ ...GENESIS_BLOCK }, ...chain.slice(0, startAt)]);
    if (!first.adopted) throw new Error(`set-up: ${first.error?.message}`);
  }
  const settle = async () => {
    await Promise.all([source.whenIdle(), fresh.whenIdle()]);
    await Promise.all([source.whenIdle(), fresh.whenIdle()]);
  };
  return async () => {
    const start = performance.now();
    await net.run({ until: () => fresh.getSnapshot().height === chain.length, settle, maxSteps: 10_000_000 });
    const ms = performance.now() - start;
    const height = fresh.getSnapshot().height;
    await source.stop();
    await fresh.stop();
    if (height !== chain.length) throw new Error('the fresh node did not sync');
    return ms;
  };
}

window.benchBegin = (kind, input) => {
  window.benchOutcome = undefined;
  setTimeout(() => {
    window.chromiumValidation[kind](input).then(
      (result) => {
        window.benchOutcome = { result };
      },
      (error: unknown) => {
        window.benchOutcome = {
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        };
      },
    );
  }, 0);
};
