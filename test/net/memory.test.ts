import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_VIRTUAL_START_MS,
  MemoryNetwork,
  type MemoryNetworkOptions,
  type NetworkEvent,
  SeededRandom,
  VirtualClock,
} from '../../src/net/memory';
import type { PeerId, Transport, TransportHandlers } from '../../src/ports/transport';
import { transportCompliance } from './transport-compliance';

transportCompliance('memory', async (options) => {
  const clock = new VirtualClock();
  const { signalingOutage, ...networkOptions } = options ?? {};
  const network = new MemoryNetwork({ random: new SeededRandom(7), clock, ...networkOptions });
  // The twin simulates a signaling server only when a test asks to interrupt one.
  if (signalingOutage) network.setSignaling('connected');
  const transports: [Transport, Transport, Transport] = [
    network.createTransport('alice'),
    network.createTransport('bob'),
    network.createTransport('carol'),
  ];
  return {
    transports,
    pump: async () => {
      await network.run();
    },
    cleanup: async () => {
      await Promise.all(transports.map((transport) => transport.stop()));
    },
    signaling: {
      interrupt: async () => network.setSignaling('down'),
      restore: async () => network.setSignaling('connected'),
    },
  };
});

/** A delivered event as the recipient saw it, with the virtual time. */
type Delivery = readonly [time: number, from: PeerId, to: PeerId, data: string];

/** Handlers that log messages into `log`; connection events become `+peer` / `-peer` entries. */
const logging = (clock: VirtualClock, self: PeerId, log: Delivery[]): TransportHandlers => ({
  onPeerConnected: (peer) => log.push([clock.now(), peer, self, '+']),
  onPeerDisconnected: (peer) => log.push([clock.now(), peer, self, '-']),
  onMessage: (peer, data) => log.push([clock.now(), peer, self, data]),
});

/** A network of started nodes `n0..n{count-1}` with logging handlers. */
const world = async (
  seed: number,
  count: number,
  options: Partial<Omit<MemoryNetworkOptions, 'random' | 'clock'>> = {},
) => {
  const clock = new VirtualClock();
  const random = new SeededRandom(seed);
  const network = new MemoryNetwork({ random, clock, ...options });
  const log: Delivery[] = [];
  const ids = Array.from({ length: count }, (_, i) => `n${i}`);
  const nodes = new Map<PeerId, Transport>();
  for (const id of ids) {
    const transport = network.createTransport(id);
    await transport.start(logging(clock, id, log));
    nodes.set(id, transport);
  }
  const node = (id: PeerId): Transport => nodes.get(id) as Transport;
  return { clock, random, network, log, ids, node };
};

/** A busy seeded scenario: a mesh, chatter on timers, a partition, a disconnect. */
const scenario = async (seed: number, reorder = false): Promise<Delivery[]> => {
  const { clock, network, log, ids, node } = await world(seed, 6, { dropRate: 0.1, reorder });
  // The scenario's own choices come from a separate stream, so they are seeded too.
  const choices = new SeededRandom(seed ^ 0x5eed);
  for (const id of ids) for (const other of choices.shuffle(ids).slice(0, 3)) node(id).connect(other);
  await network.run();
  for (let i = 0; i < 200; i++) {
    clock.setTimeout(
      () => {
        const from = choices.pick(ids);
        const peers = node(from).connectedPeers();
        if (peers.length > 0) node(from).send(choices.pick(peers), `m${i}`);
      },
      choices.int(0, 2000),
    );
  }
  clock.setTimeout(() => network.partition([ids.slice(0, 3), ids.slice(3)]), 500);
  clock.setTimeout(() => network.heal(), 1200);
  clock.setTimeout(() => node('n0').disconnect(node('n0').connectedPeers()[0] ?? 'n1'), 1500);
  await network.run();
  return log;
};

