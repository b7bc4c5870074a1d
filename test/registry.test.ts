import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, gql, uniq } from './client.js';
import { ApiKeyService } from '../registry/index.js';
import { allowHost, CHECK, PUBLISH, registryClient, repoSdl, servedVersion, startRegistryStack, waitForVersion, type RegistryStack } from './registry-helpers.js';

let reg: RegistryStack;
let admin: ReturnType<typeof registryClient>;

beforeAll(async () => {
  reg = await startRegistryStack();
  admin = registryClient(reg.registryUrl, reg.adminToken);
});

afterAll(async () => {
  await reg?.close();
});

/** inventory's SDL without one field of InventoryItem (and the description line above it). */
function inventoryWithout(sdl: string, field: string): string {
  const re = new RegExp(`\\n  "[^"\\n]*"\\n  ${field}: [^\\n]*`);
  expect(sdl).toMatch(re);
  return sdl.replace(re, '');
}

async function currentSdl(subgraph: string): Promise<string> {
  const res = await admin(`query($s: String!) { subgraph(name: $s) { currentSchema { sdl } } }`, { s: subgraph });
  return res.data!.subgraph.currentSchema.sdl;
}

async function latestVersion(): Promise<number> {
  const res = await admin('{ supergraphVersion { version } }');
  return res.data!.supergraphVersion.version;
}

