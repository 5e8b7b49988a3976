/**
 * Browser page for test/e2e/worker-verdicts.e2e.ts: each chain validated twice in Chromium, by
 * the main thread's core and by the dedicated validation Worker (a real module Worker, as the
 * app starts it), with the verdicts side by side.
 */
import { parseJson, validateChain } from '../../../src/core';
import { createWebCryptoProvider } from '../../../src/crypto/webcrypto';
import { startValidationWorker } from '../../../src/node/validation-worker-client';

interface Verdict {
  readonly firstInvalid: number | null;
  readonly code: string | null;
  readonly height: number;
}

declare global {
  interface Window {
    workerVerdicts(
      genesisPublicKey: string,
      chainTexts: readonly string[],
    ): Promise<{ mainThread: Verdict[]; worker: Verdict[]; split: Verdict[] }>;
  }
}

window.workerVerdicts = async (genesisPublicKey, chainTexts) => {
  const client = startValidationWorker();
  if (!client) throw new Error('no validation Worker in this page');
  const genesis = { genesisPublicKey };
  const provider = createWebCryptoProvider();
  const mainThread: Verdict[] = [];
  const worker: Verdict[] = [];
  const split: Verdict[] = [];
  try {
    for (const text of chainTexts) {
      const parsed = parseJson(text);
      if (!parsed.ok || !Array.isArray(parsed.value)) throw new Error('a chain is not an array');
      const here = await validateChain(parsed.value, genesis, provider);
      mainThread.push({
        firstInvalid: here.firstInvalid,
        code: here.error?.code ?? null,
        height: here.height,
      });
      const there = await client.validateChain(text, genesis);
      worker.push({
        firstInvalid: there.firstInvalid,
        code: there.error?.code ?? null,
        height: there.height,
      });
      // As a tab's node runs: rules here, signature checks in the Worker.
      const both = await validateChain(parsed.value, genesis, client.verifying(createWebCryptoProvider()));
      split.push({ firstInvalid: both.firstInvalid, code: both.error?.code ?? null, height: both.height });
    }
  } finally {
    client.close();
  }
  return { mainThread, worker, split };
};
