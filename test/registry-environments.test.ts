import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSupergraphConfig } from '../contracts/composition.js';
import { startRegistryGateway, type RegistryGateway } from '../gateway/boot.js';
import { configWith, ConfigError, registryDatabaseName, SUBGRAPH_NAMES } from '../lib/config.js';
import { createDataSource, ensureDatabase } from '../lib/db.js';
import { REGISTRY_MIGRATIONS } from '../registry/index.js';
import { errorCode, gql, uniq } from './client.js';
import { waitFor } from './events.js';
import { runScript } from './process.js';
import { issueKey, PUBLISH, registryClient, startPartnerSubgraph, waitForVersion, type RegistryStack, startRegistryStack } from './registry-helpers.js';

/**
 * Registry environments: one registry (one database) with staging and production; a production
 * gateway (the stack's) and a staging gateway (REGISTRY_ENVIRONMENT=staging) on it. Production
 * takes changes only by promotion (REGISTRY_PROMOTION_REQUIRED=production) unless the caller may promote.
 */
const PROMOTE = `mutation($input: PromoteInput!) {
  promote(input: $input) {
    __typename
    ... on Published { created supergraphVersion schemaVersion { version hash } check { id ok environment } }
    ... on PublishRejected { reasons check { id ok environment blockers changes { fingerprint coordinate criticality approved usage { clientId } } } }
  }
}`;

const PARTNER_SDL = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
"The environments partner's root fields."
type Query {
  "Answers true."
  envPing: Boolean
  "Answers pong."
  envPong: String
}
`;

let reg: RegistryStack;
let staging: RegistryGateway;
let admin: ReturnType<typeof registryClient>;
let partner: Awaited<ReturnType<typeof startPartnerSubgraph>>;
/** SCHEMA_PUBLISHED deliveries' data, as a webhook receiver gets them. */
const deliveries: Record<string, unknown>[] = [];
const hooks = createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    const delivery = JSON.parse(body) as { event: string; data: Record<string, unknown> };
    if (delivery.event === 'SCHEMA_PUBLISHED') deliveries.push(delivery.data);
    res.writeHead(204).end();
  });
});
const PARTNER = `envp${randomUUID().slice(0, 6)}`;

function stagingCfg(extra: Record<string, string> = {}) {
  return configWith({
    DB_PREFIX: reg.cfg.DB_PREFIX,
    REDIS_KEY_PREFIX: reg.cfg.REDIS_KEY_PREFIX,
    REGISTRY_POLL_MS: '100',
    REGISTRY_PROMOTION_REQUIRED: 'production',
    REGISTRY_ENVIRONMENT: 'staging',
    ...extra,
  });
}

async function startGatewayOn(cfg: ReturnType<typeof configWith>): Promise<RegistryGateway> {
  return startRegistryGateway({
    cfg,
    seed: await readSupergraphConfig('supergraph.yaml'),
    urlOverrides: Object.fromEntries(SUBGRAPH_NAMES.map((n) => [n, reg.stack.subgraphs[n].url])),
    subscriptionUrls: { inventory: reg.stack.subgraphs.inventory.url.replace(/^http/, 'ws') },
    host: '127.0.0.1',
    port: 0,
  });
}

beforeAll(async () => {
  reg = await startRegistryStack({ REGISTRY_PROMOTION_REQUIRED: 'production' });
  admin = registryClient(reg.registryUrl, reg.adminToken);
  staging = await startGatewayOn(stagingCfg());
  partner = await startPartnerSubgraph(PARTNER_SDL, { Query: { envPing: () => true, envPong: () => 'pong' } });
  await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
  const hook = await admin('mutation($u: String!) { addWebhook(input: { url: $u, events: [SCHEMA_PUBLISHED] }) { secret } }', { u: `http://127.0.0.1:${(hooks.address() as { port: number }).port}/hooks` });
  expect(hook.errors).toBeUndefined();
});

afterAll(async () => {
  await partner?.close();
  hooks.close();
  await staging?.close();
  await reg?.close();
});

