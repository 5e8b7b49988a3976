import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { networkIdOf, profileOf } from './core/config';
import { createCryptoProvider } from './crypto';
import { createTabLocks, tabStorage } from './locks';
import { ForgingClaim } from './locks/forging-claim';
import { createTransport, transportKindFromSettings } from './net';
import { TabchainNode } from './node/node';
import { pagePacing } from './node/slices';
import { startValidationWorker } from './node/validation-worker-client';
import { deleteNodeDatabase, listNodeDatabases, openBestStore } from './storage';
import {
  chooseNode,
  createNodeRegistry,
  deleteOldNode,
  listOldNodes,
  OPEN_NODE_PARAM,
  sessionNodeKey,
} from './storage/node-registry';
import { App, type BootState } from './ui/App';
import {
  chooseIceServers,
  devnetKeyLoader,
  genesisConfigOf,
  loadDevnet,
  MissingDevnetError,
  takeOpenNodeParam,
} from './ui/bootstrap';
import { errorMessage } from './ui/decoders';
import './ui/styles.css';

// The composition root: the only module that knows every layer. It creates the ports (crypto,
// storage, transport), hands them to the node, and gives the node to the UI, which only renders
// snapshots and sends commands.
const container = document.getElementById('root');
if (!container) throw new Error('index.html has no #root element');
const root = createRoot(container);

function render(boot: BootState): void {
  root.render(
    <StrictMode>
      <App boot={boot} />
    </StrictMode>,
  );
}

