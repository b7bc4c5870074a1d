import { isIP } from 'node:net';

/**
 * Where the gateway may be sent to reach a subgraph. A routing URL receives every caller's requests
 * for the subgraph's fields (and a service token for that subgraph); a subscription URL every
 * subscription. So a publish may name only hosts an admin allowed for that subgraph (an admin's own
 * publish allows the hosts it names), never credentials in the URL, and never a cloud metadata or
 * link-local address, whoever asks.
 */

/** Addresses no subgraph may be at: cloud metadata services and link-local ranges. */
function forbiddenHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'metadata.google.internal' || host === 'metadata' || host === 'fd00:ec2::254') return true;
  if (isIP(host) === 4) return host.startsWith('169.254.');
  if (isIP(host) === 6) return /^fe[89ab][0-9a-f]:/.test(host);
  return false;
}

/** Whether `host:port` matches an allowed entry (`host` for any port, or `host:port`). */
export function hostAllowed(url: URL, allowed: readonly string[]): boolean {
  const host = url.hostname.toLowerCase();
  const port = url.port || (url.protocol === 'https:' || url.protocol === 'wss:' ? '443' : '80');
  return allowed.some((entry) => {
    const e = entry.toLowerCase();
    return e === host || e === `${host}:${port}` || e === url.host.toLowerCase();
  });
}

/**
 * Why the gateway may not be sent to `value` for a subgraph (none: an empty list).
 * @param kind `routing` (http/https) or `subscription` (ws/wss)
 * @param allowed the subgraph's allowed hosts, or `any` for an admin
 */
export function endpointProblems(kind: 'routing' | 'subscription', value: string, allowed: readonly string[] | 'any'): string[] {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return [`${kind} URL ${value} is not a URL`];
  }
  const schemes = kind === 'routing' ? ['http:', 'https:'] : ['ws:', 'wss:'];
  const problems: string[] = [];
  if (!schemes.includes(url.protocol)) problems.push(`${kind} URL must be ${schemes.map((s) => s.slice(0, -1)).join(' or ')}, not ${url.protocol.slice(0, -1)}`);
  if (url.username || url.password) problems.push(`${kind} URL must not carry credentials`);
  if (forbiddenHost(url.hostname)) problems.push(`${kind} URL host ${url.hostname} is a metadata or link-local address, which no subgraph may use`);
  else if (allowed !== 'any' && !hostAllowed(url, allowed)) {
    problems.push(`${kind} URL host ${url.host} is not allowed for this subgraph (allowed: ${allowed.join(', ') || 'none'}); a registry admin allows it with \`registry hosts <subgraph> --allow ${url.host}\``);
  }
  return problems;
}
