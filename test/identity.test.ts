import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyService, REGISTRY_ENTITIES, REGISTRY_MIGRATIONS } from '../registry/index.js';
import { UnifyIdentity1736000000000 } from '../registry/data/migrations/1736000000000-unify-identity.js';
import { newToken } from '../registry/domain/principal.js';
import { configWith, registryDatabaseName } from '../lib/config.js';
import { openDatabase } from '../lib/db.js';
import { errorCode, gql } from './client.js';
import { allowHost, CHECK, PUBLISH, registryClient, repoSdl, startPartnerSubgraph, startRegistryStack, type RegistryStack } from './registry-helpers.js';

/**
 * One identity store for the gateway and the registry: API keys (and JWTs) with registry scopes on
 * /registry/graphql, the same credentials on /graphql, and registry tokens issued before the store
 * was unified, migrated into it and still working.
 */

const SECRET = 'identity-test-secret-of-at-least-32-chars';
const PRICING_SDL = await readFile('scripts/demo/pricing.graphql', 'utf8');
const ORDERS = '{ orders(first: 1) { edges { node { id } } } }';

let reg: RegistryStack;
let keys: ApiKeyService;
let partner: Awaited<ReturnType<typeof startPartnerSubgraph>>;
/** Registry tokens issued the old way, before the migration. */
const old = { partner: newToken('osr_'), admin: newToken('osr_'), revoked: newToken('osr_') };

async function apiKey(scopes: string[], opts: { clientId?: string; team?: string } = {}): Promise<string> {
  const clientId = opts.clientId ?? `id-${randomUUID().slice(0, 8)}`;
  return (await keys.create({ clientId, team: opts.team, scopes, expiresInMs: 3_600_000, createdBy: 'identity.test' })).key;
}

/**
 * A registry database as it was before the unification (every migration but 1736000000000) holding
 * three registry tokens; the stack's gateway then opens it and migrates it.
 */
async function seedOldRegistry(dbPrefix: string): Promise<void> {
  const cfg = configWith({ DB_PREFIX: dbPrefix });
  const ds = await openDatabase(cfg, {
    database: registryDatabaseName(cfg),
    entities: REGISTRY_ENTITIES,
    migrations: REGISTRY_MIGRATIONS.filter((m) => m !== UnifyIdentity1736000000000),
  });
  try {
    const insert = (t: ReturnType<typeof newToken>, team: string, admin: boolean, subgraphs: string[], actions: string[], revokedAt: Date | null) =>
      ds.query(
        `INSERT INTO registry_tokens (id, team, description, token_hash, token_prefix, admin, subgraphs, actions, expires_at, revoked_at, created_by, created_at, last_used_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'operator', ?, NULL)`,
        [randomUUID(), team, `old ${team}`, t.hash, t.prefix, admin ? 1 : 0, JSON.stringify(subgraphs), JSON.stringify(actions), new Date(Date.now() + 86_400_000), revokedAt, new Date()],
      );
    await insert(old.partner, 'pricing', false, ['pricing'], ['CHECK', 'PUBLISH'], null);
    await insert(old.admin, 'operators', true, ['*'], ['CHECK', 'PUBLISH', 'APPROVE'], null);
    await insert(old.revoked, 'pricing', false, ['pricing'], ['CHECK'], new Date());
  } finally {
    await ds.destroy();
  }
}

beforeAll(async () => {
  const dbPrefix = `omnistock_id_${randomUUID().slice(0, 8)}`;
  await seedOldRegistry(dbPrefix);
  reg = await startRegistryStack({ DB_PREFIX: dbPrefix, AUTH_MODE: 'enforce', AUTH_PUBLIC_SCOPES: 'availability:read', AUTH_JWT_SECRET: SECRET });
  keys = new ApiKeyService(reg.gateway.registry.dataSource);
  partner = await startPartnerSubgraph(PRICING_SDL, {
    InventoryItem: { __resolveReference: (ref: { sku: string }) => ({ sku: ref.sku, price: { amount: 100, currency: 'GBP' } }) },
  });
  await allowHost(reg, 'pricing', partner.url);
});

afterAll(async () => {
  await partner?.close();
  await reg?.close();
});

