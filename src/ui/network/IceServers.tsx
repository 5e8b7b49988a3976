import { useId, useRef, useState } from 'react';
import {
  chooseIceServers,
  ICE_SERVERS_SETTING_KEY,
  type IceServerChoice,
  type IceServerSource,
  readIceServersSetting,
} from '../bootstrap';
import { TaskFeedback, type TaskState } from '../components/bits';
import { decodeIceServerList, decodeIceServers, errorMessage, MAX_ICE_SERVERS } from '../decoders';
import { useServices } from '../services';

/** Where the setting lives: localStorage, or a stand-in in tests. */
export type SettingStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

/** One server as the form edits it: its URLs as typed (space- or comma-separated). */
interface ServerRow {
  readonly key: number;
  readonly urls: string;
  readonly username: string;
  readonly credential: string;
}

const SOURCE_TEXT: Record<IceServerSource, string> = {
  setting: 'your setting in this browser',
  devnet: 'the devnet’s configuration (devnet.json)',
  none: 'none: direct links only (enough on one LAN)',
};

function urlsOf(server: RTCIceServer): readonly string[] {
  return typeof server.urls === 'string' ? [server.urls] : server.urls;
}

/** A list of servers, their URLs and usernames; credentials are never shown. */
function ServerList({
  servers,
  testId,
}: {
  readonly servers: readonly RTCIceServer[];
  readonly testId: string;
}) {
  if (servers.length === 0) {
    return (
      <span className="muted" data-testid={testId} data-count={0}>
        none
      </span>
    );
  }
  return (
    <ul className="ice-list" data-testid={testId} data-count={servers.length}>
      {servers.map((server, index) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: a fixed list, never reordered.
        <li key={index}>
          <code>{urlsOf(server).join(' ')}</code>
          {server.username !== undefined && (
            <span className="muted">
              {' '}
              (user <code>{server.username}</code>
              {server.credential !== undefined ? ', with a credential' : ''})
            </span>
          )}
        </li>
      ))}
    </ul>
  );
}

/** A form row showing `server` (or an empty one), with a React key unique in its form. */
const rowOf = (key: number, server?: RTCIceServer): ServerRow => ({
  key,
  urls: server ? urlsOf(server).join(' ') : '',
  username: server?.username ?? '',
  credential: typeof server?.credential === 'string' ? server.credential : '',
});

/** The servers the form starts with: the saved setting's, if it holds valid ones. */
function savedServers(storage: SettingStorage | undefined): readonly RTCIceServer[] {
  const saved = decodeIceServers(readIceServersSetting(storage));
  return saved.ok ? saved.value : [];
}

/** The form's rows as RTCIceServer values, for the decoder (which checks every field). */
function serversOfRows(rows: readonly ServerRow[]): unknown[] {
  return rows.map((r) => ({
    urls: r.urls.split(/[\s,]+/).filter((url) => url !== ''),
    ...(r.username.trim() !== '' ? { username: r.username.trim() } : {}),
    ...(r.credential !== '' ? { credential: r.credential } : {}),
  }));
}

/**
 * The ICE servers card of the Network view: which STUN/TURN servers this tab uses and where they
 * came from, the devnet's own, and a form for this browser's setting (`tabchain.iceServers`),
 * which wins over the devnet's. The transport is made once at load, so a change applies when
 * the page reloads.
 */
