import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type ApiAddress,
  type ApiServer,
  createApiServer,
  INFO_TEXT,
  type NodeApiPort,
} from '../../fullnode/api';
import { MAX_TRANSACTION_BODY_BYTES, REFERENCE_TRANSACTION_TAG } from '../../fullnode/jsonpickle';
import { canonicalJson } from '../../src/core/canonical-json';
import { decodeChainEnvelope } from '../../src/core/decode';
import { parseJson } from '../../src/core/json';
import { stateToJSON } from '../../src/core/state';
import type { GenesisConfig } from '../../src/core/types';
import { validateChain } from '../../src/core/validate';
import { MemoryNetwork, SeededRandom, VirtualClock } from '../../src/net/memory';
import { TabchainNode } from '../../src/node/node';
import { readVector, readVectorKey, VECTOR_GENESIS_KEY } from '../helpers/vectors';
import { crypto, Simulation } from '../sim/harness';

/*
 * The reference's HTTP API over real nodes in memory, each behind a real server on 127.0.0.1.
 * The requests are the ones the reference's Interaction.py sent, byte for byte.
 */

interface RecordedRequest {
  readonly what: string;
  readonly method: string;
  readonly path: string;
  readonly contentType: string;
  readonly body: string;
}

const recorded = readVector<{ requests: RecordedRequest[] }>('nodeapi-interaction.json').requests;
const genesis: GenesisConfig = { genesisPublicKey: VECTOR_GENESIS_KEY() };

/** An HTTP answer: status, content type and the exact text. */
interface Answer {
  readonly status: number;
  readonly type: string;
  readonly text: string;
}

async function request(
  address: ApiAddress,
  method: string,
  path: string,
  body?: string,
  contentType = 'application/json',
): Promise<Answer> {
  const response = await fetch(new URL(path, address.url), {
    method,
    ...(body === undefined ? {} : { body, headers: { 'content-type': contentType } }),
  });
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? '',
    text: await response.text(),
  };
}

/** Parses an answer's JSON losslessly (whole-number floats stay `WholeFloat`). */
function json(answer: Answer): unknown {
  const parsed = parseJson(answer.text);
  if (!parsed.ok) throw new Error(`not JSON: ${answer.text}`);
  return parsed.value;
}

/** The jsonpickle object inside a recorded body, read losslessly. */
function pickleOf(body: string): Record<string, unknown> {
  const outer = parseJson(body);
  if (!outer.ok) throw new Error('bad vector');
  const inner = parseJson((outer.value as { transaction: string }).transaction);
  if (!inner.ok) throw new Error('bad vector');
  return inner.value as Record<string, unknown>;
}

/** A body as Interaction.py writes one (`json.dumps` twice) around a jsonpickle object. */
const bodyOf = (pickle: Record<string, unknown>): string =>
  canonicalJson({ transaction: canonicalJson(pickle) });

/** A node on its own network with no wallet: what it pools stays pooled. */
async function loneNode(): Promise<TabchainNode> {
  const random = new SeededRandom(7);
  const clock = new VirtualClock();
  const network = new MemoryNetwork({ random: random.fork(), clock });
  const stream = random.fork();
  const node = new TabchainNode({
    genesis,
    transport: network.createTransport('lone'),
    crypto,
    clock,
    random: () => stream.next(),
    wallet: null,
  });
  await node.start();
  return node;
}

