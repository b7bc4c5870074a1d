import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compose, readSupergraphConfig } from '../../contracts/composition.js';
import { createAuthenticator } from '../../gateway/auth/index.js';
import { startGateway } from '../../gateway/gateway.js';
import { authMode, configWith, parseConfig, SUBGRAPH_NAMES } from '../../lib/config.js';
import { ApiKeyService, openKeyStore, openRegistryDatabase } from '../../registry/index.js';
import { DEMO_KEYS, ensureDemoKeys } from '../../scripts/demo/keys.js';
import { errorCode, gql } from '../client.js';
import { startStack, type Stack } from '../stack.js';

/**
 * #16 item 1: authentication is on unless switched off on purpose; switched off, the gateway
 * serves loopback only and still refuses credentials that fail; JWTs expire; npm start's demo keys.
 */
const SECRET = 'auth-default-secret-of-at-least-32-chars';
let stack: Stack;
let registryDb: DataSource;
let keys: ApiKeyService;
let keyStore: Awaited<ReturnType<typeof openKeyStore>>;
let offGateway: Awaited<ReturnType<typeof startGateway>>;
let supergraphSdl: string;

beforeAll(async () => {
  stack = await startStack();
  registryDb = await openRegistryDatabase(stack.cfg);
  keys = new ApiKeyService(registryDb);
  const composed = compose(await readSupergraphConfig('supergraph.yaml'));
  if (!composed.ok) throw new Error(JSON.stringify(composed.errors));
  supergraphSdl = composed.supergraphSdl;
  // AUTH_MODE=off, with the key store and a JWT secret: presented credentials are still checked.
  const cfg = configWith({ AUTH_MODE: 'off', AUTH_JWT_SECRET: SECRET, AUTH_KEY_CACHE_MS: '0' });
  keyStore = await openKeyStore(cfg, registryDb);
  offGateway = await startGateway({
    supergraphSdl,
    urlOverrides: Object.fromEntries(SUBGRAPH_NAMES.map((n) => [n, stack.subgraphs[n].url])),
    auth: { mode: 'off', authenticator: createAuthenticator(cfg, keyStore) },
    host: '127.0.0.1',
    port: 0,
  });
});

afterAll(async () => {
  await offGateway?.close();
  await keyStore?.close();
  await registryDb?.destroy();
  await stack?.close();
});

const QUERY = '{ inventoryItems(skus: ["NOPE"]) { sku } }';
const jwt = (claims: Record<string, unknown>, exp?: string | number) => {
  const token = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt();
  return (exp === undefined ? token : token.setExpirationTime(exp)).sign(new TextEncoder().encode(SECRET));
};

describe('authentication by default', () => {
  it('is enforced unless AUTH_MODE=off is set, in development too', () => {
    for (const NODE_ENV of ['development', 'test', 'production']) expect(authMode(parseConfig({ NODE_ENV }))).toBe('enforce');
    expect(authMode(parseConfig({ AUTH_MODE: 'off' }))).toBe('off');
  });

  it('switched off, the gateway refuses to listen beyond loopback', async () => {
    await expect(startGateway({ supergraphSdl, auth: { mode: 'off' }, host: '0.0.0.0', port: 0 })).rejects.toThrow(/loopback only/);
  });

  it('switched off, still refuses a credential that is presented and fails (401), and takes one that holds', async () => {
    const { key } = await keys.create({ clientId: `off-${randomUUID().slice(0, 8)}`, scopes: ['availability:read'], expiresInMs: 3_600_000, createdBy: 'auth-default.test' });
    const attempts: Record<string, string>[] = [{ authorization: 'Bearer garbage' }, { 'x-api-key': 'osk_unknown0000000000000000000000000000000000' }, { authorization: `Bearer ${await jwt({ client_id: 'x' }, '1h')}x` }];
    for (const headers of attempts) {
      const res = await gql(offGateway.url, QUERY, {}, headers);
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(errorCode(res)).toBe('UNAUTHENTICATED');
    }
    expect((await gql(offGateway.url, QUERY, {}, { 'x-api-key': key })).errors).toBeUndefined();
    expect((await gql(offGateway.url, QUERY)).errors).toBeUndefined();
  });

  it('refuses a JWT without exp, and one that lives longer than AUTH_JWT_MAX_LIFETIME_S', async () => {
    const forever = await gql(offGateway.url, QUERY, {}, { authorization: `Bearer ${await jwt({ client_id: 'forever' })}` });
    expect(forever.status).toBe(401);
    const month = await gql(offGateway.url, QUERY, {}, { authorization: `Bearer ${await jwt({ client_id: 'month' }, '30d')}` });
    expect(month.status).toBe(401);
    expect(month.errors![0]!.extensions).toMatchObject({ reason: 'JWT_LIFETIME_TOO_LONG' });
    expect((await gql(offGateway.url, QUERY, {}, { authorization: `Bearer ${await jwt({ client_id: 'hour' }, '1h')}` })).errors).toBeUndefined();
  });

  it("npm start's demo keys: issued once, reused, issued again when revoked, readable by this user only", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'omnistock-keys-'));
    const file = join(dir, 'demo-keys.json');
    try {
      const first = await ensureDemoKeys(stack.cfg, file);
      expect(first.issued).toBe(DEMO_KEYS.length);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const again = await ensureDemoKeys(stack.cfg, file);
      expect(again).toEqual({ keys: first.keys, issued: 0 });
      for (const demo of DEMO_KEYS) expect(await keys.authenticate(first.keys[demo.role])).toMatchObject({ clientId: demo.clientId, scopes: [...demo.scopes].sort() });
      const storefront = (await keys.list()).find((k) => k.keyPrefix === first.keys.storefront.slice(0, 12))!;
      await keys.revoke(storefront.id);
      const renewed = await ensureDemoKeys(stack.cfg, file);
      expect(renewed.issued).toBe(1);
      expect(renewed.keys.storefront).not.toBe(first.keys.storefront);
      expect(renewed.keys.operator).toBe(first.keys.operator);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
