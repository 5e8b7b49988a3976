import { hexToBytes } from '@noble/hashes/utils.js';
import type { GenesisConfig } from '../core/types';
import type { CryptoProvider } from '../crypto/types';
import {
  type ChainVerdict,
  JOB_FIELDS,
  type PackedJobs,
  type ValidationRequest,
  type ValidationResponse,
} from './validation-worker-handler';

/**
 * The page's side of the validation Worker (`validation-worker.ts`). A node in a tab keeps its
 * chain and applies the rules on the main thread, but hands its signature checks to the Worker
 * through `verifying(provider)`, in batches: thousands of WebCrypto replies per sync otherwise
 * reach the page as as many tasks and starve its frames. `validateChain` validates a whole
 * chain's text in the Worker (the same pure core; same verdicts).
 *
 * If the Worker fails (it could not load, it crashed), every check falls back to the page's own
 * provider: a broken Worker must never make a valid block look invalid.
 */

/** The part of a `Worker` the client uses (a test passes an in-process twin). */
export interface WorkerPort {
  postMessage(message: ValidationRequest, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: { data: ValidationResponse }) => void): void;
  addEventListener(type: 'error' | 'messageerror', listener: () => void): void;
  terminate(): void;
}

/** Checks sent to the Worker in one message at most. */
const MAX_BATCH = 128;

type Signature = Parameters<CryptoProvider['verify']>[2];

interface PendingCheck {
  readonly key: string;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
  readonly resolve: (valid: boolean) => void;
}

interface PendingHash {
  readonly message: Uint8Array;
  readonly resolve: (digest: Uint8Array) => void;
  readonly reject: (error: unknown) => void;
}

const NO_BYTES = new Uint8Array(0);

/**
 * Packs byte strings into one array (a message repeated back to back, as a block payload that is
 * both verified and hashed, is copied once) and the fields of `JOB_FIELDS`.
 */
function packJobs(
  jobs: readonly { readonly message: Uint8Array; readonly signature: Uint8Array }[],
  keyIndexOf: (job: number) => number,
): PackedJobs {
  let total = 0;
  let previous: Uint8Array | null = null;
  for (const job of jobs) {
    if (job.message !== previous) total += job.message.length;
    total += job.signature.length;
    previous = job.message;
  }
  const bytes = new Uint8Array(total);
  const fields = new Uint32Array(jobs.length * JOB_FIELDS);
  let at = 0;
  let messageStart = 0;
  previous = null;
  jobs.forEach((job, index) => {
    const f = index * JOB_FIELDS;
    if (job.message !== previous) {
      messageStart = at;
      bytes.set(job.message, at);
      at += job.message.length;
      previous = job.message;
    }
    fields[f] = keyIndexOf(index);
    fields[f + 1] = messageStart;
    fields[f + 2] = messageStart + job.message.length;
    fields[f + 3] = at;
    bytes.set(job.signature, at);
    at += job.signature.length;
    fields[f + 4] = at;
  });
  return { count: jobs.length, bytes, fields };
}

/** A signature as bytes; null when it is hex of no whole bytes (no key verifies it). */
function signatureAsBytes(signature: Signature): Uint8Array | null {
  if (typeof signature !== 'string') return signature;
  if (signature.length === 0) return null;
  try {
    return hexToBytes(signature);
  } catch {
    return null;
  }
}

export class ValidationWorkerClient {
  private nextId = 1;
  private broken = false;
  /** Checks not sent yet: flushed once the caller's synchronous run ends (a microtask). */
  private queued: PendingCheck[] = [];
  private queuedHashes: PendingHash[] = [];
  private flushScheduled = false;
  private readonly inFlight = new Map<number, PendingCheck[]>();
  private readonly hashesInFlight = new Map<number, PendingHash[]>();
  private readonly chains = new Map<
    number,
    { resolve: (verdict: ChainVerdict) => void; reject: (error: Error) => void }
  >();
  /** Where checks go when the Worker is broken. */
  private fallback: CryptoProvider | null = null;

  constructor(private readonly worker: WorkerPort) {
    worker.addEventListener('message', (event) => this.onResponse(event.data));
    const fail = () => this.fail();
    worker.addEventListener('error', fail);
    worker.addEventListener('messageerror', fail);
  }

  /**
   * `provider` with its `verify` and `sha256` done in the Worker (batched); everything else
   * (signing, key checks) stays the provider's own.
   */
  verifying(provider: CryptoProvider): CryptoProvider {
    this.fallback = provider;
    const verified: CryptoProvider = {
      name: provider.name,
      generateKeyPair: (options) => provider.generateKeyPair(options),
      importPrivateKeyPem: (pem, options) => provider.importPrivateKeyPem(pem, options),
      exportPrivateKeyPem: (keyPair) => provider.exportPrivateKeyPem(keyPair),
      sign: (keyPair, message) => provider.sign(keyPair, message),
      checkPublicKey: (pem) => provider.checkPublicKey(pem),
      verify: (key, message, signature) => this.verify(key, message, signature),
    };
    return provider.sha256 ? { ...verified, sha256: (bytes) => this.sha256(bytes) } : verified;
  }

  /** Validates a chain (JSON text of its blocks, genesis first) in the Worker. */
  validateChain(text: string, genesis: GenesisConfig): Promise<ChainVerdict> {
    if (this.broken) return Promise.reject(new Error('the validation Worker is not running'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.chains.set(id, { resolve, reject });
      this.worker.postMessage({ id, kind: 'validateChain', text, genesis });
    });
  }

