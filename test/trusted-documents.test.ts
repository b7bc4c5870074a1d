import { createHash, randomUUID } from 'node:crypto';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSupergraphConfig } from '../contracts/composition.js';
import { ApiKeyService } from '../registry/index.js';
import { usageStore } from '../registry/data/usage.store.js';
import { startRegistryGateway, type RegistryGateway } from '../gateway/boot.js';
import { configWith, registryDatabaseName, SUBGRAPH_NAMES, type Config } from '../lib/config.js';
import { createRedis, redisTarget } from '../lib/redis.js';
import { errorCode, gql, type GraphQLResponse } from './client.js';
import { dropKeys, waitFor } from './events.js';
import { InventoryFixture } from './inventory-fixture.js';
import { CHECK, PUBLISH, registryClient } from './registry-helpers.js';
import { startCountingProxy, type CountingProxy } from './counting-proxy.js';
import { startStack, type Stack } from './stack.js';
import { wsClient, wsUrl } from './subscriptions-helpers.js';

const AVAILABILITY = `query StorefrontAvailability($c: ID!, $skus: [String!]!) { availability(channelId: $c, skus: $skus) { sku availableToSell } }`;
const BARCODE = `query StorefrontBarcode($sku: String!) { inventoryItem(sku: $sku) { sku barcode } }`;
const STOCK = `subscription StorefrontStock($f: StockChangedFilter!) { stockChanged(filter: $f) { sku change } }`;
const UNREGISTERED = `query Unregistered($sku: String!) { inventoryItem(sku: $sku) { sku name } }`;
const POS_ONLY = `query PosItem($sku: String!) { inventoryItem(sku: $sku) { name } }`;

const PUBLISH_DOCUMENTS = `mutation($input: PublishDocumentsInput!) {
  publishDocuments(input: $input) { client created unchanged documents { id operationNames created } }
}`;
const SET_POLICY = `mutation($input: SetClientPolicyInput!) { setClientPolicy(input: $input) { client policy updatedBy } }`;
const LIST = `query($client: String) { trustedDocuments(client: $client) { client id body operationNames appVersion registeredBy } }`;
const REMOVE_DOCUMENTS = `mutation($input: RemoveDocumentsInput!) { removeDocuments(input: $input) { client removed notRegistered } }`;

const idOf = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;

let stack: Stack;
let gateway: RegistryGateway;
let cfg: Config;
let proxy: CountingProxy;
let inv: InventoryFixture;
const ids = { loc: '', channel: '', sku: '' };
let admin: ReturnType<typeof registryClient>;
let storefrontCi: ReturnType<typeof registryClient>;
let posCi: ReturnType<typeof registryClient>;

async function issue(clientId: string, scopes: string[]): Promise<string> {
  const { key } = await new ApiKeyService(gateway.registry.dataSource).create({ clientId, scopes, expiresInMs: 3_600_000, createdBy: 'trusted-documents.test' });
  return key;
}

/** POSTs a raw body to the gateway as `client` (x-client-id: AUTH_MODE is off in tests). */
async function post(client: string, body: Record<string, unknown>): Promise<GraphQLResponse> {
  const res = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-client-id': client }, body: JSON.stringify(body) });
  const json = (await res.json()) as Omit<GraphQLResponse, 'status' | 'headers'>;
  return { ...json, status: res.status, headers: res.headers };
}

async function get(client: string, params: Record<string, string>): Promise<GraphQLResponse> {
  const res = await fetch(`${gateway.url}?${new URLSearchParams(params)}`, { headers: { 'x-client-id': client, 'apollo-require-preflight': 'true' } });
  const json = (await res.json()) as Omit<GraphQLResponse, 'status' | 'headers'>;
  return { ...json, status: res.status, headers: res.headers };
}

/** The operations (by hash) the registry recorded `client` running today that use `coordinate`. */
async function recordedUses(client: string, coordinate: string): Promise<string[]> {
  await gateway.usage.flush();
  const rows = await usageStore.usageOf(gateway.registry.dataSource.manager, [coordinate], new Date().toISOString().slice(0, 10));
  return rows.filter((r) => r.clientId === client).map((r) => r.operationHash);
}

/** The operation hash Apollo Server gives a text (a trusted document's id without its prefix). */
const hashOf = (text: string) => idOf(text).slice('sha256:'.length);

