import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyService, openKeyStore, openRegistryDatabase } from '../registry/index.js';
import type { Authenticator } from '../gateway/auth/authenticator.js';
import { createAuthenticator, gatewayAuth } from '../gateway/auth/index.js';
import { compose, readSupergraphConfig } from '../contracts/composition.js';
import { startGateway } from '../gateway/gateway.js';
import { limitSettings } from '../gateway/limits/limits.js';
import { SUBGRAPH_NAMES } from '../lib/config.js';
import { createRedis, redisTarget } from '../lib/redis.js';
import { errorCode, gql } from './client.js';
import { dropKeys } from './events.js';
import { AVAILABILITY, InventoryFixture } from './inventory-fixture.js';
import { startCountingProxy, type CountingProxy } from './counting-proxy.js';
import { startStack, type Stack } from './stack.js';
import { collect, wsClient, wsUrl } from './subscriptions-helpers.js';

/**
 * Request body and batch limits and the introspection policy, at a gateway whose inventory subgraph
 * sits behind a proxy that counts calls: every refusal must reach no subgraph.
 */

const SCHEMA = '{ __schema { queryType { name } } }';
const TYPE = '{ __type(name: "Query") { name } }';
const VIA_FRAGMENT = 'query Q { ...F } fragment F on Query { __type(name: "Query") { name } }';
const BATCHER_LIMIT = 4;

let stack: Stack;
let proxy: CountingProxy;
let gatewayDb: DataSource;
let keys: ApiKeyService;
let authenticator: Authenticator;
let apiKeys: ApiKeyService;
const gateways: Awaited<ReturnType<typeof startGateway>>[] = [];
/** INTROSPECTION=admins, inventory through the counting proxy, `batcher` limited to BATCHER_LIMIT requests a minute. */
let admins: string;
/** INTROSPECTION=off. */
let off: string;
const keyPrefix = `omnistock_test:reqlimits-${randomUUID().slice(0, 8)}`;
let ids: { loc: string; channel: string; sku: string };

async function apiKey(scopes: string[], clientId = `rl-${randomUUID().slice(0, 8)}`): Promise<string> {
  return (await keys.create({ clientId, scopes, expiresInMs: 3_600_000, createdBy: 'request-limits.test' })).key;
}

/** POSTs a raw body; the answer's status and JSON. */
async function post(url: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: res.status, json: await res.json() };
}

const availabilityOp = () => ({ query: AVAILABILITY, variables: { c: ids.channel, skus: [ids.sku] } });

beforeAll(async () => {
  // The stack's own gateway runs with INTROSPECTION unset (NODE_ENV=test: `on`).
  stack = await startStack({ env: { AUTH_MODE: 'enforce', AUTH_PUBLIC_SCOPES: 'availability:read' } });
  gatewayDb = await openRegistryDatabase(stack.cfg);
  keys = new ApiKeyService(gatewayDb);
  apiKeys = await openKeyStore(stack.cfg, gatewayDb);
  authenticator = createAuthenticator(stack.cfg, apiKeys);
  const inv = new InventoryFixture(stack.subgraphs.inventory.url, stack.subgraphs.inventory.dataSource);
  const loc = await inv.location();
  ids = { loc, channel: await inv.channel([loc]), sku: await inv.item() };
  await inv.receive(ids.sku, loc, 10);

  const composed = compose(await readSupergraphConfig('supergraph.yaml'));
  if (!composed.ok) throw new Error(JSON.stringify(composed.errors));
  const urlOverrides = { ...Object.fromEntries(SUBGRAPH_NAMES.map((n) => [n, stack.subgraphs[n].url])), inventory: (proxy = await startCountingProxy(stack.subgraphs.inventory.url)).url };
  for (const introspection of ['admins', 'off'] as const) {
    gateways.push(
      await startGateway({
        supergraphSdl: composed.supergraphSdl,
        urlOverrides,
        auth: gatewayAuth(stack.cfg, authenticator),
        // Only `batcher` is rate limited (0: everyone else unlimited), so other tests never share its budget.
        limits: { ...limitSettings(stack.cfg), perMinute: 0, perClient: { batcher: BATCHER_LIMIT }, keyPrefix },
        maxBatchSize: 10,
        introspection,
        host: '127.0.0.1',
        port: 0,
      }),
    );
  }
  [admins, off] = gateways.map((g) => g.url) as [string, string];
});

