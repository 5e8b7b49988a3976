import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createCryptoProvider } from './crypto';
import { createTransport, transportKindFromSettings } from './net';
import { slicedLotteryRunner, yieldThroughMessageChannel } from './node/lottery-slices';
import { TabchainNode } from './node/node';
import { deleteNodeDatabase, getNodeId, listNodeDatabases, openBestStore } from './storage';
import { App, type BootState } from './ui/App';
import { devnetKeyLoader, iceServersFromSettings, loadDevnet, MissingDevnetError } from './ui/bootstrap';
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
  // server indefinitely. The page renders at once and follows the node's phase in its snapshot
  // (restoring, then ready, then connected).
  const node = new TabchainNode({
    genesis: { genesisPublicKey: devnet.genesisPublicKey },
    transport,
    crypto,
    store,
    // Each next-forger draw runs in slices of the main thread, never one long task.
    lottery: slicedLotteryRunner({ now: () => performance.now(), yieldToPage: yieldThroughMessageChannel }),
    // A restored chain's older hashes and ids load after the page is interactive, in slices.
    yieldToPage: yieldThroughMessageChannel,
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
      databases: { list: () => listNodeDatabases(), remove: (id) => deleteNodeDatabase(id) },
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
