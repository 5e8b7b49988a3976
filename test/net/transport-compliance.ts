/**
 * The shared compliance suite of the `Transport` port: every implementation (memory now, WebRTC
 * later) registers it with a factory, so they all keep the contract the node relies on. The suite
 * never assumes virtual time: it calls `pump()` and polls, so a real transport's `pump` can just
 * wait a little.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import type { PeerId, Transport, TransportHandlers, TransportStatus } from '../../src/ports/transport';

/** What a factory hands the suite: three fresh, unstarted transports on one network. */
export interface ComplianceFixture {
  /** Three transports that can reach each other, not yet started. */
  readonly transports: [Transport, Transport, Transport];
  /** Lets the implementation deliver pending events (run a simulated network, or wait a bit). */
  pump(): Promise<void>;
  /** Releases everything the fixture holds; called after each test, even a failing one. */
  cleanup(): Promise<void>;
  /**
   * The signaling server (or the twin's simulation of one), when the suite asked for
   * `signalingOutage`: `interrupt` takes it away, `restore` brings it back.
   */
  readonly signaling?: { interrupt(): Promise<void>; restore(): Promise<void> };
}

/** Fixture settings the suite asks for; a factory must honour them. */
export interface ComplianceOptions {
  /** The per-node channel cap to configure (the cap test asks for 1); otherwise the implementation's default. */
  readonly maxPeersPerNode?: number;
  /** The test interrupts signaling: the fixture must return `signaling` (and may give it a server of its own). */
  readonly signalingOutage?: boolean;
}

/** One event a transport delivered to its handlers. */
type Recorded =
  | { readonly kind: 'connected' | 'disconnected'; readonly peer: PeerId }
  | { readonly kind: 'message'; readonly peer: PeerId; readonly data: string };

/** A status event: what was reported, and what `status()` said at that moment. */
interface StatusEvent {
  readonly reported: TransportStatus;
  readonly actual: TransportStatus | null;
}

/** Handlers that record every event, in order (status events apart: they may come at any time). */
class Recorder implements TransportHandlers {
  readonly events: Recorded[] = [];
  readonly statuses: StatusEvent[] = [];

  /** `transport`, when given, is asked for its `status()` as each status event arrives. */
  constructor(private readonly transport?: Transport) {}

  onStatus(status: TransportStatus): void {
    this.statuses.push({ reported: status, actual: this.transport?.status() ?? null });
  }

  /** The last status reported, if any. */
  lastStatus(): TransportStatus | undefined {
    return this.statuses.at(-1)?.reported;
  }

  onPeerConnected(peer: PeerId): void {
    this.events.push({ kind: 'connected', peer });
  }

  onPeerDisconnected(peer: PeerId): void {
    this.events.push({ kind: 'disconnected', peer });
  }

  onMessage(peer: PeerId, data: string): void {
    this.events.push({ kind: 'message', peer, data });
  }

  count(kind: Recorded['kind'], peer: PeerId): number {
    return this.events.filter((event) => event.kind === kind && event.peer === peer).length;
  }

  messagesFrom(peer: PeerId): string[] {
    return this.events.flatMap((event) =>
      event.kind === 'message' && event.peer === peer ? [event.data] : [],
    );
  }
}

/** Pumps this many times at most while waiting for a condition; a real network pumps by waiting. */
const MAX_PUMPS = 100;

/** How often to pump while checking that nothing (more) happens. */
const QUIET_PUMPS = 3;

/** Long enough to need chunking on WebRTC (data channels cap messages at ~256 KB). */
const ONE_MEGABYTE = [
  'x'.repeat(1024 * 512),
  'ü'.repeat(1024 * 256),
  '€'.repeat(1024 * 256 - 8),
  'end-🙂🙂',
].join('');

/** Multi-byte UTF-8, astral characters (surrogate pairs), combining marks, RTL, NUL and newlines. */
const NON_ASCII = 'Grüße, 世界! Ωμέγα — נקודה 🙂👍🏽 e\u0301 \u0000 "quoted" \\ back\nline\r\n\ttab';

/**
 * Registers the compliance tests for one implementation. `factory` makes a fresh fixture per
 * test; it may ignore `options` only if it never needs to pass the peer-cap test.
 */
