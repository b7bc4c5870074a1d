import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyService, openRegistryDatabase } from '../../registry/index.js';
import { gql } from '../client.js';
import { InventoryFixture } from '../inventory-fixture.js';
import { startStack, type Stack } from '../stack.js';

/**
 * #17 sales import is a way to write stock: the attack walks around the GraphQL API's rules through
 * the HTTP endpoint, as nobody, as a client that may only read, and as a client naming itself with
 * x-client-id. Each is refused as the GraphQL API would refuse it, and nothing is written.
 */
let stack: Stack;
let gatewayDb: DataSource;
let keys: ApiKeyService;
let inv: InventoryFixture;
let loc: string;
let sku: string;

const apiKey = async (scopes: string[]) => (await keys.create({ clientId: `pos-${randomUUID().slice(0, 8)}`, scopes, expiresInMs: 3_600_000, createdBy: 'sales-import.test' })).key;

beforeAll(async () => {
  stack = await startStack({ env: { AUTH_MODE: 'enforce' } });
  gatewayDb = await openRegistryDatabase(stack.cfg);
  keys = new ApiKeyService(gatewayDb);
  inv = new InventoryFixture(stack.subgraphs.inventory.url, stack.subgraphs.inventory.dataSource);
  loc = await inv.location();
  sku = await inv.item();
  await inv.receive(sku, loc, 10);
});

afterAll(async () => {
  await gatewayDb?.destroy();
  await stack?.close();
});

const csv = () => `store,sku,quantity,time,transaction_id\n${loc},${sku},4,2026-12-05T10:00:00Z,${randomUUID()}\n`;
const post = (headers: Record<string, string>) => fetch(new URL('/imports/sales', stack.gatewayUrl), { method: 'POST', headers: { 'content-type': 'text/csv', ...headers }, body: csv() });
const onHand = async () => (await gql(stack.subgraphs.inventory.url, `query($s: String!, $l: ID!) { stockLevel(sku: $s, locationId: $l) { onHand } }`, { s: sku, l: loc })).data!.stockLevel.onHand;

describe('POST /imports/sales is as closed as the GraphQL API', () => {
  it('refuses nobody, a forged client id, and a key that may only read; writes nothing', async () => {
    expect((await post({})).status).toBe(401);
    expect((await post({ 'x-client-id': 'pos-system' })).status).toBe(401);
    expect((await post({ authorization: 'Bearer not-a-key' })).status).toBe(401);
    const reader = await apiKey(['availability:read']);
    const refused = await post({ authorization: `Bearer ${reader}` });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: 'FORBIDDEN' });
    expect(await onHand()).toBe(10);
  });

  it('records with a key that may write stock', async () => {
    const writer = await apiKey(['inventory:write', 'availability:read']);
    const res = await post({ authorization: `Bearer ${writer}` });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ recorded: 1, rejected: [] });
    expect(await onHand()).toBe(6);
  });
});
