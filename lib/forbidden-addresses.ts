import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * Addresses no subgraph may be at, whatever a URL says: cloud metadata services and link-local
 * ranges. The registry refuses URLs naming them (registry/domain/endpoint-rules.ts); the gateway
 * refuses to connect to them (`guardedLookup`), so a name that resolves there, at publish time or
 * later (DNS rebinding), reaches nothing either.
 *
 * Every spelling an address can take is covered: IPv4-mapped IPv6 (`::ffff:169.254.169.254`, which
 * BlockList matches against IPv4 rules), IPv4-compatible IPv6, NAT64 (`64:ff9b::/96`) and 6to4
 * (`2002::/16`) wrappers of a link-local IPv4 address. Decimal, hex and octal IPv4 spellings reach
 * here already normalised by the WHATWG URL parser.
 */
const forbidden = new BlockList();
forbidden.addSubnet('169.254.0.0', 16, 'ipv4'); // link-local; AWS, GCP, Azure, OpenStack metadata
forbidden.addAddress('100.100.100.200', 'ipv4'); // Alibaba Cloud metadata
forbidden.addSubnet('fe80::', 10, 'ipv6'); // IPv6 link-local
forbidden.addAddress('fd00:ec2::254', 'ipv6'); // AWS IMDS over IPv6
forbidden.addSubnet('::a9fe:0', 112, 'ipv6'); // IPv4-compatible ::169.254.0.0/112
forbidden.addSubnet('64:ff9b::a9fe:0', 112, 'ipv6'); // NAT64 of 169.254.0.0/16
forbidden.addAddress('64:ff9b::6464:64c8', 'ipv6'); // NAT64 of 100.100.100.200
forbidden.addSubnet('2002:a9fe::', 32, 'ipv6'); // 6to4 of 169.254.0.0/16

/** Metadata services' names (the IP rules catch what they resolve to; these are refused before any lookup). */
const FORBIDDEN_NAMES = new Set(['metadata', 'metadata.google.internal', 'metadata.goog', 'instance-data', 'instance-data.ec2.internal']);

/** The hostname as the resolver sees it: brackets, case and trailing dots (`metadata.google.internal.`) removed. */
export function canonicalHost(hostname: string): string {
  return hostname.replace(/^\[|\]$/g, '').toLowerCase().replace(/\.+$/, '');
}

/** Whether an IP address (any spelling `net` understands) is one no subgraph may be at. */
export function forbiddenAddress(address: string): boolean {
  const family = isIP(address);
  return family !== 0 && forbidden.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** Whether a URL's hostname (a name or an IP literal) is one no subgraph may be at. */
export function forbiddenHost(hostname: string): boolean {
  const host = canonicalHost(hostname);
  return FORBIDDEN_NAMES.has(host) || forbiddenAddress(host);
}

export class ForbiddenAddressError extends Error {
  readonly code = 'EFORBIDDENADDRESS';
}

/**
 * A `lookup` for sockets to subgraphs (undici's and ws's connect options): a name must not be a
 * metadata name, and the addresses it resolves to that are forbidden are dropped; when none is left
 * the connection fails with EFORBIDDENADDRESS. (IP literals are not looked up: callers check them
 * with `forbiddenHost`.)
 */
export const guardedLookup: LookupFunction = guardLookup(dnsLookup);

/** `guardedLookup` over another resolver (`dns.lookup`'s signature with `all: true`). */
export function guardLookup(resolve: (hostname: string, options: LookupOptions & { all: true }, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void): LookupFunction {
  return (hostname, options, callback) => {
    if (FORBIDDEN_NAMES.has(canonicalHost(hostname))) {
      callback(new ForbiddenAddressError(`${hostname} is a metadata service's name, which no subgraph may use`), '', 0);
      return;
    }
    resolve(hostname, { ...(options as LookupOptions), all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const allowed = addresses.filter((a) => !forbiddenAddress(a.address));
      if (!allowed.length) {
        return callback(new ForbiddenAddressError(`${hostname} resolves to ${addresses.map((a) => a.address).join(', ')}, a metadata or link-local address no subgraph may use`), '', 0);
      }
      // Node asks for every address (`all`) when it races IPv4 against IPv6, else for one.
      if ((options as LookupOptions).all) (callback as unknown as (err: null, addresses: LookupAddress[]) => void)(null, allowed);
      else callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };
}
