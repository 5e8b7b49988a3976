import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createCryptoProvider } from './crypto';
import { createTransport, transportKindFromSettings } from './net';
import { slicedLotteryRunner, yieldThroughMessageChannel } from './node/lottery-slices';
import { TabchainNode } from './node/node';
import { deleteNodeDatabase, getNodeId, listNodeDatabases, openBestStore } from './storage';
import { App, type BootState } from './ui/App';
import {
  devnetKeyLoader,
  iceServersFromSettings,
  loadDevnet,
  MissingDevnetError,
  observeTransportStart,
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

  const startupNotices: string[] = [];
  const nodeId = getNodeId();
  const best = await openBestStore(nodeId);
  if (best.notice) startupNotices.push(best.notice);
  const store = best.store;
  const crypto = createCryptoProvider();
  if (crypto.name === 'forge') {
    startupNotices.push(
      'This page is not a secure context (plain http from another machine): signing uses the slower JavaScript RSA.',
    );
  }
  const iceServers = iceServersFromSettings();
  if (!iceServers.ok) startupNotices.push(iceServers.error);
  // The signaling server shares the page's origin (npm start serves both); the transport turns it into ws(s)://host/.
  const transport = createTransport(transportKindFromSettings(), {
    serverUrl: window.location.origin,
    room: devnet.network,
    iceServers: iceServers.ok ? iceServers.value : [],
  });

  // The node restores its store, then starts the transport, which may wait for the signaling
  // server indefinitely: the page renders once the chain is restored, connected or not.
  let restored!: () => void;
  const chainRestored = new Promise<void>((resolve) => {
    restored = resolve;
  });
  const node = new TabchainNode({
    genesis: { genesisPublicKey: devnet.genesisPublicKey },
    transport: observeTransportStart(transport, () => restored()),
    crypto,
    store,
    // Each next-forger draw runs in slices of the main thread, never one long task.
    lottery: slicedLotteryRunner({ now: () => performance.now(), yieldToPage: yieldThroughMessageChannel }),
  });
  const started = node.start();
  started.catch((error: unknown) => console.error('tabchain: the node stopped starting', error));
  await Promise.race([chainRestored, started]);

  return {
    status: 'ready',
    services: {
      node,
      crypto,
      devnet,
      nodeId,
      loadDevnetKey: devnetKeyLoader(devnet),
      databases: { list: () => listNodeDatabases(), remove: (id) => deleteNodeDatabase(id) },
      startupNotices,
      transportStatus: () => transport.status(),
      now: () => Date.now(),
    },
  };
}

render({ status: 'loading' });
boot().then(render, (error: unknown) =>
  render({ status: 'error', message: errorMessage(error), missing: false }),
);