/** Runs `request` and asserts it reached no subgraph. */
async function refusedUpstreamFree(request: () => Promise<GraphQLResponse>): Promise<GraphQLResponse> {
  const before = proxy.calls;
  const res = await request();
  expect(proxy.calls).toBe(before);
  expect(res.data ?? null).toBeNull();
  return res;
}

function subscribe(client: Client, payload: Record<string, unknown>) {
  const received = { results: [] as unknown[], errors: [] as unknown[], stop: () => {} };
  received.stop = client.subscribe(payload as never, {
    next: (r) => void received.results.push(r),
    error: (e) => void received.errors.push(e),
    complete: () => {},
  });
  return received;
}

beforeAll(async () => {
  stack = await startStack({ jobs: true });
  inv = new InventoryFixture(stack.subgraphs.inventory.url, stack.subgraphs.inventory.dataSource);
  ids.loc = await inv.location();
  ids.channel = await inv.channel([ids.loc]);
  ids.sku = await inv.item();
  await inv.receive(ids.sku, ids.loc, 10);
  const id = randomUUID().slice(0, 8);
  // Usage is written only when a test flushes it: the governance test counts on no execution recorded before it.
  cfg = configWith({ DB_PREFIX: `omnistock_td_${id}`, REDIS_KEY_PREFIX: `omnistock_test:td${id}`, REGISTRY_POLL_MS: '100', RATE_LIMIT_PER_MINUTE: '0', REGISTRY_USAGE_FLUSH_MS: '600000' });
  const inventoryUrl = (proxy = await startCountingProxy(stack.subgraphs.inventory.url)).url;
  gateway = await startRegistryGateway({
    cfg,
    seed: await readSupergraphConfig('supergraph.yaml'),
    urlOverrides: { ...Object.fromEntries(SUBGRAPH_NAMES.map((n) => [n, stack.subgraphs[n].url])), inventory: inventoryUrl },
    subscriptionUrls: { inventory: wsUrl(stack.subgraphs.inventory.url) },
    host: '127.0.0.1',
    port: 0,
  });
  admin = registryClient(gateway.registryUrl, await issue('operators', ['registry:admin']));
  storefrontCi = registryClient(gateway.registryUrl, await issue('storefront-ci', ['registry:documents:storefront']));
  posCi = registryClient(gateway.registryUrl, await issue('pos-ci', ['registry:documents:pos']));
});

afterAll(async () => {
  await gateway?.close();
  await proxy?.close();
  if (cfg) {
    const redis = createRedis(redisTarget(cfg));
    await dropKeys(redis, cfg.REDIS_KEY_PREFIX);
    await redis.quit();
    await stack?.subgraphs.inventory.dataSource.query(`DROP DATABASE IF EXISTS \`${registryDatabaseName(cfg)}\``);
  }
  await stack?.close();
});

