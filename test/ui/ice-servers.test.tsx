// @vitest-environment jsdom
import { fireEvent, render, screen, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { chooseIceServers, ICE_SERVERS_SETTING_KEY } from '../../src/ui/bootstrap';
import type { DevnetConfig } from '../../src/ui/decoders';
import { IceServersCard, type SettingStorage } from '../../src/ui/network/IceServers';
import { type AppServices, ServicesProvider } from '../../src/ui/services';
import { cleanUpAfterEach, devnetConfig, makeServices, renderApp, startNode } from './helpers';

// Issue 14: the Network view sets this browser's STUN/TURN servers (the `tabchain.iceServers`
// setting, through the one decoder), shows the devnet's, and which are in force in this tab.

cleanUpAfterEach();

/** A localStorage stand-in that records what was written. */
function memoryStorage(initial: Record<string, string> = {}): SettingStorage & { data: Map<string, string> } {
  const data = new Map(Object.entries(initial));
  return {
    data,
    getItem: (key) => data.get(key) ?? null,
    setItem: (key, value) => void data.set(key, value),
    removeItem: (key) => void data.delete(key),
  };
}

const DEVNET_TURN: RTCIceServer = {
  urls: ['turn:10.88.0.1:3478?transport=udp'],
  username: 'class',
  credential: 'devnet-secret',
};

async function renderCard(
  options: { storage?: SettingStorage; devnet?: DevnetConfig; services?: Partial<AppServices> } = {},
) {
  const node = await startNode();
  const reload = vi.fn();
  const storage = options.storage ?? memoryStorage();
  const devnet = options.devnet ?? { ...devnetConfig(), iceServers: [DEVNET_TURN] };
  const services = makeServices(node, {
    devnet,
    iceServers: chooseIceServers(devnet, storage),
    ...options.services,
  });
  render(
    <ServicesProvider services={services}>
      <IceServersCard storage={storage} reload={reload} />
    </ServicesProvider>,
  );
  return { reload, storage };
}

/** Fills server row `index` (adding rows as needed). */
function fillRow(index: number, urls: string, username = '', credential = '') {
  while (screen.queryAllByTestId('ice-row').length <= index) fireEvent.click(screen.getByTestId('ice-add'));
  const row = screen.getAllByTestId('ice-row')[index] as HTMLElement;
  fireEvent.change(within(row).getByTestId('ice-url'), { target: { value: urls } });
  fireEvent.change(within(row).getByTestId('ice-username'), { target: { value: username } });
  fireEvent.change(within(row).getByTestId('ice-credential'), { target: { value: credential } });
}

describe('ICE servers in the Network view', () => {
  it('is on the Network page', async () => {
    const node = await startNode();
    renderApp(makeServices(node), '#/network');
    expect(await screen.findByTestId('ice-servers')).toBeTruthy();
  });

  it('shows the devnet’s servers in force when the user has no setting, never their credential', async () => {
    await renderCard();
    expect(screen.getByTestId('ice-source').getAttribute('data-value')).toBe('devnet');
    expect(screen.getByTestId('ice-in-force').textContent).toContain('turn:10.88.0.1:3478?transport=udp');
    expect(screen.getByTestId('ice-devnet').textContent).toContain('class');
    expect(screen.getByTestId('ice-servers').textContent).not.toContain('devnet-secret');
    expect(screen.getByTestId('ice-no-rows').textContent).toMatch(/devnet’s servers are used/);
    expect(screen.queryByTestId('ice-use-devnet')).toBeNull();
  });

  it('refuses what the decoder refuses, and saves nothing', async () => {
    const storage = memoryStorage();
    await renderCard({ storage });
    fillRow(0, 'http://10.0.0.1:3478');
    fireEvent.click(screen.getByTestId('ice-save'));
    expect(screen.getByTestId('ice-error').textContent).toMatch(/server 1.*not a STUN or TURN URL/);
    fillRow(0, 'turn:10.0.0.1:3478', 'student');
    fireEvent.click(screen.getByTestId('ice-save'));
    expect(screen.getByTestId('ice-error').textContent).toMatch(/needs a username and a credential/);
    fillRow(0, 'stun:10.0.0.1:70000');
    fireEvent.click(screen.getByTestId('ice-save'));
    expect(screen.getByTestId('ice-error').textContent).toMatch(/above 65535/);
    expect(storage.data.has(ICE_SERVERS_SETTING_KEY)).toBe(false);
  });

  it('saves STUN and TURN servers in the setting, which then wins over the devnet’s at the next load', async () => {
    const storage = memoryStorage();
    const { reload } = await renderCard({ storage });
    fillRow(0, 'stun:192.168.1.10:3478');
    fillRow(1, 'turn:192.168.1.10:3478?transport=udp, turns:192.168.1.10:5349', 'student', 's3cret');
    fireEvent.click(screen.getByTestId('ice-save'));
    expect(screen.getByTestId('ice-status').textContent).toMatch(
      /Saved 2 ICE servers.*when the page reloads/,
    );
    expect(JSON.parse(storage.data.get(ICE_SERVERS_SETTING_KEY) ?? '')).toEqual([
      { urls: ['stun:192.168.1.10:3478'] },
      {
        urls: ['turn:192.168.1.10:3478?transport=udp', 'turns:192.168.1.10:5349'],
        username: 'student',
        credential: 's3cret',
      },
    ]);
    // This tab still runs on what it loaded with; the reload applies the setting.
    expect(screen.getByTestId('ice-source').getAttribute('data-value')).toBe('devnet');
    fireEvent.click(screen.getByTestId('ice-reload'));
    expect(reload).toHaveBeenCalledOnce();
    const next = chooseIceServers({ iceServers: [DEVNET_TURN] }, storage);
    expect(next).toMatchObject({ source: 'setting', notice: null });
    expect(next.servers).toHaveLength(2);
  });

  it('starts from the saved setting, and removing it gives the devnet’s servers back', async () => {
    const storage = memoryStorage({
      [ICE_SERVERS_SETTING_KEY]: JSON.stringify([{ urls: 'stun:127.0.0.1:3478' }]),
    });
    await renderCard({ storage });
    expect(screen.getByTestId('ice-source').getAttribute('data-value')).toBe('setting');
    expect(screen.getByTestId('ice-in-force').textContent).toContain('stun:127.0.0.1:3478');
    expect((screen.getByTestId('ice-url') as HTMLInputElement).value).toBe('stun:127.0.0.1:3478');
    fireEvent.click(screen.getByTestId('ice-use-devnet'));
    expect(storage.data.has(ICE_SERVERS_SETTING_KEY)).toBe(false);
    expect(screen.getByTestId('ice-status').textContent).toMatch(/devnet’s servers.*reloads/);
    expect(chooseIceServers({ iceServers: [DEVNET_TURN] }, storage).source).toBe('devnet');
  });

  it('an empty list saved is the user’s choice of no servers, and wins over the devnet’s', async () => {
    const storage = memoryStorage();
    await renderCard({ storage });
    fireEvent.click(screen.getByTestId('ice-save'));
    expect(screen.getByTestId('ice-status').textContent).toMatch(/no ICE servers, whatever the devnet says/);
    expect(storage.data.get(ICE_SERVERS_SETTING_KEY)).toBe('[]');
    expect(chooseIceServers({ iceServers: [DEVNET_TURN] }, storage)).toEqual({
      servers: [],
      source: 'setting',
      notice: null,
    });
  });

  it('with neither a setting nor devnet servers, says that links are direct only', async () => {
    await renderCard({ devnet: devnetConfig() });
    expect(screen.getByTestId('ice-source').getAttribute('data-value')).toBe('none');
    expect(screen.getByTestId('ice-source').textContent).toMatch(/direct links only/);
    expect(screen.getByTestId('ice-devnet').getAttribute('data-count')).toBe('0');
  });
});
