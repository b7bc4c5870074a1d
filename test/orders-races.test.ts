import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode } from './client.js';
import { CANCEL, FULFIL, OrdersWorld, PLACE, startOrdersStack, type OrdersStack } from './orders-fixture.js';

let stack: OrdersStack;
let w: OrdersWorld;
const ids = { store: '', channel: '' };

beforeAll(async () => {
  // Enough connections that the concurrent orders really meet in the databases, not in the pools.
  stack = await startOrdersStack({ DB_POOL_SIZE: '25' });
  w = new OrdersWorld(stack);
  ids.store = await w.location();
  ids.channel = await w.channel([ids.store]);
  await w.replicated([ids.store], [ids.channel]);
});
afterAll(async () => {
  await stack?.close();
});

const order = (sku: string, quantity: number, key = randomUUID()) => ({
  idempotencyKey: key,
  channelId: ids.channel,
  lines: [{ sku, quantity }],
  fulfilment: { method: 'SHIP' },
});

describe('order races through the gateway against the real databases', () => {
  it('100 concurrent orders for the last 10 units: exactly 10 confirmed, 90 rejected, 10 reserved', async () => {
    const sku = await w.item();
    await w.receive(sku, ids.store, 10);
    const results = await Promise.all(Array.from({ length: 100 }, () => w.gql(PLACE, { input: order(sku, 1) })));
    expect(results.filter((r) => r.errors).map((r) => r.errors)).toEqual([]);
    const statuses = results.map((r) => r.data!.placeOrder.status);
    expect(statuses.filter((s) => s === 'CONFIRMED')).toHaveLength(10);
    expect(statuses.filter((s) => s === 'REJECTED')).toHaveLength(90);
    for (const r of results.filter((x) => x.data!.placeOrder.status === 'REJECTED')) {
      expect(r.data!.placeOrder.rejection).toEqual({ reason: 'INSUFFICIENT_STOCK', message: null, lines: [{ sku, locationId: null, requested: 1, available: 0 }] });
    }
    expect(await w.level(sku, ids.store)).toEqual({ onHand: 10, reserved: 10, available: 0, damaged: 0 });
    expect(await w.heldFor(sku)).toBe(10);
    const rows: { status: string; n: number }[] = await stack.orders.query(
      'SELECT o.status, COUNT(*) AS n FROM orders o JOIN order_lines l ON l.order_id = o.id WHERE l.sku = ? GROUP BY o.status ORDER BY o.status',
      [sku],
    );
    expect(rows.map((r) => [r.status, Number(r.n)])).toEqual([
      ['CONFIRMED', 10],
      ['REJECTED', 90],
    ]);
    // Every confirmed order holds its own permanent reservation; no rejected one holds anything.
    const confirmed = results.map((r) => r.data!.placeOrder).filter((o) => o.status === 'CONFIRMED');
    expect(new Set(confirmed.map((o) => o.reservationId)).size).toBe(10);
    expect(await w.count(stack.inventory, `SELECT COUNT(*) AS n FROM reservations WHERE channel_id = ? AND expires_at IS NULL AND status = 'ACTIVE' AND id IN (?)`, [ids.channel, confirmed.map((o) => o.reservationId)])).toBe(10);
  });

  it('20 concurrent identical placeOrder requests with one idempotency key make one order and one reservation', async () => {
    const sku = await w.item();
    await w.receive(sku, ids.store, 10);
    const input = order(sku, 3);
    const results = await Promise.all(Array.from({ length: 20 }, () => w.gql(PLACE, { input })));
    expect(results.filter((r) => r.errors).map((r) => r.errors)).toEqual([]);
    const orders = results.map((r) => r.data!.placeOrder);
    expect(new Set(orders.map((o) => o.id)).size).toBe(1);
    expect(new Set(orders.map((o) => o.status))).toEqual(new Set(['CONFIRMED']));
    expect(await w.count(stack.orders, 'SELECT COUNT(*) AS n FROM orders WHERE idempotency_key = ?', [input.idempotencyKey])).toBe(1);
    expect(await w.count(stack.inventory, 'SELECT COUNT(*) AS n FROM reservations WHERE idempotency_key = ?', [orders[0]!.id])).toBe(1);
    expect(await w.level(sku, ids.store)).toMatchObject({ reserved: 3 });
    // One PENDING and one CONFIRMED in the history, however many requests drove it.
    expect(orders[0]!.history.map((h: any) => h.status)).toEqual(['PENDING', 'CONFIRMED']);
  });

  it('20 concurrent one-unit shipments of a 5-unit order: exactly 5 ship, and inventory drops by 5', async () => {
    const sku = await w.item();
    await w.receive(sku, ids.store, 8);
    const placed = (await w.ok(PLACE, { input: order(sku, 5) })).placeOrder;
    const results = await Promise.all(
      Array.from({ length: 20 }, () => w.gql(FULFIL, { input: { orderId: placed.id, idempotencyKey: randomUUID(), lines: [{ sku, quantity: 1 }] } })),
    );
    expect(results.filter((r) => !r.errors)).toHaveLength(5);
    expect(results.filter((r) => r.errors).map(errorCode)).toEqual(Array(15).fill('BAD_USER_INPUT'));
    expect(await w.level(sku, ids.store)).toMatchObject({ onHand: 3, reserved: 0 });
    const [line] = await stack.orders.query('SELECT fulfilled_quantity FROM order_lines WHERE order_id = ?', [placed.id]);
    expect(Number(line.fulfilled_quantity)).toBe(5);
    expect(await w.count(stack.orders, `SELECT COUNT(*) AS n FROM order_operations WHERE order_id = ? AND state = 'DONE'`, [placed.id])).toBe(5);
  });

  it('a cancellation racing shipments: every unit is shipped or released exactly once', async () => {
    const sku = await w.item();
    await w.receive(sku, ids.store, 10);
    const placed = (await w.ok(PLACE, { input: order(sku, 10) })).placeOrder;
    const requests = Array.from({ length: 10 }, (_, i) =>
      i === 4
        ? w.gql(CANCEL, { input: { orderId: placed.id, idempotencyKey: randomUUID() } })
        : w.gql(FULFIL, { input: { orderId: placed.id, idempotencyKey: randomUUID(), lines: [{ sku, quantity: 1 }] } }),
    );
    const results = await Promise.all(requests);
    expect(results.filter((r) => r.errors).map(errorCode).every((c) => c === 'BAD_USER_INPUT')).toBe(true);
    const [line] = await stack.orders.query('SELECT fulfilled_quantity AS f, cancelled_quantity AS c FROM order_lines WHERE order_id = ?', [placed.id]);
    const shipped = Number(line.f);
    expect(shipped + Number(line.c)).toBe(10);
    expect(await w.level(sku, ids.store)).toMatchObject({ onHand: 10 - shipped, reserved: 0 });
    expect(await w.heldFor(sku)).toBe(0);
  });
});