describe('schema registry', () => {
  it('serves the seeded supergraph and names its version on every response', async () => {
    const res = await gql(reg.url, '{ inventoryItems(skus: ["NOPE"]) { sku } }');
    expect(res.errors).toBeUndefined();
    expect(servedVersion(res)).toBe(1);
    const subgraphs = await admin('{ subgraphs { name team currentVersion routingUrl } }');
    expect(subgraphs.data!.subgraphs.map((s: { name: string }) => s.name)).toEqual(['channels', 'exceptions', 'inventory', 'locations', 'marketplaces', 'orders']);
    expect(subgraphs.data!.subgraphs.every((s: { currentVersion: number; team: string }) => s.currentVersion === 1 && s.team === 'platform')).toBe(true);
    const v1 = await admin('{ supergraphVersion(version: 1) { compositionVersion reason members { subgraph schemaVersion } sdl } }');
    expect(v1.data!.supergraphVersion.compositionVersion).toMatch(/^2\.\d+\.\d+/);
    expect(v1.data!.supergraphVersion.members).toHaveLength(6);
    expect(v1.data!.supergraphVersion.sdl).toContain('join__Graph');
  });

  it('refuses a publish that does not compose, naming the subgraphs involved', async () => {
    const before = await latestVersion();
    const res = await admin(PUBLISH, {
      input: {
        subgraph: 'partner',
        routingUrl: 'http://127.0.0.1:9/graphql',
        sdl: `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable"])
"A location." type Location @key(fields: "id") { "Id." id: ID! "Name as a number." name: Int! @shareable }
type Query { "Ping." partnerPing: Boolean }`,
      },
    });
    expect(res.errors).toBeUndefined();
    const out = res.data!.publish;
    expect(out.__typename).toBe('PublishRejected');
    expect(out.check.composition.ok).toBe(false);
    const error = out.check.composition.errors.find((e: { message: string }) => e.message.includes('Location.name'));
    expect(error.subgraphs).toEqual(expect.arrayContaining(['locations', 'partner']));
    expect(out.reasons.join('\n')).toMatch(/composition failed.*locations.*partner|composition failed.*partner.*locations/);
    expect(out.check.text).toContain('Location.name');
    expect(await latestVersion()).toBe(before);
    const subgraphs = await admin('{ subgraphs { name } }');
    expect(subgraphs.data!.subgraphs.map((s: { name: string }) => s.name)).not.toContain('partner');
  });

  it('blocks removing a field a client used, naming the client, and publishes it once approved', async () => {
    const client = uniq('storefront-').toLowerCase();
    const used = await gql(reg.url, 'query ProductBarcode { inventoryItem(sku: "NOPE") { sku barcode } }', {}, { 'x-client-id': client });
    expect(used.errors).toBeUndefined();
    await reg.gateway.usage.flush();

    const sdl = inventoryWithout(await currentSdl('inventory'), 'barcode');
    const refused = await admin(PUBLISH, { input: { subgraph: 'inventory', sdl, commit: 'drop barcode' } });
    expect(refused.errors).toBeUndefined();
    expect(refused.data!.publish.__typename).toBe('PublishRejected');
    const change = refused.data!.publish.check.changes.find((c: { coordinate: string }) => c.coordinate === 'InventoryItem.barcode');
    expect(change).toMatchObject({ type: 'FIELD_REMOVED', criticality: 'BREAKING', approved: false });
    expect(change.usage).toEqual([{ clientId: client, operations: [expect.objectContaining({ name: 'ProductBarcode', count: 1 })] }]);
    expect(refused.data!.publish.reasons.join('\n')).toContain(client);
    expect(refused.data!.publish.check.text).toContain(`used by ${client}`);

    const approved = await admin(`mutation($f: String!) { approve(input: { fingerprint: $f, reason: "storefront moved to gtin" }) { fingerprint coordinate approvedBy shippedSupergraphVersion } }`, { f: change.fingerprint });
    expect(approved.errors).toBeUndefined();
    expect(approved.data!.approve).toMatchObject({ coordinate: 'InventoryItem.barcode', shippedSupergraphVersion: null });

    // The approval is remembered by later checks, until a publish ships it.
    const checked = await admin(CHECK, { input: { subgraph: 'inventory', sdl } });
    expect(checked.data!.check.ok).toBe(true);
    expect(checked.data!.check.changes.find((c: { fingerprint: string }) => c.fingerprint === change.fingerprint).approved).toBe(true);

    const published = await admin(PUBLISH, { input: { subgraph: 'inventory', sdl, commit: 'drop barcode' } });
    expect(published.errors).toBeUndefined();
    expect(published.data!.publish).toMatchObject({ __typename: 'Published', created: true, schemaVersion: { version: 2 } });
    const version = published.data!.publish.supergraphVersion;
    const shipped = await admin('{ approvals(pendingOnly: false) { fingerprint shippedSupergraphVersion } }');
    expect(shipped.data!.approvals.find((a: { fingerprint: string }) => a.fingerprint === change.fingerprint).shippedSupergraphVersion).toBe(version);

    await waitForVersion(reg.url, version);
    const gone = await gql(reg.url, '{ inventoryItem(sku: "NOPE") { barcode } }');
    expect(errorCode(gone)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(servedVersion(gone)).toBe(version);
  });

  it('judges an argument made required against the clients that leave it out, naming them', async () => {
    const omits = uniq('readme-').toLowerCase();
    const passes = uniq('pinned-').toLowerCase();
    // The README's query leaves locationIds out; another client passes it.
    expect((await gql(reg.url, 'query Levels { inventoryItems(skus: ["NOPE"]) { stockLevels { available } } }', {}, { 'x-client-id': omits })).errors).toBeUndefined();
    expect((await gql(reg.url, 'query AtStore { inventoryItems(skus: ["NOPE"]) { stockLevels(locationIds: ["x"]) { available } } }', {}, { 'x-client-id': passes })).errors).toBeUndefined();
    await reg.gateway.usage.flush();

    const sdl = (await currentSdl('inventory')).replace('locationIds: [ID!]\n  ): [StockLevel!]!', 'locationIds: [ID!]!\n  ): [StockLevel!]!');
    expect(sdl).toContain('locationIds: [ID!]!');
    const res = await admin(CHECK, { input: { subgraph: 'inventory', sdl } });
    expect(res.errors).toBeUndefined();
    const change = res.data!.check.changes.find((c: { coordinate: string }) => c.coordinate === 'InventoryItem.stockLevels.locationIds');
    expect(change).toMatchObject({ type: 'FIELD_ARGUMENT_TYPE_CHANGED', criticality: 'BREAKING' });
    expect(change.usage.map((u: { clientId: string }) => u.clientId)).toContain(omits);
    expect(res.data!.check.ok).toBe(false);
  });

  it('publishes the removal of a field no client used, reporting it as safe', async () => {
    const sdl = inventoryWithout(await currentSdl('inventory'), 'description');
    const res = await admin(PUBLISH, { input: { subgraph: 'inventory', sdl } });
    expect(res.errors).toBeUndefined();
    expect(res.data!.publish.__typename).toBe('Published');
    const check = await admin(`query($id: ID!) { checkRun(id: $id) { ok changes { coordinate type criticality originalCriticality usage { clientId } } json } }`, {
      id: res.data!.publish.check.id,
    });
    const change = check.data!.checkRun.changes.find((c: { coordinate: string }) => c.coordinate === 'InventoryItem.description');
    expect(change).toMatchObject({ type: 'FIELD_REMOVED', criticality: 'SAFE', originalCriticality: 'BREAKING', usage: [] });
    expect(check.data!.checkRun.json.changes).toEqual(expect.arrayContaining([expect.objectContaining({ coordinate: 'InventoryItem.description' })]));
  });

  it('blocks a publish with lint violations', async () => {
    const before = await latestVersion();
    const sdl = (await currentSdl('inventory')).replace(
      '"Whether the SKU is still sold."\n  status: ItemStatus!',
      '"Whether the SKU is still sold."\n  status: ItemStatus!\n  shelf_code: String\n  "Old name."\n  legacyName: String @deprecated(reason: "not needed")',
    );
    const res = await admin(PUBLISH, { input: { subgraph: 'inventory', sdl } });
    expect(res.errors).toBeUndefined();
    expect(res.data!.publish.__typename).toBe('PublishRejected');
    const lint = res.data!.publish.check.lint as { rule: string; coordinate: string }[];
    expect(lint).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ rule: 'DESCRIPTION', coordinate: 'InventoryItem.shelf_code' }),
        expect.objectContaining({ rule: 'FIELD_NAME', coordinate: 'InventoryItem.shelf_code' }),
        expect.objectContaining({ rule: 'DEPRECATION_REASON', coordinate: 'InventoryItem.legacyName' }),
      ]),
    );
    expect(res.data!.publish.check.composition.ok).toBe(true);
    expect(res.data!.publish.reasons.join('\n')).toMatch(/lint/);
    expect(await latestVersion()).toBe(before);

    // A removal date too close to the deprecation is refused as well.
    const soon = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    const early = (await currentSdl('inventory')).replace('  name: String!', `  name: String! @deprecated(reason: "Use \`title\`. Removal: ${soon}")`);
    const refused = await admin(CHECK, { input: { subgraph: 'inventory', sdl: early } });
    expect(refused.data!.check.ok).toBe(false);
    const dated = refused.data!.check.lint.find((l: { coordinate: string }) => l.coordinate === 'InventoryItem.name');
    expect(dated).toMatchObject({ rule: 'DEPRECATION_REASON' });
    expect(dated.message).toContain('at least 90 days');
  });

  it('rolls a subgraph back to an earlier version as a new version, which the gateway serves', async () => {
    const history = await admin(`{ schemaVersions(subgraph: "inventory") { version author commit hash } }`);
    const versions = history.data!.schemaVersions as { version: number; commit: string | null }[];
    expect(versions.map((v) => v.version)).toEqual([3, 2, 1]);
    expect(versions[1]!.commit).toBe('drop barcode');

    const res = await admin(`mutation { rollback(input: { subgraph: "inventory", version: 1 }) { __typename ... on Published { supergraphVersion schemaVersion { version hash } } ... on PublishRejected { reasons } } }`);
    expect(res.errors).toBeUndefined();
    expect(res.data!.rollback).toMatchObject({ __typename: 'Published', schemaVersion: { version: 4 } });
    const v1 = await admin(`{ schemaVersion(subgraph: "inventory", version: 1) { hash sdl } }`);
    expect(res.data!.rollback.schemaVersion.hash).toBe(v1.data!.schemaVersion.hash);
    expect(v1.data!.schemaVersion.sdl).toBe(repoSdl('inventory'));

    const diff = await admin(`{ diff(subgraph: "inventory", from: 3, to: 4) { changes { type coordinate criticality } } }`);
    expect(diff.data!.diff.changes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'FIELD_ADDED', coordinate: 'InventoryItem.barcode' }),
        expect.objectContaining({ type: 'FIELD_ADDED', coordinate: 'InventoryItem.description' }),
      ]),
    );
    const superDiff = await admin(`query($from: Int!, $to: Int!) { diff(from: $from, to: $to) { changes { type coordinate } } }`, {
      from: 1,
      to: res.data!.rollback.supergraphVersion,
    });
    expect(superDiff.data!.diff.changes).toEqual([]);

    await waitForVersion(reg.url, res.data!.rollback.supergraphVersion);
    const back = await gql(reg.url, '{ inventoryItem(sku: "NOPE") { barcode description } }');
    expect(back.errors).toBeUndefined();
    const supergraphs = await admin('{ supergraphVersions(first: 10) { version reason members { subgraph schemaVersion } } }');
    expect(supergraphs.data!.supergraphVersions[0]).toMatchObject({ version: res.data!.rollback.supergraphVersion, reason: 'rollback inventory v4' });
    expect(supergraphs.data!.supergraphVersions[0].members.find((m: { subgraph: string }) => m.subgraph === 'inventory').schemaVersion).toBe(4);
  });
});

