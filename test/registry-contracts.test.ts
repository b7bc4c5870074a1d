import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyService } from '../registry/index.js';
import { errorCode, gql, uniq } from './client.js';
import { CHECK, PUBLISH, registryClient, repoSdl, startRegistryStack, waitForVersion, type RegistryStack } from './registry-helpers.js';
import { collect, wsClient, wsUrl } from './subscriptions-helpers.js';
import { waitFor } from './events.js';

/**
 * Contracts: a `partner` contract excluding what is tagged `internal`. A key or JWT on it validates
 * and introspects against the contract's schema; checks weigh each contract's own changes; contract
 * schemas are versioned with the supergraph. Auth is enforced; anonymous callers may read availability.
 */

const SECRET = 'contracts-test-secret-of-at-least-32-bytes!';
let reg: RegistryStack;
let admin: ReturnType<typeof registryClient>;
let keys: ApiKeyService;
let partnerKey: string;
let internalKey: string;
let inventorySdl: string;

const SET_CONTRACT = `mutation($input: SetContractInput!) { setContract(input: $input) { __typename
  ... on ContractSet { supergraphVersion contract { name excludeTags } changes { type coordinate criticality } }
  ... on ContractRejected { errors { code message } } } }`;
const CONTRACT_CHECK = CHECK.replace('lint { rule coordinate message } }', 'lint { rule coordinate message } contracts { contract composition { ok errors { code message } } changes { fingerprint type coordinate criticality usage { clientId } } } }');

/** The inventory SDL with @tag imported and `barcode` tagged internal. */
function taggedInventory(extra: (sdl: string) => string = (s) => s): string {
  const sdl = inventorySdl
    .replace('import: ["@key", "@shareable", "@requiresScopes", "@external", "@provides"]', 'import: ["@key", "@shareable", "@requiresScopes", "@external", "@provides", "@tag"]')
    .replace('  barcode: String\n', '  barcode: String @tag(name: "internal")\n');
  expect(sdl).toContain('@tag(name: "internal")');
  return extra(sdl);
}

const asKey = (key: string) => ({ 'x-api-key': key });

beforeAll(async () => {
  reg = await startRegistryStack({ AUTH_MODE: 'enforce', AUTH_PUBLIC_SCOPES: 'availability:read', AUTH_JWT_SECRET: SECRET, INTROSPECTION: 'on' });
  admin = registryClient(reg.registryUrl, reg.adminToken);
  keys = new ApiKeyService(reg.gateway.registry.dataSource);
  inventorySdl = repoSdl('inventory');

  const set = await admin(SET_CONTRACT, { input: { name: 'partner', excludeTags: ['internal'], description: 'what partner apps see' } });
  expect(set.errors).toBeUndefined();
  expect(set.data!.setContract.__typename).toBe('ContractSet');
  const published = await admin(PUBLISH, { input: { subgraph: 'inventory', sdl: taggedInventory() } });
  expect(published.errors).toBeUndefined();
  expect(published.data!.publish.__typename).toBe('Published');
  await waitForVersion(reg.url, published.data!.publish.supergraphVersion);

  const scopes = ['availability:read', 'inventory:read'];
  partnerKey = (await keys.create({ clientId: uniq('partner-app-'), contract: 'partner', scopes, expiresInMs: 3_600_000, createdBy: 'contracts.test' })).key;
  internalKey = (await keys.create({ clientId: uniq('internal-app-'), scopes, expiresInMs: 3_600_000, createdBy: 'contracts.test' })).key;
});

afterAll(async () => {
  await reg?.close();
});

