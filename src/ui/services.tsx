/**
 * The React layer over the node: the context that carries the services (see `app-services.ts`)
 * and the hooks components read the node through. Components only read
 * snapshots and send commands; every consensus decision is the node's.
 */
import { createContext, type ReactNode, useCallback, useContext, useMemo, useSyncExternalStore } from 'react';
import type { KeyPair } from '../crypto/types';
import type { NodeSnapshot } from '../node/node';
import type { AppServices, NodeApi } from './app-services';
import { createSession, type Session } from './session';

export type { AppServices, DatabaseAdmin, NodeApi, SavedNode } from './app-services';

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