describe('registering trusted documents through the registry', () => {
  it('registers a client’s documents with a key allowed to, idempotently, each under the sha256 of its text', async () => {
    const documents = [
      { body: AVAILABILITY, name: 'availability.graphql' },
      { body: BARCODE, name: 'barcode.graphql', id: idOf(BARCODE).slice('sha256:'.length) },
      { body: STOCK, name: 'stock.graphql' },
    ];
    const first = await storefrontCi(PUBLISH_DOCUMENTS, { input: { client: 'storefront', appVersion: 'web-1.4.0', documents } });
    expect(first.errors).toBeUndefined();
    expect(first.data!.publishDocuments).toMatchObject({ client: 'storefront', created: 3, unchanged: 0 });
    expect(first.data!.publishDocuments.documents).toEqual([
      { id: idOf(AVAILABILITY), operationNames: ['StorefrontAvailability'], created: true },
      { id: idOf(BARCODE), operationNames: ['StorefrontBarcode'], created: true },
      { id: idOf(STOCK), operationNames: ['StorefrontStock'], created: true },
    ]);

    const again = await storefrontCi(PUBLISH_DOCUMENTS, { input: { client: 'storefront', documents } });
    expect(again.data!.publishDocuments).toMatchObject({ created: 0, unchanged: 3 });
    const listed = await storefrontCi(LIST, { client: 'storefront' });
    expect(listed.errors).toBeUndefined();
    expect(listed.data!.trustedDocuments).toHaveLength(3);
    expect(listed.data!.trustedDocuments[0]).toMatchObject({ client: 'storefront', id: idOf(AVAILABILITY), body: AVAILABILITY, appVersion: 'web-1.4.0', registeredBy: expect.stringContaining('storefront-ci') });

    const pos = await posCi(PUBLISH_DOCUMENTS, { input: { client: 'pos', documents: [{ body: POS_ONLY }] } });
    expect(pos.data!.publishDocuments.created).toBe(1);
  });

  it('refuses a key without registry:documents:<client>, and callers without credentials', async () => {
    const forbidden = await posCi(PUBLISH_DOCUMENTS, { input: { client: 'storefront', documents: [{ body: UNREGISTERED }] } });
    expect(errorCode(forbidden)).toBe('FORBIDDEN');
    expect(forbidden.errors![0]!.message).toContain('registry:documents:storefront');
    expect(errorCode(await registryClient(gateway.registryUrl, null)(PUBLISH_DOCUMENTS, { input: { client: 'storefront', documents: [{ body: UNREGISTERED }] } }))).toBe('UNAUTHENTICATED');
    // Setting a policy takes an admin.
    expect(errorCode(await storefrontCi(SET_POLICY, { input: { client: 'storefront', policy: 'ENFORCE' } }))).toBe('FORBIDDEN');
    expect(errorCode(await storefrontCi(LIST, { client: 'pos' }))).toBe('FORBIDDEN');
    expect((await admin(LIST, { client: 'storefront' })).data!.trustedDocuments.map((d: { id: string }) => d.id)).not.toContain(idOf(UNREGISTERED));
  });

  it('refuses an invalid document naming it and the GraphQL error, and stores nothing of the request', async () => {
    const bad = `query Broken($sku: String!) { inventoryItem(sku: $sku) { sku noSuchField } }`;
    const res = await storefrontCi(PUBLISH_DOCUMENTS, { input: { client: 'storefront', documents: [{ body: UNREGISTERED, name: 'fine.graphql' }, { body: bad, name: 'broken.graphql' }] } });
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.errors![0]!.message).toContain('broken.graphql');
    expect(res.errors![0]!.message).toContain('Cannot query field "noSuchField" on type "InventoryItem"');
    expect(res.errors![0]!.extensions!.issues).toEqual([{ path: 'documents.1', message: expect.stringContaining('broken.graphql') }]);

    const wrongId = await storefrontCi(PUBLISH_DOCUMENTS, { input: { client: 'storefront', documents: [{ body: UNREGISTERED, id: idOf(BARCODE) }] } });
    expect(errorCode(wrongId)).toBe('BAD_USER_INPUT');
    expect(wrongId.errors![0]!.message).toContain('is not the sha256 of its text');

    const listed = await storefrontCi(LIST, { client: 'storefront' });
    expect(listed.data!.trustedDocuments.map((d: { id: string }) => d.id)).toEqual([idOf(AVAILABILITY), idOf(BARCODE), idOf(STOCK)]);
  });
});

