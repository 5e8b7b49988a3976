import { type ChangeEvent, useCallback, useEffect, useState } from 'react';
import { blockHash } from '../../core/block';
import { canonicalJson } from '../../core/canonical-json';
import type { TransportStatus } from '../../ports/transport';
import {
  AccountLabel,
  type Column,
  HashText,
  NodeLink,
  Table,
  TaskFeedback,
  type TaskState,
} from '../components/bits';
import { decodeChainFile, errorMessage, MAX_CHAIN_FILE_BYTES } from '../decoders';
import { downloadText, readFileText } from '../files';
import { fingerprint, plural } from '../format';
import { hrefFor } from '../router';
import { type SavedNode, useNode, useServices, useSnapshot } from '../services';
import { DevnetCard, GenesisCard } from './about';
import { IceServersCard } from './IceServers';
import { NetworkMap } from './NetworkMap';
import { WhatIsHappening } from './WhatIsHappening';

const SIGNALING_TEXT: Record<TransportStatus['signaling'], string> = {
  connected: 'connected',
  connecting: 'connecting…',
  down: 'unreachable: retrying; this tab keeps working alone meanwhile',
  'n/a': 'not used by this transport',
};

/** The sync in progress, as a progress bar over the heights being validated. */
export function SyncProgress() {
  const { sync } = useSnapshot();
  if (!sync) return null;
  const span = Math.max(1, sync.targetHeight - sync.forkHeight);
  const done = Math.min(span, Math.max(0, sync.validatedHeight - sync.forkHeight));
  return (
    <div className="sync">
      <div
        className="progress"
        role="progressbar"
        data-testid="sync-progress"
        aria-label="Chain sync"
        aria-valuemin={sync.forkHeight}
        aria-valuemax={sync.targetHeight}
        aria-valuenow={sync.validatedHeight}
        aria-valuetext={`Validated up to block ${sync.validatedHeight} of ${sync.targetHeight}`}
      >
        <div className="progress-bar" style={{ width: `${(done / span) * 100}%` }} />
      </div>
      <p className="muted">
        Syncing from peer <NodeLink id={sync.peer} />: validated up to block {sync.validatedHeight} of{' '}
        {sync.targetHeight}.
      </p>
    </div>
  );
}

/** This node: its ids, transport and signaling status, and sync state. */
function NodeCard() {
  const { nodeId } = useServices();
  const snapshot = useSnapshot();
  // Pushed by the transport (`onStatus`) into the node's snapshot: nothing here polls.
  const transport = snapshot.transport;
  return (
    <section className="card" aria-labelledby="node-heading">
      <h2 id="node-heading">This node</h2>
      <dl className="fields">
        <dt>Node id</dt>
        <dd>
          <code data-testid="node-id" data-value={nodeId}>
            {nodeId}
          </code>
          <span className="muted"> (its database; it outlives this tab)</span>
        </dd>
        <dt>Peer id</dt>
        <dd>
          {snapshot.nodeId ? (
            <code data-testid="peer-id">{snapshot.nodeId}</code>
          ) : (
            <span className="muted" data-testid="peer-id">
              none yet (given by the signaling server)
            </span>
          )}
        </dd>
        <dt>Transport</dt>
        <dd data-testid="transport-kind">{transport.kind}</dd>
        <dt>Signaling</dt>
        <dd>
          <span
            className={`status status-${transport.signaling === 'n/a' ? 'na' : transport.signaling}`}
            data-testid="signaling-status"
            data-value={transport.signaling}
          >
            {SIGNALING_TEXT[transport.signaling]}
          </span>
        </dd>
        <dt>Sync</dt>
        <dd>
          {snapshot.sync
            ? 'syncing'
            : snapshot.peers.some((p) => p.height > snapshot.height)
              ? 'behind a peer'
              : 'up to date with its peers'}
        </dd>
      </dl>
      <SyncProgress />
    </section>
  );
}

const PEER_COLUMNS: readonly Column[] = [
  { label: 'Peer' },
  { label: 'Height', className: 'num' },
  { label: 'RTT', className: 'num' },
  { label: 'Score', className: 'num' },
  { label: 'Forges with' },
];

/**
 * Connected peers: id, head height, round-trip time, score, and the key each forges with.
 * Always-on nodes (`npm run node`) come first with a badge: they are the steady peers, the ones
 * this tab prefers to sync from.
 */
