/**
 * What the composition root (src/main.tsx) hands the UI. A module of its own so that the
 * React layer (`services.tsx`) and the per-page session (`session.ts`) can both use these types
 * without importing each other.
 */
import type { CryptoProvider } from '../crypto/types';
import type { TabchainNode } from '../node/node';
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
>;

/** This browser's node databases, for the "old nodes" view. */
export interface DatabaseAdmin {
  /** Every tabchain node database in this browser. */
  list(): Promise<readonly { readonly nodeId: string; readonly name: string }[]>;
  /** Deletes one node's database. */
  remove(nodeId: string): Promise<void>;
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
  /** Messages from start-up (storage fallback, ignored settings), shown with the node's notices. */
  readonly startupNotices: readonly string[];
  /** Wall-clock milliseconds, for transaction timestamps. */
  readonly now: () => number;
}
