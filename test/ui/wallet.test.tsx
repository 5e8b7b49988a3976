// @vitest-environment jsdom
import { fireEvent, screen, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { KeyPair } from '../../src/crypto';
import { createMemoryStore } from '../../src/storage/memory';
import {
  cleanUpAfterEach,
  crypto,
  devnetConfig,
  devnetKeyPair,
  devnetPem,
  renderWithWallet,
  startNode,
} from './helpers';

cleanUpAfterEach();

function pemFile(text: string, name = 'key.pem'): File {
  return new File([text], name, { type: 'application/x-pem-file' });
}

describe('wallet: creating a key pair', () => {
  it('creates an exportable key by default, sets it on the node and exports it with a warning', async () => {
    const { node } = await renderWithWallet(null);
    expect(screen.getByText(/This tab has no wallet yet/)).toBeTruthy();
    expect((screen.getByTestId('key-exportable') as HTMLInputElement).checked).toBe(true);
    fireEvent.click(screen.getByTestId('create-key'));
    const mine = await screen.findByTestId('my-public-key', {}, { timeout: 10_000 });
    const pem = mine.getAttribute('data-value') ?? '';
    expect(pem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(node.getSnapshot().wallet).toEqual({ publicKeyPem: pem, extractable: true });
    expect(screen.getByTestId('my-balance').textContent).toBe('0');
    expect(screen.getByTestId('my-stake').textContent).toBe('0');

    fireEvent.click(screen.getByTestId('export-key'));
    const exported = (await screen.findByTestId('exported-key')) as HTMLTextAreaElement;
    expect(exported.value).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/);
    expect(screen.getByText(/Whoever has this text controls the account/)).toBeTruthy();
    // The exported PEM is the same account.
    const again = await crypto.importPrivateKeyPem(exported.value);
    expect(again.publicKeyPem).toBe(pem);
  });

  it('creates a non-exportable key when asked, and explains why it cannot be exported', async () => {
    const { node } = await renderWithWallet(null);
    fireEvent.click(screen.getByTestId('key-exportable'));
    fireEvent.click(screen.getByTestId('create-key'));
    await screen.findByTestId('my-public-key', {}, { timeout: 10_000 });
    expect(node.getSnapshot().wallet?.extractable).toBe(false);
    expect(screen.getByTestId('export-key-unavailable').textContent).toMatch(/not exportable/);
    expect(screen.queryByTestId('export-key')).toBeNull();
  });
});

describe('wallet: importing a key', () => {
  it('refuses an empty paste', async () => {
    await renderWithWallet(null);
    fireEvent.click(screen.getByTestId('import-key-submit'));
    expect((await screen.findByTestId('key-error')).textContent).toMatch(/Paste a private key PEM/);
    expect(screen.getByRole('alert').textContent).toMatch(/Paste a private key/);
  });

  it('refuses a public key pasted instead of a private one', async () => {
    const { node } = await renderWithWallet(null);
    fireEvent.change(screen.getByTestId('import-key-text'), {
      target: { value: devnetPem('staker', 'Public') },
    });
    fireEvent.click(screen.getByTestId('import-key-submit'));
    expect((await screen.findByTestId('key-error')).textContent).toMatch(/This is a public key/);
    expect(node.getSnapshot().wallet).toBeNull();
  });

  it('refuses text that is not a PEM, and a PEM whose body is not a key', async () => {
    await renderWithWallet(null);
    fireEvent.change(screen.getByTestId('import-key-text'), { target: { value: 'hello' } });
    fireEvent.click(screen.getByTestId('import-key-submit'));
    expect((await screen.findByTestId('key-error')).textContent).toMatch(/Not a PEM private key/);

    const broken = '-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD9\n-----END RSA PRIVATE KEY-----';
    fireEvent.change(screen.getByTestId('import-key-text'), { target: { value: broken } });
    fireEvent.click(screen.getByTestId('import-key-submit'));
    await waitFor(() =>
      expect(screen.getByTestId('key-error').textContent).toMatch(/The key could not be read/),
    );
  });

  it('imports a pasted PKCS#1 key with CRLF line endings', async () => {
    const { node } = await renderWithWallet(null);
    const pem = devnetPem('staker').replace(/\n/g, '\r\n');
    fireEvent.change(screen.getByTestId('import-key-text'), { target: { value: `\r\n${pem}\r\n` } });
    fireEvent.click(screen.getByTestId('import-key-submit'));
    const mine = await screen.findByTestId('my-public-key');
    expect(mine.getAttribute('data-value')).toBe(devnetConfig().stakerPublicKey);
    expect(node.getSnapshot().wallet?.publicKeyPem).toBe(devnetConfig().stakerPublicKey);
    expect(mine.textContent).toContain('you, devnet staker');
  });

  it('imports a PKCS#8 key from the file picker', async () => {
    const { node } = await renderWithWallet(null);
    const generated = await crypto.generateKeyPair({ extractable: true });
    const pkcs1 = await crypto.exportPrivateKeyPem(generated);
    const { privateKeyPemToPkcs8Der } = await import('../../src/crypto');
    const der = privateKeyPemToPkcs8Der(pkcs1);
    const base64 = btoa(String.fromCharCode(...der));
    const pkcs8 = `-----BEGIN PRIVATE KEY-----\n${base64.match(/.{1,64}/g)?.join('\n')}\n-----END PRIVATE KEY-----\n`;
    fireEvent.change(screen.getByTestId('import-key-file'), { target: { files: [pemFile(pkcs8)] } });
    const mine = await screen.findByTestId('my-public-key');
    expect(mine.getAttribute('data-value')).toBe(generated.publicKeyPem);
    expect(node.getSnapshot().wallet?.publicKeyPem).toBe(generated.publicKeyPem);
  });

  it('refuses a public key file from the file picker', async () => {
    await renderWithWallet(null);
    fireEvent.change(screen.getByTestId('import-key-file'), {
      target: { files: [pemFile(devnetPem('genesis', 'Public'))] },
    });
    expect((await screen.findByTestId('key-error')).textContent).toMatch(/This is a public key/);
  });

  it('imports a key file dropped on the import area', async () => {
    const { node } = await renderWithWallet(null);
    fireEvent.drop(screen.getByTestId('import-key-drop'), {
      dataTransfer: { files: [pemFile(devnetPem('genesis'))], getData: () => '' },
    });
    await screen.findByTestId('my-public-key');
    expect(node.getSnapshot().wallet?.publicKeyPem).toBe(devnetConfig().genesisPublicKey);
  });

  it('imports the devnet genesis and staker keys with one click each', async () => {
    const { node } = await renderWithWallet(null);
    fireEvent.click(screen.getByTestId('import-devnet-staker'));
    await waitFor(() => expect(node.getSnapshot().wallet?.publicKeyPem).toBe(devnetConfig().stakerPublicKey));
    expect(screen.getByTestId('key-status').textContent).toMatch(/devnet staker key/);
    fireEvent.click(screen.getByTestId('import-devnet-genesis'));
    await waitFor(() =>
      expect(node.getSnapshot().wallet?.publicKeyPem).toBe(devnetConfig().genesisPublicKey),
    );
    expect(screen.getByTestId('my-public-key').getAttribute('data-value')).toBe(
      devnetConfig().genesisPublicKey,
    );
    // The genesis key is the only staker: this tab now forges the next block.
    expect(screen.getByTestId('my-forging').textContent).toMatch(/You forge the next block/);
    expect(screen.getByTestId('my-stake').textContent).toBe('1');
  });

  it('refuses a served devnet key that does not match devnet.json', async () => {
    const { node } = await renderWithWallet(null, { loadDevnetKey: async () => devnetPem('staker') });
    fireEvent.click(screen.getByTestId('import-devnet-genesis'));
    expect((await screen.findByTestId('key-error')).textContent).toMatch(
      /does not belong to devnet.json's genesis/,
    );
    expect(node.getSnapshot().wallet).toBeNull();
  });

  it('says so when the server has no devnet key', async () => {
    await renderWithWallet(null, {
      loadDevnetKey: async () => {
        throw new Error('The server has no key at /keys/stakerPrivateKey.pem (npm run devnet-keys).');
      },
    });
    fireEvent.click(screen.getByTestId('import-devnet-staker'));
    expect((await screen.findByTestId('key-error')).textContent).toMatch(/The server has no key/);
  });
});

describe('the wallet after a reload', () => {
  it('is restored by the node from its store, private key included, so the tab can still sign', async () => {
    const store = createMemoryStore();
    const genesis = await devnetKeyPair('genesis');
    // The first tab's node closes its store on stop; the memory store would refuse a reopen.
    const first = await startNode({ store: { ...store, close: async () => {} }, id: 'first' });
    await first.setWallet(genesis);
    // Stopping closes the store; the memory store keeps its data for the "reload".
    await first.stop();
    const node = await startNode({ store, id: 'second' });
    expect(node.getSnapshot().wallet?.publicKeyPem).toBe(genesis.publicKeyPem);
    const restored = node.walletKeyPair();
    expect(restored?.publicKeyPem).toBe(genesis.publicKeyPem);
    const message = new TextEncoder().encode('signed after a reload');
    expect(
      await crypto.verify(genesis.publicKeyPem, message, await crypto.sign(restored as KeyPair, message)),
    ).toBe(true);
  });
});