describe('SeededRandom', () => {
  it('replays the same stream for the same seed and differs across seeds', () => {
    const draw = (seed: number) => {
      const random = new SeededRandom(seed);
      return Array.from({ length: 50 }, () => random.next());
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    expect(draw(0)).toEqual(draw(2 ** 32));
  });

  it('keeps next in [0, 1) and int within both bounds, hitting both', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: -1000, max: 1000 }), fc.nat(20), (seed, min, span) => {
        const random = new SeededRandom(seed);
        const seen = new Set<number>();
        for (let i = 0; i < 200; i++) {
          const x = random.next();
          expect(x >= 0 && x < 1).toBe(true);
          const n = random.int(min, min + span);
          expect(Number.isInteger(n) && n >= min && n <= min + span).toBe(true);
          seen.add(n);
        }
        if (span <= 3) expect(seen.has(min) && seen.has(min + span)).toBe(true);
      }),
    );
  });

  it('picks members, shuffles into a permutation without touching the input, and rejects bad input', () => {
    fc.assert(
      fc.property(fc.integer(), fc.array(fc.integer(), { minLength: 1, maxLength: 30 }), (seed, items) => {
        const random = new SeededRandom(seed);
        const before = [...items];
        expect(items).toContain(random.pick(items));
        const shuffled = random.shuffle(items);
        expect(items).toEqual(before);
        expect([...shuffled].sort((x, y) => x - y)).toEqual([...items].sort((x, y) => x - y));
      }),
    );
    const random = new SeededRandom(1);
    expect(() => random.pick([])).toThrow(RangeError);
    expect(() => random.int(3, 2)).toThrow(RangeError);
    expect(() => random.int(0.5, 2)).toThrow(RangeError);
    const many = random.shuffle(Array.from({ length: 20 }, (_, i) => i));
    expect(many).not.toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('forks independent, reproducible streams', () => {
    const a = new SeededRandom(9).fork();
    const b = new SeededRandom(9).fork();
    expect(a.next()).toBe(b.next());
    const parent = new SeededRandom(9);
    const child = parent.fork();
    expect(child.next()).not.toBe(parent.next());
  });
});

describe('VirtualClock', () => {
  it('starts at the default instant or a given one, and only moves when advanced', () => {
    expect(new VirtualClock().now()).toBe(DEFAULT_VIRTUAL_START_MS);
    expect(DEFAULT_VIRTUAL_START_MS).toBe(1_795_670_000_000);
    const clock = new VirtualClock(1000);
    expect(clock.now()).toBe(1000);
    expect(clock.nextTimerAt()).toBeNull();
    clock.advance(250);
    expect(clock.now()).toBe(1250);
    clock.advance(-5);
    expect(clock.now()).toBe(1250);
  });

  it('fires timers in time order, ties in scheduling order, and cancel works', () => {
    const clock = new VirtualClock(0);
    const fired: string[] = [];
    const at = (name: string, ms: number) => clock.setTimeout(() => fired.push(`${name}@${clock.now()}`), ms);
    at('c', 30);
    at('a', 10);
    at('b1', 20);
    const cancelB2 = at('b2', 20);
    at('b3', 20);
    const cancelD = at('d', 40);
    at('z', 0);
    at('neg', -5);
    expect(clock.pendingTimers()).toBe(8);
    cancelB2();
    cancelB2(); // a second cancel is harmless
    cancelD();
    expect(clock.pendingTimers()).toBe(6);
    expect(clock.nextTimerAt()).toBe(0);
    clock.advance(25);
    expect(fired).toEqual(['z@0', 'neg@0', 'a@10', 'b1@20', 'b3@20']);
    expect(clock.now()).toBe(25);
    expect(clock.nextTimerAt()).toBe(30);
    clock.advance(100);
    expect(fired.at(-1)).toBe('c@30');
    expect(clock.nextTimerAt()).toBeNull();
    expect(clock.fireNext()).toBe(false);
  });

  it('fires timers scheduled by timers when they fall due within the same advance', () => {
    const clock = new VirtualClock(0);
    const fired: number[] = [];
    const tick = () => {
      fired.push(clock.now());
      if (fired.length < 10) clock.setTimeout(tick, 7);
    };
    clock.setTimeout(tick, 7);
    clock.advance(30);
    expect(fired).toEqual([7, 14, 21, 28]);
    const cancel = clock.setTimeout(() => fired.push(-1), 1);
    cancel();
    expect(clock.runUntil(() => fired.length === 6)).toBe(true);
    expect(fired).toEqual([7, 14, 21, 28, 35, 42]);
    expect(clock.runUntil(() => false)).toBe(false);
    expect(fired.length).toBe(10);
  });

  it('orders any schedule by (time, scheduling order) and never fires a cancelled timer', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ delay: fc.integer({ min: -3, max: 40 }), cancel: fc.boolean() }), {
          maxLength: 60,
        }),
        (timers) => {
          const clock = new VirtualClock(0);
          const fired: number[] = [];
          const cancels = timers.map((timer, i) => clock.setTimeout(() => fired.push(i), timer.delay));
          timers.forEach((timer, i) => {
            if (timer.cancel) cancels[i]?.();
          });
          clock.advance(100);
          const expected = timers
            .map((timer, i) => ({ at: Math.max(0, timer.delay), i, cancel: timer.cancel }))
            .filter((timer) => !timer.cancel)
            .sort((x, y) => x.at - y.at || x.i - y.i)
            .map((timer) => timer.i);
          expect(fired).toEqual(expected);
        },
      ),
    );
  });
});