function PeersCard() {
  const { peers: connected, height } = useSnapshot();
  const peers = [...connected.filter((p) => p.alwaysOn), ...connected.filter((p) => !p.alwaysOn)];
  return (
    <section className="card" aria-labelledby="peers-heading">
      <h2 id="peers-heading">Peers ({peers.length})</h2>
      {peers.length === 0 ? (
        <p className="muted">No peers connected. Open the devnet in another tab to add one.</p>
      ) : (
        <div className="table-scroll">
          <Table columns={PEER_COLUMNS} testId="peers">
            {peers.map((peer) => (
              <tr key={peer.id} data-testid="peer-row">
                <td>
                  <NodeLink id={peer.id} />
                  {peer.alwaysOn ? (
                    <span
                      className="badge"
                      data-testid="peer-always-on"
                      title="An always-on node (npm run node)"
                    >
                      always-on
                    </span>
                  ) : null}
                </td>
                <td className="num">
                  {peer.height}
                  {peer.height > height ? (
                    <span className="muted"> (ahead)</span>
                  ) : peer.height < height ? (
                    <span className="muted"> (behind)</span>
                  ) : null}
                </td>
                <td className="num">{peer.rttMs === null ? '—' : `${peer.rttMs} ms`}</td>
                <td className="num">{peer.score}</td>
                <td>
                  {peer.forgerKey ? (
                    <>
                      <AccountLabel pem={peer.forgerKey} copy={false} />
                      {peer.forging ? null : <span className="muted"> (holds it, not forging)</span>}
                    </>
                  ) : (
                    <span className="muted">no key</span>
                  )}
                </td>
              </tr>
            ))}
          </Table>
        </div>
      )}
    </section>
  );
}

/** Exporting the chain as `{"blocks": [...]}` and importing one (validated block by block by the node). */
function ChainFileCard() {
  const node = useNode();
  const { devnet } = useServices();
  const snapshot = useSnapshot();
  const [state, setState] = useState<TaskState>({ status: 'idle' });

  // The reference's own text (`json.dumps`, as it serves GET /blockchain): a chain imported from
  // it, whole-number floats included, exports byte for byte.
  const exportChain = () => {
    // Older blocks may come from the store: the download starts once they are read.
    void node.exportChain().then((chain) => {
      downloadText(`${devnet.network}-chain-${snapshot.height}.json`, canonicalJson(chain));
    });
  };

  const importChain = async (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    event.target.value = '';
    if (!file) return;
    if (file.size > MAX_CHAIN_FILE_BYTES) {
      return setState({
        status: 'error',
        message: `${file.name} is larger than ${MAX_CHAIN_FILE_BYTES / 1024 / 1024} MB.`,
      });
    }
    setState({ status: 'busy', message: `Reading ${file.name}…` });
    let text: string;
    try {
      text = await readFileText(file);
    } catch (error) {
      return setState({ status: 'error', message: `Could not read ${file.name}: ${errorMessage(error)}.` });
    }
    const blocks = decodeChainFile(text);
    if (!blocks.ok) return setState({ status: 'error', message: blocks.error });
    setState({ status: 'busy', message: `Validating ${plural(blocks.value.length, 'block')}…` });
    let result: Awaited<ReturnType<typeof node.importChain>>;
    try {
      result = await node.importChain(blocks.value);
    } catch (error) {
      return setState({
        status: 'error',
        message: `The node could not validate the chain: ${errorMessage(error)}.`,
      });
    }
    const kept = result.adopted
      ? `The valid blocks before it were longer than this node's chain and were adopted: it is now at height ${result.validHeight}.`
      : `This node kept its own chain (height ${snapshot.height}).`;
    if (result.error) {
      return setState({
        status: 'error',
        message: `Block ${result.firstInvalidBlock ?? '?'} is invalid: ${result.error.code}: ${result.error.message}. ${kept}`,
      });
    }
    setState({
      status: 'done',
      message: result.adopted
        ? `Adopted ${plural(result.validHeight, 'block')}: the chain is valid and longer than ours.`
        : `The chain is valid (height ${result.validHeight}) but not longer than this node's (height ${snapshot.height}): kept ours.`,
    });
  };

  return (
    <section className="card" aria-labelledby="chain-file-heading">
      <h2 id="chain-file-heading">Chain file</h2>
      <p className="muted">
        The reference's JSON shape, <code>{'{"blocks": [...]}'}</code>, as served at{' '}
        <code>GET /blockchain</code>. An imported chain is validated block by block and adopted only if it is
        longer.
      </p>
      <div className="button-row">
        <button type="button" data-testid="export-chain" onClick={exportChain}>
          Export the chain ({plural(snapshot.height + 1, 'block')})
        </button>
        <label className="file-button">
          <span>Import a chain file…</span>
          <input
            type="file"
            data-testid="import-chain-file"
            accept=".json,application/json"
            disabled={state.status === 'busy'}
            onChange={importChain}
          />
        </label>
      </div>
      <TaskFeedback state={state} errorTestId="import-chain-error" statusTestId="import-chain-result" />
    </section>
  );
}