// These tests run in order over one node: each finds the pool the one before left.
describe('the reference routes on one node', () => {
  let node: TabchainNode;
  let server: ApiServer;
  let address: ApiAddress;

  beforeAll(async () => {
    node = await loneNode();
    const port: NodeApiPort = node; // the node is the port, as the CLI passes it
    server = createApiServer({ node: port, host: '127.0.0.1', port: 0 });
    address = await server.start();
  });
  afterAll(async () => {
    await server.stop();
    await node.stop();
  });

  it('GET /info answers 200 with the reference text', async () => {
    const answer = await request(address, 'GET', '/info');
    expect(answer.status).toBe(200);
    expect(answer.type).toMatch(/^text\/plain/);
    expect(answer.text).toBe(INFO_TEXT);
  });

  it('GET /blockchain answers the genesis chain as Python writes it', async () => {
    const answer = await request(address, 'GET', '/blockchain');
    expect(answer.status).toBe(200);
    expect(answer.type).toMatch(/^application\/json/);
    expect(answer.text).toBe(
      '{"blocks": [{"blockCount": 0, "lastHash": "genesisHash", "signature": "", "forger": "genesis", "timestamp": 0, "transactions": []}]}',
    );
  });

  it('takes a recorded request (201), pools it, and shows it at GET /transactionPool as {"0": tx}', async () => {
    const first = recorded[0] as RecordedRequest;
    expect(await request(address, 'GET', '/transactionPool')).toMatchObject({ status: 200, text: '{}' });
    const answer = await request(address, first.method, first.path, first.body, first.contentType);
    expect(answer).toMatchObject({ status: 201, text: '{"message": "Received transaction"}' });
    const pool = await request(address, 'GET', '/transactionPool');
    expect(pool.status).toBe(200);
    const { 'py/object': tag, ...tx } = pickleOf(first.body);
    expect(tag).toBe(REFERENCE_TRANSACTION_TAG);
    // The reference's `transaction.toJson()`: the fields in its order, under "0".
    expect(pool.text).toBe(canonicalJson({ 0: tx }));
    expect(Object.keys(tx)).toEqual([
      'senderPublicKey',
      'receiverPublicKey',
      'amount',
      'type',
      'id',
      'timestamp',
      'signature',
    ]);
  });

  it('keeps a whole-number float timestamp: a reference transaction stamped 1795670517.0 verifies', async () => {
    const vector = readVector<{ valid: { chainText: string } }>('chain-whole-floats.json');
    const chain = parseJson(vector.valid.chainText);
    if (!chain.ok) throw new Error('bad vector');
    const tx = (chain.value as { blocks: { transactions: Record<string, unknown>[] }[] }).blocks[1]
      ?.transactions[0] as Record<string, unknown>;
    expect(tx.timestamp).toEqual({ wholeFloat: 1795670517 });
    const body = bodyOf({ 'py/object': REFERENCE_TRANSACTION_TAG, ...tx });
    expect(body).toContain('\\"timestamp\\": 1795670517.0,');
    // The same transaction with the float written as an integer no longer matches its signature.
    const asInteger = body.replace('1795670517.0', '1795670517');
    const refused = await request(address, 'POST', '/transaction', asInteger);
    expect(refused.status).toBe(400);
    expect(json(refused)).toMatchObject({ error: 'BAD_TX_SIGNATURE' });
    expect(await request(address, 'POST', '/transaction', body)).toMatchObject({ status: 201 });
    const pool = await request(address, 'GET', '/transactionPool');
    expect(pool.text).toContain(`"id": "${tx.id}", "timestamp": 1795670517.0,`);
  });

  it('GET /api/status, /api/peers, /api/accounts, /api/blocks/:height, /api/transactions/:id', async () => {
    const status = json(await request(address, 'GET', '/api/status'));
    expect(status).toEqual({
      nodeId: 'lone',
      phase: 'connected',
      profile: 'reference',
      height: 0,
      headHash: node.getSnapshot().headHash,
      nextForger: genesis.genesisPublicKey,
      peers: 0,
      pool: 2,
      forgingKey: null,
      forging: false,
      forgingTakenOverBy: null,
      sync: null,
    });
    expect(json(await request(address, 'GET', '/api/peers'))).toEqual({ peers: [] });

    const first = pickleOf((recorded[0] as RecordedRequest).body);
    const staker = readVectorKey('stakerPublicKey.pem');
    const exchange = first.senderPublicKey as string;
    // The key is URL-encoded; a CRLF copy with a trailing newline names the same account.
    const account = async (key: string) =>
      request(address, 'GET', `/api/accounts?key=${encodeURIComponent(key)}`);
    const exchangeAccount = json(await account(`${exchange.replaceAll('\n', '\r\n')}\r\n`));
    // It sent one pooled transaction (the whole-float one came from another run's exchange).
    expect(exchangeAccount).toEqual({ publicKey: exchange, height: 0, balance: 0, stake: 0, pooled: 1 });
    expect(json(await account(genesis.genesisPublicKey))).toMatchObject({ balance: 0, stake: 1, pooled: 0 });
    expect(json(await account(staker))).toMatchObject({ publicKey: staker, balance: 0, stake: 0 });
    const badKey = await account('not a key');
    expect(badKey.status).toBe(400);
    expect(json(badKey)).toMatchObject({ error: 'BAD_KEY' });
    expect((await request(address, 'GET', '/api/accounts')).status).toBe(400);

    const block = json(await request(address, 'GET', '/api/blocks/0'));
    expect(block).toEqual({
      height: 0,
      hash: node.getSnapshot().headHash,
      block: {
        blockCount: 0,
        lastHash: 'genesisHash',
        signature: '',
        forger: 'genesis',
        timestamp: 0,
        transactions: [],
      },
    });
    const missing = await request(address, 'GET', '/api/blocks/5');
    expect(missing.status).toBe(404);
    expect(json(missing)).toMatchObject({ error: 'NO_SUCH_BLOCK' });
    for (const bad of ['/api/blocks/-1', '/api/blocks/abc', '/api/blocks/01', '/api/blocks/1e3']) {
      expect((await request(address, 'GET', bad)).status, bad).toBe(400);
    }

    const pooled = json(await request(address, 'GET', `/api/transactions/${first.id}`));
    const { 'py/object': _tag, ...firstTx } = first;
    expect(pooled).toEqual({ status: 'pending', height: null, transaction: firstTx });
    const unknown = await request(address, 'GET', `/api/transactions/${'0'.repeat(32)}`);
    expect(unknown.status).toBe(404);
    expect((await request(address, 'GET', '/api/transactions/XYZ')).status).toBe(400);
  });
});

