import { createHash, randomBytes } from 'node:crypto';
import { ForbiddenError, UnauthenticatedError } from '../../lib/errors.js';
import type { Caller } from '../../contracts/identity.js';

/** What a caller may do in the registry besides reading; each is a scope `registry:<action lowercased>:<target>`. */
export const REGISTRY_ACTIONS = ['CHECK', 'PUBLISH', 'PROMOTE', 'APPROVE', 'DOCUMENTS'] as const;
export type RegistryAction = (typeof REGISTRY_ACTIONS)[number];

/** The scope that allows everything in the registry. */
export const REGISTRY_ADMIN_SCOPE = 'registry:admin';

/** Who is calling the registry: an API key's or JWT's identity, or an operator on the database (CLI --local). */
export interface Principal {
  /** Recorded as the actor of what it does: `<team>/<key prefix>` for an API key, the client id for a JWT, or `operator`. */
  name: string;
  /** The client application; null for the operator. */
  clientId: string | null;
  /** The team that owns what it publishes: the key's team, else its client id. */
  team: string | null;
  /** It has `registry:admin`: it may do everything. */
  admin: boolean;
  /** Its scopes; those of the registry are `registry:admin` and `registry:<action>:<target>` (`*`: any target). */
  scopes: string[];
  /** The API key's id (null for JWTs and the operator). */
  tokenId: string | null;
}

/** The operator of a CLI in --local mode: whoever can reach the database may do everything. */
export const OPERATOR: Principal = { name: 'operator', clientId: null, team: null, admin: true, scopes: [REGISTRY_ADMIN_SCOPE], tokenId: null };

/**
 * The principal of an authenticated caller (the gateway's authenticator).
 * @throws UnauthenticatedError for an anonymous caller: the registry always requires credentials
 */
export function principalOf(caller: Caller): Principal {
  if (caller.kind === 'anonymous') {
    throw new UnauthenticatedError('The registry API requires credentials: send "Authorization: Bearer <key or JWT>" or "x-api-key: <key>"', { reason: 'CREDENTIALS_REQUIRED' });
  }
  const team = caller.team ?? caller.clientId;
  return {
    name: caller.key ? `${team}/${caller.key.prefix}` : caller.clientId,
    clientId: caller.clientId,
    team,
    admin: caller.scopes.includes(REGISTRY_ADMIN_SCOPE),
    scopes: caller.scopes,
    tokenId: caller.key?.id ?? null,
  };
}

/** The registry scopes a principal holds, for messages. */
function registryScopes(principal: Principal): string {
  return principal.scopes.filter((s) => s.startsWith('registry:')).join(', ') || 'none';
}

/**
 * A new random token: 256 bits, so a plain sha256 of it is a safe thing to store. The prefix
 * (`osk_` API keys) tells it from a JWT and helps secret scanners.
 */
export function newToken(prefix: string): { token: string; hash: string; prefix: string } {
  const token = `${prefix}${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashToken(token), prefix: token.slice(0, 12) };
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Whether the principal may do `action` on `target`: `registry:admin`, `registry:<action>:<target>` or `registry:<action>:*`. */
export function allowed(principal: Principal, action: RegistryAction | 'READ', target: string): boolean {
  if (principal.admin) return true;
  const verb = action.toLowerCase();
  return principal.scopes.includes(`registry:${verb}:${target}`) || principal.scopes.includes(`registry:${verb}:*`);
}

/**
 * Whether the principal may read a subgraph's schemas, routing URLs and check runs: with
 * `registry:read:<subgraph>` (or `:*`, or admin), or any registry scope of its own on that subgraph
 * (who may check or publish it may read it). `*`: everything (the supergraph, every subgraph).
 */
export function mayRead(principal: Principal, subgraph: string): boolean {
  if (allowed(principal, 'READ', subgraph)) return true;
  return subgraph !== '*' && REGISTRY_ACTIONS.some((action) => action !== 'DOCUMENTS' && allowed(principal, action, subgraph));
}

/** @throws ForbiddenError unless the principal may read `subgraph` (`*`: the supergraph and every subgraph) */
export function authorizeRead(principal: Principal, subgraph: string): void {
  if (mayRead(principal, subgraph)) return;
  const what = subgraph === '*' ? 'the supergraph and every subgraph' : `subgraph "${subgraph}"`;
  throw new ForbiddenError(`${principal.name} may not read ${what}: that needs the scope registry:read:${subgraph} (it has: ${registryScopes(principal)})`, {
    action: 'READ',
    subgraph,
    requiredScope: `registry:read:${subgraph}`,
  });
}

/**
 * Allowed with `registry:admin`, `registry:<action>:<target>` or `registry:<action>:*` (the action
 * lower-cased: a new action needs no mapping code).
 * @throws ForbiddenError when the principal may not do `action` on `target` (a subgraph, or a client for DOCUMENTS)
 */
export function authorize(principal: Principal, action: RegistryAction, target: string): void {
  const verb = action.toLowerCase();
  if (allowed(principal, action, target)) return;
  throw new ForbiddenError(`${principal.name} may not ${verb} "${target}": that needs the scope registry:${verb}:${target} (it has: ${registryScopes(principal)})`, {
    action,
    subgraph: target,
    target,
    requiredScope: `registry:${verb}:${target}`,
  });
}

/**
 * @throws ForbiddenError unless the principal is an admin (scope registry:admin)
 */
export function requireAdmin(principal: Principal, what: string): void {
  if (!principal.admin) throw new ForbiddenError(`Only a caller with the scope ${REGISTRY_ADMIN_SCOPE} may ${what}`, { action: 'ADMIN', requiredScope: REGISTRY_ADMIN_SCOPE });
}