/** Messages for the user: storage trouble, repairs, ignored settings. */
export function NoticesCard() {
  const { startupNotices } = useServices();
  const { notices } = useSnapshot();
  const all = [...startupNotices, ...notices];
  if (all.length === 0) return null;
  return (
    <section className="card card-notice" aria-labelledby="notices-heading">
      <h2 id="notices-heading">Notices</h2>
      <ul role="status" data-testid="notices">
        {all.map((notice, index) => (
          // Notices are append-only: the index is stable.
          // biome-ignore lint/suspicious/noArrayIndexKey: append-only list
          <li key={index}>{notice}</li>
        ))}
      </ul>
    </section>
  );
}

/** What deleting `entry` loses, said before the user confirms. */
export function deletionWarning(entry: SavedNode): string {
  const chain =
    entry.height === null || entry.height === undefined ? 'its chain' : `its chain (height ${entry.height})`;
  const key = entry.publicKey;
  const wallet =
    key === ''
      ? 'It has no wallet.'
      : key === null || key === undefined
        ? 'Whether its wallet key exists anywhere else is unknown (it was saved by an older version): export it first if you need it.'
        : (entry.keyAlsoIn ?? []).length > 0
          ? `Its wallet key ${fingerprint(key)} is also held by node ${(entry.keyAlsoIn ?? []).join(', ')}: it is not lost.`
          : `Its wallet key ${fingerprint(key)} exists in no other node of this browser: unless you exported it, it is lost for good.`;
  return `Deleting node ${entry.nodeId} deletes ${chain}, its pool and its wallet. ${wallet}`;
}

/**
 * Saved nodes of this browser that no live tab runs: open one here, or delete it (after a
 * warning that says what is lost). A node a tab runs is never listed, and its deletion is refused.
 */
