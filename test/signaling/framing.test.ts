import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay, FramedSender, frames, Reassembler } from '../../src/net/channel';
import { transportKindFromSettings } from '../../src/net/index';
import { roomTag } from '../../src/net/peerjs';

describe('message framing', () => {
  it('sends short messages as one frame and long ones in chunks that reassemble exactly', () => {
    expect([...frames('hello')]).toEqual(['whello']);
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 300 }),
        fc.integer({ min: 2, max: 40 }),
        (text, size) => {
          const reassembler = new Reassembler();
          const out: string[] = [];
          for (const frame of frames(text, size)) {
            const result = reassembler.push(frame);
            if (!result.ok) throw new Error(result.reason);
            if (result.message !== null) out.push(result.message);
          }
          expect(out).toEqual([text]);
        },
      ),
    );
  });

  it('never cuts a surrogate pair (a lone half would not survive UTF-8)', () => {
    const text = '🙂'.repeat(100);
    for (const frame of frames(text, 7)) {
      const body = frame.startsWith('s') ? frame.slice(frame.indexOf(':') + 1) : frame.slice(1);
      expect(new TextDecoder().decode(new TextEncoder().encode(body))).toBe(body);
    }
  });

  it('refuses frames out of order, bad headers, overruns and oversized messages', () => {
    expect(new Reassembler().push('cabc').ok).toBe(false);
    expect(new Reassembler().push('x').ok).toBe(false);
    expect(new Reassembler().push(new Uint8Array(3)).ok).toBe(false);
    expect(new Reassembler().push('s1e3:abc').ok).toBe(false);
    expect(new Reassembler(10).push('s11:abc').ok).toBe(false);
    expect(new Reassembler(3).push('wabcd').ok).toBe(false);
    const overrun = new Reassembler();
    expect(overrun.push('s4:abc')).toEqual({ ok: true, message: null });
    expect(overrun.push('cde').ok).toBe(false);
    const nested = new Reassembler();
    nested.push('s4:ab');
    expect(nested.push('wxy').ok).toBe(false);
  });

  it('waits for the channel to drain above the high-water mark', async () => {
    let buffered = 0;
    const sent: string[] = [];
    let drains = 0;
    const sender = new FramedSender(
      {
        send: (frame) => {
          sent.push(frame);
          buffered += frame.length;
        },
        bufferedAmount: () => buffered,
        waitForDrain: async () => {
          drains += 1;
          buffered = 0;
        },
      },
      (reason) => {
        throw new Error(reason);
      },
    );
    const text = 'x'.repeat(3 * 1024 * 1024);
    expect(sender.enqueue(text)).toBe(true);
    expect(sender.enqueue('after')).toBe(true);
    for (let i = 0; i < 100 && sent.at(-1) !== 'wafter'; i++)
      await new Promise((resolve) => setTimeout(resolve, 5));
    expect(sent.at(-1)).toBe('wafter');
    expect(drains).toBeGreaterThanOrEqual(2);
    const reassembler = new Reassembler();
    const out = sent
      .map((frame) => reassembler.push(frame))
      .flatMap((r) => (r.ok && r.message !== null ? [r.message] : []));
    expect(out).toEqual([text, 'after']);
  });
});

describe('transport helpers', () => {
  it('backs off exponentially with jitter, up to the cap', () => {
    expect(backoffDelay(0, 250, 10_000, () => 0)).toBe(125);
    expect(backoffDelay(0, 250, 10_000, () => 0.999)).toBeCloseTo(250, 0);
    expect(backoffDelay(3, 250, 10_000, () => 0.5)).toBe(1500);
    expect(backoffDelay(50, 250, 10_000, () => 1)).toBe(10_000);
  });

  it('reads the transport kind from the URL, then localStorage, else simple-peer', () => {
    const storage = (value: string | null) => ({ getItem: () => value });
    expect(transportKindFromSettings('?transport=peerjs', storage('simple-peer'))).toBe('peerjs');
    expect(transportKindFromSettings('?transport=bogus', storage('peerjs'))).toBe('peerjs');
    expect(transportKindFromSettings('', storage(null))).toBe('simple-peer');
    expect(transportKindFromSettings('', undefined)).toBe('simple-peer');
    const throwing = {
      getItem: () => {
        throw new Error('denied');
      },
    };
    expect(transportKindFromSettings('', throwing)).toBe('simple-peer');
  });

  it('tags PeerJS ids by room', () => {
    expect(roomTag('tabchain-devnet')).toMatch(/^[0-9a-f]{8}$/);
    expect(roomTag('a')).not.toBe(roomTag('b'));
  });
});