export function IceServersCard({
  storage = globalThis.localStorage,
  reload = () => window.location.reload(),
}: {
  readonly storage?: SettingStorage;
  readonly reload?: () => void;
}) {
  const services = useServices();
  const id = useId();
  // What main.tsx chose at load; a page made without it (tests) shows what it would choose now.
  const [inForce] = useState<IceServerChoice>(
    () => services.iceServers ?? chooseIceServers(services.devnet, storage),
  );
  const lastKey = useRef(0);
  const newRow = (server?: RTCIceServer): ServerRow => rowOf(++lastKey.current, server);
  const [rows, setRows] = useState<ServerRow[]>(() => savedServers(storage).map((server) => newRow(server)));
  const [hasSetting, setHasSetting] = useState(() => readIceServersSetting(storage) !== null);
  const [state, setState] = useState<TaskState>({ status: 'idle' });
  const [changed, setChanged] = useState(false);
  const devnetServers = services.devnet.iceServers ?? [];

  const edit = (key: number, patch: Partial<Omit<ServerRow, 'key'>>) => {
    setRows((current) => current.map((r) => (r.key === key ? { ...r, ...patch } : r)));
    setState({ status: 'idle' });
  };

  const save = () => {
    const decoded = decodeIceServerList(serversOfRows(rows), 'ICE servers');
    if (!decoded.ok) return setState({ status: 'error', message: decoded.error });
    try {
      storage?.setItem(ICE_SERVERS_SETTING_KEY, JSON.stringify(decoded.value));
    } catch (error) {
      return setState({
        status: 'error',
        message: `This browser refused to save the setting: ${errorMessage(error)}.`,
      });
    }
    setHasSetting(true);
    setChanged(true);
    setState({
      status: 'done',
      message:
        decoded.value.length === 0
          ? 'Saved: this tab will use no ICE servers, whatever the devnet says. It applies when the page reloads.'
          : `Saved ${decoded.value.length} ICE server${decoded.value.length === 1 ? '' : 's'}: they apply when the page reloads.`,
    });
  };

  const removeSetting = () => {
    try {
      storage?.removeItem(ICE_SERVERS_SETTING_KEY);
    } catch (error) {
      return setState({
        status: 'error',
        message: `This browser refused to change the setting: ${errorMessage(error)}.`,
      });
    }
    setHasSetting(false);
    setChanged(true);
    setRows([]);
    setState({
      status: 'done',
      message: 'Your setting is removed: the devnet’s servers (if any) apply when the page reloads.',
    });
  };

  return (
    <section className="card" aria-labelledby={`${id}-heading`} data-testid="ice-servers">
      <h2 id={`${id}-heading`}>ICE servers (STUN and TURN)</h2>
      <p className="muted">
        WebRTC asks a STUN server for this machine’s public address, and relays through a TURN server when no
        direct path exists (a phone behind NAT, a strict firewall). Tabs on one machine or one LAN need none.
      </p>
      <dl className="fields">
        <dt>In force in this tab</dt>
        <dd>
          <span data-testid="ice-source" data-value={inForce.source}>
            {SOURCE_TEXT[inForce.source]}
          </span>
          {/* With no servers the source's text says so already ("none: direct links only"). */}
          {inForce.servers.length > 0 ? <ServerList servers={inForce.servers} testId="ice-in-force" /> : null}
        </dd>
        <dt>From the devnet</dt>
        <dd>
          <ServerList servers={devnetServers} testId="ice-devnet" />
        </dd>
      </dl>

      <fieldset className="ice-form">
        <legend>Your setting (this browser; it wins over the devnet’s)</legend>
        {rows.length === 0 && (
          <p className="hint" data-testid="ice-no-rows">
            {hasSetting ? 'Your setting is “no ICE servers”.' : 'No setting: the devnet’s servers are used.'}{' '}
            Add a server to set your own.
          </p>
        )}
        {rows.map((r, index) => (
          <div className="ice-row" key={r.key} data-testid="ice-row">
            <div className="field">
              <label htmlFor={`${id}-${r.key}-urls`}>Server {index + 1} URL</label>
              <input
                id={`${id}-${r.key}-urls`}
                data-testid="ice-url"
                type="text"
                spellCheck={false}
                autoComplete="off"
                placeholder="turn:192.168.1.10:3478 (or stun:…)"
                value={r.urls}
                onChange={(event) => edit(r.key, { urls: event.target.value })}
              />
            </div>
            <div className="field">
              <label htmlFor={`${id}-${r.key}-username`}>Username (TURN)</label>
              <input
                id={`${id}-${r.key}-username`}
                data-testid="ice-username"
                type="text"
                autoComplete="off"
                value={r.username}
                onChange={(event) => edit(r.key, { username: event.target.value })}
              />
            </div>
            <div className="field">
              <label htmlFor={`${id}-${r.key}-credential`}>Credential (TURN)</label>
              <input
                id={`${id}-${r.key}-credential`}
                data-testid="ice-credential"
                type="password"
                autoComplete="off"
                value={r.credential}
                onChange={(event) => edit(r.key, { credential: event.target.value })}
              />
            </div>
            <button
              type="button"
              data-testid="ice-remove"
              onClick={() => {
                setRows((current) => current.filter((other) => other.key !== r.key));
                setState({ status: 'idle' });
              }}
            >
              Remove
            </button>
          </div>
        ))}
        <div className="button-row">
          <button
            type="button"
            data-testid="ice-add"
            disabled={rows.length >= MAX_ICE_SERVERS}
            onClick={() => setRows((current) => [...current, newRow()])}
          >
            Add a server
          </button>
          <button type="button" data-testid="ice-save" onClick={save}>
            {rows.length === 0 ? 'Save: use no ICE servers' : 'Save'}
          </button>
          {hasSetting && (
            <button type="button" data-testid="ice-use-devnet" onClick={removeSetting}>
              Remove my setting (use the devnet’s)
            </button>
          )}
        </div>
      </fieldset>
      <TaskFeedback state={state} errorTestId="ice-error" statusTestId="ice-status" />
      {changed && (
        <p className="hint" data-testid="ice-reload-note">
          This tab keeps its current servers until it reloads.{' '}
          <button type="button" data-testid="ice-reload" onClick={reload}>
            Reload now
          </button>
        </p>
      )}
    </section>
  );
}
