import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { writeTransaction } from '../../lib/db.js';
import { NotFoundError, parseInput, UnauthenticatedError } from '../../lib/errors.js';
import { hashToken, newToken } from '../registry/principal.js';
import type { ApiKeyEntity } from './api-key.entity.js';
import { apiKeyStore } from './api-key.store.js';
import { API_KEY_PREFIX, type Identity } from './identity.js';

/** A scope: `area:action` or `area:action:target`, e.g. `availability:read`, `registry:publish:pricing`. */
const scope = z.string().regex(/^[a-z][a-z0-9_-]*(:[a-z0-9_*-]+){1,3}$/, 'like availability:read');

const createSchema = z.object({
  clientId: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'letters, digits, . _ : - (at most 128)'),
  scopes: z.array(scope).min(1, 'at least one scope').max(100),
  /** Milliseconds until it expires; null never. */
  expiresInMs: z.number().int().min(60_000).nullable(),
  createdBy: z.string().min(1).max(200),
});

export type CreateApiKeyInput = z.input<typeof createSchema>;

/** API keys of client applications: issued (shown once), listed, revoked, and checked on every request. */
export class ApiKeyService {
  constructor(private readonly ds: DataSource) {}

  /**
   * Issues a key; the key itself is returned once, only its sha256 is kept.
   * @throws BadUserInputError for an invalid client id, scope or expiry
   */
  async create(input: CreateApiKeyInput, now = new Date()): Promise<{ key: string; record: ApiKeyEntity }> {
    const parsed = parseInput(createSchema, input, 'API key');
    const { token, hash, prefix } = newToken(API_KEY_PREFIX);
    const record: ApiKeyEntity = {
      id: randomUUID(),
      clientId: parsed.clientId,
      scopes: [...new Set(parsed.scopes)].sort(),
      keyHash: hash,
      keyPrefix: prefix,
      expiresAt: parsed.expiresInMs === null ? null : new Date(now.getTime() + parsed.expiresInMs),
      revokedAt: null,
      createdBy: parsed.createdBy,
      createdAt: now,
      lastUsedAt: null,
    };
    await writeTransaction(this.ds, (tx) => apiKeyStore.insert(tx, record));
    return { key: token, record };
  }

  /** Every key, newest first (hashes stay out of it). */
  list(): Promise<ApiKeyEntity[]> {
    return apiKeyStore.list(this.ds.manager);
  }

  /**
   * Revokes a key at once; revoking again changes nothing.
   * @throws NotFoundError when there is no such key
   */
  async revoke(id: string, now = new Date()): Promise<ApiKeyEntity> {
    return writeTransaction(this.ds, async (tx) => {
      if (!(await apiKeyStore.byId(tx, id))) throw new NotFoundError('API key', id);
      await apiKeyStore.revoke(tx, id, now);
      return (await apiKeyStore.byId(tx, id))!;
    });
  }

  /**
   * The identity an API key stands for. One indexed lookup per request, no cache, so a revocation
   * takes effect on the next request.
   * @throws UnauthenticatedError when the key is unknown, expired or revoked
   */
  async authenticate(key: string, now = new Date()): Promise<Identity> {
    const row = await apiKeyStore.byHash(this.ds.manager, hashToken(key));
    if (!row) throw new UnauthenticatedError('Unknown API key', { reason: 'UNKNOWN_KEY' });
    if (row.revokedAt) throw new UnauthenticatedError('This API key was revoked', { reason: 'REVOKED' });
    if (row.expiresAt && row.expiresAt <= now) throw new UnauthenticatedError(`This API key expired at ${row.expiresAt.toISOString()}`, { reason: 'EXPIRED' });
    // Bookkeeping only: a failed write must not fail the request.
    void apiKeyStore.touch(this.ds.manager, row.id, now).catch(() => {});
    return { clientId: row.clientId, scopes: row.scopes, kind: 'api-key' };
  }
}
