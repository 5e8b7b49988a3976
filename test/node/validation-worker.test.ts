import { describe, expect, it } from 'vitest';
import { parseJson, validateChain } from '../../src/core';
import { createWebCryptoProvider } from '../../src/crypto/webcrypto';
import { ValidationWorkerClient, type WorkerPort } from '../../src/node/validation-worker-client';
import {
  handleValidationRequest,
  type ValidationRequest,
  type ValidationResponse,
} from '../../src/node/validation-worker-handler';
import { type InvalidChainVector, readVector, VECTOR_GENESIS_KEY } from '../helpers/vectors';

/**
 * The validation Worker's protocol, in process: an in-memory twin of a Worker that runs the
 * Worker's own handler on structured clones, as a real one does (test/e2e/worker-verdicts.e2e.ts
 * runs the real Worker in Chromium).
 */
function inProcessWorker(options: { crashOnFirstMessage?: boolean } = {}) {
  const provider = createWebCryptoProvider();
  const listeners: Record<string, ((event: { data: ValidationResponse }) => void)[]> = {};
  const sent: ValidationRequest[] = [];
  let crashed = false;
  const port: WorkerPort = {
    postMessage(message) {
      sent.push(message);
      if (options.crashOnFirstMessage && !crashed) {
        crashed = true;
        queueMicrotask(() => {
          for (const listener of listeners.error ?? []) listener({ data: undefined as never });
        });
        return;
      }
      void handleValidationRequest(structuredClone(message), provider).then((response) => {
        for (const listener of listeners.message ?? []) listener({ data: structuredClone(response) });
      });
    },
    addEventListener(type: string, listener: (event: { data: ValidationResponse }) => void) {
      listeners[type] = [...(listeners[type] ?? []), listener];
    },
    terminate() {},
  };
  return { port, sent };
}

const genesis = { genesisPublicKey: VECTOR_GENESIS_KEY() };
const invalid = readVector<InvalidChainVector[]>('chains-invalid.json');

describe('the validation Worker', () => {
  it.each(invalid.map((row) => [row.defect, row] as const))(
    'gives the main thread’s verdict on "%s": same code at the same block',
    async (_defect, row) => {
      const text = JSON.stringify(row.chain.blocks);
      const parsed = parseJson(text);
      if (!parsed.ok) throw new Error(parsed.error);
      const here = await validateChain(parsed.value as unknown[], genesis, createWebCryptoProvider());
      const client = new ValidationWorkerClient(inProcessWorker().port);
      const there = await client.validateChain(text, genesis);
      expect(there.firstInvalid).toBe(row.firstInvalidBlock);
      expect(there).toEqual({
        valid: here.valid,
        height: here.height,
        firstInvalid: here.firstInvalid,
        error: here.error && { code: here.error.code, message: here.error.message },
        hashes: here.validStates.slice(1).map((state) => state.headHash),
      });
      // And the main thread's rules with the Worker's signature checks agree too.
      const split = await validateChain(
        parsed.value as unknown[],
        genesis,
        client.verifying(createWebCryptoProvider()),
      );
      expect([split.firstInvalid, split.error?.code]).toEqual([here.firstInvalid, here.error?.code]);
      // And the same block hashes.
      expect(split.validStates.map((state) => state.headHash)).toEqual(
        here.validStates.map((state) => state.headHash),
      );
    },
  );

  it('sends the checks of one synchronous run as one batch', async () => {
    const row = invalid.find(
      (r) => r.defect === 'transaction amount altered after signing',
    ) as InvalidChainVector;
    const worker = inProcessWorker();
    const client = new ValidationWorkerClient(worker.port);
    const result = await validateChain(
      row.chain.blocks,
      genesis,
      client.verifying(createWebCryptoProvider()),
    );
    expect(result.error?.code).toBe('BAD_TX_SIGNATURE');
    const batches = worker.sent.filter((message) => message.kind === 'verify');
    const checks = batches.reduce(
      (sum, message) => sum + (message.kind === 'verify' ? message.jobs.count : 0),
      0,
    );
    expect(batches.length).toBeGreaterThan(0);
    expect(checks).toBeGreaterThan(batches.length * 2);
  });

  it('falls back to the page’s own checks when the Worker fails: a valid chain stays valid', async () => {
    const row = invalid.find((r) => r.defect === 'unknown transaction type') as InvalidChainVector;
    const client = new ValidationWorkerClient(inProcessWorker({ crashOnFirstMessage: true }).port);
    const result = await validateChain(
      row.chain.blocks,
      genesis,
      client.verifying(createWebCryptoProvider()),
    );
    // Every block before the defect is valid, signatures included.
    expect(result.firstInvalid).toBe(row.firstInvalidBlock);
    expect(result.error?.code).toBe('UNKNOWN_TX_TYPE');
    await expect(client.validateChain('[]', genesis)).rejects.toThrow(/not running/);
  });

  it('refuses chain text that is not an array of blocks, at block 0', async () => {
    const client = new ValidationWorkerClient(inProcessWorker().port);
    const verdict = await client.validateChain('{"blocks": 1', genesis);
    expect(verdict).toMatchObject({ valid: false, height: 0, firstInvalid: 0 });
  });
});
