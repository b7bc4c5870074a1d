import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyService, KeyRevocations, openRegistryDatabase } from '../registry/index.js';
import { CredentialCache } from '../lib/credential-cache.js';
import { logger } from '../lib/logger.js';
import { errorCode, gql } from './client.js';
import { AVAILABILITY, InventoryFixture } from './inventory-fixture.js';
import { runScript } from './process.js';
import { startStack, type Stack } from './stack.js';
import { collect, wsClient, wsUrl } from './subscriptions-helpers.js';
import type { DataSource } from 'typeorm';
import { redisTarget } from '../lib/redis.js';

const SECRET = 'test-secret-of-at-least-thirty-two-characters';
const ISSUER = 'https://id.omnistock.test';
const AUDIENCE = 'omnistock-api';
const RECEIVE = `mutation($i: ReceiveStockInput!) { receiveStock(input: $i) { __typename } }`;
const STOCK_CHANGED = `subscription($f: StockChangedFilter!) { stockChanged(filter: $f) { sku } }`;

let stack: Stack;
let jwks: Server;
let rsaKey: CryptoKey;
let gatewayDb: DataSource;
let keys: ApiKeyService;
let inv: InventoryFixture;
let ids: { loc: string; channel: string; sku: string };

async function apiKey(scopes: string[], clientId = `test-${randomUUID().slice(0, 8)}`): Promise<string> {
  return (await keys.create({ clientId, scopes, expiresInMs: 3_600_000, createdBy: 'auth.test' })).key;
}

function hs256(claims: Record<string, unknown>, opts: { expiresIn?: string | number; secret?: string } = {}) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(opts.expiresIn ?? '5m')
    .sign(new TextEncoder().encode(opts.secret ?? SECRET));
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const availability = (headers: Record<string, string> = {}) => gql(stack.gatewayUrl, AVAILABILITY, { c: ids.channel, skus: [ids.sku] }, headers);