describe('the migration of registry tokens into the key store', () => {
  it('moved every token into gateway_api_keys with its hash, team and permissions as scopes, and dropped registry_tokens', async () => {
    const ds = reg.gateway.registry.dataSource;
    const [table] = (await ds.query(`SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'registry_tokens'`)) as { n: number | string }[];
    expect(Number(table!.n)).toBe(0);
    const rows = (await ds.query(`SELECT key_hash, client_id, team, scopes, description, revoked_at FROM gateway_api_keys WHERE key_prefix LIKE 'osr\\_%' ORDER BY client_id, revoked_at`)) as {
      key_hash: string;
      client_id: string;
      team: string;
      scopes: string;
      description: string;
      revoked_at: Date | null;
    }[];
    expect(rows.map((r) => ({ ...r, scopes: JSON.parse(r.scopes), revoked: !!r.revoked_at, revoked_at: undefined }))).toEqual([
      { key_hash: old.admin.hash, client_id: 'operators', team: 'operators', scopes: ['registry:admin'], description: 'old operators', revoked: false, revoked_at: undefined },
      { key_hash: old.partner.hash, client_id: 'pricing', team: 'pricing', scopes: ['registry:check:pricing', 'registry:publish:pricing'], description: 'old pricing', revoked: false, revoked_at: undefined },
      { key_hash: old.revoked.hash, client_id: 'pricing', team: 'pricing', scopes: ['registry:check:pricing'], description: 'old pricing', revoked: true, revoked_at: undefined },
    ]);
  });

  it('an old osr_ partner token still works, within its scopes', async () => {
    const api = registryClient(reg.registryUrl, old.partner.token);
    const whoami = await api('{ whoami { name team admin scopes } }');
    expect(whoami.data!.whoami).toEqual({ name: `pricing/${old.partner.prefix}`, team: 'pricing', admin: false, scopes: ['registry:check:pricing', 'registry:publish:pricing'] });
    const published = await api(PUBLISH, { input: { subgraph: 'pricing', sdl: PRICING_SDL, routingUrl: partner.url } });
    expect(published.errors).toBeUndefined();
    expect(published.data!.publish).toMatchObject({ __typename: 'Published', created: true });
    expect((await api('{ subgraph(name: "pricing") { team } }')).data!.subgraph).toEqual({ team: 'pricing' });
    expect(errorCode(await api(PUBLISH, { input: { subgraph: 'inventory', sdl: repoSdl('inventory') } }))).toBe('FORBIDDEN');
    expect(errorCode(await api('{ teams { name } }'))).toBe('FORBIDDEN');
  });

  it('an old osr_ admin token is registry:admin; a revoked one stays revoked', async () => {
    const admin = registryClient(reg.registryUrl, old.admin.token);
    const teams = await admin('{ teams { name } }');
    expect(teams.errors).toBeUndefined();
    expect(teams.data!.teams.map((t: { name: string }) => t.name)).toEqual(expect.arrayContaining(['platform', 'pricing']));
    const revoked = await registryClient(reg.registryUrl, old.revoked.token)('{ whoami { name } }');
    expect(errorCode(revoked)).toBe('UNAUTHENTICATED');
    expect(revoked.errors![0]!.extensions!.reason).toBe('REVOKED');
  });
});

describe('the migration, reverted', () => {
  it('moves the osr_ keys back into registry_tokens', async () => {
    const dbPrefix = `omnistock_id_${randomUUID().slice(0, 8)}`;
    await seedOldRegistry(dbPrefix);
    const cfg = configWith({ DB_PREFIX: dbPrefix });
    const ds = await openDatabase(cfg, { database: registryDatabaseName(cfg), entities: REGISTRY_ENTITIES, migrations: REGISTRY_MIGRATIONS });
    try {
      await ds.undoLastMigration({ transaction: 'each' });
      const tokens = (await ds.query('SELECT token_hash, team, admin, subgraphs, actions, revoked_at FROM registry_tokens ORDER BY team, revoked_at')) as Record<string, any>[];
      expect(tokens.map((t) => ({ hash: t.token_hash, team: t.team, admin: Number(t.admin), subgraphs: JSON.parse(t.subgraphs), actions: JSON.parse(t.actions), revoked: !!t.revoked_at }))).toEqual([
        { hash: old.admin.hash, team: 'operators', admin: 1, subgraphs: ['*'], actions: ['CHECK', 'PUBLISH', 'APPROVE'], revoked: false },
        { hash: old.partner.hash, team: 'pricing', admin: 0, subgraphs: ['pricing'], actions: ['CHECK', 'PUBLISH'], revoked: false },
        { hash: old.revoked.hash, team: 'pricing', admin: 0, subgraphs: ['pricing'], actions: ['CHECK'], revoked: true },
      ]);
      const [keys] = (await ds.query('SELECT COUNT(*) AS n FROM gateway_api_keys')) as { n: number | string }[];
      expect(Number(keys!.n)).toBe(0);
    } finally {
      await ds.query(`DROP DATABASE \`${registryDatabaseName(cfg)}\``);
      await ds.destroy();
    }
  });
});

