import { describe, expect, it, vi } from 'vitest';
import { createTransport } from '../../src/net';

// createTransport('peerjs') loads PeerJS only when the transport starts (a chunk of its own in the
// build): before that it is a transport with no peers, and one stopped before it started never
// starts.
describe('the PeerJS transport, loaded on start', () => {
  it('has no peers before start, and refuses sends', () => {
    const transport = createTransport('peerjs', { serverUrl: 'http://127.0.0.1:9/', room: 'r' });
    expect(transport.localId).toBe('');
    expect(transport.status()).toEqual({ kind: 'peerjs', signaling: 'down' });
    expect(transport.connectedPeers()).toEqual([]);
    expect(transport.send('tc-x', 'hello')).toBe(false);
    transport.connect('tc-x');
    transport.disconnect('tc-x');
  });

  it('stopped while its module loads, it reports nothing and opens nothing; start twice is refused', async () => {
    const transport = createTransport('peerjs', { serverUrl: 'http://127.0.0.1:9/', room: 'r' });
    const onStatus = vi.fn();
    const handlers = {
      onPeerConnected: vi.fn(),
      onPeerDisconnected: vi.fn(),
      onMessage: vi.fn(),
      onStatus,
    };
    const started = transport.start(handlers);
    await expect(transport.start(handlers)).rejects.toThrow(/already called/);
    await transport.stop();
    await started;
    expect(onStatus).not.toHaveBeenCalled();
    expect(transport.status()).toEqual({ kind: 'peerjs', signaling: 'down' });
  });

  it('aborted before it loads, it never starts', async () => {
    const transport = createTransport('peerjs', { serverUrl: 'http://127.0.0.1:9/', room: 'r' });
    const controller = new AbortController();
    const onStatus = vi.fn();
    const started = transport.start(
      { onPeerConnected: vi.fn(), onPeerDisconnected: vi.fn(), onMessage: vi.fn(), onStatus },
      controller.signal,
    );
    controller.abort();
    await started;
    expect(onStatus).not.toHaveBeenCalled();
  });
});
