// @vitest-environment jsdom
import { fireEvent, screen, waitFor } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { blockHash, createBlock } from '../../src/core';
import {
  type ChainVector,
  type InvalidChainVector,
  readVector,
  VECTOR_GENESIS_KEY,
} from '../helpers/vectors';
import {
  cleanUpAfterEach,
  devnetConfig,
  devnetKeyPair,
  fakeDatabases,
  makeServices,
  renderApp,
  startNode,
  withSnapshot,
} from './helpers';

cleanUpAfterEach(() => vi.restoreAllMocks());

function chainFile(value: unknown, name = 'chain.json'): File {
  return new File([typeof value === 'string' ? value : JSON.stringify(value)], name, {
    type: 'application/json',
  });
}

function importFile(file: File): void {
  fireEvent.change(screen.getByTestId('import-chain-file'), { target: { files: [file] } });
}

describe('chain import', () => {
  const invalid = readVector<InvalidChainVector[]>('chains-invalid.json');

  it.each(
    invalid
      .filter((_, index) => index === 0 || index === 3 || index === 5)
      .map((row) => [row.defect, row] as const),
  )('names the first invalid block of a chain with %s', async (_defect, row) => {
    const node = await startNode({ genesisPublicKey: VECTOR_GENESIS_KEY() });
    renderApp(makeServices(node), '#/network');
    importFile(chainFile(row.chain));
    const error = await screen.findByTestId('import-chain-error', {}, { timeout: 20_000 });
    expect(error.getAttribute('role')).toBe('alert');
    expect(error.textContent).toContain(`Block ${row.firstInvalidBlock} is invalid:`);
    // The valid prefix before it is longer than a fresh node's chain: it is adopted.
    expect(error.textContent).toContain(`it is now at height ${row.firstInvalidBlock - 1}`);
    expect(screen.getByTestId('head-height').textContent).toBe(String(row.firstInvalidBlock - 1));
  });

  it('gives the error code of the first invalid block', async () => {
    const node = await startNode({ genesisPublicKey: VECTOR_GENESIS_KEY() });
    renderApp(makeServices(node), '#/network');
    const row = invalid.find((r) => r.defect.startsWith('block signature')) as InvalidChainVector;
    importFile(chainFile(row.chain));
    const error = await screen.findByTestId('import-chain-error', {}, { timeout: 20_000 });
    expect(error.textContent).toMatch(/Block 20 is invalid: BAD_BLOCK_SIGNATURE: /);
  });

  it('adopts a valid, longer chain', async () => {
    const node = await startNode({ genesisPublicKey: VECTOR_GENESIS_KEY() });
    renderApp(makeServices(node), '#/network');
    const vector = readVector<ChainVector>('chain-long.json');
    importFile(chainFile(vector.chain));
    const result = await screen.findByTestId('import-chain-result', {}, { timeout: 20_000 });
    await waitFor(() => expect(result.textContent).toMatch(/Adopted 40 blocks/));
    expect(screen.getByTestId('head-height').textContent).toBe('40');
    expect(screen.getByTestId('head-hash').getAttribute('data-value')).toBe(vector.expect.head);
  });

  it('refuses a file that is not JSON, or not a chain', async () => {
    const node = await startNode({ genesisPublicKey: VECTOR_GENESIS_KEY() });
    renderApp(makeServices(node), '#/network');
    importFile(chainFile('{"blocks": [', 'broken.json'));
    expect((await screen.findByTestId('import-chain-error')).textContent).toMatch(/The file is not JSON/);
    importFile(chainFile({ chain: [] }));
    await waitFor(() =>
      expect(screen.getByTestId('import-chain-error').textContent).toMatch(
        /Not a chain file: expected a JSON object/,
      ),
    );
  });

  it("refuses a chain of another network (its block 1 does not link to this node's genesis)", async () => {
    const node = await startNode();
    renderApp(makeServices(node), '#/network');
    importFile(chainFile(readVector<ChainVector>('chain-interaction.json').chain));
    const error = await screen.findByTestId('import-chain-error', {}, { timeout: 20_000 });
    expect(error.textContent).toMatch(/Block 1 is invalid: /);
    expect(error.textContent).toMatch(/kept its own chain/);
    expect(screen.getByTestId('head-height').textContent).toBe('0');
  });
});

describe('chain export', () => {
  it('downloads {"blocks": [...]} through a Blob link', async () => {
    const node = await startNode({ wallet: await devnetKeyPair('genesis') });
    let blob: Blob | undefined;
    const createObjectURL = vi.fn((value: Blob) => {
      blob = value;
      return 'blob:tabchain-test';
    });
    Object.assign(URL, { createObjectURL, revokeObjectURL: vi.fn() });
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (
      this: HTMLAnchorElement,
    ) {
      expect(this.download).toBe('tabchain-devnet-chain-0.json');
      expect(this.href).toBe('blob:tabchain-test');
    });
    renderApp(makeServices(node), '#/network');
    fireEvent.click(screen.getByTestId('export-chain'));
    await vi.waitFor(() => expect(click).toHaveBeenCalledOnce());
    const text = await new Promise<string>((resolve) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result));
      reader.readAsText(blob as Blob);
    });
    expect(JSON.parse(text)).toEqual(await node.exportChain());
    expect(Object.keys(JSON.parse(text))).toEqual(['blocks']);
  });
});