describe('MemoryNetwork', () => {
  it('replays an identical delivery trace for the same seed, and a different one for another seed', async () => {
    const first = await scenario(42);
    const second = await scenario(42);
    expect(first.length).toBeGreaterThan(100);
    expect(second).toEqual(first);
    expect(await scenario(43)).not.toEqual(first);
    expect(await scenario(42, true)).toEqual(await scenario(42, true));
  });

  it('drops roughly dropRate of the messages', async () => {
    const { network, log, node } = await world(5, 2, { dropRate: 0.3 });
    node('n0').connect('n1');
    await network.run();
    const total = 4000;
    for (let i = 0; i < total; i++) expect(node('n0').send('n1', `m${i}`)).toBe(true);
    await network.run();
    const stats = network.stats();
    expect(stats.sent).toBe(total);
    expect(stats.delivered + stats.dropped).toBe(total);
    expect(stats.inFlight).toBe(0);
    expect(stats.dropped / total).toBeGreaterThan(0.27);
    expect(stats.dropped / total).toBeLessThan(0.33);
    const received = log.filter(([, , , data]) => data.startsWith('m'));
    expect(received.length).toBe(stats.delivered);
    // Survivors keep their order.
    const seqs = received.map(([, , , data]) => Number(data.slice(1)));
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
  });

  it('drops messages across a partition, in flight too, and delivers again after heal', async () => {
    const { network, log, node } = await world(3, 3);
    node('n0').connect('n1');
    node('n0').connect('n2');
    await network.run();
    const messages = () =>
      log.filter(([, , , data]) => data.length > 1).map(([, from, to, data]) => `${from}>${to}:${data}`);
    node('n0').send('n2', 'in-flight');
    network.partition([['n0', 'n1'], ['n2']]);
    expect(node('n0').send('n1', 'same-side')).toBe(true);
    expect(node('n0').send('n2', 'across')).toBe(true);
    expect(node('n2').send('n0', 'back-across')).toBe(true);
    await network.run();
    expect(messages()).toEqual(['n0>n1:same-side']);
    expect(network.stats()).toMatchObject({ sent: 4, delivered: 1, dropped: 3 });
    // Channels stay open during a plain partition; they just carry nothing.
    expect(network.peersOf('n0')).toEqual(['n1', 'n2']);
    network.heal();
    node('n0').send('n2', 'healed');
    node('n2').send('n0', 'healed-back');
    await network.run();
    // Two different links: their arrival order depends on the drawn latencies.
    expect(messages().sort()).toEqual(['n0>n1:same-side', 'n0>n2:healed', 'n2>n0:healed-back']);
  });

  it('refuses connections across a partition when asked, until heal', async () => {
    const { network, node } = await world(4, 4);
    network.partition([['n0'], ['n1']], { refuseConnections: true });
    node('n0').connect('n1');
    node('n2').connect('n3'); // both ungrouped: the same implicit group
    node('n0').connect('n2');
    await network.run();
    expect(network.peersOf('n0')).toEqual([]);
    expect(network.peersOf('n2')).toEqual(['n3']);
    // A set-up already under way when the partition starts fails too.
    network.heal();
    node('n0').connect('n1');
    network.partition([['n0'], ['n1']], { refuseConnections: true });
    await network.run();
    expect(network.peersOf('n0')).toEqual([]);
    network.heal();
    node('n0').connect('n1');
    await network.run();
    expect(network.peersOf('n0')).toEqual(['n1']);
    expect(network.peersOf('n1')).toEqual(['n0']);
  });

  it('keeps FIFO order per link without reorder, and lets messages overtake with reorder', async () => {
    const order = async (reorder: boolean) => {
      const { network, log, node } = await world(11, 3, { reorder });
      node('n0').connect('n1');
      node('n2').connect('n1');
      await network.run();
      for (let i = 0; i < 200; i++) {
        node('n0').send('n1', `a${i}`);
        node('n2').send('n1', `c${i}`);
      }
      await network.run();
      const from = (peer: PeerId) =>
        log
          .filter(([, sender, , data]) => sender === peer && data.length > 1)
          .map(([, , , data]) => Number(data.slice(1)));
      return { a: from('n0'), c: from('n2'), arrivals: log.map(([time]) => time) };
    };
    const fifo = await order(false);
    const inOrder = Array.from({ length: 200 }, (_, i) => i);
    expect(fifo.a).toEqual(inOrder);
    expect(fifo.c).toEqual(inOrder);
    const shuffled = await order(true);
    expect(shuffled.a).not.toEqual(inOrder);
    expect([...shuffled.a].sort((x, y) => x - y)).toEqual(inOrder);
    expect([...shuffled.c].sort((x, y) => x - y)).toEqual(inOrder);
    // Time never runs backwards in either mode.
    for (const { arrivals } of [fifo, shuffled])
      expect(arrivals).toEqual([...arrivals].sort((x, y) => x - y));
  });

  it('keeps FIFO order per link for any seed and latency range', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer(), fc.nat(30), fc.nat(60), async (seed, min, span) => {
        const { network, log, node } = await world(seed, 2, { latency: { min, max: min + span } });
        node('n1').connect('n0');
        await network.run();
        for (let i = 0; i < 30; i++) node('n0').send('n1', `m${i}`);
        await network.run();
        const got = log.filter(([, , , data]) => data.startsWith('m')).map(([, , , data]) => data);
        expect(got).toEqual(Array.from({ length: 30 }, (_, i) => `m${i}`));
      }),
      { numRuns: 50 },
    );
  });

  it('shares one time line between deliveries and clock timers', async () => {
    const { clock, network, node } = await world(1, 2, { latency: { min: 10, max: 10 } });
    node('n0').connect('n1');
    await network.run();
    const start = clock.now();
    const order: string[] = [];
    const tracked = network.createTransport('n2');
    await tracked.start({
      onPeerConnected: () => order.push(`connected@${clock.now() - start}`),
      onPeerDisconnected: () => undefined,
      onMessage: (_peer, data) => order.push(`${data}@${clock.now() - start}`),
    });
    node('n0').connect('n2');
    clock.setTimeout(() => order.push(`timer@${clock.now() - start}`), 5);
    clock.setTimeout(() => {
      order.push(`timer@${clock.now() - start}`);
      node('n0').send('n2', 'msg');
    }, 15);
    clock.setTimeout(() => order.push(`timer@${clock.now() - start}`), 24);
    clock.setTimeout(() => order.push(`timer@${clock.now() - start}`), 25);
    expect(network.step()).toBe(true);
    expect(order).toEqual(['timer@5']);
    await network.run();
    // The 25 ms timer and the message are due together; the timer was scheduled first.
    expect(order).toEqual(['timer@5', 'connected@10', 'timer@15', 'timer@24', 'timer@25', 'msg@25']);
    expect(network.step()).toBe(false);
  });

  it('awaits settle before the first event and after each one, and stops on until, maxSteps or duration', async () => {
    const { clock, network, node } = await world(2, 2);
    node('n0').connect('n1');
    await network.run();
    // An async reaction: n1 answers each message after some promise hops.
    const answers: string[] = [];
    const pending = new Set<Promise<void>>();
    const responder = network.createTransport('echo');
    await responder.start({
      onPeerConnected: () => undefined,
      onPeerDisconnected: () => undefined,
      onMessage: (peer, data) => {
        const work = (async () => {
          await Promise.resolve();
          await new Promise((resolve) => setTimeout(resolve, 1));
          responder.send(peer, `re:${data}`);
        })();
        pending.add(work);
        void work.finally(() => pending.delete(work));
      },
    });
    const asker = network.createTransport('asker');
    await asker.start({
      onPeerConnected: () => undefined,
      onPeerDisconnected: () => undefined,
      onMessage: (_peer, data) => answers.push(data),
    });
    asker.connect('echo');
    await network.run();
    let settles = 0;
    const settle = async () => {
      settles++;
      while (pending.size > 0) await Promise.all([...pending]);
    };
    for (let i = 0; i < 5; i++) asker.send('echo', `q${i}`);
    const done = await network.run({ settle });
    expect(done).toEqual({ steps: 10, stopped: 'idle' });
    expect(settles).toBe(11);
    expect(answers).toEqual(['re:q0', 're:q1', 're:q2', 're:q3', 're:q4']);

    for (let i = 0; i < 3; i++) asker.send('echo', `x${i}`);
    expect(await network.run({ settle, until: () => answers.length === 6 })).toMatchObject({
      stopped: 'until',
    });
    expect(await network.run({ settle, maxSteps: 1 })).toEqual({ steps: 1, stopped: 'maxSteps' });
    await network.run({ settle });
    expect(answers.length).toBe(8);

    const before = clock.now();
    clock.setTimeout(() => undefined, 100);
    clock.setTimeout(() => undefined, 300);
    expect(await network.run({ duration: 200 })).toEqual({ steps: 1, stopped: 'deadline' });
    expect(clock.now()).toBe(before + 200);
    expect(await network.run({ duration: 50 })).toEqual({ steps: 0, stopped: 'deadline' });
    expect(clock.now()).toBe(before + 250);
  });

  it('caps channels per node, counting ones being set up, and refuses when either end is full', async () => {
    const { network, node, ids } = await world(8, 12, { maxPeersPerNode: 8 });
    for (const id of ids.slice(1)) node('n0').connect(id);
    await network.run();
    expect(network.peersOf('n0')).toEqual(ids.slice(1, 9));
    expect(network.peersOf('n11')).toEqual([]);
    // n0 is full, so n11 is refused from its side too.
    node('n11').connect('n0');
    await network.run();
    expect(network.peersOf('n11')).toEqual([]);
  });

  it('treats unknown, unstarted or own ids as a no-op connect', async () => {
    const { network, node, log } = await world(9, 1);
    const idle = network.createTransport('idle');
    node('n0').connect('nobody');
    node('n0').connect('n0');
    node('n0').connect('idle');
    idle.connect('n0');
    await network.run();
    expect(log).toEqual([]);
    expect(network.peersOf('n0')).toEqual([]);
    expect(network.peersOf('nobody')).toEqual([]);
    expect(() => network.createTransport('n0')).toThrow();
    expect(idle.status()).toEqual({ kind: 'memory', signaling: 'n/a' });
    await idle.start(logging(new VirtualClock(), 'idle', []));
    await expect(idle.start(logging(new VirtualClock(), 'idle', []))).rejects.toThrow();
  });

  it('lets peers of a stopped node see it disconnect, after the data it sent before stopping', async () => {
    const { network, node, log } = await world(10, 3);
    node('n0').connect('n1');
    node('n0').connect('n2');
    await network.run();
    log.length = 0;
    node('n0').send('n1', 'last words');
    await node('n0').stop();
    await network.run();
    const seen = log.map(([, from, to, data]) => `${from}>${to}:${data}`);
    expect(seen).toContain('n0>n2:-');
    expect(seen.filter((entry) => entry.endsWith('n1:last words') || entry === 'n0>n1:-')).toEqual([
      'n0>n1:last words',
      'n0>n1:-',
    ]);
    expect(network.peersOf('n1')).toEqual([]);
    expect(network.peersOf('n0')).toEqual([]);
  });

  it('injects raw messages over an open channel, bypassing drops', async () => {
    const { network, node, log } = await world(12, 2, { dropRate: 1 });
    expect(network.inject('n0', 'n1', 'nope')).toBe(false);
    node('n0').connect('n1');
    await network.run();
    expect(node('n0').send('n1', 'dropped')).toBe(true);
    expect(network.inject('n0', 'n1', '{"garbage":')).toBe(true);
    expect(network.inject('ghost', 'n1', 'x')).toBe(false);
    expect(network.inject('n0', 'ghost', 'x')).toBe(false);
    await network.run();
    expect(
      log.filter(([, , , data]) => data.length > 1).map(([, from, to, data]) => [from, to, data]),
    ).toEqual([['n0', 'n1', '{"garbage":']]);
    expect(network.stats()).toEqual({ sent: 2, delivered: 1, dropped: 1, inFlight: 0 });
  });

  it('tells a starting node up to three other started nodes, seeded', async () => {
    const discover = async (seed: number) => {
      const clock = new VirtualClock();
      const network = new MemoryNetwork({ random: new SeededRandom(seed), clock });
      const found = new Map<PeerId, PeerId[]>();
      for (let i = 0; i < 6; i++) {
        const id = `d${i}`;
        await network.createTransport(id).start({
          onPeerConnected: () => undefined,
          onPeerDisconnected: () => undefined,
          onMessage: () => undefined,
          onPeersDiscovered: (peers) => found.set(id, [...peers]),
        });
        await network.run();
      }
      network.createTransport('never-started');
      return found;
    };
    const found = await discover(13);
    expect(found.has('d0')).toBe(false); // nobody else yet
    expect(found.get('d1')).toEqual(['d0']);
    for (const [id, peers] of found) {
      expect(peers.length).toBe(Math.min(3, Number(id.slice(1))));
      expect(peers).not.toContain(id);
      expect(new Set(peers).size).toBe(peers.length);
    }
    expect(await discover(13)).toEqual(found);
  });

  it('reports every event to the trace hook', async () => {
    const events: NetworkEvent[] = [];
    const clock = new VirtualClock(0);
    const network = new MemoryNetwork({
      random: new SeededRandom(1),
      clock,
      latency: { min: 10, max: 10 },
      trace: (event) => events.push(event),
    });
    const a = network.createTransport('a');
    const b = network.createTransport('b');
    const quiet: TransportHandlers = {
      onPeerConnected: () => undefined,
      onPeerDisconnected: () => undefined,
      onMessage: () => undefined,
    };
    await a.start(quiet);
    await b.start(quiet);
    a.connect('b');
    await network.run();
    a.send('b', 'hi');
    b.disconnect('a');
    await network.run();
    expect(events).toEqual([
      { at: 10, kind: 'connect', from: 'a', to: 'b' },
      { at: 10, kind: 'disconnect', from: 'a', to: 'b' },
      { at: 20, kind: 'drop', from: 'a', to: 'b', data: 'hi' },
      { at: 20, kind: 'disconnect', from: 'b', to: 'a' },
    ]);
  });

  it('rejects invalid settings', () => {
    const base = { random: new SeededRandom(1), clock: new VirtualClock() };
    expect(() => new MemoryNetwork({ ...base, latency: { min: 5, max: 1 } })).toThrow(RangeError);
    expect(() => new MemoryNetwork({ ...base, latency: { min: 0.5, max: 1 } })).toThrow(RangeError);
    expect(() => new MemoryNetwork({ ...base, dropRate: 1.5 })).toThrow(RangeError);
    expect(() => new MemoryNetwork({ ...base, maxPeersPerNode: -1 })).toThrow(RangeError);
    expect(new MemoryNetwork(base).reorder).toBe(false);
    expect(new MemoryNetwork({ ...base, reorder: true }).reorder).toBe(true);
  });
});