async function boot(): Promise<BootState> {
  let devnet: Awaited<ReturnType<typeof loadDevnet>>;
  try {
    devnet = await loadDevnet();
  } catch (error) {
    return { status: 'error', message: errorMessage(error), missing: error instanceof MissingDevnetError };
  }
  render({ status: 'loading', message: 'Opening this tab’s node…' });

  // The network this tab runs: its genesis config. Stored chains, the node registry and the
  // last node of this tab are kept per network (its id), so a chain of one profile or genesis
  // key is never restored into another.
  const genesis = genesisConfigOf(devnet);
  const networkId = networkIdOf(genesis);
  // Reference-profile chains keep the names they had before networks had ids (every chain saved
  // before profiles existed is a reference chain): an upgrade never loses a saved chain. Other
  // profiles are kept apart by their network id.
  const storageNetwork = profileOf(genesis) === 'reference' ? undefined : networkId;

  const startupNotices: string[] = [];
  // Which node this tab runs: one no live tab holds (its lock), most recently used first, else a
  // new one. The lock is held until the tab closes, so a duplicated tab never shares the node.
  const { locks, notice: locksNotice, forgingChannel } = createTabLocks();
  if (locksNotice) startupNotices.push(locksNotice);
  const registry = createNodeRegistry(tabStorage('localStorage'), undefined, storageNetwork);
  const saved = await listNodeDatabases(undefined, storageNetwork).catch(() => null);
  if (saved && saved.length > 0) {
    // The browser lists its databases: entries whose database is gone (deleted elsewhere) go too.
    const existing = new Set(saved.map((db) => db.nodeId));
    for (const entry of registry.entries()) if (!existing.has(entry.id)) registry.remove(entry.id);
  }
  const session = tabStorage('sessionStorage');
  const choice = await chooseNode({
    locks,
    registry,
    databaseIds: (saved ?? []).map((db) => db.nodeId),
    requested: takeOpenNodeParam(OPEN_NODE_PARAM),
    previous: session?.getItem(sessionNodeKey(storageNetwork)) ?? null,
    previousWaitMs: 1_500,
  });
  const nodeId = choice.nodeId;
  try {
    session?.setItem(sessionNodeKey(storageNetwork), nodeId);
  } catch {
    // Storage full or denied: a reload picks the most recently used free node, likely this one.
  }
  registry.touch(nodeId, {});
  if (choice.notice) startupNotices.push(choice.notice);
  if (!choice.lock) {
    startupNotices.push(
      'This tab could not prove that no other tab runs its node (the lock could not be held): it does not forge.',
    );
  }
  const best = await openBestStore(nodeId, { network: storageNetwork });
  if (best.notice) startupNotices.push(best.notice);
  const store = best.store;
  const crypto = createCryptoProvider();
  if (crypto.name === 'forge') {
    startupNotices.push(
      'This page is not a secure context (plain http from another machine): signing uses the slower JavaScript RSA (node-forge), and a wallet key is kept in this browser as readable bytes. Open the https:// address of `npm start -- --lan` for WebCrypto.',
    );
  }
  // The tab's own ICE servers setting wins; else the devnet's (npm start -- --turn ...); else none.
  const iceServers = chooseIceServers(devnet);
  if (iceServers.notice) startupNotices.push(iceServers.notice);
  // The signaling server shares the page's origin (npm start serves both); the transport turns it into ws(s)://host/.
  const transport = createTransport(transportKindFromSettings(), {
    serverUrl: window.location.origin,
    room: devnet.network,
    iceServers: iceServers.servers,
  });

  // The node restores its store, then starts the transport, which may wait for the signaling
  // server indefinitely. The page renders at once and follows the node's phase in its snapshot
  // (restoring, then ready, then connected).
  // Signature checks run in a dedicated Worker: the page's main thread keeps its frames while
  // it validates a big block or a sync (see validation-worker-client.ts). Where the page has no
  // WebCrypto (node-forge), there is no Worker and the node checks here, in slices.
  const validationWorker = crypto.name === 'webcrypto' ? startValidationWorker() : null;
  const node = new TabchainNode({
    genesis,
    transport,
    crypto: validationWorker ? validationWorker.verifying(crypto) : crypto,
    store,
    // Next-forger draws, validation and sync run in slices of the main thread, never one long
    // task; a restored chain's older hashes and ids load after the page is interactive, in slices.
    ...pagePacing(),
    // Forging waits for this tab to hold its key's forging lock (one forger per key in a browser).
    forging: false,
  });
  let unloading = false;
  const forging = new ForgingClaim({ locks, node, ...(forgingChannel ? { channel: forgingChannel } : {}) });
  if (choice.lock) forging.start();
  // A node lock that is lost (a lease expired while the tab slept) means another tab may run
  // this node now: stop forging at once.
  choice.lock?.signal.addEventListener('abort', () => {
    if (!unloading) void forging.stop();
  });
  // The registry follows the node's height and wallet, for "old nodes" and the next tab's choice.
  let recorded = '';
  node.subscribe(() => {
    const snapshot = node.getSnapshot();
    if (snapshot.phase === 'stopped' || snapshot.phase === 'restoring') return;
    const publicKey = snapshot.wallet?.publicKeyPem ?? '';
    const key = `${snapshot.height}:${publicKey}`;
    if (key === recorded) return;
    recorded = key;
    registry.touch(nodeId, { height: snapshot.height, publicKey });
  });
  // A page restored from the back-forward cache gave its locks back when it was hidden: start over.
  window.addEventListener('pageshow', (event) => {
    if (event.persisted) window.location.reload();
  });
  window.addEventListener('pagehide', () => {
    unloading = true;
    registry.touch(nodeId, {});
    // Web Locks free themselves with the page; a lease is given back now rather than left to expire.
    void forging.stop();
    void choice.lock?.release();
  });
  node.start().catch((error: unknown) => {
    console.error('tabchain: the node stopped starting', error);
    startFailed = true;
    render({ status: 'error', message: errorMessage(error), missing: false });
  });

  return {
    status: 'ready',
    services: {
      node,
      crypto,
      devnet,
      nodeId,
      loadDevnetKey: devnetKeyLoader(devnet),
      databases: {
        list: async () =>
          listOldNodes({
            locks,
            registry,
            databases: await listNodeDatabases(undefined, storageNetwork).catch(() => []),
            selfId: nodeId,
            networkId,
          }),
        remove: (id) =>
          deleteOldNode(
            {
              locks,
              registry,
              deleteDatabase: (target) => deleteNodeDatabase(target, undefined, storageNetwork),
            },
            id,
          ),
        open: (id) => {
          const url = new URL(window.location.href);
          url.searchParams.set(OPEN_NODE_PARAM, id);
          window.location.assign(url.toString());
        },
      },
      forging,
      iceServers,
      startupNotices,
      now: () => Date.now(),
    },
  };
}

/** The node's start failed: its error screen stays, whatever `boot` resolves to after. */
let startFailed = false;

render({ status: 'loading' });
boot().then(
  (state) => {
    if (!startFailed) render(state);
  },
  (error: unknown) => render({ status: 'error', message: errorMessage(error), missing: false }),
);