describe('a client whose policy is ENFORCE', () => {
  beforeAll(async () => {
    const set = await admin(SET_POLICY, { input: { client: 'storefront', policy: 'ENFORCE' } });
    expect(set.data!.setClientPolicy).toMatchObject({ client: 'storefront', policy: 'ENFORCE' });
    // The gateway picks policies and documents up at its next poll of the registry.
    await waitFor('the gateway to enforce the policy', async () => gateway.trustedDocuments.enforces('storefront') && gateway.trustedDocuments.size === 4);
  });

  const availabilityVars = () => ({ c: ids.channel, skus: [ids.sku] });

  it('runs a registered document by documentId (POST and GET) and by Apollo persisted-query hash', async () => {
    const before = proxy.calls;
    const byId = await post('storefront', { documentId: idOf(AVAILABILITY), variables: availabilityVars() });
    expect(byId.errors).toBeUndefined();
    expect(byId.data!.availability).toEqual([{ sku: ids.sku, availableToSell: 10 }]);
    expect(proxy.calls).toBeGreaterThan(before);

    const viaGet = await get('storefront', { documentId: idOf(BARCODE), variables: JSON.stringify({ sku: ids.sku }) });
    expect(viaGet.errors).toBeUndefined();
    expect(viaGet.data!.inventoryItem.sku).toBe(ids.sku);

    const apq = await post('storefront', {
      variables: { sku: ids.sku },
      extensions: { persistedQuery: { version: 1, sha256Hash: idOf(BARCODE).slice('sha256:'.length) } },
    });
    expect(apq.errors).toBeUndefined();
    expect(apq.data!.inventoryItem.sku).toBe(ids.sku);
  });

  it('runs the registered text sent as free text', async () => {
    const res = await gql(gateway.url, AVAILABILITY, availabilityVars(), { 'x-client-id': 'storefront' });
    expect(res.errors).toBeUndefined();
    expect(res.data!.availability[0].sku).toBe(ids.sku);
  });

  it('refuses an unregistered operation with OPERATION_NOT_TRUSTED (403) before any subgraph is called', async () => {
    const res = await refusedUpstreamFree(() => gql(gateway.url, UNREGISTERED, { sku: ids.sku }, { 'x-client-id': 'storefront' }));
    expect(res.status).toBe(403);
    expect(errorCode(res)).toBe('OPERATION_NOT_TRUSTED');
    expect(res.errors![0]!.extensions).toMatchObject({ clientId: 'storefront', documentId: idOf(UNREGISTERED) });
    // Registered text is matched exactly: the same operation reformatted is another document.
    const reformatted = await refusedUpstreamFree(() => gql(gateway.url, `${AVAILABILITY}\n`, availabilityVars(), { 'x-client-id': 'storefront' }));
    expect(errorCode(reformatted)).toBe('OPERATION_NOT_TRUSTED');
    const viaGet = await refusedUpstreamFree(() => get('storefront', { query: UNREGISTERED, variables: JSON.stringify({ sku: ids.sku }) }));
    expect(viaGet.status).toBe(403);
    // In a batch, one untrusted operation refuses the whole request.
    const batch = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-client-id': 'storefront' },
      body: JSON.stringify([{ documentId: idOf(BARCODE), variables: { sku: ids.sku } }, { query: UNREGISTERED, variables: { sku: ids.sku } }]),
    });
    expect(batch.status).toBe(403);
  });

  it('refuses a documentId registered only for another client', async () => {
    const res = await refusedUpstreamFree(() => post('storefront', { documentId: idOf(POS_ONLY), variables: { sku: ids.sku } }));
    expect(res.status).toBe(403);
    expect(errorCode(res)).toBe('OPERATION_NOT_TRUSTED');
    // pos (ALLOW) runs it.
    expect((await post('pos', { documentId: idOf(POS_ONLY), variables: { sku: ids.sku } })).data!.inventoryItem.name).toBeTruthy();
  });

  it('answers an unknown id with PERSISTED_QUERY_NOT_FOUND (400), whatever the client', async () => {
    for (const client of ['storefront', 'pos']) {
      const res = await refusedUpstreamFree(() => post(client, { documentId: idOf('query Nobody { __typename }') }));
      expect(res.status).toBe(400);
      expect(errorCode(res)).toBe('PERSISTED_QUERY_NOT_FOUND');
    }
    const apq = await refusedUpstreamFree(() => post('storefront', { extensions: { persistedQuery: { version: 1, sha256Hash: 'f'.repeat(64) } } }));
    expect(apq.status).toBe(400);
    expect(errorCode(apq)).toBe('PERSISTED_QUERY_NOT_FOUND');
    const viaGet = await refusedUpstreamFree(() => get('storefront', { documentId: 'sha256:not-a-hash' }));
    expect(errorCode(viaGet)).toBe('PERSISTED_QUERY_NOT_FOUND');
  });

  it('leaves a client with the ALLOW policy free to send any text (and registered ids)', async () => {
    const res = await gql(gateway.url, UNREGISTERED, { sku: ids.sku }, { 'x-client-id': 'pos' });
    expect(res.errors).toBeUndefined();
    expect(res.data!.inventoryItem.sku).toBe(ids.sku);
    const anonymous = await gql(gateway.url, UNREGISTERED, { sku: ids.sku });
    expect(anonymous.errors).toBeUndefined();
    const byId = await post('checkout', { documentId: idOf(BARCODE), variables: { sku: ids.sku } });
    expect(byId.data!.inventoryItem.sku).toBe(ids.sku);
  });

  it('runs a subscription by documentId over graphql-ws, and refuses unregistered ones there too', async () => {
    const ws = wsClient(wsUrl(gateway.url), { 'x-client-id': 'storefront' });
    try {
      const refused = subscribe(ws, { query: `subscription Other($f: StockChangedFilter!) { stockChanged(filter: $f) { sku } }`, variables: { f: { skus: [ids.sku] } } });
      const unknown = subscribe(ws, { query: '', documentId: idOf('subscription Nope { __typename }') });
      const sub = subscribe(ws, { query: '', documentId: idOf(STOCK), variables: { f: { skus: [ids.sku] } } });
      await waitFor('the refusals', async () => refused.errors.length > 0 && unknown.errors.length > 0);
      expect(JSON.stringify(refused.errors[0])).toContain('OPERATION_NOT_TRUSTED');
      expect(JSON.stringify(unknown.errors[0])).toContain('PERSISTED_QUERY_NOT_FOUND');
      await waitFor('a stock change on the registered subscription', async () => {
        await inv.receive(ids.sku, ids.loc, 1);
        return sub.results.length > 0 || sub.errors.length > 0;
      });
      expect(sub.errors).toEqual([]);
      expect(sub.results[0]).toMatchObject({ data: { stockChanged: { sku: ids.sku, change: 'RECEIPT' } } });
      sub.stop();
    } finally {
      await ws.dispose();
    }
  });
});