async function latest(environment: string): Promise<number> {
  const res = await admin('query($e: String) { supergraphVersion(environment: $e) { version environment } }', { e: environment });
  expect(res.errors).toBeUndefined();
  expect(res.data!.supergraphVersion.environment).toBe(environment);
  return res.data!.supergraphVersion.version;
}

async function currentVersion(subgraph: string, environment: string): Promise<number | null> {
  const res = await admin('query($s: String!, $e: String) { subgraph(name: $s, environment: $e) { currentVersion } }', { s: subgraph, e: environment });
  expect(res.errors).toBeUndefined();
  return res.data!.subgraph?.currentVersion ?? null;
}

async function currentSdl(subgraph: string, environment: string): Promise<string> {
  const res = await admin('query($s: String!, $e: String) { subgraph(name: $s, environment: $e) { currentSchema { sdl } } }', { s: subgraph, e: environment });
  return res.data!.subgraph.currentSchema.sdl;
}

async function rowCount(table: string): Promise<number> {
  const [row] = (await reg.gateway.registry.dataSource.query(`SELECT COUNT(*) AS n FROM ${table}`)) as { n: string | number }[];
  return Number(row!.n);
}

describe('registry environments', () => {
  it('lists its environments; a staging gateway starts on a copy of production', async () => {
    const res = await admin('{ environments }');
    expect(res.data!.environments).toEqual(['staging', 'production']);
    const history = await admin('{ supergraphVersions(environment: "staging") { version environment reason } }');
    expect(history.data!.supergraphVersions).toEqual([expect.objectContaining({ environment: 'staging', reason: expect.stringMatching(/^copy of production v\d+$/) })]);
    const both = await admin('{ p: subgraphs { name environment currentVersion } s: subgraphs(environment: "staging") { name environment currentVersion } }');
    expect(both.data!.s.map((s: { name: string }) => s.name)).toEqual(both.data!.p.map((s: { name: string }) => s.name));
    expect(both.data!.s.every((s: { environment: string }) => s.environment === 'staging')).toBe(true);
  });

  it('serves a change published to staging from the staging gateway only, until it is promoted', async () => {
    const productionBefore = await latest('production');
    const published = await admin(PUBLISH, { input: { subgraph: PARTNER, sdl: PARTNER_SDL, routingUrl: partner.url, environment: 'staging' } });
    expect(published.errors).toBeUndefined();
    expect(published.data!.publish).toMatchObject({ __typename: 'Published', schemaVersion: { version: 1 } });
    await waitForVersion(staging.url, published.data!.publish.supergraphVersion);

    const onStaging = await gql(staging.url, '{ envPong }');
    expect(onStaging.errors).toBeUndefined();
    expect(onStaging.data).toEqual({ envPong: 'pong' });
    const onProduction = await gql(reg.url, '{ envPong }');
    expect(errorCode(onProduction)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(await latest('production')).toBe(productionBefore);
    expect(await currentVersion(PARTNER, 'production')).toBeNull();

    // New to production: its staging URL is not taken for production's.
    const noUrl = await admin(PROMOTE, { input: { subgraph: PARTNER, from: 'staging', to: 'production' } });
    expect(errorCode(noUrl)).toBe('BAD_USER_INPUT');
    expect(noUrl.errors![0]!.message).toMatch(/new to production: give its routing URL/);
    expect(await latest('production')).toBe(productionBefore);

    const promoted = await admin(PROMOTE, { input: { subgraph: PARTNER, from: 'staging', to: 'production', routingUrl: partner.url } });
    expect(promoted.errors).toBeUndefined();
    expect(promoted.data!.promote).toMatchObject({
      __typename: 'Published',
      created: true,
      schemaVersion: { version: 1, hash: published.data!.publish.schemaVersion.hash },
      check: { ok: true, environment: 'production' },
    });
    // The same schema version: promotion stores no new one.
    const versions = await admin('query($s: String!) { schemaVersions(subgraph: $s) { version } }', { s: PARTNER });
    expect(versions.data!.schemaVersions).toEqual([{ version: 1 }]);
    await waitForVersion(reg.url, promoted.data!.promote.supergraphVersion);
    const served = await gql(reg.url, '{ envPong }');
    expect(served.errors).toBeUndefined();
    expect(served.data).toEqual({ envPong: 'pong' });
    const history = await admin('{ supergraphVersions(first: 1) { version environment reason } }');
    expect(history.data!.supergraphVersions[0]).toMatchObject({ environment: 'production', reason: expect.stringContaining(`promote ${PARTNER} v1`) });
    // The webhook names the environment of each.
    await waitFor('both SCHEMA_PUBLISHED deliveries', async () => deliveries.filter((d) => d.subgraph === PARTNER).length >= 2);
    expect(deliveries.filter((d) => d.subgraph === PARTNER)).toEqual([
      expect.objectContaining({ environment: 'staging', kind: 'PUBLISH', schemaVersion: 1, supergraphVersion: published.data!.publish.supergraphVersion }),
      expect.objectContaining({ environment: 'production', kind: 'PROMOTE', schemaVersion: 1, supergraphVersion: promoted.data!.promote.supergraphVersion, routingUrl: partner.url }),
    ]);
  });

  it('runs the checks again against production when promoting: approvals, history and rollback are per environment', async () => {
    // A client uses InventoryItem.barcode through the production gateway.
    const client = uniq('prod-storefront-').toLowerCase();
    const used = await gql(reg.url, 'query ProdBarcode { inventoryItem(sku: "NOPE") { sku barcode } }', {}, { 'x-client-id': client });
    expect(used.errors).toBeUndefined();
    await reg.gateway.usage.flush();

    const original = await currentVersion('inventory', 'staging');
    const before = await currentSdl('inventory', 'staging');
    const sdl = before.replace(/\n  "[^"\n]*"\n  barcode: [^\n]*/, '');
    expect(sdl).not.toBe(before);
    // Checks in staging weigh production's usage too: it needs an approval there.
    const refusedInStaging = await admin(PUBLISH, { input: { subgraph: 'inventory', sdl, environment: 'staging' } });
    expect(refusedInStaging.data!.publish.__typename).toBe('PublishRejected');
    const change = refusedInStaging.data!.publish.check.changes.find((c: { coordinate: string }) => c.coordinate === 'InventoryItem.barcode');
    expect(change).toMatchObject({ criticality: 'BREAKING', approved: false });
    const approveInStaging = await admin('mutation($f: String!) { approve(input: { fingerprint: $f, environment: "staging" }) { environment fingerprint } }', { f: change.fingerprint });
    expect(approveInStaging.data!.approve).toEqual({ environment: 'staging', fingerprint: change.fingerprint });
    // The approval holds in staging only.
    const checks = await admin('mutation($sdl: String!) { s: check(input: { subgraph: "inventory", sdl: $sdl, environment: "staging" }) { ok environment changes { fingerprint approved } } p: check(input: { subgraph: "inventory", sdl: $sdl }) { ok environment changes { fingerprint approved } } }', { sdl });
    expect(checks.data!.s).toMatchObject({ ok: true, environment: 'staging' });
    expect(checks.data!.s.changes).toContainEqual({ fingerprint: change.fingerprint, approved: true });
    expect(checks.data!.p).toMatchObject({ ok: false, environment: 'production' });
    expect(checks.data!.p.changes).toContainEqual({ fingerprint: change.fingerprint, approved: false });
    const productionBefore = await latest('production');
    const inStaging = await admin(PUBLISH, { input: { subgraph: 'inventory', sdl, environment: 'staging' } });
    expect(inStaging.data!.publish.__typename).toBe('Published');
    const stagingVersion = inStaging.data!.publish.schemaVersion.version;
    await waitForVersion(staging.url, inStaging.data!.publish.supergraphVersion);
    expect(errorCode(await gql(staging.url, '{ inventoryItem(sku: "NOPE") { barcode } }'))).toBe('GRAPHQL_VALIDATION_FAILED');
    expect((await gql(reg.url, '{ inventoryItem(sku: "NOPE") { barcode } }')).errors).toBeUndefined();
    expect(await latest('production')).toBe(productionBefore);
    expect(await currentVersion('inventory', 'production')).toBe(original);

    // Staging's approval does not hold in production: the promotion is refused by production's check.
    const refused = await admin(PROMOTE, { input: { subgraph: 'inventory', from: 'staging', to: 'production' } });
    expect(refused.errors).toBeUndefined();
    expect(refused.data!.promote.__typename).toBe('PublishRejected');
    expect(refused.data!.promote.check.environment).toBe('production');
    const blocking = refused.data!.promote.check.changes.find((c: { coordinate: string }) => c.coordinate === 'InventoryItem.barcode');
    expect(blocking).toMatchObject({ fingerprint: change.fingerprint, criticality: 'BREAKING', approved: false });
    expect(blocking.usage.map((u: { clientId: string }) => u.clientId)).toContain(client);
    expect(await latest('production')).toBe(productionBefore);
    const productionApprovals = await admin('{ approvals(pendingOnly: false) { fingerprint environment } }');
    expect(productionApprovals.data!.approvals.map((a: { fingerprint: string }) => a.fingerprint)).not.toContain(change.fingerprint);
    const stagingApprovals = await admin('{ approvals(pendingOnly: false, environment: "staging") { fingerprint environment shippedSupergraphVersion } }');
    expect(stagingApprovals.data!.approvals).toContainEqual({ fingerprint: change.fingerprint, environment: 'staging', shippedSupergraphVersion: inStaging.data!.publish.supergraphVersion });

    const approveInProduction = await admin('mutation($f: String!) { approve(input: { fingerprint: $f }) { environment } }', { f: change.fingerprint });
    expect(approveInProduction.data!.approve.environment).toBe('production');
    const promoted = await admin(PROMOTE, { input: { subgraph: 'inventory', from: 'staging', to: 'production' } });
    expect(promoted.data!.promote).toMatchObject({ __typename: 'Published', schemaVersion: { version: stagingVersion }, check: { ok: true, environment: 'production' } });
    await waitForVersion(reg.url, promoted.data!.promote.supergraphVersion);
    expect(errorCode(await gql(reg.url, '{ inventoryItem(sku: "NOPE") { barcode } }'))).toBe('GRAPHQL_VALIDATION_FAILED');
    // It kept production's routing URL.
    const urls = await admin('{ p: subgraph(name: "inventory") { routingUrl } s: subgraph(name: "inventory", environment: "staging") { routingUrl } }');
    expect(urls.data!.p.routingUrl).toBe(urls.data!.s.routingUrl);

    // A rollback in staging leaves production alone.
    const productionNow = await latest('production');
    const rolledBack = await admin('mutation($input: RollbackInput!) { rollback(input: $input) { __typename ... on Published { supergraphVersion } } }', {
      input: { subgraph: 'inventory', version: original, environment: 'staging' },
    });
    expect(rolledBack.errors).toBeUndefined();
    expect(rolledBack.data!.rollback.__typename).toBe('Published');
    await waitForVersion(staging.url, rolledBack.data!.rollback.supergraphVersion);
    expect((await gql(staging.url, '{ inventoryItem(sku: "NOPE") { barcode } }')).errors).toBeUndefined();
    expect(errorCode(await gql(reg.url, '{ inventoryItem(sku: "NOPE") { barcode } }'))).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(await latest('production')).toBe(productionNow);
    expect(await currentVersion('inventory', 'production')).toBe(stagingVersion);
    const stagingHistory = await admin('{ supergraphVersions(environment: "staging") { environment reason } }');
    expect(stagingHistory.data!.supergraphVersions[0]).toMatchObject({ environment: 'staging', reason: expect.stringMatching(/^rollback inventory/) });
    expect(stagingHistory.data!.supergraphVersions.every((v: { environment: string }) => v.environment === 'staging')).toBe(true);
    // A supergraph version of staging is not production's.
    const crossRead = await admin('query($v: Int) { supergraphVersion(version: $v) { version } }', { v: rolledBack.data!.rollback.supergraphVersion });
    expect(crossRead.data!.supergraphVersion).toBeNull();
  });

  it("records usage under its gateway's environment: staging's clients weigh in staging's checks, not production's", async () => {
    const client = uniq('staging-tester-').toLowerCase();
    expect((await gql(staging.url, 'query StagingDescribe { inventoryItem(sku: "NOPE") { sku description } }', {}, { 'x-client-id': client })).errors).toBeUndefined();
    await staging.usage.flush();
    const [row] = (await reg.gateway.registry.dataSource.query('SELECT environment FROM usage_records WHERE client_id = ? LIMIT 1', [client])) as { environment: string }[];
    expect(row).toEqual({ environment: 'staging' });

    const without = (sdl: string) => {
      const edited = sdl.replace('  "Longer description, when there is one."\n  description: String\n', '');
      expect(edited).not.toBe(sdl);
      return edited;
    };
    const CHECK_ENV = 'mutation($sdl: String!, $e: String) { check(input: { subgraph: "inventory", sdl: $sdl, environment: $e }) { environment changes { coordinate criticality usage { clientId } } } }';
    const inStaging = await admin(CHECK_ENV, { sdl: without(await currentSdl('inventory', 'staging')), e: 'staging' });
    expect(inStaging.data!.check.changes.find((c: { coordinate: string }) => c.coordinate === 'InventoryItem.description')).toEqual({
      coordinate: 'InventoryItem.description',
      criticality: 'BREAKING',
      usage: [{ clientId: client }],
    });
    const inProduction = await admin(CHECK_ENV, { sdl: without(await currentSdl('inventory', 'production')) });
    expect(inProduction.data!.check.environment).toBe('production');
    expect(inProduction.data!.check.changes.find((c: { coordinate: string }) => c.coordinate === 'InventoryItem.description')).toMatchObject({ criticality: 'SAFE', usage: [] });
  });

  it('lets a key that may publish publish to staging but neither promote nor publish to production', async () => {
    const withEnvPong = PARTNER_SDL.replace('  envPong: String\n', '  envPong: String\n  "Answers nothing yet."\n  envLater: Int\n');
    const publisher = registryClient(reg.registryUrl, await issueKey(reg, 'publisher', [`registry:publish:${PARTNER}`], 'operators'));
    const toStaging = await publisher(PUBLISH, { input: { subgraph: PARTNER, sdl: withEnvPong, environment: 'staging' } });
    expect(toStaging.errors).toBeUndefined();
    expect(toStaging.data!.publish).toMatchObject({ __typename: 'Published', schemaVersion: { version: 2 } });

    const productionBefore = await latest('production');
    const promote = await publisher(PROMOTE, { input: { subgraph: PARTNER, from: 'staging', to: 'production' } });
    expect(errorCode(promote)).toBe('FORBIDDEN');
    expect(promote.errors![0]!.extensions!.requiredScope).toBe(`registry:promote:${PARTNER}`);
    const direct = await publisher(PUBLISH, { input: { subgraph: PARTNER, sdl: withEnvPong, environment: 'production' } });
    expect(errorCode(direct)).toBe('FORBIDDEN');
    expect(direct.errors![0]!.extensions!.reason).toBe('PROMOTION_REQUIRED');
    // Production is the default environment: leaving it out is no way round.
    expect(errorCode(await publisher(PUBLISH, { input: { subgraph: PARTNER, sdl: withEnvPong } }))).toBe('FORBIDDEN');
    const rollback = await publisher('mutation { rollback(input: { subgraph: "' + PARTNER + '", version: 1 }) { __typename } }');
    expect(errorCode(rollback)).toBe('FORBIDDEN');
    expect(await latest('production')).toBe(productionBefore);
    expect(await currentVersion(PARTNER, 'production')).toBe(1);

    const promoter = registryClient(reg.registryUrl, await issueKey(reg, 'promoter', [`registry:promote:${PARTNER}`], 'operators'));
    const promoted = await promoter(PROMOTE, { input: { subgraph: PARTNER, from: 'staging', to: 'production' } });
    expect(promoted.errors).toBeUndefined();
    expect(promoted.data!.promote).toMatchObject({ __typename: 'Published', schemaVersion: { version: 2 } });
    expect(await currentVersion(PARTNER, 'production')).toBe(2);
  });

  it('promotes with the CLI (npm run omnistock -- registry promote), naming the version', async () => {
    const v3 = PARTNER_SDL.replace('  envPong: String\n', '  envPong: String\n  "Answers nothing yet."\n  envLater: Int\n  "Nor this."\n  envLast: Int\n');
    const published = await admin(PUBLISH, { input: { subgraph: PARTNER, sdl: v3, environment: 'staging' } });
    expect(published.data!.publish).toMatchObject({ __typename: 'Published', schemaVersion: { version: 3 } });
    const env = { DB_PREFIX: reg.cfg.DB_PREFIX, REDIS_KEY_PREFIX: reg.cfg.REDIS_KEY_PREFIX, LOG_LEVEL: 'warn' };
    const run = await runScript('scripts/cli.ts', ['registry', 'promote', PARTNER, '--from', 'staging', '--to', 'production', '--local', '--json'], env, 50_000);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ __typename: 'Published', created: true, schemaVersion: { version: 3 }, check: { environment: 'production', ok: true } });
    expect(await currentVersion(PARTNER, 'production')).toBe(3);
  });

  it('refuses an unknown environment as BAD_USER_INPUT, writing nothing', async () => {
    const before = { runs: await rowCount('check_runs'), versions: await rowCount('supergraph_versions'), subgraphs: await rowCount('registry_subgraphs'), approvals: await rowCount('approvals') };
    const publish = await admin(PUBLISH, { input: { subgraph: PARTNER, sdl: PARTNER_SDL, routingUrl: partner.url, environment: 'qa' } });
    expect(errorCode(publish)).toBe('BAD_USER_INPUT');
    expect(publish.errors![0]!.message).toMatch(/Unknown registry environment "qa"/);
    expect(errorCode(await admin('mutation { check(input: { subgraph: "inventory", sdl: "type Query { a: Int }", environment: "qa" }) { ok } }'))).toBe('BAD_USER_INPUT');
    expect(errorCode(await admin(PROMOTE, { input: { subgraph: PARTNER, from: 'staging', to: 'qa' } }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await admin(PROMOTE, { input: { subgraph: PARTNER, from: 'qa', to: 'production' } }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await admin('mutation { removeSubgraph(input: { subgraph: "' + PARTNER + '", environment: "qa" }) { __typename } }'))).toBe('BAD_USER_INPUT');
    expect(errorCode(await admin('mutation { approve(input: { fingerprint: "0000000000000000", environment: "qa" }) { fingerprint } }'))).toBe('BAD_USER_INPUT');
    expect(errorCode(await admin('{ subgraphs(environment: "qa") { name } }'))).toBe('BAD_USER_INPUT');
    expect(errorCode(await admin('{ supergraphVersions(environment: "qa") { version } }'))).toBe('BAD_USER_INPUT');
    const after = { runs: await rowCount('check_runs'), versions: await rowCount('supergraph_versions'), subgraphs: await rowCount('registry_subgraphs'), approvals: await rowCount('approvals') };
    expect(after).toEqual(before);
  });

  it('refuses to start a gateway whose REGISTRY_ENVIRONMENT is not one of REGISTRY_ENVIRONMENTS', async () => {
    expect(() => stagingCfg({ REGISTRY_ENVIRONMENT: 'qa' })).toThrow(ConfigError);
    expect(() => stagingCfg({ REGISTRY_ENVIRONMENT: 'qa' })).toThrow(/REGISTRY_ENVIRONMENT: "qa" is not one of REGISTRY_ENVIRONMENTS \(staging, production\)/);
    expect(() => stagingCfg({ REGISTRY_ENVIRONMENTS: 'staging' })).toThrow(/REGISTRY_ENVIRONMENTS: must include production/);
    // A configuration built by hand is checked at the registry's boot too.
    await expect(startGatewayOn({ ...stagingCfg(), REGISTRY_ENVIRONMENT: 'qa' })).rejects.toThrow(/REGISTRY_ENVIRONMENT: "qa" is not one of REGISTRY_ENVIRONMENTS/);
  });
});

describe('the environments migration', () => {
  it('makes existing rows production, keeps them on the way down, and drops other environments', async () => {
    const cfg = configWith({ DB_PREFIX: `omnistock_envmig_${randomUUID().slice(0, 8)}` });
    const database = registryDatabaseName(cfg);
    await ensureDatabase(cfg.MYSQL_URL, database);
    // The migrations before it; then it and every later one, undone back to it.
    const at = REGISTRY_MIGRATIONS.findIndex((m) => m.name === 'Environments1739000000000');
    expect(at).toBeGreaterThan(0);
    const before = createDataSource(cfg, { database, entities: [], migrations: REGISTRY_MIGRATIONS.slice(0, at) });
    await before.initialize();
    try {
      await before.runMigrations();
      await before.query(`INSERT INTO registry_subgraphs (name, routing_url, team, current_schema_id, created_at, updated_at) VALUES ('inventory', 'http://a/graphql', 'platform', 1, NOW(3), NOW(3))`);
      await before.query(`INSERT INTO supergraph_versions (sdl, hash, composition_version, created_by, reason, created_at) VALUES ('x', 'h', '2', 'seed', 'seed', NOW(3))`);
      await before.query(`INSERT INTO approvals (fingerprint, subgraph, type, message, approved_by, created_at) VALUES ('f', 'inventory', 'FIELD_REMOVED', 'm', 'a', NOW(3))`);
      await before.query(`INSERT INTO usage_records (coordinate, day, client_id, operation_hash, operation_name, count, last_seen) VALUES ('Query.a', '2026-01-01', 'c', 'h', 'Op', 3, NOW(3))`);
    } finally {
      await before.destroy();
    }
    const ds = createDataSource(cfg, { database, entities: [], migrations: REGISTRY_MIGRATIONS });
    await ds.initialize();
    try {
      await ds.runMigrations();
      for (const table of ['registry_subgraphs', 'supergraph_versions', 'approvals', 'usage_records']) {
        expect(await ds.query(`SELECT environment FROM ${table}`), table).toEqual([{ environment: 'production' }]);
      }
      // The same subgraph and usage key may now exist once per environment.
      await ds.query(`INSERT INTO registry_subgraphs (environment, name, routing_url, team, current_schema_id, created_at, updated_at) VALUES ('staging', 'inventory', 'http://b/graphql', 'platform', 1, NOW(3), NOW(3))`);
      await ds.query(`INSERT INTO usage_records (environment, coordinate, day, client_id, operation_hash, operation_name, count, last_seen) VALUES ('staging', 'Query.a', '2026-01-01', 'c', 'h', 'Op', 1, NOW(3))`);
      for (let i = at; i < REGISTRY_MIGRATIONS.length; i++) await ds.undoLastMigration();
      expect(await ds.query('SELECT routing_url FROM registry_subgraphs')).toEqual([{ routing_url: 'http://a/graphql' }]);
      expect((await ds.query('SELECT count FROM usage_records')).map((r: { count: string | number }) => Number(r.count))).toEqual([3]);
      expect(await ds.query(`SHOW COLUMNS FROM approvals LIKE 'environment'`)).toEqual([]);
    } finally {
      await ds.query(`DROP DATABASE IF EXISTS \`${database}\``);
      await ds.destroy();
    }
  });
});
