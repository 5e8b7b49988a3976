import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyError, type FastifyReply } from 'fastify';
import { canonicalJson } from '../src/core/canonical-json';
import { MAX_PUBLIC_KEY_CHARS } from '../src/core/limits';
import type { Block, ChainJSON, Transaction } from '../src/core/types';
import { canonicalPublicKeyPem } from '../src/crypto/pem';
import type { NodeSnapshot, SubmitError, SubmitResult } from '../src/node/node';
import { decodeTransactionBody, MAX_TRANSACTION_BODY_BYTES, type TransactionBodyError } from './jsonpickle';

/*
 * The reference's HTTP API (`NodeAPI`: GET /info, GET /blockchain, GET /transactionPool,
 * POST /transaction) in its own shapes, so its `Interaction.py` drives a tabchain node as it
 * drives a reference node; beside it, JSON reads under /api/ for what the UI shows.
 *
 * Where this departs from the reference, on purpose:
 * - The reference pools whatever it is posted; here the node checks a transaction as one from a
 *   peer, and one it refuses (bad signature, unknown type, replay, …) gets a 400 with the
 *   node's error code and message instead of a 201.
 * - Anything that is not one of the routes (another path or method, a body that is not the
 *   reference's, a wrong content type) gets a 400 with a JSON message `{"error", "message"}`
 *   and changes nothing; a body over the cap gets a 413 before it is read whole.
 * - JSON is written as Python's `json.dumps` writes it (canonical JSON): a whole-number float
 *   timestamp stays `1795670516.0`, so the chain served verifies as the reference's does.
 */

/** The reference's `GET /info` text, word for word. */
export const INFO_TEXT = 'This is a communication interface to a nodes blockchain';

/** The reference's answer to an accepted `POST /transaction`. */
export const RECEIVED_MESSAGE = 'Received transaction';

/** What the API reads from and sends to a node: `TabchainNode` has all of it. */
export interface NodeApiPort {
  /** The chain in the reference's `GET /blockchain` shape. */
  exportChain(): Promise<ChainJSON>;
  /** Decodes, checks and pools a transaction as one from this node's user. */
  submitTransaction(input: unknown): Promise<SubmitResult>;
  /** The node's state now: head, pool, peers, wallet. */
  getSnapshot(): Pick<
    NodeSnapshot,
    | 'nodeId'
    | 'phase'
    | 'height'
    | 'headHash'
    | 'nextForger'
    | 'state'
    | 'pool'
    | 'peers'
    | 'sync'
    | 'wallet'
    | 'forging'
    | 'forgingTakenOverBy'
  >;
  /** The block at `height` with its hash, if on the chain. */
  readBlock(height: number): Promise<{ readonly block: Block; readonly hash: string } | undefined>;
  /** A transaction on the chain with its block height, if any. */
  readTransaction(id: string): Promise<{ transaction: Transaction; height: number } | undefined>;
}

/** What an API server is built from. */
export interface ApiServerOptions {
  readonly node: NodeApiPort;
  /** The address to listen on; default 127.0.0.1 (this machine only). */
  readonly host?: string;
  /** The port; 0 picks a free one (see `start`'s answer). */
  readonly port: number;
  /** The node's consensus profile, shown in `/api/status`; default `reference`. */
  readonly profile?: string;
  /** The largest request body taken, in bytes; default `MAX_TRANSACTION_BODY_BYTES`. */
  readonly bodyLimit?: number;
}

/** Where a started server listens. */
export interface ApiAddress {
  readonly host: string;
  readonly port: number;
  /** `http://host:port/`, ready to print. */
  readonly url: string;
}

/** The node's HTTP API: a service with start and stop. */
export interface ApiServer {
  /** Listens; resolves once it does. `signal` stops the server. */
  start(signal?: AbortSignal): Promise<ApiAddress>;
  /** Stops listening and closes open connections once their requests are answered. */
  stop(): Promise<void>;
}

/** An error answer: a stable code and a sentence. */
interface ApiError {
  readonly error: string;
  readonly message: string;
}

