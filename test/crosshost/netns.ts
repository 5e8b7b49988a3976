/**
 * A classroom made of Linux network namespaces, each standing for one machine:
 *
 *   teacher 10.77.0.1 ─┐
 *   laptop1 10.77.0.11 ─┤ bridge in "lan" (the classroom's Wi-Fi)
 *   laptop2 10.77.0.12 ─┤
 *   router  10.77.0.2 ─┘── router 192.168.77.1 ── phone 192.168.77.2
 *
 * The router masquerades the phone's traffic (nftables) and forwards it to the teacher only, so
 * the phone reaches the devnet and its TURN server but no laptop: its WebRTC links can only be
 * relayed. Every name starts with `tcx-<pid>-`; every address and link lives inside namespaces
 * made here, so nothing is added to the machine's own network, and `destroy()` (also run from
 * exit and signal traps) removes them all, killing whatever still runs inside them first.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import process from 'node:process';

export const TEACHER_IP = '10.77.0.1';
export const ROUTER_LAN_IP = '10.77.0.2';
export const LAPTOP_IPS = ['10.77.0.11', '10.77.0.12'] as const;
export const ROUTER_PHONE_IP = '192.168.77.1';
export const PHONE_IP = '192.168.77.2';

/** The prefix of every namespace this process makes. */
export const NAMESPACE_PREFIX = `tcx-${process.pid}-`;

export interface Classroom {
  readonly teacher: string;
  readonly laptops: readonly [string, string];
  readonly phone: string;
  readonly router: string;
  readonly lan: string;
  /** All of them, in creation order. */
  readonly all: readonly string[];
  /** Kills what runs inside them and deletes them; safe to call twice. */
  destroy(): void;
}

const IP = '/usr/sbin/ip';
const NFT = '/usr/sbin/nft';
const TURNSERVER = '/usr/bin/turnserver';

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * What this machine lacks to build the classroom, as sentences naming each missing piece (empty
 * when nothing is missing). The test stops with these; it never skips.
 */
export function missingPrerequisites(): string[] {
  const missing: string[] = [];
  if (typeof process.getuid === 'function' && process.getuid() !== 0)
    missing.push('root: network namespaces need it (run as root, e.g. sudo npm run test:crosshost)');
  if (!isExecutable(IP)) missing.push(`iproute2 (${IP}): apt-get install iproute2`);
  else if (spawnSync(IP, ['netns', 'list'], { stdio: 'ignore' }).status !== 0)
    missing.push('`ip netns`: this kernel or container does not let us list network namespaces');
  if (!isExecutable(NFT)) missing.push(`nftables (${NFT}): apt-get install nftables`);
  if (!isExecutable(TURNSERVER)) missing.push(`coturn (${TURNSERVER}): apt-get install coturn`);
  return missing;
}

function run(command: string, args: readonly string[], input?: string): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`${command} ${args.join(' ')} failed: ${stderr.trim() || String(error)}`);
  }
}

const ip = (...args: string[]): string => run(IP, args);
const inNs = (ns: string, command: string, ...args: string[]): string =>
  run(IP, ['netns', 'exec', ns, command, ...args]);

/** The namespaces `ip netns list` shows whose names start with `prefix`. */
export function listNamespaces(prefix: string = NAMESPACE_PREFIX): string[] {
  const listed = spawnSync(IP, ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  return listed
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(prefix));
}