describe('governance', () => {
  it('blocks a schema publish that would break a registered document, naming the client and the operation', async () => {
    const current = await admin(`{ subgraph(name: "inventory") { currentSchema { sdl } } }`);
    const sdl: string = current.data!.subgraph.currentSchema.sdl;
    const re = /\n {2}"[^"\n]*"\n {2}barcode: [^\n]*/;
    expect(sdl).toMatch(re);
    const before = (await admin('{ supergraphVersion { version } }')).data!.supergraphVersion.version;

    const res = await admin(PUBLISH, { input: { subgraph: 'inventory', sdl: sdl.replace(re, ''), commit: 'drop barcode' } });
    expect(res.errors).toBeUndefined();
    const out = res.data!.publish;
    expect(out.__typename).toBe('PublishRejected');
    const change = out.check.changes.find((c: { coordinate: string }) => c.coordinate === 'InventoryItem.barcode');
    // No client executed it in the usage window: the registered document alone makes it breaking.
    expect(change).toMatchObject({ type: 'FIELD_REMOVED', criticality: 'BREAKING', approved: false });
    expect(change.usage).toEqual([{ clientId: 'storefront', operations: [expect.objectContaining({ name: 'StorefrontBarcode', hash: idOf(BARCODE).slice(7) })] }]);
    const reasons = out.reasons.join('\n');
    expect(reasons).toContain('storefront (StorefrontBarcode, registered)');
    expect(reasons).toMatch(/registered document StorefrontBarcode \(sha256:[0-9a-f]{64}\) of client storefront would no longer validate/);
    expect(out.check.text).toContain('Registered documents broken: 1');
    const run = await admin(`query($id: ID!) { checkRun(id: $id) { brokenDocuments { clientId documentId operationNames errors } } }`, { id: out.check.id });
    expect(run.data!.checkRun.brokenDocuments).toEqual([
      { clientId: 'storefront', documentId: idOf(BARCODE), operationNames: ['StorefrontBarcode'], errors: [expect.stringContaining('Cannot query field "barcode"')] },
    ]);
    expect((await admin('{ supergraphVersion { version } }')).data!.supergraphVersion.version).toBe(before);

    // Approving the change that names the document is the deliberate way through.
    const approved = await admin(`mutation($f: String!) { approve(input: { fingerprint: $f, reason: "storefront drops barcode" }) { fingerprint } }`, { f: change.fingerprint });
    expect(approved.errors).toBeUndefined();
    const checked = await admin(CHECK, { input: { subgraph: 'inventory', sdl: sdl.replace(re, '') } });
    expect(checked.data!.check).toMatchObject({ ok: true, blockers: [] });
  });

  it('removes documents by app version and by id: an enforced client can no longer run them, the others still run', async () => {
    const kioskCi = registryClient(gateway.registryUrl, await issue('kiosk-ci', ['registry:documents:kiosk']));
    const V1 = `query KioskV1($sku: String!) { inventoryItem(sku: $sku) { sku } }`;
    const V1_NAME = `query KioskV1Name($sku: String!) { inventoryItem(sku: $sku) { name } }`;
    const V2 = `query KioskV2($sku: String!) { inventoryItem(sku: $sku) { sku name } }`;
    for (const [appVersion, bodies] of [['kiosk-1', [V1, V1_NAME]], ['kiosk-2', [V2]]] as const) {
      const res = await kioskCi(PUBLISH_DOCUMENTS, { input: { client: 'kiosk', appVersion, documents: bodies.map((body) => ({ body })) } });
      expect(res.errors).toBeUndefined();
    }
    expect((await admin(SET_POLICY, { input: { client: 'kiosk', policy: 'ENFORCE' } })).errors).toBeUndefined();
    const run = (body: string) => post('kiosk', { documentId: idOf(body), variables: { sku: ids.sku } });
    await waitFor('the gateway running the kiosk documents', async () => (await Promise.all([V1, V1_NAME, V2].map(run))).every((r) => !r.errors));
    const listed = async () => (await kioskCi(LIST, { client: 'kiosk' })).data!.trustedDocuments.map((d: { id: string }) => d.id);

    // Refused, and nothing removed: another client's key, neither or both selectors, a malformed id.
    const forbidden = await posCi(REMOVE_DOCUMENTS, { input: { client: 'kiosk', appVersion: 'kiosk-1' } });
    expect(errorCode(forbidden)).toBe('FORBIDDEN');
    for (const input of [{ client: 'kiosk' }, { client: 'kiosk', ids: [idOf(V1)], appVersion: 'kiosk-1' }, { client: 'kiosk', ids: ['sha256:nope'] }]) {
      expect(errorCode(await kioskCi(REMOVE_DOCUMENTS, { input })), JSON.stringify(input)).toBe('BAD_USER_INPUT');
    }
    expect(await listed()).toEqual([idOf(V1), idOf(V1_NAME), idOf(V2)]);

    const byVersion = await kioskCi(REMOVE_DOCUMENTS, { input: { client: 'kiosk', appVersion: 'kiosk-1' } });
    expect(byVersion.errors).toBeUndefined();
    expect(byVersion.data!.removeDocuments).toEqual({ client: 'kiosk', removed: [idOf(V1), idOf(V1_NAME)], notRegistered: [] });
    expect(await listed()).toEqual([idOf(V2)]);
    // No client has them any more: an unknown id, refused before any subgraph is called.
    const gone = await waitFor('the gateway dropping kiosk-1', async () => {
      const res = await run(V1);
      return errorCode(res) === 'PERSISTED_QUERY_NOT_FOUND' ? res : null;
    });
    expect(gone.status).toBe(400);
    expect((await refusedUpstreamFree(() => run(V1_NAME))).status).toBe(400);
    expect((await run(V2)).errors).toBeUndefined();
    // As text, a removed document is no longer trusted either.
    expect(errorCode(await gql(gateway.url, V1, { sku: ids.sku }, { 'x-client-id': 'kiosk' }))).toBe('OPERATION_NOT_TRUSTED');

    // By id, idempotently: what the client no longer has is reported, not refused.
    const byId = await kioskCi(REMOVE_DOCUMENTS, { input: { client: 'kiosk', ids: [idOf(V2).slice('sha256:'.length), idOf(V1)] } });
    expect(byId.data!.removeDocuments).toEqual({ client: 'kiosk', removed: [idOf(V2)], notRegistered: [idOf(V1)] });
    expect(await listed()).toEqual([]);
    await waitFor('the gateway dropping kiosk-2', async () => errorCode(await run(V2)) === 'PERSISTED_QUERY_NOT_FOUND');
  });
});

describe('usage', () => {
  // Last: flushing usage writes the executions the governance test leaves out on purpose.
  it('counts a document run by id as the operation its text is, over HTTP and over graphql-ws', async () => {
    expect((await post('storefront', { documentId: idOf(AVAILABILITY), variables: { c: ids.channel, skus: [ids.sku] } })).errors).toBeUndefined();
    const ws = wsClient(wsUrl(gateway.url), { 'x-client-id': 'storefront' });
    try {
      const sub = subscribe(ws, { query: '', documentId: idOf(STOCK), variables: { f: { skus: [ids.sku] } } });
      // A subscription is counted once it has started (Apollo's pipeline, which counts the rest, never sees it).
      await waitFor('the subscription counted', async () => (await recordedUses('storefront', 'Subscription.stockChanged')).length > 0);
      expect(sub.errors).toEqual([]);
      expect(await recordedUses('storefront', 'Subscription.stockChanged')).toEqual([hashOf(STOCK)]);
      expect(await recordedUses('storefront', 'Query.availability')).toContain(hashOf(AVAILABILITY));
      sub.stop();
    } finally {
      await ws.dispose();
    }
  });
});