beforeAll(async () => {
  // A local identity provider's JWKS for the RS256 case.
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  rsaKey = privateKey;
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
  jwks = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  const address = jwks.address();
  const jwksUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/.well-known/jwks.json`;

  stack = await startStack({
    env: {
      AUTH_MODE: 'enforce',
      AUTH_PUBLIC_SCOPES: 'availability:read',
      AUTH_JWT_SECRET: SECRET,
      AUTH_JWKS_URL: jwksUrl,
      AUTH_JWT_ISSUER: ISSUER,
      AUTH_JWT_AUDIENCE: AUDIENCE,
    },
  });
  gatewayDb = await openRegistryDatabase(stack.cfg);
  keys = new ApiKeyService(gatewayDb);
  // Seeded on the inventory subgraph directly: subgraphs sit behind the gateway and trust it.
  inv = new InventoryFixture(stack.subgraphs.inventory.url, stack.subgraphs.inventory.dataSource);
  const loc = await inv.location();
  ids = { loc, channel: await inv.channel([loc]), sku: await inv.item() };
  await inv.receive(ids.sku, loc, 10);
});

afterAll(async () => {
  await gatewayDb?.destroy();
  await stack?.close();
  await new Promise((resolve) => jwks?.close(resolve));
});

describe('API keys', () => {
  it('a key created with the CLI works until it is revoked with the CLI, then is refused with 401', async () => {
    const client = `cli-${randomUUID().slice(0, 8)}`;
    const cli = async (...args: string[]) => {
      const res = await runScript('scripts/cli.ts', ['keys', ...args], {}, 60_000);
      if (res.code !== 0) throw new Error(`omnistock keys ${args.join(' ')} exited with ${res.code}: ${res.stderr}`);
      return res;
    };
    const created = JSON.parse((await cli('create', '--client', client, '--scopes', 'availability:read,inventory:read', '--expires', '1d', '--json')).stdout);
    expect(created).toMatchObject({ clientId: client, scopes: ['availability:read', 'inventory:read'], status: 'active' });
    expect(created.key).toMatch(/^osk_/);

    const ok = await gql(stack.gatewayUrl, `query($id: ID!) { reservation(id: $id) { id } }`, { id: randomUUID() }, { 'x-api-key': created.key });
    expect(ok.errors).toBeUndefined();
    expect(ok.status).toBe(200);

    const listed = JSON.parse((await cli('list', '--json')).stdout) as { id: string; clientId: string }[];
    expect(listed.find((k) => k.id === created.id)).toMatchObject({ clientId: client });
    expect(JSON.stringify(listed)).not.toContain(created.key);

    expect(JSON.parse((await cli('revoke', created.id, '--json')).stdout)).toMatchObject({ id: created.id, status: 'revoked' });
    // The gateway had cached the key: the CLI's announcement through Redis makes it forget it.
    await expect.poll(async () => (await availability({ 'x-api-key': created.key })).status, { timeout: 5000 }).toBe(401);
    const refused = await availability({ 'x-api-key': created.key });
    expect(refused.status).toBe(401);
    expect(errorCode(refused)).toBe('UNAUTHENTICATED');
    expect(refused.errors![0]!.extensions!.reason).toBe('REVOKED');
    expect(refused.data ?? null).toBeNull();
  });

  it('gateways cache the keys they looked up; a revocation made anywhere reaches every gateway at once through Redis', async () => {
    // Two gateways' key services, with their caches and the revocation channel of a prefix of this test's own.
    const prefix = `omnistock_test:auth-${randomUUID().slice(0, 8)}`;
    const gatewayKeys = () => new ApiKeyService(gatewayDb, { cache: new CredentialCache(60_000), revocations: new KeyRevocations(redisTarget(stack.cfg), prefix, logger()) });
    const [a, b] = [gatewayKeys(), gatewayKeys()];
    await Promise.all([a.start(), b.start()]);
    try {
      const { key, record } = await keys.create({ clientId: 'cached-app', scopes: ['availability:read'], expiresInMs: null, createdBy: 'auth.test' });
      expect((await a.authenticate(key)).clientId).toBe('cached-app');
      // Revoked behind the services' backs: the cached key is not read again (no query per request)…
      await gatewayDb.query('UPDATE gateway_api_keys SET revoked_at = NOW(3) WHERE id = ?', [record.id]);
      expect((await a.authenticate(key)).clientId).toBe('cached-app');
      // …while a revocation through a service (another gateway, the CLI) is announced and drops it everywhere.
      await b.revoke(record.id);
      const outcome = () => a.authenticate(key).then(() => 'accepted', (err: { details?: { reason?: string } }) => err.details?.reason);
      await expect.poll(outcome, { timeout: 5000 }).toBe('REVOKED');
      // Unknown keys are cached too, so a flood of made-up keys costs one query each per cache lifetime at most.
      await expect(a.authenticate('osk_made-up')).rejects.toMatchObject({ details: { reason: 'UNKNOWN_KEY' } });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('an unknown key and a malformed Authorization header are 401', async () => {
    const unknown = await availability({ 'x-api-key': 'osk_nope' });
    expect([unknown.status, errorCode(unknown)]).toEqual([401, 'UNAUTHENTICATED']);
    const malformed = await availability({ authorization: 'Basic abc' });
    expect([malformed.status, errorCode(malformed)]).toEqual([401, 'UNAUTHENTICATED']);
  });

  it('a storefront key reads availability, but a stock mutation is FORBIDDEN and nothing is written', async () => {
    const key = await apiKey(['availability:read'], 'web-storefront');
    const read = await availability({ 'x-api-key': key });
    expect(read.errors).toBeUndefined();
    expect(read.data!.availability[0]).toMatchObject({ sku: ids.sku, availableToSell: 10 });

    const idempotencyKey = randomUUID();
    const write = await gql(stack.gatewayUrl, RECEIVE, { i: { idempotencyKey, sku: ids.sku, locationId: ids.loc, quantity: 5 } }, bearer(key));
    expect(write.status).toBe(403);
    expect(errorCode(write)).toBe('FORBIDDEN');
    expect(write.errors![0]!.message).toContain('Mutation.receiveStock');
    expect(write.errors![0]!.message).toContain('inventory:write');
    expect(write.errors![0]!.extensions).toMatchObject({ field: 'Mutation.receiveStock', missingScopes: ['inventory:write'] });
    expect(write.data ?? null).toBeNull();
    expect((await inv.level(ids.sku, ids.loc)).on_hand).toBe(10);
    expect(await inv.count('SELECT COUNT(*) AS n FROM stock_movements WHERE idempotency_key = ?', [idempotencyKey])).toBe(0);
  });

  it('a field the key lacks inside a fragment is refused too', async () => {
    const key = await apiKey(['availability:read']);
    const res = await gql(
      stack.gatewayUrl,
      `query($id: ID!) { ...F } fragment F on Query { channel(id: $id) { id marketplaceSync { backlog } } }`,
      { id: randomUUID() },
      { 'x-api-key': key },
    );
    expect([res.status, errorCode(res)]).toEqual([403, 'FORBIDDEN']);
    expect(res.errors![0]!.extensions!.field).toBe('Channel.marketplaceSync');
  });
});

describe('JWTs', () => {
  it('an HS256 token with the scope claim works, and its client becomes the actor', async () => {
    const token = await hs256({ client_id: 'erp-connector', scope: 'inventory:write availability:read' });
    const idempotencyKey = randomUUID();
    const res = await gql(stack.gatewayUrl, RECEIVE, { i: { idempotencyKey, sku: ids.sku, locationId: ids.loc, quantity: 1 } }, bearer(token));
    expect(res.errors).toBeUndefined();
    const [row] = await stack.subgraphs.inventory.dataSource.query('SELECT actor FROM stock_movements WHERE idempotency_key = ?', [idempotencyKey]);
    expect(row.actor).toBe('erp-connector');
  });

  it('scopes may come as an `scp` list', async () => {
    const token = await hs256({ sub: 'svc-orders-reader', scp: ['orders:read'] });
    const res = await gql(stack.gatewayUrl, `query { orders(first: 1) { edges { node { id } } } }`, {}, bearer(token));
    expect(res.errors).toBeUndefined();
  });

  it('an expired token is 401', async () => {
    const token = await hs256({ client_id: 'late', scope: 'availability:read' }, { expiresIn: Math.floor(Date.now() / 1000) - 60 });
    const res = await availability(bearer(token));
    expect([res.status, errorCode(res)]).toEqual([401, 'UNAUTHENTICATED']);
    expect(res.errors![0]!.extensions!.reason).toBe('JWT_EXPIRED');
  });

  it('a token signed with another secret is 401', async () => {
    const token = await hs256({ client_id: 'forger', scope: 'inventory:write' }, { secret: 'another-secret-of-at-least-thirty-two-chars' });
    const res = await availability(bearer(token));
    expect([res.status, errorCode(res)]).toEqual([401, 'UNAUTHENTICATED']);
    expect(res.errors![0]!.extensions!.reason).toBe('JWT_SIGNATURE_INVALID');
  });

  it('an RS256 token verified against the JWKS works; one of another issuer is 401', async () => {
    const sign = (issuer: string) =>
      new SignJWT({ azp: 'pos-app', scope: 'orders:read' })
        .setProtectedHeader({ alg: 'RS256', kid: 'test-key' })
        .setIssuer(issuer)
        .setAudience(AUDIENCE)
        .setExpirationTime('5m')
        .sign(rsaKey);
    const ok = await gql(stack.gatewayUrl, `query($id: ID!) { order(id: $id) { id } }`, { id: randomUUID() }, bearer(await sign(ISSUER)));
    expect(ok.errors).toBeUndefined();
    expect(ok.data).toEqual({ order: null });
    const other = await availability(bearer(await sign('https://evil.test')));
    expect([other.status, errorCode(other)]).toEqual([401, 'UNAUTHENTICATED']);
  });
});

describe('anonymous requests', () => {
  it('get AUTH_PUBLIC_SCOPES only: availability yes, a mutation 401', async () => {
    const read = await availability();
    expect(read.errors).toBeUndefined();
    const write = await gql(stack.gatewayUrl, RECEIVE, { i: { idempotencyKey: randomUUID(), sku: ids.sku, locationId: ids.loc, quantity: 1 } });
    expect([write.status, errorCode(write)]).toEqual([401, 'UNAUTHENTICATED']);
    expect(write.errors![0]!.extensions).toMatchObject({ field: 'Mutation.receiveStock', reason: 'CREDENTIALS_REQUIRED' });
  });

  it('may still use unannotated fields such as introspection', async () => {
    const res = await gql(stack.gatewayUrl, `{ __typename }`);
    expect(res.errors).toBeUndefined();
  });
});

describe('subscriptions', () => {
  it('are refused over graphql-ws for a key without the scope, and allowed with it', async () => {
    const key = await apiKey(['orders:read']);
    const client = wsClient(wsUrl(stack.gatewayUrl), { 'x-api-key': key });
    try {
      const refused = collect(client, STOCK_CHANGED, { f: { skus: [ids.sku] } });
      await expect.poll(() => refused.errors.length, { timeout: 10_000 }).toBe(1);
      const errors = refused.errors[0] as { message: string; extensions?: Record<string, unknown> }[];
      expect(errors[0]!.extensions).toMatchObject({ code: 'FORBIDDEN', field: 'Subscription.stockChanged', missingScopes: ['availability:read'] });
      expect(stack.gateway.subscriptions.subscribers).toBe(0);
      // Queries over the same connection go through the same check.
      const query = collect(client, `mutation($i: ReceiveStockInput!) { receiveStock(input: $i) { __typename } }`, {
        i: { idempotencyKey: randomUUID(), sku: ids.sku, locationId: ids.loc, quantity: 1 },
      });
      await expect.poll(() => query.errors.length + query.results.length, { timeout: 10_000 }).toBe(1);
      expect(JSON.stringify(query.errors.concat(query.results))).toContain('FORBIDDEN');
    } finally {
      await client.dispose();
    }

    const allowed = wsClient(wsUrl(stack.gatewayUrl), { 'x-api-key': await apiKey(['availability:read']) });
    try {
      const sub = collect(allowed, STOCK_CHANGED, { f: { skus: [ids.sku] } });
      await expect.poll(() => stack.gateway.subscriptions.subscribers, { timeout: 10_000 }).toBe(1);
      sub.stop();
      expect(sub.errors).toEqual([]);
    } finally {
      await allowed.dispose();
    }
  });

  it('a connection with a revoked key is closed at connection_init', async () => {
    const { key, record } = await keys.create({ clientId: 'revoked-ws', scopes: ['availability:read'], expiresInMs: null, createdBy: 'auth.test' });
    await keys.revoke(record.id);
    const client = wsClient(wsUrl(stack.gatewayUrl), { authorization: `Bearer ${key}` });
    try {
      const sub = collect(client, STOCK_CHANGED, { f: { skus: [ids.sku] } });
      await expect.poll(() => sub.errors.length, { timeout: 10_000 }).toBe(1);
      expect(String((sub.errors[0] as { code?: number; reason?: string }).reason)).toContain('revoked');
      expect((sub.errors[0] as { code?: number }).code).toBe(4403);
    } finally {
      await client.dispose();
    }
  });
});