describe('hostile requests get a 400 (413 for size) with a clear message and change nothing', () => {
  let node: TabchainNode;
  let server: ApiServer;
  let address: ApiAddress;
  const valid = recorded[1] as RecordedRequest;
  const pickle = pickleOf(valid.body);

  beforeAll(async () => {
    node = await loneNode();
    server = createApiServer({ node, port: 0 });
    address = await server.start();
    // One pooled transaction, so that "unchanged" is checked on a pool that holds something.
    expect(
      (await request(address, 'POST', '/transaction', (recorded[0] as RecordedRequest).body)).status,
    ).toBe(201);
  });
  afterAll(async () => {
    await server.stop();
    await node.stop();
  });

  const replace = (from: string, to: string): string => {
    expect(valid.body).toContain(from);
    return valid.body.replace(from, to);
  };

  const cases: [
    what: string,
    send: () => [body: string | undefined, type?: string],
    status: number,
    code: string,
    says: RegExp,
  ][] = [
    ['not JSON', () => ['{"transaction": '], 400, 'NOT_JSON', /not JSON/],
    ['not JSON, as text/plain', () => [valid.body, 'text/plain'], 400, 'NOT_JSON', /application\/json/],
    ['no body', () => [undefined], 400, 'BAD_BODY', /application\/json/],
    ['an empty body', () => [''], 400, 'NOT_JSON', /not JSON/],
    ['a JSON array', () => ['[1, 2]'], 400, 'BAD_BODY', /JSON object/],
    [
      'no transaction (as the reference)',
      () => ['{}'],
      400,
      'MISSING_TRANSACTION',
      /^Missing transaction value$/,
    ],
    ['another key', () => ['{"tx": "x"}'], 400, 'MISSING_TRANSACTION', /Missing transaction value/],
    [
      'a key beside the transaction',
      () => [canonicalJson({ transaction: canonicalJson(pickle), more: 1 })],
      400,
      'BAD_BODY',
      /"more"/,
    ],
    [
      'a transaction that is not text',
      () => [canonicalJson({ transaction: pickle })],
      400,
      'BAD_BODY',
      /must be a string/,
    ],
    [
      'jsonpickle text that is not JSON',
      () => ['{"transaction": "{\\"py/object\\""}'],
      400,
      'NOT_JSONPICKLE',
      /not JSON/,
    ],
    [
      'the wrong py/object',
      () => [replace('Transaction.Transaction', 'subprocess.Popen')],
      400,
      'WRONG_PY_OBJECT',
      /must be "Transaction\.Transaction".*not "subprocess\.Popen"/,
    ],
    [
      'no py/object',
      () => [bodyOf(Object.fromEntries(Object.entries(pickle).filter(([key]) => key !== 'py/object')))],
      400,
      'WRONG_PY_OBJECT',
      /must carry "py\/object"/,
    ],
    ['an extra field', () => [bodyOf({ ...pickle, nonce: 1 })], 400, 'BAD_FIELDS', /does not: "nonce"/],
    [
      'a __proto__ field',
      () => [replace('\\"amount\\"', '\\"__proto__\\": {\\"amount\\": 1}, \\"amount\\"')],
      400,
      'BAD_FIELDS',
      /"__proto__"/,
    ],
    [
      'a jsonpickle reduce',
      () => [bodyOf({ ...pickle, 'py/reduce': [{ 'py/function': 'os.system' }] })],
      400,
      'BAD_FIELDS',
      /"py\/reduce"/,
    ],
    [
      'a missing field',
      () => [bodyOf(Object.fromEntries(Object.entries(pickle).filter(([key]) => key !== 'signature')))],
      400,
      'BAD_FIELDS',
      /lacks "signature"/,
    ],
    [
      'an object built from a tag in a field',
      () => [bodyOf({ ...pickle, amount: { 'py/object': 'builtins.int', value: 100 } })],
      400,
      'MALFORMED',
      /amount/,
    ],
    [
      'a bad signature (amount changed after signing)',
      () => [replace('\\"amount\\": 100,', '\\"amount\\": 1000,')],
      400,
      'BAD_TX_SIGNATURE',
      /signature does not verify/,
    ],
    [
      'an unknown type, signed or not',
      () => [replace('\\"type\\": \\"EXCHANGE\\"', '\\"type\\": \\"MINT\\"')],
      400,
      'UNKNOWN_TX_TYPE',
      /MINT/,
    ],
    [
      'a huge body',
      () => [`{"transaction": "${'x'.repeat(1_000_000)}"}`],
      413,
      'BODY_TOO_LARGE',
      /exceeds \d+ bytes/,
    ],
    [
      'a body just over the cap',
      () => [`{"transaction": "${'x'.repeat(MAX_TRANSACTION_BODY_BYTES)}"}`],
      413,
      'BODY_TOO_LARGE',
      /exceeds/,
    ],
  ];

  for (const [what, send, status, code, says] of cases) {
    it(what, async () => {
      const chainBefore = await request(address, 'GET', '/blockchain');
      const poolBefore = await request(address, 'GET', '/transactionPool');
      const [body, type] = send();
      const answer = await request(address, 'POST', '/transaction', body, type);
      expect(answer.status).toBe(status);
      expect(answer.type).toMatch(/^application\/json/);
      const error = json(answer) as { error: string; message: string };
      expect(error.error).toBe(code);
      expect(error.message).toMatch(says);
      expect(await request(address, 'GET', '/blockchain')).toEqual(chainBefore);
      expect(await request(address, 'GET', '/transactionPool')).toEqual(poolBefore);
      expect(node.getSnapshot().pool).toHaveLength(1);
    });
  }

  it('a huge body sent in chunks, without a length, is cut off at the cap', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent += chunk.length;
        if (sent > 16 * 1024 * 1024) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const response = await fetch(new URL('/transaction', address.url), {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: 'BODY_TOO_LARGE' });
    // The server stopped reading long before the client's 16 MB were sent.
    expect(sent).toBeLessThan(16 * 1024 * 1024);
    expect(node.getSnapshot().pool).toHaveLength(1);
  });

  it('a transaction already pooled is refused as a duplicate', async () => {
    const answer = await request(address, 'POST', '/transaction', (recorded[0] as RecordedRequest).body);
    expect(answer.status).toBe(400);
    expect(json(answer)).toMatchObject({ error: 'DUPLICATE_TX' });
    expect(node.getSnapshot().pool).toHaveLength(1);
  });

  it('any other route or method gets a 400 naming the routes', async () => {
    for (const [method, path] of [
      ['GET', '/nope'],
      ['GET', '/transaction'],
      ['DELETE', '/blockchain'],
      ['PUT', '/transaction'],
      ['POST', '/blockchain'],
    ] as const) {
      const answer = await request(
        address,
        method,
        path,
        method === 'GET' || method === 'DELETE' ? undefined : valid.body,
      );
      expect(answer.status, `${method} ${path}`).toBe(400);
      expect(json(answer)).toMatchObject({ error: 'NO_SUCH_ROUTE' });
      expect((json(answer) as { message: string }).message).toContain('POST /transaction');
    }
    expect(node.getSnapshot().pool).toHaveLength(1);
  });

  it('a stopped node answers 503; an aborted signal stops the server', async () => {
    const other = await loneNode();
    const otherServer = createApiServer({ node: other, port: 0 });
    const controller = new AbortController();
    const otherAddress = await otherServer.start(controller.signal);
    await other.stop();
    const answer = await request(otherAddress, 'POST', '/transaction', valid.body);
    expect(answer.status).toBe(503);
    expect(json(answer)).toMatchObject({ error: 'NOT_RUNNING' });
    // The signal alone stops the server.
    controller.abort();
    await vi.waitFor(() => expect(request(otherAddress, 'GET', '/info')).rejects.toThrow());
    await otherServer.stop();
    // A signal aborted before start: the server never listens.
    const aborted = createApiServer({ node: other, port: 0 });
    await expect(aborted.start(AbortSignal.abort())).rejects.toThrow();
  });
});

