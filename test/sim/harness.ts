import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GenesisConfig, Transaction, TransactionDraft } from '../../src/core';
import { type CryptoProvider, createWebCryptoProvider, type KeyPair } from '../../src/crypto';
import { MemoryNetwork, type NetworkEvent, SeededRandom, VirtualClock } from '../../src/net/memory';
import { type NodeLimits, type NodeLogEvent, TabchainNode } from '../../src/node/node';
import { decodeMessage, encodeMessage, type WireMessage } from '../../src/node/protocol';
import { signTransaction } from '../../src/node/wallet';
import type { Store } from '../../src/ports/store';
import type { PeerId, Transport } from '../../src/ports/transport';

/**
 * The seeded multi-node simulator (after yjs's tests/testHelper.js): nodes over one in-memory
 * network, one virtual clock, one seeded random stream. Every delivered event is followed by
 * waiting until every node has finished its async work, so a seed replays the same run.
 */

/** The shared crypto provider: one key cache for every simulated node. */
export const crypto: CryptoProvider = createWebCryptoProvider();

const KEYS = join(import.meta.dirname, '..', '..', 'public', 'keys');

/** Imports one of the devnet's key pairs (public test keys). */
export function devnetKey(name: 'genesis' | 'staker' | 'exchange'): Promise<KeyPair> {
  return crypto.importPrivateKeyPem(readFileSync(join(KEYS, `${name}PrivateKey.pem`), 'utf8'));
}

/** The devnet genesis configuration. */
export function devnetGenesis(): { genesisPublicKey: string } {
  return { genesisPublicKey: readFileSync(join(KEYS, 'genesisPublicKey.pem'), 'utf8') };
}

/** The devnet genesis on the `resilient` profile. */
export function resilientGenesis(): GenesisConfig {
  return { profile: 'resilient', ...devnetGenesis() };
}

/** A message as `encodeMessage` takes it (without the protocol version). */
export type OutgoingMessage = Parameters<typeof encodeMessage>[0];

/**
 * A peer on the simulated network that is no node: it speaks the protocol by hand, as a hostile
 * peer would. It records what it receives and may answer through `respond`.
 */
export interface RawPeer {
  readonly id: PeerId;
  readonly transport: Transport;
  /** Every decoded message received, with its sender, oldest first. */
  readonly received: { readonly from: PeerId; readonly message: WireMessage }[];
  send(to: PeerId, message: OutgoingMessage): void;
  stop(): Promise<void>;
}

/** What to simulate. */
export interface SimulationOptions {
  readonly seed: number;
  readonly nodeIds: readonly string[];
  /** The network's genesis config (profile included); the devnet's reference one by default. */
  readonly genesis?: GenesisConfig;
  /** Wallets by node id. */
  readonly wallets?: Readonly<Record<string, KeyPair>>;
  /** Nodes that run as always-on nodes (`npm run node`), not tabs. */
  readonly alwaysOn?: readonly string[];
  /** Stores by node id (a node without one keeps its chain in memory only). */
  readonly stores?: Readonly<Record<string, Store>>;
  readonly latency?: { min: number; max: number };
  readonly dropRate?: number;
  readonly reorder?: boolean;
  readonly limits?: Partial<NodeLimits>;
  /** How many peers a node dials (its `maxPeers`); it accepts up to twice as many. */
  readonly maxPeersPerNode?: number;
  /** Collects every node's diagnostics. */
  readonly log?: (node: string, event: NodeLogEvent) => void;
  /** Sees every network event (deliveries included), for counting messages. */
  readonly trace?: (event: NetworkEvent) => void;
  /**
   * Which pairs of nodes may open a channel (a node dials no other); any pair by default. With
   * `connect`, this lays out a fixed topology (a line, a star).
   */
  readonly links?: (a: PeerId, b: PeerId) => boolean;
}

/** A bare transport in the simulation (a scripted or hostile peer), with what it received. */
export interface Outsider {
  readonly id: PeerId;
  readonly transport: Transport;
  readonly inbox: { readonly from: PeerId; readonly data: string }[];
  send(to: PeerId, data: string): void;
}

/** A running simulation. */
export class Simulation {
  readonly random: SeededRandom;
  readonly clock = new VirtualClock();
  readonly network: MemoryNetwork;
  readonly nodes = new Map<string, TabchainNode>();
  private readonly transports = new Map<string, Transport>();
  private idCounter = 0;

