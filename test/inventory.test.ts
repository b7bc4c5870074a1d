import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlStatements } from '../lib/db.js';
import { encodeCursor } from '../lib/pagination.js';
import { startSubgraph, type RunningSubgraph } from '../lib/subgraph.js';
import { demoItem, demoStock } from '../scripts/demo/estate.js';
import { inventorySubgraph } from '../subgraphs/inventory/index.js';
import { ReplicaService } from '../subgraphs/inventory/services/replica.service.js';
import { seedInventory } from '../subgraphs/inventory/data/seed.js';
import { errorCode, gql, uniq } from './client.js';

let sg: RunningSubgraph;

const ITEM_FIELDS = 'sku name description barcode status createdAt updatedAt';
const LEVEL_FIELDS = 'sku location { id } onHand reserved safetyStock available incoming damaged qualityControl version';
const CREATE = `mutation($input: CreateInventoryItemInput!) { createInventoryItem(input: $input) { ${ITEM_FIELDS} } }`;
const RECEIVE = `mutation($input: ReceiveStockInput!) { receiveStock(input: $input) {
  replayed
  movement { id sku location { id } type quantity idempotencyKey reference createdAt }
  stockLevel { ${LEVEL_FIELDS} item { sku } }
} }`;
const ITEM_STOCK = `query($sku: String!, $ids: [ID!]) { inventoryItem(sku: $sku) {
  stockLevels(locationIds: $ids) { ${LEVEL_FIELDS} }
  totals { onHand reserved available incoming damaged qualityControl }
} }`;
const ENTITIES = `query($r: [_Any!]!, $after: String, $skus: [String!]) { _entities(representations: $r) {
  ... on InventoryItem { sku name totals { onHand } }
  ... on Location { id stockLevels(first: 2, after: $after, skus: $skus) { edges { cursor node { sku onHand location { id } } } pageInfo { hasNextPage endCursor } } }
} }`;
const ZERO_ID = '00000000-0000-4000-8000-000000000000';

async function createItem(overrides: Record<string, unknown> = {}) {
  const res = await gql(sg.url, CREATE, { input: { sku: uniq('IT-'), name: 'Test item', ...overrides } });
  expect(res.errors).toBeUndefined();
  return res.data!.createInventoryItem;
}

function receipt(sku: string, locationId: string, quantity: number, overrides: Record<string, unknown> = {}) {
  return { idempotencyKey: randomUUID(), sku, locationId, quantity, ...overrides };
}

async function receive(input: Record<string, unknown>) {
  const res = await gql(sg.url, RECEIVE, { input });
  expect(res.errors).toBeUndefined();
  return res.data!.receiveStock;
}

/** Inventory only stocks locations it knows: its replica, fed by the locations subgraph's events. */
async function known(id: string = randomUUID()): Promise<string> {
  await new ReplicaService(sg.dataSource).apply('location', { id, status: 'ACTIVE', ships: true, pickup: true, version: 1 });
  return id;
}

async function count(sql: string, params: unknown[]): Promise<number> {
  const rows = await sg.dataSource.query(sql, params);
  return Number(rows[0].n);
}
const itemsWithSku = (sku: string) => count('SELECT COUNT(*) AS n FROM inventory_items WHERE sku = ?', [sku]);
const levelsOf = (sku: string) => count('SELECT COUNT(*) AS n FROM stock_levels WHERE sku = ?', [sku]);
const movementsOf = (sku: string) => count('SELECT COUNT(*) AS n FROM stock_movements WHERE sku = ?', [sku]);
const movementsWithKey = (key: string) => count('SELECT COUNT(*) AS n FROM stock_movements WHERE idempotency_key = ?', [key]);

async function levelRow(sku: string, locationId: string): Promise<{ on_hand: number; version: number }> {
  const rows = await sg.dataSource.query('SELECT on_hand, version FROM stock_levels WHERE sku = ? AND location_id = ?', [sku, locationId]);
  return rows[0];
}

