import { isIP } from 'node:net';
import { canonicalHost, forbiddenHost } from '../../lib/forbidden-addresses.js';

/**
 * Where the gateway may be sent to reach a subgraph. A routing URL receives every caller's requests
 * for the subgraph's fields (and a service token for that subgraph); a subscription URL every
 * subscription. So a publish may name only hosts an admin allowed for that subgraph (an admin's own
 * publish allows the hosts it names), never credentials in the URL, and never a cloud metadata or
 * link-local address, whoever asks.
 */

export type EndpointKind = 'routing' | 'subscription';

/** Stable codes of what is wrong with a subgraph URL. */
export type EndpointProblemCode = 'INVALID_URL' | 'URL_SCHEME_NOT_ALLOWED' | 'URL_CREDENTIALS' | 'FORBIDDEN_ADDRESS' | 'HOST_NOT_ALLOWED';

export interface EndpointProblem {
  kind: EndpointKind;
  code: EndpointProblemCode;
  message: string;
}

/** Whether `host:port` matches an allowed entry (`host` for any port, or `host:port`). */
export function hostAllowed(url: URL, allowed: readonly string[]): boolean {
  const host = canonicalHost(url.hostname);
  const bracketed = isIP(host) === 6 ? `[${host}]` : host;
  const port = url.port || (url.protocol === 'https:' || url.protocol === 'wss:' ? '443' : '80');
  return allowed.some((entry) => {
    const e = entry.toLowerCase();
    return e === host || e === bracketed || e === `${bracketed}:${port}`;
  });
}

/**
 * Why the gateway may not be sent to `value` for a subgraph (none: an empty list).
 * @param kind `routing` (http/https) or `subscription` (ws/wss)
 * @param allowed the subgraph's allowed hosts, or `any` for an admin
 */
export function endpointProblems(kind: EndpointKind, value: string, allowed: readonly string[] | 'any'): EndpointProblem[] {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return [{ kind, code: 'INVALID_URL', message: `${kind} URL ${value} is not a URL` }];
  }
  const schemes = kind === 'routing' ? ['http:', 'https:'] : ['ws:', 'wss:'];
  const problems: EndpointProblem[] = [];
  if (!schemes.includes(url.protocol)) {
    problems.push({ kind, code: 'URL_SCHEME_NOT_ALLOWED', message: `${kind} URL must be ${schemes.map((s) => s.slice(0, -1)).join(' or ')}, not ${url.protocol.slice(0, -1)}` });
  }
  if (url.username || url.password) problems.push({ kind, code: 'URL_CREDENTIALS', message: `${kind} URL must not carry credentials` });
  if (forbiddenHost(url.hostname)) {
    problems.push({ kind, code: 'FORBIDDEN_ADDRESS', message: `${kind} URL host ${url.hostname} is a metadata or link-local address, which no subgraph may use` });
  } else if (allowed !== 'any' && !hostAllowed(url, allowed)) {
    problems.push({
      kind,
      code: 'HOST_NOT_ALLOWED',
      message: `${kind} URL host ${url.host} is not allowed for this subgraph (allowed: ${allowed.join(', ') || 'none'}); a registry admin allows it with \`registry hosts <subgraph> --allow ${url.host}\``,
    });
  }
  return problems;
}