describe('registry credentials (API keys with registry scopes)', () => {
  const keys = () => new ApiKeyService(reg.gateway.registry.dataSource);
  const issue = async (clientId: string, scopes: string[], team?: string) =>
    keys().create({ clientId, team, scopes, expiresInMs: 3_600_000, createdBy: 'registry.test' });

  it('refuses missing, unknown, revoked or expired credentials as UNAUTHENTICATED', async () => {
    // Refused before anything runs, with HTTP 401 as on /graphql, and the domain error's own message.
    const missing = await registryClient(reg.registryUrl, null)('{ subgraphs { name } }');
    expect([missing.status, errorCode(missing), missing.data]).toEqual([401, 'UNAUTHENTICATED', undefined]);
    expect(missing.errors![0]!.extensions!.reason).toBe('CREDENTIALS_REQUIRED');
    expect(missing.errors![0]!.message).toMatch(/^The registry API requires credentials/);
    for (const token of ['osr_not-a-real-token', 'osk_not-a-real-key']) {
      const unknown = await registryClient(reg.registryUrl, token)('{ subgraphs { name } }');
      expect([unknown.status, errorCode(unknown)]).toEqual([401, 'UNAUTHENTICATED']);
    }

    const { key, record } = await issue('pricing-ci', ['registry:check:pricing'], 'pricing');
    const whoami = await registryClient(reg.registryUrl, key)('{ whoami { name clientId team admin scopes } }');
    expect(whoami.data!.whoami).toEqual({ name: `pricing/${record.keyPrefix}`, clientId: 'pricing-ci', team: 'pricing', admin: false, scopes: ['registry:check:pricing'] });
    // x-api-key works as on /graphql.
    const viaHeader = await gql(reg.registryUrl, '{ whoami { clientId } }', {}, { 'x-api-key': key });
    expect(viaHeader.data!.whoami.clientId).toBe('pricing-ci');

    // A key past its expiry (set in the database: keys are issued for at least a minute).
    const stale = await issue('pricing-ci', ['registry:check:pricing'], 'pricing');
    await reg.gateway.registry.dataSource.query('UPDATE gateway_api_keys SET expires_at = ? WHERE id = ?', [new Date(Date.now() - 1000), stale.record.id]);
    const expired = await registryClient(reg.registryUrl, stale.key)('{ whoami { team } }');
    expect([expired.status, errorCode(expired)]).toEqual([401, 'UNAUTHENTICATED']);
    expect(expired.errors![0]!.extensions!.reason).toBe('EXPIRED');

    const other = await issue('pricing-ci', ['registry:check:pricing'], 'pricing');
    await keys().revoke(other.record.id);
    const revoked = await registryClient(reg.registryUrl, other.key)('{ whoami { team } }');
    expect(errorCode(revoked)).toBe('UNAUTHENTICATED');
    expect(revoked.errors![0]!.extensions!.reason).toBe('REVOKED');
  });

  it('refuses an action or a subgraph outside the key scopes as FORBIDDEN', async () => {
    const { key } = await issue('threepl-ci', ['registry:check:fulfilment'], 'threepl');
    const partner = registryClient(reg.registryUrl, key);
    await allowHost(reg, 'fulfilment', 'http://127.0.0.1:9/graphql');
    const sdl = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
"Carrier options." type Query { "Carriers serving a postcode." carriers("The postcode." postalCode: String!): [String!]! }`;

    const checked = await partner(CHECK, { input: { subgraph: 'fulfilment', sdl, routingUrl: 'http://127.0.0.1:9/graphql' } });
    expect(checked.errors).toBeUndefined();
    expect(checked.data!.check.ok).toBe(true);

    const publish = await partner(PUBLISH, { input: { subgraph: 'fulfilment', sdl, routingUrl: 'http://127.0.0.1:9/graphql' } });
    expect(errorCode(publish)).toBe('FORBIDDEN');
    expect(publish.errors![0]!.extensions!.requiredScope).toBe('registry:publish:fulfilment');
    const otherSubgraph = await partner(CHECK, { input: { subgraph: 'inventory', sdl: repoSdl('inventory') } });
    expect(errorCode(otherSubgraph)).toBe('FORBIDDEN');
    expect(errorCode(await partner('{ teams { name } }'))).toBe('FORBIDDEN');
    expect(errorCode(await partner('{ webhooks { id } }'))).toBe('FORBIDDEN');
  });

  it('a wildcard scope covers every subgraph for its action only', async () => {
    const { key } = await issue('checker', ['registry:check:*']);
    const checker = registryClient(reg.registryUrl, key);
    const checked = await checker(CHECK, { input: { subgraph: 'inventory', sdl: repoSdl('inventory') } });
    expect(checked.errors).toBeUndefined();
    expect(checked.data!.check.ok).toBe(true);
    expect(errorCode(await checker(PUBLISH, { input: { subgraph: 'inventory', sdl: repoSdl('inventory') } }))).toBe('FORBIDDEN');
  });
});