/** Kills every process inside `ns` (all were started by this test) and deletes it. */
function deleteNamespace(ns: string): void {
  const pids = (spawnSync(IP, ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? '')
    .split('\n')
    .map((line) => Number(line.trim()))
    .filter((pid) => Number.isInteger(pid) && pid > 0);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  spawnSync(IP, ['netns', 'delete', ns], { stdio: 'ignore' });
}

const live = new Set<string>();
let trapsInstalled = false;

/** Synchronous clean-ups of this run's files, run with the namespaces' deletion by the traps. */
const cleanups = new Set<() => void>();

/**
 * Runs `cleanup` (synchronous, e.g. removing a temporary folder) if the process exits or is
 * signalled before the returned function is called; that function runs it now instead.
 */
export function onTrap(cleanup: () => void): () => void {
  installTraps();
  cleanups.add(cleanup);
  return () => {
    if (cleanups.delete(cleanup)) cleanup();
  };
}

/** Deletes every namespace still live, synchronously: fit for `exit` and signal handlers. */
function destroyLive(): void {
  for (const ns of [...live].reverse()) {
    deleteNamespace(ns);
    live.delete(ns);
  }
  for (const cleanup of [...cleanups]) {
    cleanups.delete(cleanup);
    try {
      cleanup();
    } catch {
      // Best effort: a trap must go on to the next one.
    }
  }
}

function installTraps(): void {
  if (trapsInstalled) return;
  trapsInstalled = true;
  process.on('exit', destroyLive);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      destroyLive();
      process.kill(process.pid, signal);
    });
  }
}

/** A veth pair from `a` (named `aName`) to `b` (named `bName`), made inside `a`. */
function veth(a: string, aName: string, b: string, bName: string): void {
  ip('-n', a, 'link', 'add', aName, 'type', 'veth', 'peer', 'name', bName, 'netns', b);
  ip('-n', a, 'link', 'set', aName, 'up');
  ip('-n', b, 'link', 'set', bName, 'up');
}

/** Builds the classroom. On any failure it deletes what it made and throws. */
export function createClassroom(): Classroom {
  installTraps();
  const name = (role: string) => `${NAMESPACE_PREFIX}${role}`;
  const teacher = name('teacher');
  const laptops = [name('laptop1'), name('laptop2')] as const;
  const router = name('router');
  const phone = name('phone');
  const lan = name('lan');
  const all = [lan, teacher, ...laptops, router, phone];
  try {
    for (const ns of all) {
      ip('netns', 'add', ns);
      live.add(ns);
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
    // The classroom's switch: a bridge in its own namespace, one port per machine on the LAN.
    ip('-n', lan, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', lan, 'link', 'set', 'br0', 'up');
    const onLan: readonly (readonly [string, string, string])[] = [
      [teacher, 'p-teacher', TEACHER_IP],
      [laptops[0], 'p-laptop1', LAPTOP_IPS[0]],
      [laptops[1], 'p-laptop2', LAPTOP_IPS[1]],
      [router, 'p-router', ROUTER_LAN_IP],
    ];
    for (const [ns, port, address] of onLan) {
      veth(lan, port, ns, 'eth0');
      ip('-n', lan, 'link', 'set', port, 'master', 'br0');
      ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
    }
    // The phone's home network behind the router.
    veth(router, 'phone0', phone, 'eth0');
    ip('-n', router, 'addr', 'add', `${ROUTER_PHONE_IP}/24`, 'dev', 'phone0');
    ip('-n', phone, 'addr', 'add', `${PHONE_IP}/24`, 'dev', 'eth0');
    ip('-n', phone, 'route', 'add', 'default', 'via', ROUTER_PHONE_IP);
    inNs(router, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1');
    // Masquerade the phone behind the router's LAN address, and forward its traffic to the
    // teacher only (the devnet and TURN), never to a laptop: only relayed links can form.
    run(
      IP,
      ['netns', 'exec', router, NFT, '-f', '-'],
      `table ip tcx {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "phone0" oifname "eth0" ip daddr ${TEACHER_IP} accept
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "eth0" ip saddr ${PHONE_IP}/24 masquerade
  }
}
`,
    );
  } catch (error) {
    for (const ns of [...all].reverse()) {
      if (!live.has(ns)) continue;
      deleteNamespace(ns);
      live.delete(ns);
    }
    throw error;
  }
  let destroyed = false;
  return {
    teacher,
    laptops,
    phone,
    router,
    lan,
    all,
    destroy() {
      if (destroyed) return;
      destroyed = true;
      for (const ns of [...all].reverse()) {
        if (!live.has(ns)) continue;
        deleteNamespace(ns);
        live.delete(ns);
      }
    },
  };
}