  /** Stops the Worker; checks still pending fall back to the page's provider. */
  close(): void {
    this.fail();
    this.worker.terminate();
  }

  private verify(key: string, message: Uint8Array, signature: Signature): Promise<boolean> {
    if (this.broken) return this.verifyHere(key, message, signature);
    const signatureBytes = signatureAsBytes(signature);
    if (signatureBytes === null || typeof key !== 'string') return Promise.resolve(false);
    return new Promise((resolve) => {
      this.queued.push({ key, message, signature: signatureBytes, resolve });
      if (this.queued.length >= MAX_BATCH) this.flush();
      else this.scheduleFlush();
    });
  }

  private sha256(message: Uint8Array): Promise<Uint8Array> {
    if (this.broken) return this.hashHere(message);
    return new Promise((resolve, reject) => {
      this.queuedHashes.push({ message, resolve, reject });
      this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => this.flush());
  }

  /** Sends what is queued: the hashes first (the rules wait on them), then the checks. */
  private flush(): void {
    this.flushScheduled = false;
    const hashes = this.queuedHashes;
    if (hashes.length > 0) {
      this.queuedHashes = [];
      const jobs = packJobs(
        hashes.map((hash) => ({ message: hash.message, signature: NO_BYTES })),
        () => 0,
      );
      const id = this.nextId++;
      this.hashesInFlight.set(id, hashes);
      this.post({ id, kind: 'hash', jobs });
    }
    const checks = this.queued;
    if (checks.length === 0) return;
    this.queued = [];
    const keys: string[] = [];
    const keyIndex = new Map<string, number>();
    const jobs = packJobs(checks, (job) => {
      const key = (checks[job] as PendingCheck).key;
      let index = keyIndex.get(key);
      if (index === undefined) {
        index = keys.length;
        keys.push(key);
        keyIndex.set(key, index);
      }
      return index;
    });
    const id = this.nextId++;
    this.inFlight.set(id, checks);
    this.post({ id, kind: 'verify', keys, jobs });
  }

  /** Posts a batch, handing its packed arrays over rather than copying them. */
  private post(request: Extract<ValidationRequest, { jobs: PackedJobs }>): void {
    this.worker.postMessage(request, [request.jobs.bytes.buffer, request.jobs.fields.buffer]);
  }

  private onResponse(response: ValidationResponse): void {
    if (response.kind === 'chain' || (response.kind === 'failed' && this.chains.has(response.id))) {
      const waiting = this.chains.get(response.id);
      this.chains.delete(response.id);
      if (response.kind === 'chain') waiting?.resolve(response.verdict);
      else waiting?.reject(new Error(response.message));
      return;
    }
    const hashes = this.hashesInFlight.get(response.id);
    if (hashes) {
      this.hashesInFlight.delete(response.id);
      if (response.kind !== 'hashed' || response.digests.length !== 32 * hashes.length) {
        for (const hash of hashes) void this.settleHashHere(hash);
        return;
      }
      hashes.forEach((hash, i) => {
        hash.resolve(response.digests.slice(32 * i, 32 * (i + 1)));
      });
      return;
    }
    const checks = this.inFlight.get(response.id);
    if (!checks) return;
    this.inFlight.delete(response.id);
    if (response.kind !== 'verified' || response.results.length !== checks.length) {
      // An answer that does not fit its batch proves nothing: check here.
      for (const check of checks) void this.settleHere(check);
      return;
    }
    checks.forEach((check, i) => {
      check.resolve(response.results[i] === 1);
    });
  }

  private fail(): void {
    if (this.broken) return;
    this.broken = true;
    const pending = [...this.queued, ...[...this.inFlight.values()].flat()];
    this.queued = [];
    this.inFlight.clear();
    for (const check of pending) void this.settleHere(check);
    const hashes = [...this.queuedHashes, ...[...this.hashesInFlight.values()].flat()];
    this.queuedHashes = [];
    this.hashesInFlight.clear();
    for (const hash of hashes) void this.settleHashHere(hash);
    for (const waiting of this.chains.values()) waiting.reject(new Error('the validation Worker stopped'));
    this.chains.clear();
  }

  private async settleHere(check: PendingCheck): Promise<void> {
    check.resolve(await this.verifyHere(check.key, check.message, check.signature));
  }

  private async settleHashHere(hash: PendingHash): Promise<void> {
    try {
      hash.resolve(await this.hashHere(hash.message));
    } catch (error) {
      hash.reject(error);
    }
  }

  private hashHere(message: Uint8Array): Promise<Uint8Array> {
    const sha256 = this.fallback?.sha256;
    if (!sha256) return Promise.reject(new Error('no provider to hash with'));
    return sha256.call(this.fallback, message);
  }

  private verifyHere(key: string, message: Uint8Array, signature: Signature): Promise<boolean> {
    if (!this.fallback) return Promise.resolve(false);
    return this.fallback.verify(key, message, signature).catch(() => false);
  }
}

/**
 * Starts the validation Worker where the page can run one with WebCrypto, else null (no
 * `Worker`, or no `crypto.subtle`: not a secure context, where the page uses node-forge).
 */
export function startValidationWorker(): ValidationWorkerClient | null {
  if (typeof Worker === 'undefined' || !globalThis.crypto?.subtle) return null;
  try {
    const worker = new Worker(new URL('./validation-worker.ts', import.meta.url), {
      type: 'module',
      name: 'tabchain-validation',
    });
    return new ValidationWorkerClient(worker as unknown as WorkerPort);
  } catch {
    return null;
  }
}
