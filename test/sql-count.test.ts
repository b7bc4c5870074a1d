import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlStatements } from '../lib/db.js';
import { gql, uniq } from './client.js';
import { startStack, type Stack } from './stack.js';

let stack: Stack;
const locationIds: string[] = [];
const skus: string[] = [];

const QUERY = `query($skus: [String!]!, $locations: [ID!]) {
  inventoryItems(skus: $skus) {
    sku name
    stockLevels(locationIds: $locations) { onHand available location { name address { city } channels { name } } }
  }
}`;

beforeAll(async () => {
  stack = await startStack();
  for (let i = 0; i < 25; i++) {
    const res = await gql(stack.subgraphs.locations.url, `mutation($input: CreateLocationInput!) { createLocation(input: $input) { id } }`, {
      input: {
        code: uniq('SQL-'),
        name: `Count store ${i}`,
        type: 'STORE',
        address: { line1: 'x', city: `City ${i % 5}`, postalCode: 'P', countryCode: 'GB' },
        timezone: 'Europe/London',
        capabilities: { ships: true, pickup: true },
      },
    });
    locationIds.push(res.data!.createLocation.id);
  }
  for (const name of ['Count web', 'Count POS']) {
    await gql(stack.subgraphs.channels.url, `mutation($input: CreateChannelInput!) { createChannel(input: $input) { id } }`, {
      input: {
        code: uniq('SQLCH-'),
        name,
        type: 'POS',
        allocationRule: { sources: locationIds.map((locationId, i) => ({ locationId, priority: i + 1 })) },
      },
    });
  }
  // Bulk rows straight into inventory's tables: this test is about read statements, not writes.
  const prefix = uniq('SQLSKU-');
  for (let i = 0; i < 100; i++) skus.push(`${prefix}-${i}`);
  const inventory = stack.subgraphs.inventory.dataSource;
  await inventory.query(
    `INSERT INTO inventory_items (sku, name, status, created_at, updated_at) VALUES ${skus.map(() => "(?, ?, 'ACTIVE', NOW(3), NOW(3))").join(',')}`,
    skus.flatMap((s) => [s, `Item ${s}`]),
  );
  const levels = skus.flatMap((sku) => locationIds.map((loc, j) => [sku, loc, j + 1]));
  await inventory.query(
    `INSERT INTO stock_levels (sku, location_id, on_hand, updated_at) VALUES ${levels.map(() => '(?, ?, ?, NOW(3))').join(',')}`,
    levels.flat(),
  );
});

afterAll(async () => {
  await stack?.close();
});

async function statementsFor(skuCount: number, locationCount: number): Promise<number> {
  const before = sqlStatements.count;
  const res = await gql(stack.gatewayUrl, QUERY, { skus: skus.slice(0, skuCount), locations: locationIds.slice(0, locationCount) });
  const after = sqlStatements.count;
  expect(res.errors).toBeUndefined();
  const items = res.data!.inventoryItems;
  expect(items).toHaveLength(skuCount);
  for (const item of items) {
    expect(item.stockLevels).toHaveLength(locationCount);
    for (const level of item.stockLevels) {
      expect(level.location.name).toMatch(/^Count store/);
      expect(level.location.channels.map((c: any) => c.name).sort()).toEqual(['Count POS', 'Count web']);
    }
  }
  return after - before;
}

describe('SQL statements per gateway query', () => {
  it('do not grow with the number of SKUs or locations (DataLoaders batch every hop)', async () => {
    const small = await statementsFor(10, 5);
    const large = await statementsFor(100, 25);
    expect(large).toBe(small);
    // items, stock levels, locations, channels-per-location: one statement each.
    expect(large).toBeLessThanOrEqual(4);
  });

  it('do not load the items of stock levels when only their key is asked for (the gateway on its way to orders)', async () => {
    const levelsOf = async (itemSelection: string) => {
      const before = sqlStatements.count;
      const res = await gql(stack.gatewayUrl, `query($id: ID!) { location(id: $id) { stockLevels(first: 50) { edges { node { sku item { ${itemSelection} } } } } } }`, { id: locationIds[0] });
      expect(res.errors).toBeUndefined();
      const nodes: { sku: string; item: Record<string, unknown> }[] = res.data!.location.stockLevels.edges.map((e: { node: unknown }) => e.node);
      expect(nodes).toHaveLength(50);
      for (const node of nodes) expect(node.item.sku).toBe(node.sku);
      return { statements: sqlStatements.count - before, nodes };
    };
    const keyOnly = await levelsOf('sku');
    // Another subgraph's field of the item: the gateway asks inventory for the key alone, then orders.
    const withOrders = await levelsOf('sku openOrderQuantity');
    expect(withOrders.nodes.every((n) => n.item.openOrderQuantity === 0)).toBe(true);
    const withName = await levelsOf('sku name');
    expect(withName.nodes.every((n) => n.item.name === `Item ${n.sku}`)).toBe(true);
    // The name needs the items: one statement more, whatever the number of levels.
    expect(withName.statements).toBe(keyOnly.statements + 1);
    // Orders' statement, and no items statement in inventory.
    expect(withOrders.statements).toBe(keyOnly.statements + 1);
  });
});
