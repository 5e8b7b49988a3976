import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeTransaction, parseJson, transactionSigningBytes } from '../../src/core';
import { canonicalPublicKeyPem, createCryptoProvider } from '../../src/crypto';

// scripts/reference-client.py, our Python client of the reference's API, run under Debian's
// python3 against a recording HTTP server: what it posts must have the reference's shape byte for
// byte (the recorded bodies of nodeapi-interaction.json), and its signatures must verify under the
// core's transactionSigningBytes.

const ROOT = join(import.meta.dirname, '..', '..');
const CLIENT = join(ROOT, 'scripts', 'reference-client.py');
const KEYS = join(ROOT, 'test', 'vectors', 'keys');
const RECORDED = join(ROOT, 'test', 'vectors', 'nodeapi-interaction.json');
const PYTHON = '/usr/bin/python3';

interface Recorded {
  readonly requests: readonly { what: string; body: string; contentType: string; path: string }[];
}
const recorded = JSON.parse(readFileSync(RECORDED, 'utf8')) as Recorded;

interface Received {
  readonly method: string;
  readonly url: string;
  readonly contentType: string;
  readonly body: string;
}

let server: Server;
let url: string;
const received: Received[] = [];
/** The status the recording server answers with (the reference's 201 unless a test says otherwise). */
let answer = 201;

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({
        method: request.method ?? '',
        url: request.url ?? '',
        contentType: request.headers['content-type'] ?? '',
        body: Buffer.concat(chunks).toString('utf8'),
      });
      response.writeHead(answer, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ message: 'Received transaction' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function runClient(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(PYTHON, [CLIENT, '--node', url, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** The keys of a jsonpickle text in their order, as the reference's object writes them. */
function keyOrder(text: string): string[] {
  return Object.keys(JSON.parse(text) as object);
}

const pem = (name: string) => canonicalPublicKeyPem(readFileSync(join(KEYS, `${name}PublicKey.pem`), 'utf8'));

describe('the Python reference client', () => {
  it('replays the recorded requests byte for byte', async () => {
    received.length = 0;
    const run = await runClient(['replay', RECORDED]);
    expect(run.code, run.stderr).toBe(0);
    expect(received.map((r) => r.body)).toEqual(recorded.requests.map((r) => r.body));
    expect(received.every((r) => r.method === 'POST' && r.url === '/transaction')).toBe(true);
  });

  it("posts the reference interaction in the reference's shape, signed as the core verifies", async () => {
    received.length = 0;
    const run = await runClient(['interaction']);
    expect(run.code, run.stderr).toBe(0);
    expect(received).toHaveLength(6);
    const crypto = createCryptoProvider();
    const expected = [
      ['exchange', 'staker', 100, 'EXCHANGE'],
      ['exchange', 'bob', 100, 'EXCHANGE'],
      ['exchange', 'bob', 10, 'EXCHANGE'],
      ['staker', 'staker', 25, 'STAKE'],
      ['staker', 'bob', 1, 'TRANSFER'],
      ['staker', 'bob', 1, 'TRANSFER'],
    ] as const;
    const recordedBody = JSON.parse(recorded.requests[0]?.body ?? '{}') as { transaction: string };
    for (const [index, request] of received.entries()) {
      expect(request.contentType).toBe('application/json');
      // The envelope as requests writes it: one key, Python's separators.
      expect(request.body).toMatch(/^\{"transaction": "\{\\"py\/object\\": \\"Transaction\.Transaction\\", /);
      const { transaction: text } = JSON.parse(request.body) as { transaction: string };
      expect(keyOrder(text)).toEqual(keyOrder(recordedBody.transaction));
      const fields = parseJson(text);
      if (!fields.ok) throw new Error(fields.error);
      const { 'py/object': tag, ...rest } = fields.value as Record<string, unknown>;
      expect(tag).toBe('Transaction.Transaction');
      const tx = decodeTransaction(rest);
      if (!tx.ok) throw new Error(tx.error.message);
      const [sender, receiver, amount, type] = expected[index] ?? [];
      expect(tx.value.senderPublicKey).toBe(pem(sender ?? ''));
      expect(tx.value.receiverPublicKey).toBe(pem(receiver ?? ''));
      expect([tx.value.amount, tx.value.type]).toEqual([amount, type]);
      expect(
        await crypto.verify(tx.value.senderPublicKey, transactionSigningBytes(tx.value), tx.value.signature),
      ).toBe(true);
    }
  });

  it('says so, with exit 1, when the node refuses a transaction', async () => {
    received.length = 0;
    answer = 400;
    try {
      const run = await runClient(['send', 'TRANSFER', 'staker', 'bob', '1']);
      expect(run.code).toBe(1);
      expect(run.stdout).toContain('TRANSFER 1 -> 400');
      expect(received).toHaveLength(1);
    } finally {
      answer = 201;
    }
  });
});
