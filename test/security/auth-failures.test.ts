import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compose, readSupergraphConfig } from '../../contracts/composition.js';
import { createAuthenticator } from '../../gateway/auth/index.js';
import { startGateway } from '../../gateway/gateway.js';
import { limitSettings } from '../../gateway/limits/limits.js';
import { configWith, SUBGRAPH_NAMES } from '../../lib/config.js';
import { createRedis, redisTarget } from '../../lib/redis.js';
import { ApiKeyService, openKeyStore, openRegistryDatabase } from '../../registry/index.js';
import { errorCode, gql } from '../client.js';
import { dropKeys } from '../events.js';
import { startStack, type Stack } from '../stack.js';

/**
 * #16 item 5, in part: failed authentications are rate-limited per address. Past
 * AUTH_FAILURES_PER_MINUTE, credentials from that address are refused (429) without being checked:
 * guessing keys or tokens costs the guesser, not the key store.
 */
const PER_MINUTE = 5;
const prefix = `omnistock_test:authfail-${randomUUID().slice(0, 8)}`;
let stack: Stack;
let registryDb: DataSource;
let keyStore: Awaited<ReturnType<typeof openKeyStore>>;
let gateway: Awaited<ReturnType<typeof startGateway>>;
let validKey: string;

beforeAll(async () => {
  stack = await startStack({ env: { REDIS_KEY_PREFIX: prefix } });
  const cfg = configWith({ AUTH_MODE: 'enforce', AUTH_PUBLIC_SCOPES: '', AUTH_KEY_CACHE_MS: '0', REDIS_KEY_PREFIX: prefix });
  registryDb = await openRegistryDatabase(cfg);
  keyStore = await openKeyStore(cfg, registryDb);
  ({ key: validKey } = await new ApiKeyService(registryDb).create({ clientId: 'authfail', scopes: ['availability:read'], expiresInMs: 3_600_000, createdBy: 'auth-failures.test' }));
  const composed = compose(await readSupergraphConfig('supergraph.yaml'));
  if (!composed.ok) throw new Error(JSON.stringify(composed.errors));
  gateway = await startGateway({
    supergraphSdl: composed.supergraphSdl,
    urlOverrides: Object.fromEntries(SUBGRAPH_NAMES.map((n) => [n, stack.subgraphs[n].url])),
    auth: { mode: 'enforce', authenticator: createAuthenticator(cfg, keyStore) },
    limits: { ...limitSettings(cfg), perMinute: 0 },
    authFailuresPerMinute: PER_MINUTE,
    host: '127.0.0.1',
    port: 0,
  });
});

afterAll(async () => {
  await gateway?.close();
  await keyStore?.close();
  await registryDb?.destroy();
  const redis = createRedis(redisTarget(stack.cfg));
  await dropKeys(redis, prefix);
  await redis.quit();
  await stack?.close();
});

describe('failed authentications', () => {
  it('are limited per address: past the limit credentials from there are refused unchecked (429), anonymous requests still answered', async () => {
    const guess = () => gql(gateway.url, '{ __typename }', {}, { 'x-api-key': `osk_${randomUUID().replace(/-/g, '')}` });
    for (let i = 0; i < PER_MINUTE; i++) expect((await guess()).status).toBe(401);
    const limited = await guess();
    expect(limited.status).toBe(429);
    expect(errorCode(limited)).toBe('RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // A good key from the same address waits too: a guesser cannot tell a hit from a miss.
    expect((await gql(gateway.url, '{ __typename }', {}, { 'x-api-key': validKey })).status).toBe(429);
    expect((await gql(gateway.url, '{ __typename }')).status).toBe(200);
  });
});