function DatabasesCard() {
  const { databases, nodeId } = useServices();
  const [list, setList] = useState<readonly SavedNode[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  /** Answers shown so far: lets a reader (an e2e test) tell a fresh list from the previous one. */
  const [answers, setAnswers] = useState(0);
  const refresh = useCallback(async () => {
    try {
      setList(await databases.list());
      setError(null);
    } catch (cause) {
      setError(`Could not list the saved nodes: ${errorMessage(cause)}.`);
    }
    setAnswers((count) => count + 1);
  }, [databases]);
  useEffect(() => {
    void refresh();
  }, [refresh]);
  const remove = async (id: string) => {
    setConfirming(null);
    let failure: string | null = null;
    try {
      await databases.remove(id);
    } catch (cause) {
      failure = `Could not delete ${id}: ${errorMessage(cause)}`;
    }
    await refresh();
    if (failure) setError(failure);
  };
  const others = (list ?? []).filter((entry) => entry.nodeId !== nodeId);
  return (
    <section
      className="card"
      aria-labelledby="databases-heading"
      data-testid="old-nodes"
      data-answers={answers}
    >
      <h2 id="databases-heading">Old nodes in this browser</h2>
      <p className="muted">
        A node outlives its tab: a new tab reopens the most recently used node that no tab runs. These are the
        saved nodes no tab runs now.
      </p>
      {list === null ? null : others.length === 0 ? (
        <p className="muted">No other saved nodes.</p>
      ) : (
        <ul className="db-list" data-testid="old-databases">
          {others.map((entry) => (
            <li key={entry.nodeId} data-testid="old-node" data-value={entry.nodeId}>
              <code>{entry.name}</code>
              {entry.height !== null && entry.height !== undefined ? (
                <span className="muted"> height {entry.height}</span>
              ) : null}
              {confirming === entry.nodeId ? (
                <div className="confirm">
                  <p data-testid="delete-database-warning">{deletionWarning(entry)}</p>
                  <button
                    type="button"
                    className="danger"
                    data-testid="delete-database-confirm"
                    onClick={() => void remove(entry.nodeId)}
                  >
                    Delete its chain and wallet
                  </button>
                  <button type="button" onClick={() => setConfirming(null)}>
                    Cancel
                  </button>
                </div>
              ) : (
                <>
                  {databases.open ? (
                    <button
                      type="button"
                      data-testid="open-old-node"
                      data-node-id={entry.nodeId}
                      onClick={() => databases.open?.(entry.nodeId)}
                    >
                      Open this node
                    </button>
                  ) : null}
                  <button
                    type="button"
                    data-testid="delete-database"
                    data-node-id={entry.nodeId}
                    onClick={() => setConfirming(entry.nodeId)}
                  >
                    Delete…
                  </button>
                </>
              )}
            </li>
          ))}
        </ul>
      )}
      <button type="button" data-testid="refresh-old-nodes" onClick={() => void refresh()}>
        Refresh
      </button>
      {error ? (
        <p className="field-error" role="alert" data-testid="old-node-error">
          {error}
        </p>
      ) : null}
    </section>
  );
}

/** One of an equivocation's two blocks: its hash, a link to its page while it is on our chain. */
function EquivocationBlock({ hash, height, testId }: { hash: string; height: number; testId: string }) {
  const node = useNode();
  const onChain = node.heightOf(hash) === height;
  return (
    <span data-testid={testId} data-value={hash} data-on-chain={onChain}>
      {onChain ? (
        <a href={hrefFor({ page: 'block', height })}>
          <HashText hash={hash} />
        </a>
      ) : (
        <HashText hash={hash} />
      )}{' '}
      {onChain ? '(on this chain)' : '(not on this chain: dropped by the fork choice)'}
    </span>
  );
}

/**
 * Two validly signed blocks from one key at one height: the key forged twice, usually because
 * it is open in two browsers (or two tabs without the forging lock). The network keeps one by
 * its fork choice (src/core/fork-choice.ts); the evidence is both blocks, kept here as proof.
 */
function EquivocationsCard() {
  const { equivocations } = useSnapshot();
  if (equivocations.length === 0) return null;
  const download = () =>
    downloadText(
      'equivocations.json',
      canonicalJson(
        equivocations.map((e) => ({ height: e.height, keptHash: e.keptHash, otherBlock: e.otherBlock })),
      ),
    );
  return (
    <section className="card card-notice" aria-labelledby="equivocations-heading">
      <h2 id="equivocations-heading">A key forged twice</h2>
      <p>
        Each key below signed two different blocks at the same height (it is open in two browsers or tabs that
        both forge). The network keeps one of the two: the longer chain, and between equal ones the branch
        whose first differing block has the smaller hash.
      </p>
      <ul data-testid="equivocations">
        {equivocations.map((e) => (
          <li key={`${e.height}:${e.forger}`} data-testid="equivocation" data-height={e.height}>
            <AccountLabel pem={e.forger} copy={false} /> forged two blocks at height{' '}
            <a href={hrefFor({ page: 'block', height: e.height })}>#{e.height}</a>:
            <ul>
              <li>
                <EquivocationBlock hash={e.keptHash} height={e.height} testId="equivocation-kept" />
              </li>
              <li>
                <EquivocationBlock
                  hash={blockHash(e.otherBlock)}
                  height={e.height}
                  testId="equivocation-other"
                />
              </li>
            </ul>
          </li>
        ))}
      </ul>
      <button type="button" onClick={download}>
        Download the evidence (the dropped block, with the kept block's hash)
      </button>
    </section>
  );
}

/** The network page: the map, what is happening, this node, its peers, the chain file, notices, old databases, and the network's genesis. */
export function NetworkPage() {
  const { devnet } = useServices();
  return (
    <div className="page-grid">
      <NoticesCard />
      <NetworkMap />
      <WhatIsHappening />
      <NodeCard />
      <PeersCard />
      <IceServersCard />
      <ChainFileCard />
      <EquivocationsCard />
      <DevnetCard devnet={devnet} />
      <GenesisCard />
      <DatabasesCard />
    </div>
  );
}
