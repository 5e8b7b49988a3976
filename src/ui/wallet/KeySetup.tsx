import { type DragEvent, useId, useState } from 'react';
import { MAX_PEM_LENGTH } from '../../crypto';
import type { KeyPair } from '../../crypto/types';
import { TaskFeedback, type TaskState } from '../components/bits';
import {
  checkAccountKey,
  type DevnetKeyName,
  decodePrivateKeyText,
  errorMessage,
  keyImportError,
} from '../decoders';
import { readFileText } from '../files';
import { fingerprint } from '../format';
import { useServices, useSession } from '../services';

/** The outcome of the last key set-up: an error (role=alert) or progress and success (role=status). */
export function KeySetupFeedback({ state }: { readonly state: TaskState }) {
  return <TaskFeedback state={state} errorTestId="key-error" statusTestId="key-status" />;
}

/**
 * What the node-forge fallback means for the key: without a secure context the browser has no
 * WebCrypto, so the key lives as readable PKCS#8 bytes in this browser's storage (that is how a
 * reload keeps it), whatever the "exportable" box says. How to get WebCrypto instead.
 */
export function ForgeKeyNote() {
  return (
    <div className="banner banner-notice" role="note" data-testid="forge-key-note">
      <p>
        <strong>Your key is extractable in this browser.</strong> This page is not a secure context (it was
        opened over plain http from another machine), so the browser offers no WebCrypto: keys are made and
        used in JavaScript, and kept in this browser's IndexedDB as readable PKCS#8 bytes so that a reload
        keeps the wallet. Anyone with this browser profile, or any script on this page, can read it; the box
        below only decides whether the Export button shows it.
      </p>
      <p>
        For a key the browser keeps unreadable (and much faster signing), open the devnet over https: the
        teacher runs <code>npm start -- --lan</code> and you open the <code>https://</code> address it prints
        (or, on the teacher's machine, <code>http://localhost</code>).
      </p>
    </div>
  );
}

/** The devnet keys the set-up offers to take with one click. */
const DEVNET_KEYS: readonly DevnetKeyName[] = ['genesis', 'staker'];

/**
 * Creating or importing the wallet's key pair: generate, paste, pick or drop a PEM, or take a
 * devnet key. Its outcome is reported through `onState` (the parent shows it: this form moves
 * when a wallet appears).
 */
export function KeySetup({
  state,
  onState: setState,
}: {
  readonly state: TaskState;
  readonly onState: (state: TaskState) => void;
}) {
  const { crypto, node } = useServices();
  const session = useSession();
  const id = useId();
  const [exportable, setExportable] = useState(true);
  const [pemText, setPemText] = useState('');
  const [dragging, setDragging] = useState(false);
  const busy = state.status === 'busy';

  const adoptKey = async (keyPair: KeyPair, how: string) => {
    const size = checkAccountKey(keyPair.publicKeyPem);
    if (!size.ok) return setState({ status: 'error', message: size.error });
    try {
      await node.setWallet(keyPair);
    } catch (error) {
      return setState({
        status: 'error',
        message: `The node could not take the wallet: ${errorMessage(error)}.`,
      });
    }
    setPemText('');
    setState({
      status: 'done',
      message: `Wallet set to account ${fingerprint(keyPair.publicKeyPem)} (${how}).`,
    });
  };

  const create = async () => {
    setState({ status: 'busy', message: 'Generating an RSA-2048 key pair…' });
    try {
      await adoptKey(await crypto.generateKeyPair({ extractable: exportable }), 'new key pair');
    } catch (error) {
      setState({ status: 'error', message: `Could not create a key pair: ${errorMessage(error)}.` });
    }
  };

  const importText = async (text: string, source: string) => {
    const decoded = decodePrivateKeyText(text);
    if (!decoded.ok) return setState({ status: 'error', message: decoded.error });
    setState({ status: 'busy', message: 'Importing the key…' });
    let keyPair: KeyPair;
    try {
      keyPair = await crypto.importPrivateKeyPem(decoded.value, { extractable: exportable });
    } catch (error) {
      return setState({ status: 'error', message: keyImportError(error) });
    }
    await adoptKey(keyPair, source);
  };

  const importFile = async (file: File | undefined) => {
    if (!file) return;
    if (file.size > MAX_PEM_LENGTH) {
      return setState({ status: 'error', message: `${file.name} is too large to be a private key PEM.` });
    }
    let text: string;
    try {
      text = await readFileText(file);
    } catch (error) {
      return setState({ status: 'error', message: `Could not read ${file.name}: ${errorMessage(error)}.` });
    }
    await importText(text, `imported from ${file.name}`);
  };

  const importDevnet = async (name: DevnetKeyName) => {
    setState({ status: 'busy', message: `Fetching the devnet ${name} key…` });
    try {
      await adoptKey(await session.devnetKey(name), `devnet ${name} key`);
    } catch (error) {
      setState({
        status: 'error',
        message: `Could not import the devnet ${name} key: ${errorMessage(error)}`,
      });
    }
  };

  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    setDragging(false);
    const file = event.dataTransfer.files[0];
    if (file) void importFile(file);
    else void importText(event.dataTransfer.getData('text/plain'), 'dropped text');
  };

  return (
    <div className="key-setup">
      {crypto.name === 'forge' && <ForgeKeyNote />}
      <div className="field checkbox">
        <input
          id={`${id}-exportable`}
          type="checkbox"
          data-testid="key-exportable"
          checked={exportable}
          onChange={(event) => setExportable(event.target.checked)}
          aria-describedby={`${id}-exportable-hint`}
        />
        <label htmlFor={`${id}-exportable`}>Keep the private key exportable</label>
        <p className="hint" id={`${id}-exportable-hint`}>
          On by default on this teaching chain, so you can back the key up or move the account to another tab.
          Off, the browser signs with the key but never reveals it, and nothing can back it up.
        </p>
      </div>

      <div className="button-row">
        <button type="button" data-testid="create-key" onClick={create} disabled={busy}>
          Create a key pair
        </button>
      </div>

      <fieldset
        className={`drop-zone${dragging ? ' dragging' : ''}`}
        data-testid="import-key-drop"
        onDragOver={(event) => {
          event.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <legend>Import a private key</legend>
        <p className="hint">
          PKCS#1 (“BEGIN RSA PRIVATE KEY”) or PKCS#8 (“BEGIN PRIVATE KEY”): paste it, choose a file, or drop
          one here.
        </p>
        <div className="field">
          <label htmlFor={`${id}-pem`}>Private key PEM</label>
          <textarea
            id={`${id}-pem`}
            data-testid="import-key-text"
            className="pem-input"
            rows={4}
            spellCheck={false}
            autoComplete="off"
            placeholder="-----BEGIN RSA PRIVATE KEY-----"
            value={pemText}
            onChange={(event) => setPemText(event.target.value)}
          />
        </div>
        <div className="button-row">
          <button
            type="button"
            data-testid="import-key-submit"
            onClick={() => void importText(pemText, 'pasted key')}
            disabled={busy}
          >
            Import pasted key
          </button>
          <label className="file-button">
            <span>Choose a .pem file…</span>
            <input
              type="file"
              data-testid="import-key-file"
              accept=".pem,.key,.txt,application/x-pem-file,text/plain"
              disabled={busy}
              onChange={(event) => {
                void importFile(event.target.files?.[0]);
                event.target.value = '';
              }}
            />
          </label>
        </div>
      </fieldset>

      <div className="devnet-keys">
        <p className="hint">
          The devnet's keys are <strong>public test keys</strong>: anyone can sign with them. The genesis key
          forges the first blocks; with it in one tab the chain moves.
        </p>
        <div className="button-row">
          {DEVNET_KEYS.map((name) => (
            <button
              key={name}
              type="button"
              data-testid={`import-devnet-${name}`}
              onClick={() => importDevnet(name)}
              disabled={busy}
            >
              {`Use the devnet ${name} key`}
            </button>
          ))}
        </div>
      </div>
    </div>
  );
}