export function transportCompliance(
  name: string,
  factory: (options?: ComplianceOptions) => Promise<ComplianceFixture>,
): void {
  describe(`Transport compliance: ${name}`, () => {
    /** A fresh fixture, cleaned up when the test ends. */
    const setup = async (options?: ComplianceOptions) => {
      const fixture = await factory(options);
      onTestFinished(() => fixture.cleanup());
      const pumpUntil = async (condition: () => boolean, what: string) => {
        for (let i = 0; i < MAX_PUMPS && !condition(); i++) await fixture.pump();
        if (!condition()) throw new Error(`timed out waiting for ${what}`);
      };
      const settle = async () => {
        for (let i = 0; i < QUIET_PUMPS; i++) await fixture.pump();
      };
      return { ...fixture, pumpUntil, settle };
    };

    /** Starts all three with recorders; returns the recorders and ids. */
    const startAll = async (transports: readonly Transport[]) => {
      const recorders = transports.map((transport) => new Recorder(transport));
      await Promise.all(transports.map((transport, i) => transport.start(recorders[i] as Recorder)));
      return { recorders, ids: transports.map((transport) => transport.localId) };
    };

    /** Connects `a` to `b` and waits until both sides know. */
    const link = async (
      fixture: Awaited<ReturnType<typeof setup>>,
      [a, b]: readonly [Transport, Transport],
    ): Promise<void> => {
      a.connect(b.localId);
      await fixture.pumpUntil(
        () => a.connectedPeers().includes(b.localId) && b.connectedPeers().includes(a.localId),
        `${a.localId} <-> ${b.localId}`,
      );
    };

    it('starts with an id and no peers, and stops', async () => {
      const fixture = await setup();
      const [a, b, c] = fixture.transports;
      await startAll([a, b, c]);
      const ids = [a.localId, b.localId, c.localId];
      for (const id of ids) expect(id).toMatch(/\S/);
      expect(new Set(ids).size).toBe(3);
      for (const transport of [a, b, c]) {
        expect(transport.connectedPeers()).toEqual([]);
        expect(['memory', 'simple-peer', 'peerjs']).toContain(transport.status().kind);
        expect(['connected', 'connecting', 'down', 'n/a']).toContain(transport.status().signaling);
      }
      await a.stop();
      a.connect(b.localId);
      await fixture.settle();
      expect(a.connectedPeers()).toEqual([]);
      expect(b.connectedPeers()).toEqual([]);
      expect(a.send(b.localId, 'after stop')).toBe(false);
    });

    it('fires onPeerConnected on both sides once, and a repeated connect is a no-op', async () => {
      const fixture = await setup();
      const [a, b, c] = fixture.transports;
      const { recorders } = await startAll([a, b, c]);
      const [ra, rb, rc] = recorders as [Recorder, Recorder, Recorder];
      await link(fixture, [a, b]);
      expect(ra.count('connected', b.localId)).toBe(1);
      expect(rb.count('connected', a.localId)).toBe(1);
      a.connect(b.localId);
      b.connect(a.localId);
      await fixture.settle();
      expect(ra.events).toEqual([{ kind: 'connected', peer: b.localId }]);
      expect(rb.events).toEqual([{ kind: 'connected', peer: a.localId }]);
      expect(rc.events).toEqual([]);
      expect(a.connectedPeers()).toEqual([b.localId]);
      expect(b.connectedPeers()).toEqual([a.localId]);
    });

    it('opens one channel per pair when both sides connect at once', async () => {
      const fixture = await setup();
      const [a, b, c] = fixture.transports;
      const { recorders } = await startAll([a, b, c]);
      const [ra, rb] = recorders as [Recorder, Recorder];
      a.connect(b.localId);
      b.connect(a.localId);
      await fixture.pumpUntil(
        () => a.connectedPeers().includes(b.localId) && b.connectedPeers().includes(a.localId),
        'the simultaneous channel',
      );
      await fixture.settle();
      expect(ra.count('connected', b.localId)).toBe(1);
      expect(rb.count('connected', a.localId)).toBe(1);
      expect(ra.count('disconnected', b.localId)).toBe(0);
      expect(rb.count('disconnected', a.localId)).toBe(0);
      expect(a.connectedPeers()).toEqual([b.localId]);
      expect(b.connectedPeers()).toEqual([a.localId]);
      expect(a.send(b.localId, 'over the one channel')).toBe(true);
      await fixture.pumpUntil(() => rb.messagesFrom(a.localId).length === 1, 'the message');
    });

    it('delivers whole messages in order both ways, large and non-ASCII ones included', async () => {
      const fixture = await setup();
      const [a, b, c] = fixture.transports;
      const { recorders } = await startAll([a, b, c]);
      const [ra, rb] = recorders as [Recorder, Recorder];
      await link(fixture, [a, b]);
      const fromA = [
        ...Array.from({ length: 50 }, (_, i) => `a${i}`),
        ONE_MEGABYTE,
        NON_ASCII,
        '',
        ...Array.from({ length: 20 }, (_, i) => JSON.stringify({ seq: i, pad: '.'.repeat(i * 97) })),
      ];
      const fromB = [NON_ASCII, ...Array.from({ length: 30 }, (_, i) => `b${i}`), ONE_MEGABYTE];
      for (const data of fromA) expect(a.send(b.localId, data)).toBe(true);
      for (const data of fromB) expect(b.send(a.localId, data)).toBe(true);
      await fixture.pumpUntil(
        () =>
          rb.messagesFrom(a.localId).length >= fromA.length &&
          ra.messagesFrom(b.localId).length >= fromB.length,
        'all messages',
      );
      await fixture.settle();
      // Compare lengths and equality separately: a diff of two 1 MB strings is unreadable.
      const gotB = rb.messagesFrom(a.localId);
      const gotA = ra.messagesFrom(b.localId);
      expect(gotB.map((data) => data.length)).toEqual(fromA.map((data) => data.length));
      expect(gotA.map((data) => data.length)).toEqual(fromB.map((data) => data.length));
      expect(gotB.every((data, i) => data === fromA[i])).toBe(true);
      expect(gotA.every((data, i) => data === fromB[i])).toBe(true);
    });

    it('returns false when sending to a peer without a channel', async () => {
      const fixture = await setup();
      const [a, b, c] = fixture.transports;
      const { recorders } = await startAll([a, b, c]);
      const [, rb, rc] = recorders as [Recorder, Recorder, Recorder];
      expect(a.send(b.localId, 'not connected')).toBe(false);
      expect(a.send('no-such-peer', 'unknown')).toBe(false);
      expect(a.send(a.localId, 'to myself')).toBe(false);
      await link(fixture, [a, b]);
      expect(a.send(c.localId, 'c is not connected')).toBe(false);
      a.connect('no-such-peer');
      await fixture.settle();
      expect(a.connectedPeers()).toEqual([b.localId]);
      expect(rb.messagesFrom(a.localId)).toEqual([]);
      expect(rc.events).toEqual([]);
    });

    it('fires onPeerDisconnected on both sides on disconnect, and can reconnect', async () => {
      const fixture = await setup();
      const [a, b, c] = fixture.transports;
      const { recorders } = await startAll([a, b, c]);
      const [ra, rb] = recorders as [Recorder, Recorder];
      await link(fixture, [a, b]);
      a.disconnect(b.localId);
      expect(a.send(b.localId, 'after disconnect')).toBe(false);
      await fixture.pumpUntil(
        () => ra.count('disconnected', b.localId) === 1 && rb.count('disconnected', a.localId) === 1,
        'both disconnect events',
      );
      await fixture.settle();
      expect(ra.count('disconnected', b.localId)).toBe(1);
      expect(rb.count('disconnected', a.localId)).toBe(1);
      expect(a.connectedPeers()).toEqual([]);
      expect(b.connectedPeers()).toEqual([]);
      expect(b.send(a.localId, 'after disconnect')).toBe(false);
      a.disconnect(b.localId);
      await fixture.settle();
      expect(ra.count('disconnected', b.localId)).toBe(1);

      await link(fixture, [b, a]);
      expect(ra.count('connected', b.localId)).toBe(2);
      expect(rb.count('connected', a.localId)).toBe(2);
      expect(b.send(a.localId, 'again')).toBe(true);
      await fixture.pumpUntil(
        () => ra.messagesFrom(b.localId).includes('again'),
        'the message after reconnect',
      );
      expect(ra.messagesFrom(b.localId)).toEqual(['again']);
    });

    it('closes every channel on stop and delivers no events afterwards', async () => {
      const fixture = await setup();
      const [a, b, c] = fixture.transports;
      const { recorders } = await startAll([a, b, c]);
      const [ra, rb, rc] = recorders as [Recorder, Recorder, Recorder];
      await link(fixture, [a, b]);
      await link(fixture, [c, a]);
      a.send(b.localId, 'in flight at stop');
      b.send(a.localId, 'towards a stopping node');
      await a.stop();
      const seenByA = ra.events.length;
      expect(a.connectedPeers()).toEqual([]);
      expect(a.send(b.localId, 'after stop')).toBe(false);
      // Peers that have not noticed yet may still send; it must not reach the stopped node.
      b.send(a.localId, 'to a stopped node');
      c.send(a.localId, 'to a stopped node');
      await fixture.pumpUntil(
        () => rb.count('disconnected', a.localId) === 1 && rc.count('disconnected', a.localId) === 1,
        'peers to notice the stop',
      );
      a.connect(c.localId);
      c.connect(a.localId);
      await fixture.settle();
      expect(ra.events.length).toBe(seenByA);
      expect(b.connectedPeers()).toEqual([]);
      expect(c.connectedPeers()).toEqual([]);
      expect(b.send(a.localId, 'after notice')).toBe(false);
      await a.stop(); // a second stop is harmless
    });

    it('stops when the AbortSignal passed to start is aborted', async () => {
      const fixture = await setup();
      const [a, b, c] = fixture.transports;
      const controller = new AbortController();
      const ra = new Recorder();
      const rb = new Recorder();
      await Promise.all([a.start(ra, controller.signal), b.start(rb), c.start(new Recorder())]);
      await link(fixture, [a, b]);
      controller.abort();
      await fixture.pumpUntil(
        () => rb.count('disconnected', a.localId) === 1,
        'the peer to notice the abort',
      );
      const seenByA = ra.events.length;
      b.connect(a.localId);
      await fixture.settle();
      expect(a.connectedPeers()).toEqual([]);
      expect(b.connectedPeers()).toEqual([]);
      expect(a.send(b.localId, 'after abort')).toBe(false);
      expect(ra.events.length).toBe(seenByA);
    });

    it('does not start with an already aborted signal', async () => {
      const fixture = await setup();
      const [a, b] = fixture.transports;
      const rb = new Recorder();
      await b.start(rb);
      await a.start(new Recorder(), AbortSignal.abort()).catch(() => undefined);
      b.connect(a.localId);
      await fixture.settle();
      expect(b.connectedPeers()).toEqual([]);
      expect(rb.events).toEqual([]);
    });

    it('respects the peer cap on both ends', async () => {
      const fixture = await setup({ maxPeersPerNode: 1 });
      const [a, b, c] = fixture.transports;
      const { recorders } = await startAll([a, b, c]);
      const [ra, rb, rc] = recorders as [Recorder, Recorder, Recorder];
      await link(fixture, [a, b]);
      a.connect(c.localId); // a is full
      c.connect(b.localId); // b is full
      await fixture.settle();
      expect(a.connectedPeers()).toEqual([b.localId]);
      expect(b.connectedPeers()).toEqual([a.localId]);
      expect(c.connectedPeers()).toEqual([]);
      expect(rc.events).toEqual([]);
      expect(ra.count('connected', c.localId)).toBe(0);
      expect(rb.count('connected', c.localId)).toBe(0);
      // A freed slot can be used again.
      a.disconnect(b.localId);
      await fixture.pumpUntil(() => rb.count('disconnected', a.localId) === 1, 'the disconnect');
      await link(fixture, [c, a]);
      expect(a.connectedPeers()).toEqual([c.localId]);
    });

    /** Every status event matched `status()` when it came, and no two in a row were equal. */
    const expectWellFormedStatuses = (recorder: Recorder) => {
      for (const [i, { reported, actual }] of recorder.statuses.entries()) {
        expect(actual).toEqual(reported);
        const before = recorder.statuses[i - 1]?.reported;
        if (before) expect(before).not.toEqual(reported);
      }
    };

    it('pushes its status from start on, each change once, and nothing after stop', async () => {
      const fixture = await setup();
      const [a, b, c] = fixture.transports;
      const { recorders } = await startAll([a, b, c]);
      await fixture.settle();
      for (const [i, transport] of [a, b, c].entries()) {
        const recorder = recorders[i] as Recorder;
        expect(recorder.statuses.length).toBeGreaterThanOrEqual(1);
        expect(recorder.lastStatus()).toEqual(transport.status());
        expectWellFormedStatuses(recorder);
      }
      const ra = recorders[0] as Recorder;
      const reportedByA = ra.statuses.length;
      await a.stop();
      await fixture.settle();
      expect(ra.statuses.length).toBe(reportedByA);
    });

    it('reports a signaling outage and the recovery by event, and open channels survive it', async () => {
      const fixture = await setup({ signalingOutage: true });
      const signaling = fixture.signaling;
      if (!signaling) throw new Error(`${name}: the fixture gave no signaling control`);
      const [a, b, c] = fixture.transports;
      const { recorders } = await startAll([a, b, c]);
      const all = recorders as Recorder[];
      const everyLast = (signalingState: TransportStatus['signaling']) =>
        all.every((recorder) => recorder.lastStatus()?.signaling === signalingState);
      await fixture.pumpUntil(() => everyLast('connected'), 'signaling to connect');
      await link(fixture, [a, b]);

      await signaling.interrupt();
      await fixture.pumpUntil(
        () => all.every((recorder) => recorder.statuses.some((e) => e.reported.signaling === 'down')),
        'every transport to report signaling down',
      );
      expect(a.send(b.localId, 'during the outage')).toBe(true);
      const rb = all[1] as Recorder;
      await fixture.pumpUntil(
        () => rb.messagesFrom(a.localId).includes('during the outage'),
        'a message over the open channel during the outage',
      );

      await signaling.restore();
      await fixture.pumpUntil(() => everyLast('connected'), 'signaling to reconnect');
      for (const [i, transport] of [a, b, c].entries()) {
        const recorder = all[i] as Recorder;
        expect(recorder.lastStatus()).toEqual(transport.status());
        expectWellFormedStatuses(recorder);
      }
    });
  });
}