describe("the reference's Interaction.py requests, replayed byte for byte", () => {
  let sim: Simulation;
  const servers: ApiServer[] = [];
  let genesisApi: ApiAddress;
  let stakerApi: ApiAddress;

  beforeAll(async () => {
    sim = new Simulation({ seed: 13, nodeIds: [] });
    // As `Main.py … keys/genesisPrivateKey.pem` (API 5000) and `… keys/stakerPrivateKey.pem` (API 5001).
    for (const [id, key] of [
      ['genesis', 'genesisPrivateKey.pem'],
      ['staker', 'stakerPrivateKey.pem'],
    ] as const) {
      const stream = sim.random.fork();
      sim.nodes.set(
        id,
        new TabchainNode({
          genesis,
          transport: sim.network.createTransport(id),
          crypto,
          clock: sim.clock,
          random: () => stream.next(),
          wallet: await crypto.importPrivateKeyPem(readVectorKey(key)),
        }),
      );
    }
    await sim.start();
    expect(await sim.runUntil(() => sim.node('genesis').getSnapshot().peers.length === 1, 30_000)).toBe(true);
    for (const id of ['genesis', 'staker']) {
      const server = createApiServer({ node: sim.node(id), port: 0 });
      servers.push(server);
    }
    genesisApi = await (servers[0] as ApiServer).start();
    stakerApi = await (servers[1] as ApiServer).start();
  });
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop()));
    await sim.stop();
  });

  it('answers each 201 and ends with the staker at 73 coins and 25 staked', async () => {
    expect(recorded).toHaveLength(6);
    for (const [index, sent] of recorded.entries()) {
      const answer = await request(genesisApi, sent.method, sent.path, sent.body, sent.contentType);
      expect(answer, sent.what).toMatchObject({ status: 201, text: '{"message": "Received transaction"}' });
      const height = index + 1;
      const reached = await sim.runUntil(
        () => sim.converged() && sim.node('genesis').getSnapshot().height === height,
        60_000,
      );
      expect(reached, `block ${height} (${sent.what}) reached both nodes`).toBe(true);
    }
    const staker = readVectorKey('stakerPublicKey.pem');
    const exchange = pickleOf((recorded[0] as RecordedRequest).body).senderPublicKey as string;
    const bob = pickleOf((recorded[1] as RecordedRequest).body).receiverPublicKey as string;
    const { balances, stakes } = stateToJSON(sim.node('staker').getSnapshot().state);
    expect(balances).toEqual({ [staker]: 73, [exchange]: -210, [bob]: 112 });
    expect(stakes).toEqual({ [genesis.genesisPublicKey]: 1, [staker]: 25 });
    // The staker's key forged after it staked: both keys forged.
    const forgers = new Set(
      (await sim.node('genesis').exportChain()).blocks.slice(1).map((block) => block.forger),
    );
    expect(forgers).toEqual(new Set([genesis.genesisPublicKey, staker]));

    // Both APIs serve the same chain, and it validates from the genesis block as served.
    const served = await request(genesisApi, 'GET', '/blockchain');
    expect((await request(stakerApi, 'GET', '/blockchain')).text).toBe(served.text);
    const envelope = decodeChainEnvelope(json(served));
    if (!envelope.ok) throw new Error(envelope.error);
    const validation = await validateChain(envelope.value, genesis, crypto);
    expect(validation).toMatchObject({ valid: true, height: 7, firstInvalid: null });
    expect(validation.state.headHash).toBe(sim.node('staker').getSnapshot().headHash);

    expect(await request(genesisApi, 'GET', '/transactionPool')).toMatchObject({ status: 200, text: '{}' });
    const status = json(await request(stakerApi, 'GET', '/api/status'));
    expect(status).toMatchObject({ height: 6, peers: 1, forgingKey: staker, forging: true, pool: 0 });
    const account = json(await request(genesisApi, 'GET', `/api/accounts?key=${encodeURIComponent(staker)}`));
    expect(account).toMatchObject({ balance: 73, stake: 25, height: 6 });
    const lastId = pickleOf((recorded[5] as RecordedRequest).body).id as string;
    expect(json(await request(stakerApi, 'GET', `/api/transactions/${lastId}`))).toMatchObject({
      status: 'on-chain',
      height: 6,
    });
    const peers = json(await request(genesisApi, 'GET', '/api/peers')) as {
      peers: { id: string; forgerKey: string }[];
    };
    expect(peers.peers).toMatchObject([{ id: 'staker', forgerKey: staker }]);
  });
});