beforeAll(async () => {
  sg = await startSubgraph(inventorySubgraph, { port: 0 });
});
afterAll(async () => {
  await sg?.close();
});

describe('inventory subgraph', () => {
  it('creates an item and reads it by SKU, by a list of SKUs and as an entity', async () => {
    const item = await createItem({ description: 'Soft merino', barcode: '5012345678900' });
    expect(item).toMatchObject({ name: 'Test item', description: 'Soft merino', barcode: '5012345678900', status: 'ACTIVE' });

    const one = await gql(sg.url, `query($sku: String!) { inventoryItem(sku: $sku) { ${ITEM_FIELDS} } }`, { sku: item.sku });
    expect(one.data!.inventoryItem).toEqual(item);

    const other = await createItem();
    const unknown = uniq('NOPE-');
    const list = await gql(sg.url, `query($skus: [String!]!) { inventoryItems(skus: $skus) { sku } }`, {
      skus: [other.sku, unknown, item.sku],
    });
    expect(list.data!.inventoryItems).toEqual([{ sku: other.sku }, null, { sku: item.sku }]);

    const entities = await gql(sg.url, ENTITIES, {
      r: [
        { __typename: 'InventoryItem', sku: item.sku },
        { __typename: 'InventoryItem', sku: unknown },
        { __typename: 'InventoryItem', sku: 'not a sku!' },
      ],
    });
    expect(entities.errors).toBeUndefined();
    expect(entities.data!._entities).toEqual([{ sku: item.sku, name: 'Test item', totals: { onHand: 0 } }, null, null]);
  });

  it('pages through items by SKU', async () => {
    const prefix = uniq('PG-');
    const skus = [];
    for (let i = 0; i < 5; i++) skus.push((await createItem({ sku: `${prefix}-${i}` })).sku);
    const q = `query($after: String) { inventoryItemsPage(first: 2, after: $after) { edges { node { sku } } pageInfo { hasNextPage endCursor } } }`;
    // Other tests add items concurrently, so the walk starts just before this test's prefix.
    const seen: string[] = [];
    let after: string = encodeCursor([prefix]);
    while (seen.length < skus.length) {
      const res: any = await gql(sg.url, q, { after });
      const page = res.data.inventoryItemsPage;
      seen.push(...page.edges.map((e: any) => e.node.sku));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen.slice(0, skus.length)).toEqual(skus);
  });

  it('receives stock and answers levels, available and totals', async () => {
    const { sku } = await createItem();
    const [a, b, c] = (await Promise.all([known(), known(), known()])).sort();
    const first = await receive({ ...receipt(sku, a, 10), reference: 'erp://asn/1' });
    expect(first).toMatchObject({
      replayed: false,
      movement: { sku, location: { id: a }, type: 'RECEIPT', quantity: 10, reference: 'erp://asn/1' },
      stockLevel: { sku, location: { id: a }, onHand: 10, reserved: 0, available: 10, version: 1, item: { sku } },
    });
    const second = await receive(receipt(sku, a, 5));
    expect(second.stockLevel).toMatchObject({ onHand: 15, version: 2 });
    await receive(receipt(sku, b, 4));
    await receive(receipt(sku, c, 7));
    const balances = await sg.dataSource.query(
      'SELECT quantity, on_hand_before, on_hand_after FROM stock_movements WHERE sku = ? AND location_id = ? ORDER BY on_hand_after',
      [sku, a],
    );
    expect(balances).toEqual([
      { quantity: 10, on_hand_before: 0, on_hand_after: 10 },
      { quantity: 5, on_hand_before: 10, on_hand_after: 15 },
    ]);

    // No mutation sets these buckets yet; they are written directly so the arithmetic can be checked.
    await sg.dataSource.query(
      'UPDATE stock_levels SET reserved = 3, safety_stock = 2, damaged = 4, quality_control = 1, incoming = 6 WHERE sku = ? AND location_id = ?',
      [sku, a],
    );
    await sg.dataSource.query('UPDATE stock_levels SET reserved = 3, safety_stock = 2 WHERE sku = ? AND location_id = ?', [sku, b]);

    const res = await gql(sg.url, ITEM_STOCK, { sku });
    expect(res.errors).toBeUndefined();
    const { stockLevels, totals } = res.data!.inventoryItem;
    expect(stockLevels.map((l: any) => [l.location.id, l.onHand, l.available])).toEqual([
      [a, 15, 10],
      [b, 4, 0],
      [c, 7, 7],
    ]);
    expect(stockLevels[0]).toMatchObject({ damaged: 4, qualityControl: 1, incoming: 6 });
    // Location b's shortfall (4 - 3 - 2 = -1) counts as 0, never against the other locations.
    expect(totals).toEqual({ onHand: 26, reserved: 6, available: 17, incoming: 6, damaged: 4, qualityControl: 1 });

    const filtered = await gql(sg.url, ITEM_STOCK, { sku, ids: [c, a, ZERO_ID] });
    expect(filtered.data!.inventoryItem.stockLevels.map((l: any) => l.location.id)).toEqual([a, c]);

    const level = await gql(sg.url, `query($sku: String!, $id: ID!) { stockLevel(sku: $sku, locationId: $id) { onHand available } }`, {
      sku,
      id: b,
    });
    expect(level.data!.stockLevel).toEqual({ onHand: 4, available: 0 });
    const none = await gql(sg.url, `query($sku: String!) { stockLevel(sku: $sku, locationId: "${ZERO_ID}") { onHand } }`, { sku });
    expect(none.errors).toBeUndefined();
    expect(none.data!.stockLevel).toBeNull();
  });

  it('treats location ids case-insensitively by storing them lower-case', async () => {
    const { sku } = await createItem();
    const id = await known();
    await receive(receipt(sku, id.toUpperCase(), 2));
    const res = await receive(receipt(sku, id, 3));
    expect(res.stockLevel).toMatchObject({ location: { id }, onHand: 5 });
    expect(await levelsOf(sku)).toBe(1);
  });

  it('pages the stock of several locations resolved in one _entities call', async () => {
    const skus = [];
    for (let i = 0; i < 5; i++) skus.push((await createItem()).sku);
    skus.sort();
    const [x, y, empty] = await Promise.all([known(), known(), known()]);
    for (const [i, sku] of skus.entries()) {
      await receive(receipt(sku, x, i + 1));
      if (i % 2 === 0) await receive(receipt(sku, y, 10 * (i + 1)));
    }
    const reps = [x, y, empty, 'not-a-uuid'].map((id) => ({ __typename: 'Location', id }));

    const before = sqlStatements.count;
    const page1 = await gql(sg.url, ENTITIES, { r: reps, skus });
    // The pages of every location in one statement, and the expired reservations they still count in another.
    expect(sqlStatements.count - before).toBe(2);
    expect(page1.errors).toBeUndefined();
    const [px, py, pe, malformed] = page1.data!._entities;
    expect(px.stockLevels.edges.map((e: any) => [e.node.sku, e.node.onHand, e.node.location.id])).toEqual([
      [skus[0], 1, x],
      [skus[1], 2, x],
    ]);
    expect(py.stockLevels.edges.map((e: any) => [e.node.sku, e.node.onHand])).toEqual([
      [skus[0], 10],
      [skus[2], 30],
    ]);
    expect(pe.stockLevels).toEqual({ edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
    expect(malformed).toBeNull();

    // Walk each location to its end, one location per call, with the cursors it returned.
    for (const [id, expected] of [
      [x, skus],
      [y, [skus[0], skus[2], skus[4]]],
    ] as const) {
      const seen: string[] = [];
      let after: string | null = null;
      for (;;) {
        const res: any = await gql(sg.url, ENTITIES, { r: [{ __typename: 'Location', id }], skus, after });
        expect(res.errors).toBeUndefined();
        const conn = res.data._entities[0].stockLevels;
        seen.push(...conn.edges.map((e: any) => e.node.sku));
        if (!conn.pageInfo.hasNextPage) break;
        after = conn.pageInfo.endCursor;
      }
      expect(seen).toEqual(expected);
    }

    // Different arguments on different aliases: one query per distinct argument set.
    const mixed = await gql(
      sg.url,
      `query($r: [_Any!]!, $skus: [String!]) { _entities(representations: $r) { ... on Location {
        a: stockLevels(first: 1, skus: $skus) { edges { node { sku } } }
        b: stockLevels(first: 3, skus: $skus) { edges { node { sku } } }
      } } }`,
      { r: reps.slice(0, 2), skus },
    );
    expect(mixed.errors).toBeUndefined();
    expect(mixed.data!._entities.map((l: any) => [l.a.edges.length, l.b.edges.length])).toEqual([
      [1, 3],
      [1, 3],
    ]);
  });

  it('answers inventoryItems with a constant number of statements, whatever the number of SKUs', async () => {
    const skus: string[] = [];
    for (let i = 0; i < 50; i++) skus.push((await createItem()).sku);
    await Promise.all(skus.map(async (sku) => receive(receipt(sku, await known(), 3))));
    const q = `query($skus: [String!]!) { inventoryItems(skus: $skus) { sku stockLevels { onHand location { id } } totals { onHand } } }`;
    const statementsFor = async (list: string[]) => {
      const before = sqlStatements.count;
      const res = await gql(sg.url, q, { skus: list });
      expect(res.errors).toBeUndefined();
      expect(res.data!.inventoryItems.map((i: any) => [i.sku, i.stockLevels[0].onHand, i.totals.onHand])).toEqual(
        list.map((sku) => [sku, 3, 3]),
      );
      return sqlStatements.count - before;
    };
    const five = await statementsFor(skus.slice(0, 5));
    const fifty = await statementsFor(skus);
    expect(five).toBe(3);
    expect(fifty).toBe(five);
  });

  describe('bad input writes nothing', () => {
    it.each([
      ['a malformed SKU', { sku: 'bad sku' }],
      ['an empty name', { name: '   ' }],
      ['a name over 200 characters', { name: 'x'.repeat(201) }],
      ['a barcode with letters', { barcode: '50123456789AB' }],
      ['a barcode of 7 digits', { barcode: '5012345' }],
      ['a description over 2000 characters', { description: 'd'.repeat(2001) }],
    ])('refuses an item with %s', async (_name, overrides) => {
      const body = { sku: uniq('BAD-'), name: 'Bad', ...overrides };
      const res = await gql(sg.url, CREATE, { input: body });
      expect(errorCode(res)).toBe('BAD_USER_INPUT');
      expect(await itemsWithSku(body.sku)).toBe(0);
    });

    it('refuses a duplicate SKU with CONFLICT and keeps the first item', async () => {
      const item = await createItem();
      const res = await gql(sg.url, CREATE, { input: { sku: item.sku, name: 'Other' } });
      expect(errorCode(res)).toBe('CONFLICT');
      const rows = await sg.dataSource.query('SELECT name FROM inventory_items WHERE sku = ?', [item.sku]);
      expect(rows).toEqual([{ name: 'Test item' }]);
    });

    it.each([
      ['a zero quantity', { quantity: 0 }],
      ['a negative quantity', { quantity: -5 }],
      ['a quantity over 1,000,000,000', { quantity: 1_000_000_001 }],
      ['an empty idempotency key', { idempotencyKey: '' }],
      ['an idempotency key over 128 characters', { idempotencyKey: 'k'.repeat(129) }],
      ['a reference over 500 characters', { reference: 'r'.repeat(501) }],
      ['a malformed location id', { locationId: 'store-1' }],
      ['a malformed SKU', { sku: 'bad sku' }],
    ])('refuses a receipt with %s', async (_name, overrides) => {
      const { sku } = await createItem();
      const body = receipt(sku, await known(), 5, overrides);
      const res = await gql(sg.url, RECEIVE, { input: body });
      expect(errorCode(res)).toBe('BAD_USER_INPUT');
      expect(await movementsWithKey(body.idempotencyKey)).toBe(0);
      expect(await movementsOf(sku)).toBe(0);
      expect(await levelsOf(sku)).toBe(0);
    });

    it('refuses a receipt for an unknown SKU with NOT_FOUND', async () => {
      const body = receipt(uniq('GHOST-'), await known(), 5);
      const res = await gql(sg.url, RECEIVE, { input: body });
      expect(errorCode(res)).toBe('NOT_FOUND');
      expect(await movementsWithKey(body.idempotencyKey)).toBe(0);
      expect(await levelsOf(body.sku)).toBe(0);
    });

    it('refuses a receipt that would overflow on-hand with CONFLICT', async () => {
      const { sku } = await createItem();
      const id = await known();
      await receive(receipt(sku, id, 1_000_000_000));
      await receive(receipt(sku, id, 1_000_000_000));
      const body = receipt(sku, id, 1_000_000_000);
      const res = await gql(sg.url, RECEIVE, { input: body });
      expect(errorCode(res)).toBe('CONFLICT');
      expect(await movementsWithKey(body.idempotencyKey)).toBe(0);
      expect(await levelRow(sku, id)).toEqual({ on_hand: 2_000_000_000, version: 2 });
    });

    it.each([
      ['a malformed SKU', '{ inventoryItem(sku: "no spaces") { sku } }'],
      ['an empty SKU list', '{ inventoryItems(skus: []) { sku } }'],
      ['more than 100 SKUs', `{ inventoryItems(skus: ${JSON.stringify(Array.from({ length: 101 }, (_, i) => `S-${i}`))}) { sku } }`],
      ['a malformed SKU in a list', '{ inventoryItems(skus: ["OK-1", "not ok"]) { sku } }'],
      ['a page size over 100', '{ inventoryItemsPage(first: 101) { edges { cursor } } }'],
      ['a page size of 0', '{ inventoryItemsPage(first: 0) { edges { cursor } } }'],
      ['a forged cursor', '{ inventoryItemsPage(after: "bm9wZQ") { edges { cursor } } }'],
      ['a malformed location id', '{ stockLevel(sku: "OK-1", locationId: "42") { onHand } }'],
      ['a malformed SKU for a level', `{ stockLevel(sku: "a b", locationId: "${ZERO_ID}") { onHand } }`],
    ])('answers %s with BAD_USER_INPUT', async (_name, query) => {
      expect(errorCode(await gql(sg.url, query))).toBe('BAD_USER_INPUT');
    });

    it('answers bad stockLevels arguments with BAD_USER_INPUT', async () => {
      const { sku } = await createItem();
      const tooMany = Array.from({ length: 101 }, () => randomUUID());
      for (const ids of [tooMany, ['not-a-uuid']]) {
        expect(errorCode(await gql(sg.url, ITEM_STOCK, { sku, ids }))).toBe('BAD_USER_INPUT');
      }
      const loc = (args: string) =>
        gql(sg.url, `query($r: [_Any!]!) { _entities(representations: $r) { ... on Location { stockLevels(${args}) { edges { cursor } } } } }`, {
          r: [{ __typename: 'Location', id: randomUUID() }],
        });
      for (const args of ['first: 101', 'first: 0', 'after: "bm9wZQ"', 'skus: ["bad sku"]']) {
        expect(errorCode(await loc(args)), args).toBe('BAD_USER_INPUT');
      }
    });

    it('answers an unknown SKU with null', async () => {
      const res = await gql(sg.url, `{ inventoryItem(sku: "${uniq('NONE-')}") { sku } }`);
      expect(res.errors).toBeUndefined();
      expect(res.data!.inventoryItem).toBeNull();
    });
  });

  describe('idempotency', () => {
    it('replays a retry without changing stock', async () => {
      const { sku } = await createItem();
      const body = receipt(sku, await known(), 8);
      const first = await receive(body);
      const retry = await receive(body);
      expect(retry.replayed).toBe(true);
      expect(retry.movement).toEqual(first.movement);
      expect(retry.stockLevel).toMatchObject({ onHand: 8, version: 1 });
      expect(await movementsOf(sku)).toBe(1);
      expect(await levelRow(sku, body.locationId)).toEqual({ on_hand: 8, version: 1 });
    });

    it.each([
      ['quantity', { quantity: 9 }],
      ['location', { locationId: randomUUID() }],
    ])('refuses a key reused with a different %s with CONFLICT', async (_name, change) => {
      const { sku } = await createItem();
      const body = receipt(sku, await known(), 8);
      await receive(body);
      const res = await gql(sg.url, RECEIVE, { input: { ...body, ...change } });
      expect(errorCode(res)).toBe('CONFLICT');
      expect(await movementsOf(sku)).toBe(1);
      expect(await levelsOf(sku)).toBe(1);
      expect(await levelRow(sku, body.locationId)).toEqual({ on_hand: 8, version: 1 });
    });
  });

  describe('races', () => {
    it('applies 50 concurrent retries of one receipt exactly once', async () => {
      const { sku } = await createItem();
      const body = receipt(sku, await known(), 7);
      const results = await Promise.all(Array.from({ length: 50 }, () => gql(sg.url, RECEIVE, { input: body })));
      expect(results.filter((r) => r.errors)).toEqual([]);
      const payloads = results.map((r) => r.data!.receiveStock);
      expect(payloads.filter((p) => !p.replayed)).toHaveLength(1);
      expect(new Set(payloads.map((p) => p.movement.id)).size).toBe(1);
      expect(payloads.every((p) => p.stockLevel.onHand === 7)).toBe(true);
      expect(await movementsOf(sku)).toBe(1);
      expect(await levelRow(sku, body.locationId)).toEqual({ on_hand: 7, version: 1 });
    });

    it('adds 200 concurrent receipts with distinct keys exactly', async () => {
      const { sku } = await createItem();
      const locationId = await known();
      const bodies = Array.from({ length: 200 }, (_, i) => receipt(sku, locationId, i + 1));
      const results = await Promise.all(bodies.map((input) => gql(sg.url, RECEIVE, { input })));
      expect(results.filter((r) => r.errors)).toEqual([]);
      expect(await levelRow(sku, locationId)).toEqual({ on_hand: (200 * 201) / 2, version: 200 });
      // Every movement saw the balance the previous one left: no receipt was lost or counted twice.
      const rows: { quantity: number; on_hand_before: number; on_hand_after: number }[] = await sg.dataSource.query(
        'SELECT quantity, on_hand_before, on_hand_after FROM stock_movements WHERE sku = ? ORDER BY on_hand_after',
        [sku],
      );
      expect(rows).toHaveLength(200);
      rows.forEach((r, i) => {
        expect(r.on_hand_after - r.on_hand_before).toBe(r.quantity);
        expect(r.on_hand_before).toBe(i === 0 ? 0 : rows[i - 1]!.on_hand_after);
      });
    });
  });

  it('seeds the demo catalogue idempotently', async () => {
    const skus = 1500;
    const progress: number[] = [];
    await seedInventory(sg.dataSource, { skus, catalogue: { item: demoItem, stock: demoStock }, onProgress: (done) => progress.push(done) });
    expect(progress).toEqual([1000, 1500]);
    const expectedLevels = Array.from({ length: skus }, (_, i) => demoStock(i).length).reduce((a, b) => a + b, 0);
    const demoSkus = Array.from({ length: skus }, (_, i) => demoItem(i).sku);
    expect(await count('SELECT COUNT(*) AS n FROM inventory_items WHERE sku IN (?)', [demoSkus])).toBe(skus);
    expect(await count('SELECT COUNT(*) AS n FROM stock_levels WHERE sku IN (?)', [demoSkus])).toBe(expectedLevels);
    expect(await seedInventory(sg.dataSource, { skus, catalogue: { item: demoItem, stock: demoStock } })).toEqual({ items: 0, levels: 0 });
  });
});