afterAll(async () => {
  for (const g of gateways) await g.close();
  await apiKeys?.close();
  await proxy?.close();
  const redis = createRedis(redisTarget(stack.cfg));
  await dropKeys(redis, keyPrefix);
  await redis.quit();
  await gatewayDb?.destroy();
  await stack?.close();
});

describe('request body limit', () => {
  it('answers a 2 MB body 413 PAYLOAD_TOO_LARGE as a GraphQL error, calling no subgraph', async () => {
    const key = await apiKey(['availability:read']);
    const before = proxy.calls;
    const body = JSON.stringify({ ...availabilityOp(), variables: { ...availabilityOp().variables, pad: 'x'.repeat(2 * 1024 * 1024) } });
    const res = await post(admins, body, { 'x-api-key': key });
    expect(res.status).toBe(413);
    expect(res.json.errors[0].extensions).toEqual({ code: 'PAYLOAD_TOO_LARGE', limitBytes: 1024 * 1024 });
    expect(res.json.errors[0].message).toContain('1048576 bytes');
    expect(proxy.calls).toBe(before);
    // A body under the limit still works.
    const ok = await post(admins, JSON.stringify(availabilityOp()), { 'x-api-key': key });
    expect(ok.status).toBe(200);
    expect(ok.json.data.availability[0].availableToSell).toBe(10);
  });
});

describe('batched requests', () => {
  it('refuses a batch of 11 whole with 400 BATCH_TOO_LARGE before any operation runs', async () => {
    const key = await apiKey(['availability:read']);
    const before = proxy.calls;
    const res = await post(admins, JSON.stringify(Array.from({ length: 11 }, availabilityOp)), { 'x-api-key': key });
    expect(res.status).toBe(400);
    expect(res.json.errors[0].extensions).toEqual({ code: 'BATCH_TOO_LARGE', size: 11, limit: 10 });
    expect(res.json.errors[0].message).toContain('11 operations');
    expect(proxy.calls).toBe(before);
  });

  it('runs a batch of 3 and answers three results', async () => {
    const key = await apiKey(['availability:read']);
    const before = proxy.calls;
    const res = await post(admins, JSON.stringify([availabilityOp(), availabilityOp(), { query: '{ __typename }' }]), { 'x-api-key': key });
    expect(res.status).toBe(200);
    expect(res.json).toHaveLength(3);
    expect(res.json[0].data.availability[0]).toMatchObject({ sku: ids.sku, availableToSell: 10 });
    expect(res.json[1].data.availability[0]).toMatchObject({ sku: ids.sku, availableToSell: 10 });
    expect(res.json[2]).toEqual({ data: { __typename: 'Query' } });
    expect(proxy.calls).toBeGreaterThan(before);
  });

  it('checks each operation of a batch: a forbidden one is refused, the others run', async () => {
    const key = await apiKey(['availability:read']);
    const res = await post(admins, JSON.stringify([availabilityOp(), { query: '{ orders(first: 1) { edges { node { id } } } }' }, { query: SCHEMA }]), { 'x-api-key': key });
    expect(res.json).toHaveLength(3);
    expect(res.json[0].errors).toBeUndefined();
    expect(res.json[1].errors[0].extensions).toMatchObject({ code: 'FORBIDDEN', missingScopes: ['orders:read'] });
    expect(res.json[2].errors[0].extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'INTROSPECTION_DISABLED' });
  });

  it('counts a batch as its operations against the rate limit, all or none', async () => {
    const key = await apiKey(['availability:read'], 'batcher');
    const first = await post(admins, JSON.stringify([availabilityOp(), availabilityOp(), availabilityOp()]), { 'x-api-key': key });
    expect(first.status).toBe(200);
    // 3 of 4 used: a second batch of 3 does not fit and is refused whole, reaching no subgraph.
    const before = proxy.calls;
    const second = await post(admins, JSON.stringify([availabilityOp(), availabilityOp(), availabilityOp()]), { 'x-api-key': key });
    expect(second.status).toBe(429);
    expect(second.json.errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED', limit: BATCHER_LIMIT });
    expect(proxy.calls).toBe(before);
    // The one request left still passes.
    const single = await gql(admins, AVAILABILITY, { c: ids.channel, skus: [ids.sku] }, { 'x-api-key': key });
    expect(single.status).toBe(200);
    expect(single.errors).toBeUndefined();
  });
});

