import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialCache } from '../../lib/credential-cache.js';
import { configWith, registryDatabaseName } from '../../lib/config.js';
import { ApiKeyService, openRegistryDatabase } from '../../registry/index.js';
import type { ApiKeyCache } from '../../registry/services/api-keys.service.js';

/**
 * #16 item 5, in part: failed authentications do not evict the key cache. A flood of made-up keys
 * used to fill the one cache of looked-up keys and push the real keys out of it, sending every
 * real request back to the database.
 */
const cfg = configWith({ DB_PREFIX: `omnistock_kc${randomUUID().slice(0, 8)}` });
let db: DataSource;

beforeAll(async () => {
  db = await openRegistryDatabase(cfg);
});

afterAll(async () => {
  await db?.query(`DROP DATABASE IF EXISTS \`${registryDatabaseName(cfg)}\``);
  await db?.destroy();
});

describe('the API key cache under a flood of made-up keys', () => {
  it('keeps the real keys it holds, and answers the made-up ones from their own bounded cache', async () => {
    const cache: ApiKeyCache = new CredentialCache(60_000, 50);
    const unknown = new CredentialCache<true>(60_000, 50);
    const keys = new ApiKeyService(db, { cache, unknown });
    const { key, record } = await keys.create({ clientId: 'flooded', scopes: ['availability:read'], expiresInMs: 3_600_000, createdBy: 'key-cache-flood.test' });
    await keys.authenticate(key);
    for (let i = 0; i < 500; i++) await expect(keys.authenticate(`osk_${randomUUID()}${randomUUID()}`)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(cache.get(record.keyHash)).toMatchObject({ id: record.id });
    // Still answered from the cache: a row changed behind its back is not read again.
    await db.query('UPDATE gateway_api_keys SET client_id = ? WHERE id = ?', ['changed-behind', record.id]);
    expect((await keys.authenticate(key)).clientId).toBe('flooded');
  });
});
