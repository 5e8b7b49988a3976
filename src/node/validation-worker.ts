/**
 * The validation Worker's entry (a dedicated module Worker; see `validation-worker-client.ts`):
 * the pure core with the WebCrypto provider, off the page's main thread. The composition root
 * starts it with `new Worker(new URL('./node/validation-worker.ts', import.meta.url), { type: 'module' })`.
 */
import { createWebCryptoProvider } from '../crypto/webcrypto';
import { handleValidationRequest, type ValidationRequest } from './validation-worker-handler';

/** The Worker's global scope, as far as this entry uses it (the project's lib is the DOM's). */
const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<ValidationRequest>) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
};

const provider = createWebCryptoProvider();

scope.onmessage = (event) => {
  void handleValidationRequest(event.data, provider).then((response) => {
    scope.postMessage(response, response.kind === 'verified' ? [response.results.buffer] : []);
  });
};
