/**
 * What the composition root (src/main.tsx) hands the UI. A module of its own so that the
 * React layer (`services.tsx`) and the per-page session (`session.ts`) can both use these types
 * without importing each other.
 */
import type { CryptoProvider } from '../crypto/types';
import type { TabchainNode } from '../node/node';
import type { ForgingControl } from '../ports/locks';
import type { IceServerChoice } from './bootstrap';
import type { DevnetConfig, DevnetKeyName } from './decoders';

/**
 * The node methods the UI uses: a real `TabchainNode`, or a fake with these in tests. Chain
 * contents beyond the snapshot are read only through the asynchronous reads (`readBlocks`,
 * `readBlock`, `readTransaction`), which may reach storage, and never while rendering (see
 * `chain-reads.ts`). `readLottery` feeds the block page's lottery, drawn by the node off the render path; `heightOf`
 * resolves a searched hash when the user submits the search.
 */
export type NodeApi = Pick<
  TabchainNode,
  | 'getSnapshot'
  | 'subscribe'
  | 'submitTransaction'
  | 'setWallet'
  | 'walletKeyPair'
  | 'importChain'
  | 'exportChain'
  | 'readBlocks'
  | 'readBlock'
  | 'readTransaction'
  | 'heightOf'
  | 'readLottery'
  | 'readMyTransactions'
  | 'readAccountHistory'
  | 'readBlockAggregates'
>;

/** A saved node of this browser, as the "old nodes" view lists it. */
export interface SavedNode {
  readonly nodeId: string;
  readonly name: string;
  /** Its chain's height when it last ran, if known. */
  readonly height?: number | null;
  /** Its wallet's public key: '' for no wallet, null or absent when unknown. */
  readonly publicKey?: string | null;
  /** Other nodes of this browser whose wallet holds the same key. */
  readonly keyAlsoIn?: readonly string[];
}

/** This browser's saved nodes, for the "old nodes" view. */
export interface DatabaseAdmin {
  /** The saved nodes that no live tab runs (the real one asks the locks). */
  list(): Promise<readonly SavedNode[]>;
  /** Deletes one node's database; the real one refuses (rejects) a node a live tab runs. */
  remove(nodeId: string): Promise<void>;
  /** Reloads this tab into a saved node (honoured only if no tab runs it by then). */
  open?(nodeId: string): void;
}

/** Everything the UI is built from; the composition root (src/main.tsx) makes the real ones. */
export interface AppServices {
  readonly node: NodeApi;
  readonly crypto: CryptoProvider;
  readonly devnet: DevnetConfig;
  /** This tab's node id (its database's name), not the signaling id. */
  readonly nodeId: string;
  /** Fetches a published devnet private key's PEM text. */
  readonly loadDevnetKey: (name: DevnetKeyName) => Promise<string>;
  readonly databases: DatabaseAdmin;
  /** Whether this tab forges with its key (one tab per key in a browser); absent: the node's own flag. */
  readonly forging?: ForgingControl;
  /** The ICE servers this tab's transport was made with, and where they came from; absent: unknown. */
  readonly iceServers?: IceServerChoice;
  /** Messages from start-up (storage fallback, ignored settings), shown with the node's notices. */
  readonly startupNotices: readonly string[];
  /** Wall-clock milliseconds, for transaction timestamps. */
  readonly now: () => number;
}
