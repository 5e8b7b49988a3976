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

/**
 * Checks sent to the Worker in one message at most: few enough that it starts verifying while
 * the page writes the rest of a block (a 1,000-transaction block would otherwise reach it whole
 * and the Worker wait idle meanwhile), enough that a sync of 11,000 checks takes some 90 posts.
 */
const MAX_BATCH = 128;

type Signature = Parameters<CryptoProvider['verify']>[2];

interface PendingCheck {
  readonly key: string;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
  readonly resolve: (valid: boolean) => void;
}

/** Packs the checks' messages and signatures into one array, and their fields (`JOB_FIELDS`). */
function packJobs(checks: readonly PendingCheck[], keyIndexOf: (key: string) => number): PackedJobs {
  let total = 0;
  for (const check of checks) total += check.message.length + check.signature.length;
  const bytes = new Uint8Array(total);
  const fields = new Uint32Array(checks.length * JOB_FIELDS);
  let at = 0;
  checks.forEach((check, index) => {
    const f = index * JOB_FIELDS;
    fields[f] = keyIndexOf(check.key);
    fields[f + 1] = at;
    bytes.set(check.message, at);
    at += check.message.length;
    fields[f + 2] = at;
    fields[f + 3] = at;
    bytes.set(check.signature, at);
    at += check.signature.length;
    fields[f + 4] = at;
  });
  return { count: checks.length, bytes, fields };
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
  private flushScheduled = false;
  private readonly inFlight = new Map<number, PendingCheck[]>();
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
   * `provider` with its `verify` done in the Worker (batched); everything else (signing, key
   * checks, hashing) stays the provider's own. (Hashing in the Worker was tried: a digest then
   * waits behind the checks sent before it, and the rules, which need the hashes, ran late.)
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
    const sha256 = provider.sha256?.bind(provider);
    return sha256 ? { ...verified, sha256 } : verified;
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

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => this.flush());
  }

  /** Sends the queued checks as one packed batch, its arrays handed over rather than copied. */
  private flush(): void {
    this.flushScheduled = false;
    const checks = this.queued;
    if (checks.length === 0) return;
    this.queued = [];
    const keys: string[] = [];
    const keyIndex = new Map<string, number>();
    const jobs = packJobs(checks, (key) => {
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
    this.worker.postMessage({ id, kind: 'verify', keys, jobs }, [jobs.bytes.buffer, jobs.fields.buffer]);
  }

  private onResponse(response: ValidationResponse): void {
    if (response.kind === 'chain' || (response.kind === 'failed' && this.chains.has(response.id))) {
      const waiting = this.chains.get(response.id);
      this.chains.delete(response.id);
      if (response.kind === 'chain') waiting?.resolve(response.verdict);
      else waiting?.reject(new Error(response.message));
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
    for (const waiting of this.chains.values()) waiting.reject(new Error('the validation Worker stopped'));
    this.chains.clear();
  }

  private async settleHere(check: PendingCheck): Promise<void> {
    check.resolve(await this.verifyHere(check.key, check.message, check.signature));
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
