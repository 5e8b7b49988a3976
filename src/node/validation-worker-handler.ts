import { parseJson } from '../core/json';
import type { GenesisConfig, SignatureVerifier } from '../core/types';
import { validateChain } from '../core/validate';

/**
 * What the validation Worker (`validation-worker.ts`) is asked and answers. Plain structured-
 * clone data: requests carry an id, and each answer names the request it answers.
 *
 * - `verify`: a batch of signature checks. The page's node builds the signed bytes and applies
 *   the rules; the Worker does the WebCrypto calls. Chromium runs a renderer's WebCrypto on one
 *   thread whoever calls it, so this adds no throughput: it spares the page the 12.6 µs of
 *   dispatch per call and thousands of reply tasks, which otherwise starve its frames.
 * - `validateChain`: a whole chain, from its JSON text, validated by the pure core in the Worker
 *   (a chain file). The verdict is the one the core gives on the main thread.
 */
export type ValidationRequest =
  | {
      readonly id: number;
      readonly kind: 'verify';
      /** The public keys of this batch; each job names one by index. */
      readonly keys: readonly string[];
      /** The checks, packed (see `PackedJobs`). */
      readonly jobs: PackedJobs;
    }
  | {
      readonly id: number;
      readonly kind: 'validateChain';
      /** JSON text of an array of blocks, genesis first (the reference's `GET /blockchain` shape). */
      readonly text: string;
      readonly genesis: GenesisConfig;
    };

/**
 * A batch of jobs as two transferable arrays rather than one object per job: structured-cloning
 * a thousand small objects and their byte arrays cost the page more than the checks' dispatch.
 * `bytes` holds every job's message and signature; `fields` holds `JOB_FIELDS` numbers a job:
 * its key's index, then its message's start and end and its signature's start and end in `bytes`.
 */
export interface PackedJobs {
  readonly count: number;
  readonly bytes: Uint8Array;
  readonly fields: Uint32Array;
}

/** Numbers per job in `PackedJobs.fields`. */
export const JOB_FIELDS = 5;

/** What validating a chain came to: `ChainValidation`'s verdict, without the states. */
export interface ChainVerdict {
  readonly valid: boolean;
  /** Valid blocks, genesis included. */
  readonly height: number;
  /** Index of the first invalid block, or null. */
  readonly firstInvalid: number | null;
  /** Why it is invalid: the core's stable code and message. */
  readonly error: { readonly code: string; readonly message: string } | null;
  /** The hash of each valid block after genesis, in order. */
  readonly hashes: readonly string[];
}

export type ValidationResponse =
  | { readonly id: number; readonly kind: 'verified'; readonly results: Uint8Array }
  | { readonly id: number; readonly kind: 'chain'; readonly verdict: ChainVerdict }
  | { readonly id: number; readonly kind: 'failed'; readonly message: string };

/** Chain text larger than this is refused (a chain file of 10,000 full blocks is far below). */
export const MAX_CHAIN_TEXT_CHARS = 512 * 1024 * 1024;

/** Answers one request with `verifier` (the Worker's WebCrypto provider). Never throws. */
export async function handleValidationRequest(
  request: ValidationRequest,
  verifier: SignatureVerifier,
): Promise<ValidationResponse> {
  try {
    if (request.kind === 'verify') {
      const { bytes, fields, count } = request.jobs;
      const checks: Promise<boolean>[] = new Array(count);
      for (let job = 0, at = 0; job < count; job++, at += JOB_FIELDS) {
        const key = request.keys[fields[at] as number] ?? '';
        const message = bytes.subarray(fields[at + 1], fields[at + 2]);
        const signature = bytes.subarray(fields[at + 3], fields[at + 4]);
        checks[job] = verifier.verify(key, message, signature).catch(() => false);
      }
      const results = await Promise.all(checks);
      return { id: request.id, kind: 'verified', results: Uint8Array.from(results, Number) };
    }
    return {
      id: request.id,
      kind: 'chain',
      verdict: await chainVerdict(request.text, request.genesis, verifier),
    };
  } catch (error) {
    return {
      id: request.id,
      kind: 'failed',
      message: error instanceof Error ? error.message : String(error),
    };
  }
}

/** Validates a chain's JSON text as `validateChain` does; text that is no array is invalid at block 0. */
export async function chainVerdict(
  text: string,
  genesis: GenesisConfig,
  verifier: SignatureVerifier,
): Promise<ChainVerdict> {
  const parsed = text.length > MAX_CHAIN_TEXT_CHARS ? null : parseJson(text);
  if (!parsed?.ok || !Array.isArray(parsed.value)) {
    return {
      valid: false,
      height: 0,
      firstInvalid: 0,
      error: { code: 'MALFORMED_CHAIN', message: 'the chain is not a JSON array of blocks' },
      hashes: [],
    };
  }
  const result = await validateChain(parsed.value, genesis, verifier);
  return {
    valid: result.valid,
    height: result.height,
    firstInvalid: result.firstInvalid,
    error: result.error && { code: result.error.code, message: result.error.message },
    hashes: result.validStates.slice(1).map((state) => state.headHash),
  };
}
