import { ForbiddenError } from '../../lib/errors.js';
import type { ApiKeyEntity } from '../data/api-key.entity.js';
import { DAY_MS } from '../domain/inputs.js';
import { requireAdmin, type Principal } from '../domain/principal.js';
import type { ApiKeyService } from './api-keys.service.js';

/** An API key to issue through the registry API. */
export interface IssueKeyInput {
  clientId: string;
  team?: string | null;
  /** The contract its caller sees (see contracts.service.ts); absent: the whole API schema. */
  contract?: string | null;
  description?: string | null;
  scopes: string[];
  /** Days until it expires; null or absent: never. */
  expiresInDays?: number | null;
}

/**
 * API keys managed through the registry API (and its console): listed, issued and revoked by a
 * caller with `registry:admin` only. The key service it wraps is the gateway's, so a revocation
 * drops the key from every gateway's cache at once. An admin grants registry scopes freely (it
 * holds them all) but any other scope (`inventory:write`, `admin`…) only if it holds it itself.
 */
export class ApiKeyAdmin {
  constructor(private readonly keys: ApiKeyService) {}

  /** @throws ForbiddenError unless the principal is an admin */
  list(principal: Principal): Promise<ApiKeyEntity[]> {
    requireAdmin(principal, 'list API keys');
    return this.keys.list();
  }

  /**
   * Issues a key: its secret is in this answer only.
   * @throws ForbiddenError unless the principal is an admin, or when it grants a non-registry scope the principal does not hold
   * @throws BadUserInputError for an invalid client id, team, scope or expiry
   */
  async create(principal: Principal, input: IssueKeyInput): Promise<{ key: string; record: ApiKeyEntity }> {
    requireAdmin(principal, 'issue API keys');
    // The operator on the database (CLI --local, no client id) may grant anything.
    if (principal.clientId !== null) {
      const beyond = (input.scopes ?? []).filter((s) => !s.startsWith('registry:') && !principal.scopes.includes(s));
      if (beyond.length) {
        throw new ForbiddenError(`${principal.name} may not grant scopes it does not hold: ${beyond.join(', ')}`, { action: 'ADMIN', reason: 'SCOPE_ESCALATION', scopes: beyond });
      }
    }
    const days = input.expiresInDays;
    return this.keys.create({
      clientId: input.clientId,
      team: input.team ?? null,
      contract: input.contract ?? null,
      description: input.description ?? null,
      scopes: input.scopes,
      expiresInMs: days == null ? null : Math.round(days * DAY_MS),
      createdBy: principal.name,
    });
  }

  /**
   * Revokes a key on every gateway at once.
   * @throws ForbiddenError unless the principal is an admin
   * @throws NotFoundError when there is no such key
   */
  revoke(principal: Principal, id: string): Promise<ApiKeyEntity> {
    requireAdmin(principal, 'revoke API keys');
    return this.keys.revoke(id);
  }
}