describe('the network view', () => {
  it("shows this node's ids, transport, signaling status, peers and pool", async () => {
    const node = await startNode();
    const fake = withSnapshot(node, { transport: { kind: 'simple-peer', signaling: 'down' } });
    renderApp(makeServices(fake, { nodeId: '0123456789abcdef' }), '#/network');
    expect(screen.getByTestId('node-id').textContent).toBe('0123456789abcdef');
    expect(screen.getByTestId('peer-id').textContent).toBe('ui-test');
    expect(screen.getByTestId('transport-kind').textContent).toBe('simple-peer');
    expect(screen.getByTestId('signaling-status').getAttribute('data-value')).toBe('down');
    expect(screen.getByTestId('signaling-status').textContent).toMatch(/keeps working alone/);
    expect(screen.getByTestId('peer-count').textContent).toBe('0');
    expect(screen.getByTestId('pool-size').textContent).toBe('0');
    expect(screen.getByTestId('network-name').textContent).toBe(devnetConfig().network);
    expect(screen.getByTestId('genesis-hash').textContent).toBe(
      'b61900e4532596cc8d24dece2bb7f3e8533acfe7b6b9f2954fc618b6abfacc9d',
    );
  });

  it('lists peers with their height and round-trip time', async () => {
    const node = await startNode();
    const fake = withSnapshot(node, {
      peers: [
        {
          id: 'peer-a',
          score: 0,
          height: 5,
          head: null,
          forgerKey: devnetConfig().genesisPublicKey,
          alwaysOn: false,
          forging: true,
          rttMs: 12,
        },
        {
          id: 'peer-b',
          score: -20,
          height: 0,
          head: null,
          forgerKey: null,
          alwaysOn: false,
          forging: false,
          rttMs: null,
        },
      ],
    });
    renderApp(makeServices(fake), '#/network');
    expect(screen.getByTestId('peer-count').textContent).toBe('2');
    const rows = screen.getAllByTestId('peer-row');
    expect(rows[0]?.textContent).toMatch(/peer-a5 \(ahead\)12 ms0/);
    expect(rows[0]?.textContent).not.toMatch(/not forging/);
    expect(rows[1]?.textContent).toMatch(/peer-b0—-20no key/);
    expect(screen.queryByTestId('peer-always-on')).toBeNull();
  });

  it('lists always-on peers first, each with a badge, and says when a peer holds a key it does not forge with', async () => {
    const node = await startNode();
    const key = devnetConfig().genesisPublicKey;
    const peer = (id: string, alwaysOn: boolean, forging: boolean) => ({
      id,
      score: 0,
      height: 0,
      head: null,
      forgerKey: key,
      alwaysOn,
      forging,
      rttMs: null,
    });
    const fake = withSnapshot(node, {
      peers: [peer('tab-1', false, false), peer('node-1', true, true), peer('tab-2', false, true)],
    });
    renderApp(makeServices(fake), '#/network');
    const rows = screen.getAllByTestId('peer-row');
    expect(rows.map((row) => row.querySelector('code')?.textContent)).toEqual(['node-1', 'tab-1', 'tab-2']);
    const badges = screen.getAllByTestId('peer-always-on');
    expect(badges).toHaveLength(1);
    expect(rows[0]?.contains(badges[0] as HTMLElement)).toBe(true);
    expect(badges[0]?.textContent).toBe('always-on');
    expect(rows[1]?.textContent).toMatch(/holds it, not forging/);
    expect(rows[2]?.textContent).not.toMatch(/not forging/);
  });

  it('shows an equivocation as one key forging twice at one height, with both blocks', async () => {
    const node = await startNode();
    const forger = devnetConfig().genesisPublicKey;
    const otherBlock = { ...createBlock([], 'a'.repeat(64), forger, 3, 1234), signature: 'ab'.repeat(128) };
    const keptHash = 'c'.repeat(64);
    const fake = withSnapshot(node, {
      equivocations: [{ forger, height: 3, keptHash, otherBlock, seenAt: 0 }],
    });
    renderApp(
      makeServices({ ...fake, heightOf: (hash) => (hash === keptHash ? 3 : undefined) }),
      '#/network',
    );
    expect(screen.getByRole('heading', { name: 'A key forged twice' })).toBeTruthy();
    const [item] = screen.getAllByTestId('equivocation');
    expect(item?.getAttribute('data-height')).toBe('3');
    expect(item?.textContent).toMatch(/forged two blocks at height #3/);
    const kept = screen.getByTestId('equivocation-kept');
    expect(kept.getAttribute('data-value')).toBe(keptHash);
    expect(kept.getAttribute('data-on-chain')).toBe('true');
    expect(kept.querySelector('a')?.getAttribute('href')).toBe('#/block/3');
    const other = screen.getByTestId('equivocation-other');
    expect(other.getAttribute('data-value')).toBe(blockHash(otherBlock));
    expect(other.getAttribute('data-on-chain')).toBe('false');
    expect(other.querySelector('a')).toBeNull();
    expect(other.textContent).toMatch(/not on this chain/);
  });

  it('shows sync progress as a progress bar', async () => {
    const node = await startNode();
    const fake = withSnapshot(node, {
      sync: { peer: 'peer-a', forkHeight: 0, targetHeight: 200, validatedHeight: 64 },
    });
    renderApp(makeServices(fake), '#/network');
    const bar = screen.getByRole('progressbar');
    expect(bar.getAttribute('data-testid')).toBe('sync-progress');
    expect(bar.getAttribute('aria-valuenow')).toBe('64');
    expect(bar.getAttribute('aria-valuemax')).toBe('200');
    expect(bar.getAttribute('aria-valuetext')).toBe('Validated up to block 64 of 200');
  });

  it("shows the storage notices from start-up and from the node's snapshot", async () => {
    const node = await startNode();
    const fake = withSnapshot(node, { notices: ['The stored chain was repaired.'] });
    renderApp(
      makeServices(fake, { startupNotices: ['IndexedDB is not available: memory only.'] }),
      '#/network',
    );
    const notices = screen.getByTestId('notices');
    expect(notices.textContent).toContain('IndexedDB is not available: memory only.');
    expect(notices.textContent).toContain('The stored chain was repaired.');
    expect(screen.getByTestId('notices-banner').textContent).toMatch(/IndexedDB is not available/);
  });

  it("lists old nodes' databases, never this node's, and deletes one after confirming", async () => {
    const node = await startNode();
    const databases = fakeDatabases(['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb', 'cccccccccccccccc']);
    renderApp(makeServices(node, { databases, nodeId: 'aaaaaaaaaaaaaaaa' }), '#/network');
    const list = await screen.findByTestId('old-databases');
    expect(list.textContent).not.toContain('tabchain-node-aaaaaaaaaaaaaaaa');
    expect(list.textContent).toContain('tabchain-node-bbbbbbbbbbbbbbbb');
    const [first] = screen.getAllByTestId('delete-database');
    expect(first?.getAttribute('data-node-id')).toBe('bbbbbbbbbbbbbbbb');
    fireEvent.click(first as HTMLElement);
    expect(databases.removed).toEqual([]);
    fireEvent.click(screen.getByTestId('delete-database-confirm'));
    await waitFor(() => expect(databases.removed).toEqual(['bbbbbbbbbbbbbbbb']));
    await waitFor(() =>
      expect(screen.getByTestId('old-databases').textContent).not.toContain('bbbbbbbbbbbbbbbb'),
    );
  });
});

describe('the "waiting for forger" banner', () => {
  it('shows when no online node holds the next forger key', async () => {
    const node = await startNode();
    renderApp(makeServices(node), '#/explorer');
    const banner = screen.getByTestId('waiting-for-forger');
    expect(banner.getAttribute('data-value')).toBe(devnetConfig().genesisPublicKey);
    expect(banner.textContent).toMatch(/Waiting for forger/);
    expect(banner.getAttribute('role')).toBe('status');
  });

  it('is hidden while this tab holds the forger key', async () => {
    const node = await startNode({ wallet: await devnetKeyPair('genesis') });
    renderApp(makeServices(node), '#/explorer');
    expect(screen.queryByTestId('waiting-for-forger')).toBeNull();
  });

  it('shows when the chain has stalled although the forger is online', async () => {
    const node = await startNode({ wallet: await devnetKeyPair('genesis') });
    const real = node.getSnapshot();
    const fake = withSnapshot(node, {
      waitingFor: { ...real.waitingFor, online: true, stalled: true, pendingSince: 1 },
    });
    renderApp(makeServices(fake), '#/wallet');
    expect(screen.getByTestId('waiting-for-forger').textContent).toMatch(/waited too long for a block/);
  });

  it('disappears once the forger key comes online', async () => {
    const node = await startNode();
    renderApp(makeServices(node), '#/wallet');
    expect(screen.getByTestId('waiting-for-forger')).toBeTruthy();
    fireEvent.click(screen.getByTestId('import-devnet-genesis'));
    await waitFor(() => expect(screen.queryByTestId('waiting-for-forger')).toBeNull());
  });
});