describe('a caller on a contract', () => {
  const ITEMS = '{ inventoryItems(skus: ["NOPE"]) { sku barcode } }';

  it('cannot run a field tagged internal: it does not exist for it (a validation error, not FORBIDDEN); others can', async () => {
    const refused = await gql(reg.url, ITEMS, {}, asKey(partnerKey));
    expect(refused.status).toBe(400);
    expect(errorCode(refused)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(refused.errors![0]!.message).toContain('Cannot query field "barcode" on type "InventoryItem"');
    expect(refused.data ?? null).toBeNull();

    const fine = await gql(reg.url, '{ inventoryItems(skus: ["NOPE"]) { sku status } }', {}, asKey(partnerKey));
    expect(fine.errors).toBeUndefined();
    expect(fine.data).toEqual({ inventoryItems: [null] });

    const internal = await gql(reg.url, ITEMS, {}, asKey(internalKey));
    expect(internal.errors).toBeUndefined();
    // Anonymous callers (public scopes) see the whole API schema.
    expect((await gql(reg.url, ITEMS)).errors).toBeUndefined();
  });

  it('cannot reach it through a fragment, an alias or graphql-ws either', async () => {
    const fragment = await gql(reg.url, 'query { inventoryItems(skus: ["NOPE"]) { ...F } } fragment F on InventoryItem { code: barcode }', {}, asKey(partnerKey));
    expect(errorCode(fragment)).toBe('GRAPHQL_VALIDATION_FAILED');

    const client = wsClient(wsUrl(reg.url), { 'x-api-key': partnerKey });
    try {
      const sub = collect(client, 'subscription { stockChanged(filter: { skus: ["NOPE"] }) { sku item { barcode } } }');
      await waitFor('the subscription refused', async () => sub.errors.length > 0 || sub.results.length > 0);
      const errors = (sub.errors[0] ?? sub.results[0]?.errors) as { message: string; extensions?: { code?: string } }[];
      expect(errors[0]!.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(errors[0]!.message).toContain('barcode');
    } finally {
      await client.dispose();
    }
  });

  it('introspects its contract schema, and may not mix introspection with data', async () => {
    const TYPE = '{ __type(name: "InventoryItem") { fields { name } } }';
    const partner = await gql<{ __type: { fields: { name: string }[] } }>(reg.url, TYPE, {}, asKey(partnerKey));
    expect(partner.errors).toBeUndefined();
    const names = partner.data!.__type.fields.map((f) => f.name);
    expect(names).toContain('sku');
    expect(names).not.toContain('barcode');
    const internal = await gql<{ __type: { fields: { name: string }[] } }>(reg.url, TYPE, {}, asKey(internalKey));
    expect(internal.data!.__type.fields.map((f) => f.name)).toContain('barcode');

    const mixed = await gql(reg.url, '{ __type(name: "InventoryItem") { name } inventoryItems(skus: ["NOPE"]) { sku } }', {}, asKey(partnerKey));
    expect(errorCode(mixed)).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('is the same for a JWT naming the contract; a contract the registry does not hold is refused, never the whole schema', async () => {
    const jwt = (claims: Record<string, unknown>) =>
      new SignJWT({ client_id: uniq('jwt-app-'), scope: 'availability:read', ...claims }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('10m').sign(new TextEncoder().encode(SECRET));
    const onPartner = await gql(reg.url, ITEMS, {}, { authorization: `Bearer ${await jwt({ contract: 'partner' })}` });
    expect(errorCode(onPartner)).toBe('GRAPHQL_VALIDATION_FAILED');
    const unknown = await gql(reg.url, '{ inventoryItems(skus: ["NOPE"]) { sku } }', {}, { authorization: `Bearer ${await jwt({ contract: 'nope' })}` });
    expect(unknown.status).toBe(403);
    expect(errorCode(unknown)).toBe('FORBIDDEN');
    expect(unknown.errors![0]!.extensions!['reason']).toBe('CONTRACT_UNKNOWN');
  });

  it('cannot be given by a key naming a contract that does not exist, and only an admin defines contracts', async () => {
    await expect(keys.create({ clientId: uniq('typo-'), contract: 'partnr', scopes: ['availability:read'], expiresInMs: 3_600_000, createdBy: 'contracts.test' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    const reader = (await keys.create({ clientId: uniq('reader-'), scopes: ['registry:read:*', 'registry:publish:*'], expiresInMs: 3_600_000, createdBy: 'contracts.test' })).key;
    const asReader = registryClient(reg.registryUrl, reader);
    const refused = await asReader(SET_CONTRACT, { input: { name: 'partner', excludeTags: ['nothing'] } });
    expect(errorCode(refused)).toBe('FORBIDDEN');
    expect(errorCode(await asReader('mutation { removeContract(name: "partner") }'))).toBe('FORBIDDEN');
    const listed = await asReader('{ contracts { name excludeTags } }');
    expect(listed.data!.contracts).toEqual([{ name: 'partner', excludeTags: ['internal'] }]);
  });

  it('refuses a contract that does not compose, storing nothing', async () => {
    const before = (await admin('{ supergraphVersion { version } }')).data!.supergraphVersion.version;
    // Leaving out every type reachable from Query is not a schema.
    const res = await admin(SET_CONTRACT, { input: { name: 'empty', includeTags: ['nothing-has-this'] } });
    expect(res.data!.setContract.__typename).toBe('ContractRejected');
    expect(res.data!.setContract.errors.length).toBeGreaterThan(0);
    expect((await admin('{ supergraphVersion { version } }')).data!.supergraphVersion.version).toBe(before);
    expect((await admin('{ contract(name: "empty") { name } }')).data!.contract).toBeNull();
  });
});

describe('checks per contract', () => {
  it('a change to an internal-only field is not breaking for the partner contract', async () => {
    // An internal client uses barcode: removing it breaks the whole schema's callers, not the partner's.
    await gql(reg.url, 'query Labels { inventoryItems(skus: ["NOPE"]) { barcode } }', {}, asKey(internalKey));
    await reg.gateway.usage.flush();
    const res = await admin(CONTRACT_CHECK, { input: { subgraph: 'inventory', sdl: taggedInventory((s) => s.replace('  "GTIN/EAN/UPC barcode, when known."\n  barcode: String @tag(name: "internal")\n', '')) } });
    expect(res.errors).toBeUndefined();
    const check = res.data!.check;
    expect(check.changes.find((c: { coordinate: string }) => c.coordinate === 'InventoryItem.barcode')).toMatchObject({ type: 'FIELD_REMOVED', criticality: 'BREAKING' });
    const partner = check.contracts.find((c: { contract: string }) => c.contract === 'partner');
    expect(partner.composition.ok).toBe(true);
    expect(partner.changes).toEqual([]);
  });

  it('tagging a field the partner uses is breaking for the partner contract only, names the client, and blocks until approved', async () => {
    const partnerClient = (await keys.create({ clientId: uniq('partner-shop-'), contract: 'partner', scopes: ['availability:read'], expiresInMs: 3_600_000, createdBy: 'contracts.test' }));
    const used = await gql(reg.url, 'query ShopStatus { inventoryItems(skus: ["NOPE"]) { status } }', {}, asKey(partnerClient.key));
    expect(used.errors).toBeUndefined();
    await reg.gateway.usage.flush();

    const sdl = taggedInventory((s) => s.replace('  status: ItemStatus!\n  "Stock of this SKU', '  status: ItemStatus! @tag(name: "internal")\n  "Stock of this SKU'));
    const res = await admin(PUBLISH, { input: { subgraph: 'inventory', sdl } });
    expect(res.data!.publish.__typename).toBe('PublishRejected');
    const checkId = res.data!.publish.check.id;
    const stored = await admin(`query($id: ID!) { checkRun(id: $id) { changes { coordinate } contracts { contract changes { fingerprint type coordinate criticality usage { clientId } } } blockers } }`, { id: checkId });
    const run = stored.data!.checkRun;
    // The whole API schema does not change (tags are not part of it)...
    expect(run.changes).toEqual([]);
    // ...the partner's does, and its client is named.
    const change = run.contracts[0].changes.find((c: { coordinate: string }) => c.coordinate === 'InventoryItem.status');
    expect(change).toMatchObject({ type: 'FIELD_REMOVED', criticality: 'BREAKING' });
    expect(change.usage.map((u: { clientId: string }) => u.clientId)).toContain(partnerClient.record.clientId);
    expect(run.blockers.join('\n')).toContain('for contract partner');

    // The enum only that field reached leaves the contract too: each breaking change is approved.
    const breaking = run.contracts[0].changes.filter((c: { criticality: string }) => c.criticality === 'BREAKING');
    expect(breaking.map((c: { coordinate: string }) => c.coordinate).sort()).toEqual(['InventoryItem.status', 'ItemStatus']);
    for (const c of breaking) {
      const approved = await admin('mutation($input: ApproveInput!) { approve(input: $input) { fingerprint } }', { input: { fingerprint: c.fingerprint, reason: 'partners move to statusV2' } });
      expect(approved.errors).toBeUndefined();
    }
    const again = await admin(PUBLISH, { input: { subgraph: 'inventory', sdl } });
    expect(again.data!.publish.__typename).toBe('Published');
    await waitForVersion(reg.url, again.data!.publish.supergraphVersion);
    expect(errorCode(await gql(reg.url, 'query ShopStatus { inventoryItems(skus: ["NOPE"]) { status } }', {}, asKey(partnerClient.key)))).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});

describe('contract history', () => {
  it('each supergraph version holds each contract schema; removing a contract refuses its callers rather than opening the whole schema', async () => {
    const latest = (await admin('{ supergraphVersion { version contracts { contract supergraphVersion hash sdl } } }')).data!.supergraphVersion;
    const partner = latest.contracts.find((c: { contract: string }) => c.contract === 'partner');
    expect(partner.supergraphVersion).toBe(latest.version);
    expect(partner.sdl).toContain('type InventoryItem');
    expect(partner.sdl.match(/type InventoryItem [^}]*\}/)![0]).not.toContain('barcode');
    const history = (await admin('{ contract(name: "partner") { history(first: 10) { supergraphVersion hash } } }')).data!.contract.history;
    // Set, then two publishes that changed it.
    expect(history.length).toBeGreaterThanOrEqual(3);
    expect(new Set(history.map((h: { hash: string }) => h.hash)).size).toBeGreaterThanOrEqual(3);

    // Contracts hold in every environment: staging, started as a copy of production, has partner's schema.
    const staged = await admin(CONTRACT_CHECK, { input: { subgraph: 'inventory', sdl: taggedInventory(), environment: 'staging' } });
    expect(staged.errors).toBeUndefined();
    expect(staged.data!.check.contracts.map((c: { contract: string }) => c.contract)).toEqual(['partner']);
    const stagingContracts = async () => (await admin('{ supergraphVersion(environment: "staging") { contracts { contract } } }')).data!.supergraphVersion.contracts;
    expect(await stagingContracts()).toEqual([{ contract: 'partner' }]);

    const removed = await admin('mutation { removeContract(name: "partner") }');
    expect(removed.errors).toBeUndefined();
    expect(await stagingContracts()).toEqual([]);
    await waitForVersion(reg.url, removed.data!.removeContract);
    const refused = await gql(reg.url, '{ inventoryItems(skus: ["NOPE"]) { sku barcode } }', {}, asKey(partnerKey));
    expect(refused.status).toBe(403);
    expect(refused.errors![0]!.extensions!['reason']).toBe('CONTRACT_UNKNOWN');
  });
});
