/**
 * Which client a WebSocket upgrade comes from, as the key the per-address cap counts under.
 *
 * - By default: the TCP peer's address (`req.socket.remoteAddress`). X-Forwarded-For is ignored,
 *   because any client can send it: trusting it would let one client pose as many addresses.
 * - With `trustProxy` (the proxies in front of this server, in proxy-addr's terms: `loopback`,
 *   `uniquelocal`, addresses or CIDRs): X-Forwarded-For is read from the right, through the
 *   trusted hops only, and the first untrusted address is the client (as Express's `trust proxy`).
 * - IPv4-mapped IPv6 (`::ffff:1.2.3.4`) counts as the IPv4 address. Other IPv6 addresses count by
 *   their /64 prefix: one host or one LAN normally owns a whole /64 and can pick any address in
 *   it, which is the same situation as many machines behind one IPv4 NAT.
 */
import type { IncomingMessage } from 'node:http';
import ipaddr from 'ipaddr.js';
import proxyAddr from 'proxy-addr';

/** Resolves an upgrade request to its client's key; undefined when the socket has no address. */
export type ClientAddressResolver = (req: IncomingMessage) => string | undefined;

/** The key an address counts under (see the module comment); undefined when it is not an IP. */
export function addressKey(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return undefined;
  const ip = ipaddr.process(address);
  if (ip.kind() === 'ipv4') return ip.toString();
  const prefix = (ip as ipaddr.IPv6).parts.slice(0, 4);
  return `${new ipaddr.IPv6([...prefix, 0, 0, 0, 0]).toString()}/64`;
}

/**
 * A resolver that trusts X-Forwarded-For only from the proxies in `trustProxy` (none when it
 * is undefined or empty). Throws on an entry proxy-addr cannot read (a configuration error).
 */
export function clientAddressResolver(trustProxy?: readonly string[]): ClientAddressResolver {
  if (trustProxy === undefined || trustProxy.length === 0) {
    return (req) => {
      const address = req.socket.remoteAddress;
      return address === undefined ? undefined : addressKey(address);
    };
  }
  const trusted = proxyAddr.compile([...trustProxy]);
  return (req) => {
    // proxy-addr reads the socket's address first; a destroyed socket has none.
    if (req.socket.remoteAddress === undefined) return undefined;
    return addressKey(proxyAddr(req, trusted));
  };
}
