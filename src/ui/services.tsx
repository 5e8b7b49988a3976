/**
 * The React layer over the node: what the composition root hands the UI (`AppServices`), the
 * context that carries it, and the hooks components read the node through. Components only read
 * snapshots and send commands; every consensus decision is the node's.
 */
import { createContext, type ReactNode, useCallback, useContext, useMemo, useSyncExternalStore } from 'react';
import type { CryptoProvider, KeyPair } from '../crypto/types';
import type { NodeSnapshot, TabchainNode } from '../node/node';
import type { TransportStatus } from '../ports/transport';
import type { DevnetConfig, DevnetKeyName } from './decoders';
import { createSession, type Session } from './session';

/** The node methods the UI uses: a real `TabchainNode`, or a fake with these in tests. */
export type NodeApi = Pick<
  TabchainNode,
  | 'getSnapshot'
  | 'subscribe'
  | 'submitTransaction'
  | 'setWallet'
  | 'walletKeyPair'
  | 'importChain'
  | 'exportChain'
  | 'blockAt'
  | 'hashAt'
  | 'heightOf'
  | 'findTransaction'
  | 'stateAt'
  | 'blocks'
  | 'lotteryAt'
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
  /** The transport's live status (the snapshot's copy is refreshed only when the node changes). */
  readonly transportStatus?: () => TransportStatus;
  /** Wall-clock milliseconds, for transaction timestamps. */
  readonly now: () => number;
}

interface Context {
  readonly services: AppServices;
  readonly session: Session;
}

const ServicesContext = createContext<Context | null>(null);

/** Makes `services` (and a per-page session: sent transactions, cached devnet keys) available below. */
export function ServicesProvider({
  services,
  children,
}: {
  readonly services: AppServices;
  readonly children: ReactNode;
}) {
  const value = useMemo(() => ({ services, session: createSession(services) }), [services]);
  return <ServicesContext.Provider value={value}>{children}</ServicesContext.Provider>;
}

function useContextValue(): Context {
  const value = useContext(ServicesContext);
  if (!value) throw new Error('tabchain UI: a component needs <ServicesProvider> above it');
  return value;
}

/** The services the page was built with. */
export function useServices(): AppServices {
  return useContextValue().services;
}

/** The per-page session (sent transactions, known accounts, cached devnet keys). */
export function useSession(): Session {
  return useContextValue().session;
}

/** The node. */
export function useNode(): NodeApi {
  return useContextValue().services.node;
}

/** The node's current snapshot; re-renders on every change. */
export function useSnapshot(): NodeSnapshot {
  const node = useNode();
  const subscribe = useCallback((listener: () => void) => node.subscribe(listener), [node]);
  const getSnapshot = useCallback(() => node.getSnapshot(), [node]);
  return useSyncExternalStore(subscribe, getSnapshot, getSnapshot);
}

/** The wallet's key pair (the node holds it, restored from its store after a reload), or null. */
export function useWalletKey(): KeyPair | null {
  const node = useNode();
  // Read through the snapshot so the component re-renders when the wallet changes.
  const wallet = useSnapshot().wallet;
  return wallet ? node.walletKeyPair() : null;
}
