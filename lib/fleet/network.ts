// Where webhooks come from and go to: addresses, ports and CIDRs. Value rules, no I/O: the fleet
// file and the constructs both check with these.
import { isIPv4, SocketAddress } from 'node:net';
import { rfc1123SubdomainProblem } from './names';

/** The port range Kubernetes allocates NodePorts from by default (`--service-node-port-range`). */
export const NODE_PORT_MIN = 30000;
export const NODE_PORT_MAX = 32767;

/** Anywhere, IPv4 and IPv6: the sources admitted when the fleet file narrows none. */
export const ANYWHERE: readonly string[] = ['0.0.0.0/0', '::/0'];

/** Whether a URL's hostname (brackets allowed) is this machine: localhost, 127.0.0.0/8 or ::1. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || (isIPv4(host) && host.startsWith('127.'));
}

/**
 * `net.isIP`'s 4, 6 or 0. IPv6 is checked by the system's address parser (as `net.SocketAddress`
 * does), which accepts what `net.isIPv6` accepts: that one compiles a large pattern on first use,
 * about 10 ms of every synth (every NetworkPolicy admits ::/0 unless narrowed).
 */
export function ipFamily(text: string): 0 | 4 | 6 {
  if (isIPv4(text)) return 4;
  if (!text.includes(':')) return 0;
  // The parser takes any zone after %; isIPv6 only letters, digits, '-', '.' and ':'.
  const zone = text.indexOf('%');
  if (zone >= 0 && !/^[0-9a-zA-Z.:-]+$/.test(text.slice(zone + 1))) return 0;
  try {
    new SocketAddress({ address: text, family: 'ipv6' });
    return 6;
  } catch {
    return 0;
  }
}

/** Why `port` is not a TCP port. */
export function portProblem(port: number): string | undefined {
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? undefined : `${port} is not a port: give a number in 1-65535`;
}

/** Why `port` cannot be a NodePort, or undefined when it can. */
export function nodePortProblem(port: number): string | undefined {
  return Number.isInteger(port) && port >= NODE_PORT_MIN && port <= NODE_PORT_MAX ? undefined : `${port} is outside ${NODE_PORT_MIN}-${NODE_PORT_MAX}`;
}

/** Why `cidr` is not an IPv4 or IPv6 CIDR, or undefined when it is. */
export function cidrProblem(cidr: string): string | undefined {
  const [address, prefix, extra] = cidr.split('/');
  const family = ipFamily(address ?? '');
  const maxPrefix = family === 6 ? 128 : 32;
  if (extra !== undefined || family === 0 || prefix === undefined || !/^\d{1,3}$/.test(prefix) || Number(prefix) > maxPrefix) {
    return `"${cidr}" is not a CIDR: write an address and a prefix length, e.g. 192.30.252.0/22 or 2606:50c0::/32`;
  }
  return undefined;
}

/**
 * Why `host` cannot be the address the Git host calls `what` at (a node, the load balancer), or
 * undefined when it is an IPv4, IPv6 (no zone) or DNS name.
 */
export function hostProblem(host: string, what = 'a node'): string | undefined {
  if (host.includes('%')) return `"${host}" has an IPv6 zone (%...), which only means something on one machine: give an address GitHub can reach`;
  if (ipFamily(host) !== 0) return undefined;
  if (/^[^:]+:\d+$/.test(host)) return `"${host}" has a port: give the address alone (the port is nodePort, or the load balancer's)`;
  if (/^[0-9.]+$/.test(host)) return `"${host}" is not an IPv4 address (four numbers of 0-255): give the address GitHub can reach ${what} at`;
  return rfc1123SubdomainProblem(host.toLowerCase()) === undefined
    ? undefined
    : `"${host}" is neither an IP address nor a DNS name: give the address GitHub can reach ${what} at`;
}

/**
 * Why `name` cannot be the host name a Git host calls and a route or Ingress matches: it must be a
 * lower-case DNS name, not an IP address and not a wildcard (the Payload URL needs one host).
 */
export function dnsNameProblem(name: string): string | undefined {
  if (name.startsWith('*.')) return `"${name}" is a wildcard: give the one host name the Git host calls, e.g. flux-hooks.example.com`;
  if (ipFamily(name) !== 0 || /^[0-9.]+$/.test(name)) return `"${name}" is an IP address: give a DNS name (routes and Ingresses match host names only), or use nodePort or loadBalancer`;
  if (name !== name.toLowerCase() && rfc1123SubdomainProblem(name.toLowerCase()) === undefined) return `"${name}" must be written in lower case: ${name.toLowerCase()}`;
  if (rfc1123SubdomainProblem(name) !== undefined || !name.includes('.')) {
    return `"${name}" is not a DNS name: give a fully qualified host name such as flux-hooks.example.com`;
  }
  return undefined;
}
