import { randomUUID } from 'node:crypto';
import { config, SUBGRAPH_NAMES } from '../lib/config.js';
import { readServiceKeys, SERVICE_TOKEN_HEADER, signServiceToken } from '../lib/service-token.js';

export interface GraphQLResponse<T = Record<string, any>> {
  status: number;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, any> }[];
  headers: Headers;
}

/** Every scope our subgraphs' schemas ask for. */
export const ALL_SCOPES = ['availability:read', 'inventory:read', 'inventory:write', 'orders:read', 'orders:write', 'locations:admin', 'channels:admin', 'exceptions:read', 'exceptions:write', 'exceptions:admin'];

/**
 * A service token as the gateway would sign it, for tests that call a subgraph directly: for every
 * first-party subgraph, naming `clientId` (the actor) and `scopes` (default: all of them).
 */
export async function serviceToken(
  opts: { clientId?: string | null; scopes?: string[]; issuer?: string; audience?: string | string[]; expiresAt?: number } = {},
): Promise<string> {
  const keys = readServiceKeys({ keys: config().SERVICE_TOKEN_KEYS, file: config().SERVICE_TOKEN_KEYS_FILE });
  return signServiceToken(keys, {
    issuer: opts.issuer ?? 'gateway',
    audience: opts.audience ?? [...SUBGRAPH_NAMES],
    clientId: opts.clientId ?? null,
    scopes: opts.scopes ?? ALL_SCOPES,
    expiresAt: opts.expiresAt ?? '5m',
  });
}

/**
 * POSTs one GraphQL operation and returns status, body and headers (no throwing on errors). Every
 * request carries a service token naming its x-client-id, so a subgraph answers it as it answers the
 * gateway (a gateway ignores it); pass `x-service-token` to send another.
 */
export async function gql<T = Record<string, any>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [SERVICE_TOKEN_HEADER]: await serviceToken({ clientId: headers['x-client-id'] ?? null }), ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T | null; errors?: GraphQLResponse['errors'] };
  return { status: res.status, data: body.data, errors: body.errors, headers: res.headers };
}

/** First error code of a response, for terse assertions. */
export function errorCode(res: GraphQLResponse): string | undefined {
  return res.errors?.[0]?.extensions?.code;
}

/** A random suffix so concurrent test files never collide on codes or SKUs. */
export function uniq(prefix = ''): string {
  return `${prefix}${randomUUID().slice(0, 8).toUpperCase()}`;
}