describe('introspection policy', () => {
  it('INTROSPECTION=admins refuses __schema and __type to a storefront key, calling no subgraph', async () => {
    const storefront = { 'x-api-key': await apiKey(['availability:read']) };
    for (const query of [SCHEMA, TYPE, VIA_FRAGMENT]) {
      const res = await gql(admins, query, {}, storefront);
      expect(res.status, query).toBe(403);
      expect(res.errors![0]!.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'INTROSPECTION_DISABLED' });
      expect(res.data ?? null).toBeNull();
    }
    const before = proxy.calls;
    const mixed = await gql(admins, `query($c: ID!, $skus: [String!]!) { availability(channelId: $c, skus: $skus) { sku } __schema { queryType { name } } }`, { c: ids.channel, skus: [ids.sku] }, storefront);
    expect(errorCode(mixed)).toBe('FORBIDDEN');
    expect(proxy.calls).toBe(before);
    // Anonymous callers too.
    expect(errorCode(await gql(admins, SCHEMA))).toBe('FORBIDDEN');
  });

  it('INTROSPECTION=admins allows callers with the scope admin or registry:admin', async () => {
    for (const scope of ['admin', 'registry:admin']) {
      const res = await gql(admins, `${SCHEMA.slice(0, -1)} __type(name: "Query") { name } }`, {}, { 'x-api-key': await apiKey([scope]) });
      expect(res.errors, scope).toBeUndefined();
      expect(res.data).toEqual({ __schema: { queryType: { name: 'Query' } }, __type: { name: 'Query' } });
    }
  });

  it('__typename is always fine', async () => {
    for (const url of [admins, off]) {
      const res = await gql(url, '{ __typename }');
      expect(res.errors).toBeUndefined();
      expect(res.data).toEqual({ __typename: 'Query' });
    }
  });

  it('INTROSPECTION=on allows every caller; off refuses every caller, admins included', async () => {
    const storefront = { 'x-api-key': await apiKey(['availability:read']) };
    const on = await gql(stack.gatewayUrl, SCHEMA, {}, storefront);
    expect(on.errors).toBeUndefined();
    expect(on.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    expect((await gql(stack.gatewayUrl, TYPE)).data).toEqual({ __type: { name: 'Query' } });

    const refused = await gql(off, SCHEMA, {}, { 'x-api-key': await apiKey(['admin', 'registry:admin']) });
    expect(refused.status).toBe(403);
    expect(refused.errors![0]!.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'INTROSPECTION_DISABLED', introspection: 'off' });
  });

  it('applies over graphql-ws too', async () => {
    const storefront = wsClient(wsUrl(admins), { 'x-api-key': await apiKey(['availability:read']) });
    const admin = wsClient(wsUrl(admins), { 'x-api-key': await apiKey(['admin']) });
    try {
      const refused = collect(storefront, SCHEMA);
      await expect.poll(() => refused.errors.length + refused.results.length, { timeout: 10_000 }).toBe(1);
      expect(JSON.stringify(refused.errors.concat(refused.results))).toContain('INTROSPECTION_DISABLED');
      const allowed = collect(admin, SCHEMA);
      await expect.poll(() => allowed.completed, { timeout: 10_000 }).toBe(true);
      expect(allowed.errors).toEqual([]);
      expect(allowed.results[0]!.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    } finally {
      await storefront.dispose();
      await admin.dispose();
    }
  });
});
