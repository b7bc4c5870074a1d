import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlStatements } from '../lib/db.js';
import { encodeCursor } from '../lib/pagination.js';
import { startSubgraph, type RunningSubgraph } from '../lib/subgraph.js';
import { ordersSubgraph } from '../subgraphs/orders/index.js';
import { errorCode, gql, uniq } from './client.js';

let sg: RunningSubgraph;

const ORDER_FIELDS = `id channel { id } customerReference status
  fulfilment { method destinationRegion pickupLocation { id } }
  lines { id lineNumber sku item { sku } quantity fulfilledQuantity cancelledQuantity returnedQuantity }
  createdAt updatedAt`;
const ORDERS = `query($channelId: ID, $status: OrderStatus, $since: DateTime, $first: Int, $after: String) {
  orders(channelId: $channelId, status: $status, since: $since, first: $first, after: $after) {
    edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }`;
const ZERO_ID = '00000000-0000-4000-8000-000000000000';

interface OrderRow {
  id: string;
  channelId: string;
  status: string;
  createdAt: Date;
}

/** Inserts an order and its lines with SQL: these read-path tests need orders in any status and at any time, without inventory. */
async function insertOrder(o: Partial<OrderRow> & { pickupLocationId?: string; lines?: [number, string, number][] } = {}) {
  const row: OrderRow = {
    id: randomUUID(),
    channelId: randomUUID(),
    status: 'CONFIRMED',
    createdAt: new Date('2026-01-01T00:00:00.000Z'),
    ...o,
  };
  await sg.dataSource.query(
    `INSERT INTO orders (id, channel_id, customer_reference, status, fulfilment_method, destination_region,
       pickup_location_id, idempotency_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      row.id,
      row.channelId,
      uniq('REF-'),
      row.status,
      o.pickupLocationId ? 'PICKUP' : 'SHIP',
      o.pickupLocationId ? null : 'England',
      o.pickupLocationId ?? null,
      uniq('KEY-'),
      row.createdAt,
      row.createdAt,
    ],
  );
  for (const [lineNumber, sku, quantity] of o.lines ?? []) {
    await sg.dataSource.query('INSERT INTO order_lines (id, order_id, line_number, sku, quantity) VALUES (?, ?, ?, ?, ?)', [
      randomUUID(),
      row.id,
      lineNumber,
      sku,
      quantity,
    ]);
  }
  return row;
}

/** Newest first, id breaking ties: the order the API promises. */
function newestFirst(rows: OrderRow[]): string[] {
  return [...rows]
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1))
    .map((r) => r.id);
}

async function pageAll(variables: Record<string, unknown>): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  for (;;) {
    const res: any = await gql(sg.url, ORDERS, { ...variables, after });
    expect(res.errors).toBeUndefined();
    ids.push(...res.data.orders.edges.map((e: any) => e.node.id));
    if (!res.data.orders.pageInfo.hasNextPage) return ids;
    after = res.data.orders.pageInfo.endCursor;
  }
}

beforeAll(async () => {
  sg = await startSubgraph(ordersSubgraph, { port: 0 });
});
afterAll(async () => {
  await sg?.close();
});

describe('orders subgraph', () => {
  it('reads an order with its lines in line order, and stubs for channel, items and location', async () => {
    const sku = uniq('SKU-');
    const ship = await insertOrder({ lines: [[2, `${sku}-B`, 1], [1, `${sku}-A`, 3]] });
    const res = await gql(sg.url, `query($id: ID!) { order(id: $id) { ${ORDER_FIELDS} } }`, { id: ship.id });
    expect(res.errors).toBeUndefined();
    const order = res.data!.order;
    expect(order).toMatchObject({
      id: ship.id,
      channel: { id: ship.channelId },
      status: 'CONFIRMED',
      fulfilment: { method: 'SHIP', destinationRegion: 'England', pickupLocation: null },
      createdAt: '2026-01-01T00:00:00.000Z',
    });
    expect(order.lines.map((l: any) => [l.lineNumber, l.sku, l.item.sku, l.quantity, l.fulfilledQuantity, l.cancelledQuantity, l.returnedQuantity])).toEqual([
      [1, `${sku}-A`, `${sku}-A`, 3, 0, 0, 0],
      [2, `${sku}-B`, `${sku}-B`, 1, 0, 0, 0],
    ]);

    const location = randomUUID();
    const pickup = await insertOrder({ pickupLocationId: location });
    const res2 = await gql(sg.url, `query($id: ID!) { order(id: $id) { fulfilment { method destinationRegion pickupLocation { id } } lines { id } } }`, { id: pickup.id });
    expect(res2.data!.order).toEqual({ fulfilment: { method: 'PICKUP', destinationRegion: null, pickupLocation: { id: location } }, lines: [] });
  });

  it('resolves Order entities: known, unknown and malformed', async () => {
    const o = await insertOrder({ lines: [[1, uniq('SKU-'), 1]] });
    const res = await gql(sg.url, `query($r: [_Any!]!) { _entities(representations: $r) { ... on Order { id status lines { lineNumber } } } }`, {
      r: [o.id, ZERO_ID, 'not-a-uuid'].map((id) => ({ __typename: 'Order', id })),
    });
    expect(res.errors).toBeUndefined();
    expect(res.data!._entities).toEqual([{ id: o.id, status: 'CONFIRMED', lines: [{ lineNumber: 1 }] }, null, null]);
  });

  it('pages newest first, stable across equal timestamps', async () => {
    const channelId = randomUUID();
    const same = new Date('2026-02-01T12:00:00.123Z');
    const rows = [
      await insertOrder({ channelId, createdAt: new Date('2026-02-01T12:00:00.122Z') }),
      ...(await Promise.all(Array.from({ length: 5 }, () => insertOrder({ channelId, createdAt: same })))),
      await insertOrder({ channelId, createdAt: new Date('2026-02-01T12:00:00.124Z') }),
    ];
    await insertOrder({ createdAt: same });
    const want = newestFirst(rows);
    expect(await pageAll({ channelId, first: 2 })).toEqual(want);
    expect(await pageAll({ channelId, first: 3 })).toEqual(want);
    expect(await pageAll({ channelId, first: 100 })).toEqual(want);
  });

  it('filters by status and by creation time', async () => {
    const channelId = randomUUID();
    const at = (iso: string) => new Date(iso);
    const old = await insertOrder({ channelId, status: 'PENDING', createdAt: at('2026-03-01T00:00:00.000Z') });
    const pending = await insertOrder({ channelId, status: 'PENDING', createdAt: at('2026-03-02T00:00:00.000Z') });
    const cancelled = await insertOrder({ channelId, status: 'CANCELLED', createdAt: at('2026-03-03T00:00:00.000Z') });
    expect(await pageAll({ channelId, status: 'PENDING' })).toEqual([pending.id, old.id]);
    expect(await pageAll({ channelId, since: '2026-03-02T00:00:00.000Z' })).toEqual([cancelled.id, pending.id]);
    expect(await pageAll({ channelId, status: 'PENDING', since: '2026-03-01T00:00:00.001Z' })).toEqual([pending.id]);
    expect(await pageAll({ channelId, status: 'FULFILLED' })).toEqual([]);
  });

  it('loads the lines of a whole page in one query', async () => {
    const channelId = randomUUID();
    for (let i = 0; i < 20; i++) await insertOrder({ channelId, lines: [[1, uniq('SKU-'), 1], [2, uniq('SKU-'), 2]] });
    const statementsFor = async (first: number) => {
      const before = sqlStatements.count;
      const res = await gql(sg.url, `query($c: ID, $n: Int) { orders(channelId: $c, first: $n) { edges { node { lines { sku } } } } }`, { c: channelId, n: first });
      expect(res.errors).toBeUndefined();
      expect(res.data!.orders.edges).toHaveLength(first);
      return sqlStatements.count - before;
    };
    expect(await statementsFor(20)).toBe(await statementsFor(3));
  });

  describe('bad input', () => {
    it.each([
      ['a page size over 100', { first: 101 }],
      ['a page size of 0', { first: 0 }],
      ['a malformed channel id', { channelId: 'web-uk' }],
      ['a cursor that is not one', { after: 'bm9wZQ' }],
      ['a cursor with forged values', { after: encodeCursor(['yesterday', 'x']) }],
      ['a cursor of another connection', { after: encodeCursor(['WEB-UK']) }],
    ])('answers %s with BAD_USER_INPUT', async (_name, variables) => {
      expect(errorCode(await gql(sg.url, ORDERS, variables))).toBe('BAD_USER_INPUT');
    });

    it('answers a malformed order id with BAD_USER_INPUT and an unknown one with null', async () => {
      expect(errorCode(await gql(sg.url, '{ order(id: "42") { id } }'))).toBe('BAD_USER_INPUT');
      const res = await gql(sg.url, `{ order(id: "${ZERO_ID}") { id } }`);
      expect(res.errors).toBeUndefined();
      expect(res.data!.order).toBeNull();
    });
  });
});