/** The routes, for the message an unknown one gets. */
const ROUTES = [
  'GET /info',
  'GET /blockchain',
  'GET /transactionPool',
  'POST /transaction',
  'GET /api/status',
  'GET /api/peers',
  'GET /api/accounts?key=<PEM public key>',
  'GET /api/blocks/<height>',
  'GET /api/transactions/<id>',
];

/** Node errors that are not the client's fault: try again later. */
const UNAVAILABLE: ReadonlySet<SubmitError['code']> = new Set(['NOT_RUNNING', 'POOL_FULL']);

/** Writes `value` as Python's `json.dumps` would, with `status`. */
function sendJson(reply: FastifyReply, status: number, value: unknown): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send(canonicalJson(value));
}

function sendError(reply: FastifyReply, status: number, error: ApiError): FastifyReply {
  return sendJson(reply, status, { error: error.error, message: error.message });
}

const bodyError = (error: TransactionBodyError): ApiError => ({ error: error.code, message: error.message });

/** `[host]` for an IPv6 address in a URL. */
const urlHost = (host: string): string => (host.includes(':') ? `[${host}]` : host);

/** Builds the API server over `options.node`. It prints nothing; the caller reports `start`'s address. */
export function createApiServer(options: ApiServerOptions): ApiServer {
  const { node } = options;
  const host = options.host ?? '127.0.0.1';
  const profile = options.profile ?? 'reference';
  const bodyLimit = options.bodyLimit ?? MAX_TRANSACTION_BODY_BYTES;

  const app = Fastify({ logger: false, bodyLimit, forceCloseConnections: 'idle' });

  // Bodies are kept as text: the lossless JSON parser reads them (a whole-number float must keep
  // its `.0` for its signature to verify), not Fastify's `JSON.parse`. Only JSON is taken.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    done(null, body);
  });

  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 400, {
      error: 'NO_SUCH_ROUTE',
      message: `no route ${request.method} ${request.url.split('?')[0]?.slice(0, 100)}; this node answers ${ROUTES.join(', ')}`,
    }),
  );

  app.setErrorHandler((error: FastifyError, _request, reply) => {
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return sendError(reply, 413, {
        error: 'BODY_TOO_LARGE',
        message: `the body exceeds ${bodyLimit} bytes`,
      });
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
      return sendError(reply, 400, {
        error: 'NOT_JSON',
        message: 'send the body as JSON, with Content-Type: application/json',
      });
    if (error.validation)
      return sendError(reply, 400, { error: 'BAD_REQUEST', message: `the request's ${error.message}` });
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500)
      return sendError(reply, 400, { error: 'BAD_REQUEST', message: error.message });
    return sendError(reply, 500, { error: 'INTERNAL', message: 'the node failed to answer this request' });
  });

  // ------------------------------------------------------------- the reference's routes

  app.get('/info', (_request, reply) => reply.code(200).type('text/plain; charset=utf-8').send(INFO_TEXT));

  app.get('/blockchain', async (_request, reply) => sendJson(reply, 200, await node.exportChain()));

  // The reference: `{ctr: transaction.toJson() for ctr, transaction in enumerate(pool)}`.
  app.get('/transactionPool', (_request, reply) => {
    const pool: Record<string, Transaction> = {};
    for (const [index, entry] of node.getSnapshot().pool.entries()) pool[String(index)] = entry.transaction;
    return sendJson(reply, 200, pool);
  });

  app.post('/transaction', async (request, reply) => {
    if (typeof request.body !== 'string')
      return sendError(reply, 400, {
        error: 'BAD_BODY',
        message: 'send {"transaction": "<jsonpickle text>"} as JSON, with Content-Type: application/json',
      });
    const decoded = decodeTransactionBody(request.body);
    if (!decoded.ok)
      return sendError(reply, decoded.error.code === 'BODY_TOO_LARGE' ? 413 : 400, bodyError(decoded.error));
    const submitted = await node.submitTransaction(decoded.value);
    if (!submitted.ok) {
      const { code, message } = submitted.error;
      return sendError(reply, UNAVAILABLE.has(code) ? 503 : 400, { error: code, message });
    }
    return sendJson(reply, 201, { message: RECEIVED_MESSAGE });
  });

  // ------------------------------------------------------------- reads for the UI

  app.get('/api/status', (_request, reply) => {
    const snapshot = node.getSnapshot();
    return sendJson(reply, 200, {
      nodeId: snapshot.nodeId,
      phase: snapshot.phase,
      profile,
      height: snapshot.height,
      headHash: snapshot.headHash,
      nextForger: snapshot.nextForger,
      peers: snapshot.peers.length,
      pool: snapshot.pool.length,
      forgingKey: snapshot.wallet?.publicKeyPem ?? null,
      // False while a tab that took forging over with this key holds it (see `forgingNow`).
      forging: snapshot.forging,
      forgingTakenOverBy: snapshot.forgingTakenOverBy,
      sync: snapshot.sync,
    });
  });

  app.get('/api/peers', (_request, reply) => sendJson(reply, 200, { peers: node.getSnapshot().peers }));

  // A PEM holds `/`, `+` and newlines, so the key is a query parameter (URL-encoded), not a path.
  app.get<{ Querystring: { key: string } }>(
    '/api/accounts',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: { key: { type: 'string', minLength: 1, maxLength: 2 * MAX_PUBLIC_KEY_CHARS } },
          required: ['key'],
        },
      },
    },
    (request, reply) => {
      let publicKey: string;
      try {
        // Any layout of the key (CRLF, a trailing newline, other line lengths) names one account.
        publicKey = canonicalPublicKeyPem(request.query.key);
      } catch (error) {
        return sendError(reply, 400, {
          error: 'BAD_KEY',
          message: `key is not an RSA public key in PEM: ${error instanceof Error ? error.message : String(error)}`,
        });
      }
      const snapshot = node.getSnapshot();
      return sendJson(reply, 200, {
        publicKey,
        height: snapshot.height,
        balance: snapshot.state.balances.get(publicKey, 0),
        stake: snapshot.state.stakes.get(publicKey, 0),
        pooled: snapshot.pool.filter((entry) => entry.transaction.senderPublicKey === publicKey).length,
      });
    },
  );

  app.get<{ Params: { height: string } }>(
    '/api/blocks/:height',
    {
      schema: {
        params: {
          type: 'object',
          properties: { height: { type: 'string', pattern: '^(0|[1-9][0-9]{0,14})$' } },
          required: ['height'],
        },
      },
    },
    async (request, reply) => {
      const height = Number(request.params.height);
      const found = await node.readBlock(height);
      if (!found)
        return sendError(reply, 404, {
          error: 'NO_SUCH_BLOCK',
          message: `no block at height ${height}: the chain is ${node.getSnapshot().height} blocks high`,
        });
      return sendJson(reply, 200, { height, hash: found.hash, block: found.block });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/transactions/:id',
    {
      schema: {
        params: {
          type: 'object',
          properties: { id: { type: 'string', pattern: '^[0-9a-f]{32}$' } },
          required: ['id'],
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const onChain = await node.readTransaction(id);
      if (onChain)
        return sendJson(reply, 200, {
          status: 'on-chain',
          height: onChain.height,
          transaction: onChain.transaction,
        });
      const pooled = node.getSnapshot().pool.find((entry) => entry.transaction.id === id);
      if (pooled)
        return sendJson(reply, 200, { status: 'pending', height: null, transaction: pooled.transaction });
      return sendError(reply, 404, {
        error: 'NO_SUCH_TRANSACTION',
        message: `no transaction ${id} on the chain or in the pool`,
      });
    },
  );

  // ------------------------------------------------------------- lifecycle

  let started: Promise<ApiAddress> | null = null;
  let stopped: Promise<void> | null = null;

  const stop = (): Promise<void> => {
    stopped ??= app.close();
    return stopped;
  };

  return {
    start(signal) {
      started ??= (async () => {
        signal?.throwIfAborted();
        await app.listen({ host, port: options.port });
        if (signal?.aborted) {
          // Aborted while it was starting: an abort event that has fired does not fire again.
          await stop();
          signal.throwIfAborted();
        }
        signal?.addEventListener('abort', () => void stop(), { once: true });
        const address = app.server.address() as AddressInfo;
        return { host, port: address.port, url: `http://${urlHost(host)}:${address.port}/` };
      })();
      return started;
    },
    stop,
  };
}