  constructor(private readonly options: SimulationOptions) {
    this.random = new SeededRandom(options.seed);
    this.network = new MemoryNetwork({
      random: this.random.fork(),
      clock: this.clock,
      latency: options.latency ?? { min: 5, max: 50 },
      dropRate: options.dropRate ?? 0,
      reorder: options.reorder ?? false,
      // Inbound room beyond what each node dials, so a late node always finds a peer to accept it.
      maxPeersPerNode: 2 * (options.maxPeersPerNode ?? 8),
      ...(options.trace ? { trace: options.trace } : {}),
    });
    for (const id of options.nodeIds) this.addNode(id);
  }

  /** Creates (but does not start) a node on the network. */
  addNode(
    id: string,
    wallet?: KeyPair,
    overrides: { crypto?: CryptoProvider; store?: Store; genesis?: GenesisConfig; alwaysOn?: boolean } = {},
  ): TabchainNode {
    const stream = this.random.fork();
    const links = this.options.links;
    const bare = this.network.createTransport(id);
    const transport: Transport = links
      ? { ...bare, connect: (peer) => (links(id, peer) ? bare.connect(peer) : undefined) }
      : bare;
    this.transports.set(id, transport);
    const node = new TabchainNode({
      genesis: overrides.genesis ?? this.options.genesis ?? devnetGenesis(),
      transport,
      crypto: overrides.crypto ?? crypto,
      ...((overrides.store ?? this.options.stores?.[id])
        ? { store: overrides.store ?? this.options.stores?.[id] }
        : {}),
      clock: this.clock,
      random: () => stream.next(),
      wallet: wallet ?? this.options.wallets?.[id] ?? null,
      limits: { maxPeers: this.options.maxPeersPerNode ?? 8, ...this.options.limits },
      log: (event) => this.options.log?.(id, event),
      alwaysOn: overrides.alwaysOn ?? this.options.alwaysOn?.includes(id) ?? false,
    });
    this.nodes.set(id, node);
    return node;
  }

  /** The node with this id. */
  node(id: string): TabchainNode {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  }

  /** Has node `a` dial node `b` (as peer exchange would). */
  connect(a: string, b: string): void {
    this.transports.get(a)?.connect(b);
  }

  /** Starts every node not yet started. */
  async start(ids: readonly string[] = [...this.nodes.keys()]): Promise<void> {
    for (const id of ids) await this.node(id).start();
  }

  /** Waits until no node has queued work (twice in a row, since work begets work). */
  readonly settle = async (): Promise<void> => {
    for (let quiet = 0; quiet < 2; ) {
      const busy = [...this.nodes.values()].some((node) => node.isBusy());
      await Promise.all([...this.nodes.values()].map((node) => node.whenIdle()));
      quiet = busy ? 0 : quiet + 1;
    }
  };

  /** Runs the network until `until` holds or `maxMs` of virtual time pass. Returns whether `until` held. */
  async runUntil(until: () => boolean, maxMs = 120_000): Promise<boolean> {
    const deadline = this.clock.now() + maxMs;
    const result = await this.network.run({
      until: () => until() || this.clock.now() >= deadline,
      settle: this.settle,
      maxSteps: 5_000_000,
    });
    return result.stopped === 'until' && until();
  }

  /** Runs `ms` of virtual time. */
  async runFor(ms: number): Promise<void> {
    await this.network.run({ duration: ms, settle: this.settle });
  }

  /**
   * Starts a raw peer `id`, connects it to `peers` and waits until those channels are open.
   * `respond` hears every message it receives and may answer through `send`.
   */
  async rawPeer(
    id: PeerId,
    peers: readonly PeerId[],
    respond: (
      from: PeerId,
      message: WireMessage,
      send: (message: OutgoingMessage) => void,
    ) => void = () => {},
  ): Promise<RawPeer> {
    const transport = this.network.createTransport(id);
    const received: { from: PeerId; message: WireMessage }[] = [];
    const send = (to: PeerId, message: OutgoingMessage) => transport.send(to, encodeMessage(message));
    await transport.start({
      onPeerConnected: () => {},
      onPeerDisconnected: () => {},
      onMessage: (from, data) => {
        const decoded = decodeMessage(data);
        if (!decoded.ok) return;
        received.push({ from, message: decoded.value });
        // Alive, as any peer that wants to stay connected is (nodes drop silent peers).
        if (decoded.value.type === 'PING') send(from, { type: 'PONG', nonce: decoded.value.nonce });
        respond(from, decoded.value, (message) => send(from, message));
      },
    });
    for (const peer of peers) transport.connect(peer);
    await this.runUntil(() => peers.every((peer) => transport.connectedPeers().includes(peer)), 10_000);
    return { id, transport, received, send, stop: () => transport.stop() };
  }

