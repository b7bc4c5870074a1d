import { createHash, randomBytes } from 'node:crypto';
import { ForbiddenError } from '../../lib/errors.js';
import { REGISTRY_ACTIONS, type RegistryAction } from './access.entity.js';

/** Who is calling the registry: a token's holder, or an operator on the database (CLI --local). */
export interface Principal {
  /** Recorded as the actor of what it does: `<team>/<token prefix>`, or `operator`. */
  name: string;
  team: string | null;
  admin: boolean;
  /** Subgraphs it may act on; `*` for all. */
  subgraphs: string[];
  actions: RegistryAction[];
  tokenId: string | null;
}

/** The operator of a CLI in --local mode: whoever can reach the database may do everything. */
export const OPERATOR: Principal = { name: 'operator', team: null, admin: true, subgraphs: ['*'], actions: [...REGISTRY_ACTIONS], tokenId: null };

const TOKEN_PREFIX = 'osr_';

/**
 * A new random token: 256 bits, so a plain sha256 of it is a safe thing to store. The prefix tells
 * kinds apart (`osr_` registry tokens, `osk_` gateway API keys) and helps secret scanners.
 */
export function newToken(prefix = TOKEN_PREFIX): { token: string; hash: string; prefix: string } {
  const token = `${prefix}${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashToken(token), prefix: token.slice(0, 12) };
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * @throws ForbiddenError when the principal may not do `action` on `subgraph`
 */
export function authorize(principal: Principal, action: RegistryAction, subgraph: string): void {
  if (principal.admin) return;
  if (!principal.actions.includes(action)) {
    throw new ForbiddenError(`This token may not ${action.toLowerCase()} (it may: ${principal.actions.join(', ').toLowerCase() || 'nothing'})`, { action, subgraph });
  }
  if (!principal.subgraphs.includes('*') && !principal.subgraphs.includes(subgraph)) {
    throw new ForbiddenError(`This token may not act on subgraph "${subgraph}" (it may on: ${principal.subgraphs.join(', ')})`, { action, subgraph });
  }
}

/**
 * @throws ForbiddenError unless the principal is an admin
 */
export function requireAdmin(principal: Principal, what: string): void {
  if (!principal.admin) throw new ForbiddenError(`Only an admin token may ${what}`, { action: 'ADMIN' });
}