describe('registry scopes', () => {
  it('a partner key with registry:publish:pricing publishes pricing and is FORBIDDEN elsewhere', async () => {
    const api = registryClient(reg.registryUrl, await apiKey(['registry:publish:pricing'], { clientId: 'pricing-deployer', team: 'pricing' }));
    const published = await api(PUBLISH, { input: { subgraph: 'pricing', sdl: PRICING_SDL, routingUrl: partner.url, commit: 'again' } });
    expect(published.errors).toBeUndefined();
    expect(published.data!.publish.__typename).toBe('Published');

    const elsewhere = await api(PUBLISH, { input: { subgraph: 'inventory', sdl: repoSdl('inventory') } });
    expect(errorCode(elsewhere)).toBe('FORBIDDEN');
    expect(elsewhere.errors![0]!.extensions).toMatchObject({ action: 'PUBLISH', target: 'inventory', requiredScope: 'registry:publish:inventory' });
    // Publishing is not checking: each action is a scope of its own.
    expect(errorCode(await api(CHECK, { input: { subgraph: 'pricing', sdl: PRICING_SDL } }))).toBe('FORBIDDEN');
    expect(errorCode(await api('mutation { registerTeam(name: "rogue") { name } }'))).toBe('FORBIDDEN');
  });

  it('a partner key of another team may not publish a subgraph pricing owns, even with the scope', async () => {
    const api = registryClient(reg.registryUrl, await apiKey(['registry:publish:pricing'], { clientId: 'intruder', team: 'intruders' }));
    const res = await api(PUBLISH, { input: { subgraph: 'pricing', sdl: PRICING_SDL } });
    expect(errorCode(res)).toBe('FORBIDDEN');
    expect(res.errors![0]!.message).toContain('belongs to team pricing');
  });

  it('a registry:admin key can do everything', async () => {
    const admin = registryClient(reg.registryUrl, await apiKey(['registry:admin'], { clientId: 'ops' }));
    expect((await admin('{ whoami { admin } }')).data!.whoami.admin).toBe(true);
    const checked = await admin(CHECK, { input: { subgraph: 'inventory', sdl: repoSdl('inventory') } });
    expect(checked.data!.check.ok).toBe(true);
    const published = await admin(PUBLISH, { input: { subgraph: 'pricing', sdl: PRICING_SDL } });
    expect(published.data!.publish.__typename).toBe('Published');
    expect((await admin('mutation { registerTeam(name: "logistics") { name } }')).data!.registerTeam).toEqual({ name: 'logistics' });
    const webhooks = await admin('{ webhooks { id } }');
    expect(webhooks.errors).toBeUndefined();
    expect((await admin('{ approvals(pendingOnly: false) { fingerprint } }')).errors).toBeUndefined();
  });
});

describe('one credential for /graphql and /registry/graphql', () => {
  it('the same API key works on both, each checking its own scopes', async () => {
    const key = await apiKey(['orders:read', 'registry:check:*']);
    const orders = await gql(reg.url, ORDERS, {}, { 'x-api-key': key });
    expect(orders.errors).toBeUndefined();
    const checked = await registryClient(reg.registryUrl, key)(CHECK, { input: { subgraph: 'orders', sdl: repoSdl('orders') } });
    expect(checked.errors).toBeUndefined();
    expect(checked.data!.check.ok).toBe(true);

    // A key without registry scopes may read the registry but not act; without orders:read it may not read orders.
    const storefront = await apiKey(['availability:read']);
    const reader = registryClient(reg.registryUrl, storefront);
    expect((await reader('{ subgraphs { name } }')).errors).toBeUndefined();
    expect(errorCode(await reader(CHECK, { input: { subgraph: 'orders', sdl: repoSdl('orders') } }))).toBe('FORBIDDEN');
    expect(errorCode(await gql(reg.url, ORDERS, {}, { 'x-api-key': storefront }))).toBe('FORBIDDEN');
  });

  it('a JWT with registry scopes works on both', async () => {
    const jwt = await new SignJWT({ client_id: 'ci-runner', scope: 'orders:read registry:check:orders' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(SECRET));
    expect((await gql(reg.url, ORDERS, {}, { authorization: `Bearer ${jwt}` })).errors).toBeUndefined();
    const api = registryClient(reg.registryUrl, jwt);
    expect((await api('{ whoami { name clientId team } }')).data!.whoami).toEqual({ name: 'ci-runner', clientId: 'ci-runner', team: 'ci-runner' });
    expect((await api(CHECK, { input: { subgraph: 'orders', sdl: repoSdl('orders') } })).data!.check.ok).toBe(true);
    expect(errorCode(await api(CHECK, { input: { subgraph: 'inventory', sdl: repoSdl('inventory') } }))).toBe('FORBIDDEN');
  });

  it('the registry requires credentials even where /graphql admits anonymous callers', async () => {
    expect((await gql(reg.url, '{ __typename }')).errors).toBeUndefined();
    const anonymous = await registryClient(reg.registryUrl, null)('{ subgraphs { name } }');
    expect(errorCode(anonymous)).toBe('UNAUTHENTICATED');
    expect(anonymous.errors![0]!.extensions!.reason).toBe('CREDENTIALS_REQUIRED');
  });
});
