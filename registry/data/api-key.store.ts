import type { EntityManager } from 'typeorm';
import { ApiKeyEntity } from './api-key.entity.js';

/** SQL of API keys. Every method runs on the manager it is given. */
export const apiKeyStore = {
  byHash(tx: EntityManager, keyHash: string): Promise<ApiKeyEntity | null> {
    return tx.findOneBy(ApiKeyEntity, { keyHash });
  },

  byId(tx: EntityManager, id: string): Promise<ApiKeyEntity | null> {
    return tx.findOneBy(ApiKeyEntity, { id });
  },

  async insert(tx: EntityManager, row: ApiKeyEntity): Promise<void> {
    await tx.insert(ApiKeyEntity, row);
  },

  /** Newest first. */
  list(tx: EntityManager): Promise<ApiKeyEntity[]> {
    return tx.find(ApiKeyEntity, { order: { createdAt: 'DESC' } });
  },

  async revoke(tx: EntityManager, id: string, at: Date): Promise<void> {
    await tx.query('UPDATE gateway_api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?', [at, id]);
  },

  /** Records a use, at most once a minute per key (a write per request would be wasted). */
  async touch(tx: EntityManager, id: string, at: Date): Promise<void> {
    await tx.query('UPDATE gateway_api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)', [
      at,
      id,
      new Date(at.getTime() - 60_000),
    ]);
  },
};