  /** Signs a transaction with the simulation's deterministic ids and clock. */
  async sign(keyPair: KeyPair, draft: Omit<TransactionDraft, 'senderPublicKey'>): Promise<Transaction> {
    const counter = this.idCounter++;
    return signTransaction(crypto, keyPair, draft, this.clock.now(), (length) => {
      const bytes = new Uint8Array(length);
      for (let i = 0; i < length; i++) bytes[i] = Math.floor(this.random.next() * 256);
      bytes[0] = counter & 0xff; // distinct even if the stream repeats
      return bytes;
    });
  }

  /** Starts a bare transport `id` and connects it to `targets`; resolves once every channel is open. */
  async outsider(id: PeerId, targets: readonly PeerId[]): Promise<Outsider> {
    const transport = this.network.createTransport(id);
    const inbox: { from: PeerId; data: string }[] = [];
    await transport.start({
      onPeerConnected: () => {},
      onPeerDisconnected: () => {},
      onMessage: (from, data) => inbox.push({ from, data }),
    });
    for (const target of targets) transport.connect(target);
    await this.runUntil(() => targets.every((target) => transport.connectedPeers().includes(target)), 10_000);
    return { id, transport, inbox, send: (to, data) => transport.send(to, data) };
  }

  /** Every node's head hash, by id. */
  heads(): Record<string, string> {
    return Object.fromEntries([...this.nodes].map(([id, node]) => [id, node.getSnapshot().headHash]));
  }

  /** True when every running node has the same head and an empty pool. */
  converged(ids: readonly string[] = [...this.nodes.keys()]): boolean {
    const snapshots = ids.map((id) => this.node(id).getSnapshot());
    const first = snapshots[0];
    return !!first && snapshots.every((s) => s.headHash === first.headHash && s.pool.length === 0);
  }

  /** Stops every node. */
  async stop(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((node) => node.stop()));
  }
}

/** What `stakeUp` does: who stakes how much, paid by `funder` (the exchange), submitted at `via`. */
export interface StakeUpOptions {
  readonly funder: KeyPair;
  readonly stakes: readonly (readonly [KeyPair, number])[];
  readonly via: string;
  /** Blocks forged after the stakes land, so they count (the resilient stake delay). */
  readonly blocksAfter: number;
  /** Nodes that must agree after each step (every node by default). */
  readonly nodes?: readonly string[];
}

/**
 * Funds and stakes the given keys through the chain (EXCHANGE, then STAKE), then forges
 * `blocksAfter` more blocks of one small purchase each, waiting for every node to agree after
 * each step. Throws when a step does not land within a minute of simulated time.
 */
export async function stakeUp(sim: Simulation, options: StakeUpOptions): Promise<void> {
  const { funder, stakes, via } = options;
  const ids = options.nodes ?? [...sim.nodes.keys()];
  const land = async (transactions: readonly Transaction[], what: string) => {
    for (const tx of transactions) {
      const result = await sim.node(via).submitTransaction(tx);
      if (!result.ok) throw new Error(`${what}: ${result.error.message}`);
    }
    if (!(await sim.runUntil(() => sim.converged(ids), 60_000))) throw new Error(`${what} did not land`);
  };
  const funding: Transaction[] = [];
  for (const [key, amount] of stakes)
    funding.push(
      await sim.sign(funder, { receiverPublicKey: key.publicKeyPem, amount: amount + 10, type: 'EXCHANGE' }),
    );
  await land(funding, 'funding');
  const staking: Transaction[] = [];
  for (const [key, amount] of stakes)
    staking.push(await sim.sign(key, { receiverPublicKey: key.publicKeyPem, amount, type: 'STAKE' }));
  await land(staking, 'staking');
  const receiver = stakes[0]?.[0] ?? funder;
  for (let i = 0; i < options.blocksAfter; i++) {
    await land(
      [await sim.sign(funder, { receiverPublicKey: receiver.publicKeyPem, amount: 1, type: 'EXCHANGE' })],
      `filler ${i}`,
    );
  }
}
