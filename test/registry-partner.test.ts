import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScript } from './process.js';
import { errorCode, gql, uniq } from './client.js';
import { allowHost, PUBLISH, registryClient, repoSdl, startPartnerSubgraph, waitForVersion, type RegistryStack, startRegistryStack } from './registry-helpers.js';

/** Runs `npm run omnistock -- registry …`'s entry with this registry's database and Redis keys. */
const cli = (reg: RegistryStack, args: string[]) =>
  runScript('scripts/cli.ts', ['registry', ...args], { DB_PREFIX: reg.cfg.DB_PREFIX, REDIS_KEY_PREFIX: reg.cfg.REDIS_KEY_PREFIX, LOG_LEVEL: 'warn' }, 50_000);
/** Runs `npm run omnistock -- keys …`'s entry on this registry's database. */
const keysCli = (reg: RegistryStack, args: string[]) =>
  runScript('scripts/cli.ts', ['keys', ...args], { DB_PREFIX: reg.cfg.DB_PREFIX, REDIS_KEY_PREFIX: reg.cfg.REDIS_KEY_PREFIX, LOG_LEVEL: 'warn' }, 50_000);

// The walkthrough's own schema (README "Partner onboarding walkthrough").
const PRICING_SDL = await readFile('scripts/demo/pricing.graphql', 'utf8');

let reg: RegistryStack;
let partner: Awaited<ReturnType<typeof startPartnerSubgraph>>;

beforeAll(async () => {
  reg = await startRegistryStack();
  partner = await startPartnerSubgraph(PRICING_SDL, {
    InventoryItem: {
      __resolveReference: (ref: { sku: string }) => ({ sku: ref.sku, price: { amount: 1000 + ref.sku.length, currency: 'GBP' } }),
    },
  });
  // An admin allows the partner's host first: a partner's publish may name only allowed hosts.
  await allowHost(reg, 'pricing', partner.url);
});

afterAll(async () => {
  await partner?.close();
  await reg?.close();
});

describe('partner onboarding', () => {
  it('takes a new team from its API key to its fields served next to inventory', async () => {
    // 1. An operator issues the pricing team an API key scoped to its subgraph (`omnistock keys`, on the database).
    const issued = await keysCli(reg, [
      'create', '--json', '--client', 'pricing-ci', '--team', 'pricing',
      '--scopes', 'registry:check:pricing,registry:publish:pricing', '--expires', '30d',
    ]);
    expect(issued.code, issued.stderr).toBe(0);
    const { key: token, ...record } = JSON.parse(issued.stdout) as { key: string; team: string; scopes: string[] };
    expect(record).toMatchObject({ team: 'pricing', scopes: ['registry:check:pricing', 'registry:publish:pricing'] });
    expect(token).toMatch(/^osk_/);

    // 2. The team checks its subgraph with the CLI against the registry API.
    const dir = await mkdtemp(join(tmpdir(), 'pricing-'));
    const schemaFile = join(dir, 'schema.graphql');
    await writeFile(schemaFile, PRICING_SDL);
    const checked = await cli(reg, ['check', 'pricing', '--schema', schemaFile, '--routing-url', partner.url, '--url', reg.registryUrl, '--token', token, '--json']);
    expect(checked.code, checked.stdout + checked.stderr).toBe(0);
    const check = JSON.parse(checked.stdout);
    expect(check.ok).toBe(true);
    expect(check.changes).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'FIELD_ADDED', coordinate: 'InventoryItem.price', criticality: 'SAFE' })]));

    // 3. It publishes through the API with its key.
    const api = registryClient(reg.registryUrl, token);
    const published = await api(PUBLISH, { input: { subgraph: 'pricing', sdl: PRICING_SDL, routingUrl: partner.url, commit: 'pricing@1' } });
    expect(published.errors).toBeUndefined();
    expect(published.data!.publish).toMatchObject({ __typename: 'Published', created: true, schemaVersion: { version: 1 } });
    const subgraph = await api('{ subgraph(name: "pricing") { team routingUrl currentVersion } }');
    expect(subgraph.data!.subgraph).toEqual({ team: 'pricing', routingUrl: partner.url, currentVersion: 1 });

    // 4. The gateway serves its fields beside inventory's.
    await waitForVersion(reg.url, published.data!.publish.supergraphVersion);
    const sku = uniq('PRC-');
    const created = await gql(reg.url, `mutation($input: CreateInventoryItemInput!) { createInventoryItem(input: $input) { sku } }`, { input: { sku, name: 'Priced mug' } });
    expect(created.errors).toBeUndefined();
    const res = await gql(reg.url, 'query($s: String!) { inventoryItem(sku: $s) { sku name totals { onHand } price { amount currency } } }', { s: sku });
    expect(res.errors).toBeUndefined();
    expect(res.data!.inventoryItem).toEqual({ sku, name: 'Priced mug', totals: { onHand: 0 }, price: { amount: 1000 + sku.length, currency: 'GBP' } });

    // Its key reaches nothing else.
    expect(errorCode(await api(PUBLISH, { input: { subgraph: 'inventory', sdl: repoSdl('inventory') } }))).toBe('FORBIDDEN');
  });
});

describe('trusted documents with the CLI', () => {
  it('registers an app version\'s documents, lists them, and removes them once the version is retired', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiosk-'));
    await writeFile(join(dir, 'item.graphql'), 'query KioskItem($sku: String!) { inventoryItem(sku: $sku) { sku name } }');
    await writeFile(join(dir, 'totals.graphql'), 'query KioskTotals($sku: String!) { inventoryItem(sku: $sku) { totals { onHand } } }');
    const published = await cli(reg, ['documents', 'publish', '--client', 'kiosk', '--app-version', 'kiosk-7', dir, '--local', '--json']);
    expect(published.code, published.stderr).toBe(0);
    const ids = (JSON.parse(published.stdout) as { documents: { id: string }[] }).documents.map((d) => d.id);
    expect(ids).toHaveLength(2);

    const listed = await cli(reg, ['documents', 'list', '--client', 'kiosk', '--local']);
    expect(listed.code, listed.stderr).toBe(0);
    for (const id of ids) expect(listed.stdout).toContain(id);

    // Neither ids nor --app-version: refused, exit 1, nothing removed.
    const bare = await cli(reg, ['documents', 'remove', '--client', 'kiosk', '--local']);
    expect([bare.code, bare.stderr]).toEqual([1, expect.stringContaining('give either ids or appVersion')]);

    const removed = await cli(reg, ['documents', 'remove', '--client', 'kiosk', '--app-version', 'kiosk-7', '--local', '--json']);
    expect(removed.code, removed.stderr).toBe(0);
    expect(JSON.parse(removed.stdout)).toEqual({ client: 'kiosk', removed: expect.arrayContaining(ids), notRegistered: [] });
    const again = await cli(reg, ['documents', 'remove', '--client', 'kiosk', ids[0]!, '--local']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`? ${ids[0]} (not registered)`);
    expect((await cli(reg, ['documents', 'list', '--client', 'kiosk', '--local'])).stdout).not.toContain(ids[1]);
  });
});
