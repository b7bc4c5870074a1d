import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { configWith } from '../lib/config.js';
import { formatError } from '../lib/errors.js';
import { InventoryClient, InventoryUnavailableError } from '../contracts/inventory-client.js';
import { OrderService } from '../subgraphs/orders/services/order.service.js';
import { errorCode } from './client.js';
import { waitFor } from './events.js';
import { CANCEL, FULFIL, ORDER, OrdersWorld, PLACE, RETURN, startOrdersStack, type OrdersStack } from './orders-fixture.js';

let stack: OrdersStack;
let w: OrdersWorld;
/** A and B offer pickup, C does not; `web` sources from all three and may split, `noSplit` from A and B only and may not. */
const ids = { a: '', b: '', c: '', web: '', noSplit: '' };
const STOREFRONT = { 'x-client-id': 'storefront-web' };

beforeAll(async () => {
  // The jobs process's sweeper runs often, with a short grace, so the tests can watch it work.
  stack = await startOrdersStack({ ORDER_SWEEP_INTERVAL_MS: '200', ORDER_PENDING_GRACE_MS: '2000', RESERVATION_EXPIRY_INTERVAL_MS: '200' });
  w = new OrdersWorld(stack);
  ids.a = await w.location({ name: 'Orders Store A' });
  ids.b = await w.location({ name: 'Orders Store B' });
  ids.c = await w.location({ name: 'Orders Store C', pickup: false });
  ids.web = await w.channel([ids.a, ids.b, ids.c]);
  ids.noSplit = await w.channel([ids.a, ids.b], { allowSplitShipments: false });
  await w.replicated([ids.a, ids.b, ids.c], [ids.web, ids.noSplit]);
});
afterAll(async () => {
  await stack?.close();
});

const ship = { method: 'SHIP', destinationRegion: 'Yorkshire' };
const placeInput = (lines: { sku: string; quantity: number }[], overrides: Record<string, unknown> = {}) => ({
  idempotencyKey: randomUUID(),
  channelId: ids.web,
  customerReference: 'WEB-1001',
  lines,
  fulfilment: ship,
  ...overrides,
});

async function place(lines: { sku: string; quantity: number }[], overrides: Record<string, unknown> = {}) {
  return (await w.ok(PLACE, { input: placeInput(lines, overrides) }, STOREFRONT)).placeOrder;
}

async function totals(sku: string) {
  const data = await w.ok(`query($s: String!) { inventoryItem(sku: $s) { openOrderQuantity totals { onHand reserved available damaged } } }`, { s: sku });
  return { ...data.inventoryItem.totals, open: data.inventoryItem.openOrderQuantity };
}

async function reservation(id: string) {
  return (await w.ok(`query($id: ID!) { reservation(id: $id) { status expiresAt lines { sku quantity openQuantity } } }`, { id })).reservation;
}

/** Everything a step could have written about an order, to show that a refused step wrote nothing. */
async function snapshot(orderId: string) {
  const order = (await w.ok(ORDER, { id: orderId })).order;
  const steps = await w.count(stack.orders, 'SELECT COUNT(*) AS n FROM order_operations WHERE order_id = ?', [orderId]);
  return { order, steps };
}

describe('the order lifecycle through the gateway', () => {
  it('places, partly fulfils, cancels the rest of, and returns part of an order, with inventory following each step', async () => {
    const [parka, boots, scarf] = [await w.item('Parka'), await w.item('Boots'), await w.item('Scarf')];
    await w.receive(parka, ids.a, 7);
    await w.receive(parka, ids.b, 3);
    await w.receive(boots, ids.a, 5);
    await w.receive(scarf, ids.b, 4);

    // Placed: 9 parkas need both stores (the channel allows split shipments).
    const order = await place([
      { sku: parka, quantity: 9 },
      { sku: boots, quantity: 2 },
      { sku: scarf, quantity: 1 },
    ]);
    expect(order).toMatchObject({ status: 'CONFIRMED', customerReference: 'WEB-1001', channel: { id: ids.web }, rejection: null });
    expect(order.fulfilment).toEqual({ method: 'SHIP', destinationRegion: 'Yorkshire', pickupLocation: null });
    expect(order.history.map((h: any) => [h.status, h.actor])).toEqual([
      ['PENDING', 'storefront-web'],
      ['CONFIRMED', 'storefront-web'],
    ]);
    const held = await reservation(order.reservationId);
    expect(held.status).toBe('ACTIVE');
    expect(held.expiresAt).toBeNull();
    expect(await w.level(parka, ids.a)).toMatchObject({ onHand: 7, reserved: 7, available: 0 });
    expect(await w.level(parka, ids.b)).toMatchObject({ onHand: 3, reserved: 2, available: 1 });
    expect(await w.level(boots, ids.a)).toMatchObject({ onHand: 5, reserved: 2 });
    expect(await w.level(scarf, ids.b)).toMatchObject({ onHand: 4, reserved: 1 });
    expect(await totals(parka)).toMatchObject({ onHand: 10, reserved: 9, open: 9 });

    // A shipment: 5 parkas and both boots. Inventory's on-hand and reserved drop together.
    const shipment = { orderId: order.id, idempotencyKey: randomUUID(), lines: [{ sku: parka, quantity: 5 }, { sku: boots, quantity: 2 }] };
    const shipped = (await w.ok(FULFIL, { input: shipment }, STOREFRONT)).fulfillOrder;
    expect(shipped.status).toBe('PARTIALLY_FULFILLED');
    expect(shipped.lines.map((l: any) => [l.sku, l.fulfilledQuantity])).toEqual([[parka, 5], [boots, 2], [scarf, 0]]);
    expect(await totals(parka)).toMatchObject({ onHand: 5, reserved: 4, open: 4 });
    expect(await w.level(boots, ids.a)).toMatchObject({ onHand: 3, reserved: 0, available: 3 });
    expect(await w.level(scarf, ids.b)).toMatchObject({ onHand: 4, reserved: 1 });
    // The same shipment again changes nothing.
    expect((await w.ok(FULFIL, { input: shipment })).fulfillOrder).toEqual(shipped);
    expect(await totals(parka)).toMatchObject({ onHand: 5, reserved: 4 });

    // Cancel the rest: inventory releases what the order still held.
    const cancellation = { orderId: order.id, idempotencyKey: randomUUID(), reason: 'customer changed their mind' };
    const cancelled = (await w.ok(CANCEL, { input: cancellation }, { 'x-client-id': 'customer-service' })).cancelOrder;
    expect(cancelled.status).toBe('FULFILLED');
    expect(cancelled.lines.map((l: any) => [l.sku, l.fulfilledQuantity, l.cancelledQuantity])).toEqual([
      [parka, 5, 4],
      [boots, 2, 0],
      [scarf, 0, 1],
    ]);
    expect(await totals(parka)).toMatchObject({ onHand: 5, reserved: 0, available: 5, open: 0 });
    expect(await w.level(scarf, ids.b)).toMatchObject({ onHand: 4, reserved: 0, available: 4 });
    expect((await reservation(order.reservationId)).status).toBe('COMMITTED');
    expect((await w.ok(CANCEL, { input: cancellation })).cancelOrder).toEqual(cancelled);

    // Returns: two parkas resalable (back on hand), one pair of boots damaged (held, never sellable).
    const resalable = { orderId: order.id, idempotencyKey: randomUUID(), locationId: ids.a, condition: 'RESALABLE', lines: [{ sku: parka, quantity: 2 }] };
    const parkaAtA = await w.level(parka, ids.a);
    const returned = (await w.ok(RETURN, { input: resalable })).returnOrderLines;
    expect(returned.lines[0]).toMatchObject({ sku: parka, fulfilledQuantity: 5, returnedQuantity: 2 });
    expect(returned.status).toBe('FULFILLED');
    const afterReturn = { onHand: parkaAtA.onHand + 2, reserved: 0, available: parkaAtA.onHand + 2, damaged: 0 };
    expect(await w.level(parka, ids.a)).toEqual(afterReturn);
    expect(await totals(parka)).toMatchObject({ onHand: 7, reserved: 0 });
    const damaged = { orderId: order.id, idempotencyKey: randomUUID(), locationId: ids.a, condition: 'DAMAGED', lines: [{ sku: boots, quantity: 1 }] };
    await w.ok(RETURN, { input: damaged });
    expect(await w.level(boots, ids.a)).toMatchObject({ onHand: 3, available: 3, damaged: 1 });
    // Retries of either return change nothing.
    await w.ok(RETURN, { input: resalable });
    const final = (await w.ok(RETURN, { input: damaged })).returnOrderLines;
    expect(await w.level(parka, ids.a)).toEqual(afterReturn);
    expect(await w.level(boots, ids.a)).toMatchObject({ onHand: 3, damaged: 1 });
    expect(final.lines.map((l: any) => [l.sku, l.returnedQuantity])).toEqual([[parka, 2], [boots, 1], [scarf, 0]]);

    expect(final.history.map((h: any) => [h.status, h.actor, h.reason])).toEqual([
      ['PENDING', 'storefront-web', 'placed'],
      ['CONFIRMED', 'storefront-web', 'every line reserved'],
      ['PARTIALLY_FULFILLED', 'storefront-web', 'shipment'],
      ['FULFILLED', 'customer-service', 'customer changed their mind'],
    ]);
    const ledger = await w.ok(
      `query($s: String!, $l: ID!) { stockMovements(sku: $s, locationId: $l) { edges { node { type quantity reference actor } } } }`,
      { s: parka, l: ids.a },
    );
    const movements = ledger.stockMovements.edges.map((e: any) => e.node);
    expect(movements.map((m: any) => m.type)).toEqual(['RECEIPT', 'FULFILMENT', 'RETURN']);
    expect(movements[2]).toMatchObject({ reference: order.id, quantity: 2 });
  });

  it('answers a retried placeOrder with the same order, and a different request under its key with CONFLICT', async () => {
    const sku = await w.item();
    await w.receive(sku, ids.a, 5);
    const input = placeInput([{ sku, quantity: 2 }]);
    const first = (await w.ok(PLACE, { input })).placeOrder;
    const again = (await w.ok(PLACE, { input })).placeOrder;
    expect(again).toEqual(first);
    const other = await w.gql(PLACE, { input: { ...input, lines: [{ sku, quantity: 3 }] } });
    expect(errorCode(other)).toBe('CONFLICT');
    expect(await w.count(stack.orders, 'SELECT COUNT(*) AS n FROM orders WHERE idempotency_key = ?', [input.idempotencyKey])).toBe(1);
    expect(await w.level(sku, ids.a)).toMatchObject({ reserved: 2 });
  });

  it('rejects an order with every short line and what was available, reserving nothing', async () => {
    const [plenty, scarce, gone] = [await w.item(), await w.item(), await w.item()];
    await w.receive(plenty, ids.a, 10);
    await w.receive(scarce, ids.b, 2);
    const order = await place([
      { sku: plenty, quantity: 3 },
      { sku: scarce, quantity: 5 },
      { sku: gone, quantity: 1 },
    ]);
    expect(order.status).toBe('REJECTED');
    expect(order.reservationId).toBeNull();
    expect(order.rejection.reason).toBe('INSUFFICIENT_STOCK');
    expect([...order.rejection.lines].sort((x: any, y: any) => (x.sku < y.sku ? -1 : 1))).toEqual(
      [
        { sku: scarce, locationId: null, requested: 5, available: 2 },
        { sku: gone, locationId: null, requested: 1, available: 0 },
      ].sort((x, y) => (x.sku < y.sku ? -1 : 1)),
    );
    expect(order.history.map((h: any) => h.status)).toEqual(['PENDING', 'REJECTED']);
    for (const sku of [plenty, scarce, gone]) expect(await w.heldFor(sku)).toBe(0);
    expect((await totals(plenty)).open).toBe(0);
  });

  it('takes a pickup order only from its pickup location, and resolves the location through the gateway', async () => {
    const sku = await w.item();
    await w.receive(sku, ids.a, 2);
    await w.receive(sku, ids.b, 5);
    const pickup = { method: 'PICKUP', pickupLocationId: ids.a };
    const short = await place([{ sku, quantity: 3 }], { fulfilment: pickup });
    expect(short.status).toBe('REJECTED');
    expect(short.rejection.lines).toEqual([{ sku, locationId: ids.a, requested: 3, available: 2 }]);

    const ok = await place([{ sku, quantity: 2 }], { fulfilment: pickup });
    expect(ok.status).toBe('CONFIRMED');
    expect(await w.level(sku, ids.a)).toMatchObject({ reserved: 2 });
    expect(await w.level(sku, ids.b)).toMatchObject({ reserved: 0 });
    const data = await w.ok(`query($id: ID!) { order(id: $id) { fulfilment { method pickupLocation { name capabilities { pickup } } } channel { name } lines { item { name } } } }`, {
      id: ok.id,
    });
    expect(data.order).toEqual({
      fulfilment: { method: 'PICKUP', pickupLocation: { name: 'Orders Store A', capabilities: { pickup: true } } },
      channel: { name: 'Orders test web' },
      lines: [{ item: { name: 'Orders test item' } }],
    });
  });

  it('sources a ship order from several locations only when the channel allows split shipments', async () => {
    const sku = await w.item();
    await w.receive(sku, ids.a, 2);
    await w.receive(sku, ids.b, 2);
    const split = await place([{ sku, quantity: 3 }]);
    expect(split.status).toBe('CONFIRMED');
    await w.ok(CANCEL, { input: { orderId: split.id, idempotencyKey: randomUUID() } });

    const whole = await place([{ sku, quantity: 3 }], { channelId: ids.noSplit });
    expect(whole.status).toBe('REJECTED');
    const fits = await place([{ sku, quantity: 2 }], { channelId: ids.noSplit });
    expect(fits.status).toBe('CONFIRMED');
    const a = await w.level(sku, ids.a);
    const b = await w.level(sku, ids.b);
    expect([a.reserved, b.reserved].sort()).toEqual([0, 2]);
  });

  it('answers openOrderQuantity for a whole list of items with one grouped query', async () => {
    const skus = [await w.item(), await w.item(), await w.item()];
    for (const sku of skus) await w.receive(sku, ids.a, 10);
    await place([{ sku: skus[0]!, quantity: 1 }, { sku: skus[1]!, quantity: 4 }]);
    await place([{ sku: skus[1]!, quantity: 2 }]);
    // The orders subgraph's own statements (the jobs process in this test process uses other pools).
    const queries = vi.spyOn(stack.orders.manager, 'query');
    try {
      const data = await w.ok(`query($s: [String!]!) { inventoryItems(skus: $s) { sku openOrderQuantity } }`, { s: skus });
      expect(data.inventoryItems.map((i: any) => i.openOrderQuantity)).toEqual([1, 6, 0]);
      expect(queries).toHaveBeenCalledTimes(1);
      expect(String(queries.mock.calls[0]![0])).toContain('GROUP BY l.sku');
    } finally {
      queries.mockRestore();
    }
  });
});

describe('bad input writes nothing anywhere', () => {
  const unknownSku = 'NO-SUCH-SKU-1';
  it.each<[string, () => Record<string, unknown>, string]>([
    ['an unknown channel', () => ({ channelId: randomUUID() }), 'NOT_FOUND'],
    ['an unknown SKU', () => ({ lines: [{ sku: unknownSku, quantity: 1 }] }), 'NOT_FOUND'],
    ['an unknown pickup location', () => ({ fulfilment: { method: 'PICKUP', pickupLocationId: randomUUID() } }), 'NOT_FOUND'],
    ['a pickup location that offers no pickup', () => ({ fulfilment: { method: 'PICKUP', pickupLocationId: ids.c } }), 'BAD_USER_INPUT'],
    ['no lines', () => ({ lines: [] }), 'BAD_USER_INPUT'],
    ['a quantity of 0', () => ({ lines: [{ sku: 'X-1', quantity: 0 }] }), 'BAD_USER_INPUT'],
    ['a negative quantity', () => ({ lines: [{ sku: 'X-1', quantity: -2 }] }), 'BAD_USER_INPUT'],
    ['more than 100 lines', () => ({ lines: Array.from({ length: 101 }, (_, i) => ({ sku: `X-${i}`, quantity: 1 })) }), 'BAD_USER_INPUT'],
    ['a SKU on two lines', () => ({ lines: [{ sku: 'X-1', quantity: 1 }, { sku: 'X-1', quantity: 1 }] }), 'BAD_USER_INPUT'],
    ['pickup without a location', () => ({ fulfilment: { method: 'PICKUP' } }), 'BAD_USER_INPUT'],
  ])('placeOrder with %s', async (_name, overrides, code) => {
    const sku = await w.item();
    await w.receive(sku, ids.a, 5);
    const input = placeInput([{ sku, quantity: 1 }, { sku: 'X-1', quantity: 1 }].slice(0, 1), overrides());
    const reservationsBefore = await w.count(stack.inventory, 'SELECT COUNT(*) AS n FROM reservations', []);
    const res = await w.gql(PLACE, { input });
    expect(errorCode(res), JSON.stringify(res.errors)).toBe(code);
    expect(await w.count(stack.orders, 'SELECT COUNT(*) AS n FROM orders WHERE idempotency_key = ?', [input.idempotencyKey])).toBe(0);
    const skus = (input.lines as { sku: string }[]).map((l) => l.sku);
    if (skus.length) expect(await w.count(stack.orders, 'SELECT COUNT(*) AS n FROM order_lines WHERE sku IN (?)', [skus])).toBe(0);
    expect(await w.count(stack.inventory, 'SELECT COUNT(*) AS n FROM reservations', [])).toBe(reservationsBefore);
    expect(await w.level(sku, ids.a)).toMatchObject({ onHand: 5, reserved: 0 });
  });

  /** A confirmed order of 4 + 2 units, of which 1 of the first line shipped. */
  async function partlyShipped() {
    const [x, y] = [await w.item(), await w.item()];
    await w.receive(x, ids.a, 10);
    await w.receive(y, ids.a, 10);
    const order = await place([{ sku: x, quantity: 4 }, { sku: y, quantity: 2 }]);
    await w.ok(FULFIL, { input: { orderId: order.id, idempotencyKey: randomUUID(), lines: [{ sku: x, quantity: 1 }] } });
    return { order, x, y };
  }

  it.each<[string, (o: { order: any; x: string; y: string }) => [string, Record<string, unknown>], string]>([
    ['fulfilling more than was ordered', ({ order, x }) => [FULFIL, { orderId: order.id, lines: [{ sku: x, quantity: 4 }] }], 'BAD_USER_INPUT'],
    ['fulfilling a SKU not on the order', ({ order }) => [FULFIL, { orderId: order.id, lines: [{ sku: 'NOT-ON-IT', quantity: 1 }] }], 'BAD_USER_INPUT'],
    ['fulfilling a quantity of 0', ({ order, y }) => [FULFIL, { orderId: order.id, lines: [{ sku: y, quantity: 0 }] }], 'BAD_USER_INPUT'],
    ['returning more than was fulfilled', ({ order, x }) => [RETURN, { orderId: order.id, locationId: ids.a, condition: 'RESALABLE', lines: [{ sku: x, quantity: 2 }] }], 'BAD_USER_INPUT'],
    ['returning what never shipped', ({ order, y }) => [RETURN, { orderId: order.id, locationId: ids.a, condition: 'DAMAGED', lines: [{ sku: y, quantity: 1 }] }], 'BAD_USER_INPUT'],
    ['returning to an unknown location', ({ order, x }) => [RETURN, { orderId: order.id, locationId: randomUUID(), condition: 'RESALABLE', lines: [{ sku: x, quantity: 1 }] }], 'NOT_FOUND'],
    ['an unknown order', ({ x }) => [FULFIL, { orderId: randomUUID(), lines: [{ sku: x, quantity: 1 }] }], 'NOT_FOUND'],
  ])('%s', async (_name, build, code) => {
    const o = await partlyShipped();
    const before = await snapshot(o.order.id);
    const levels = [await w.level(o.x, ids.a), await w.level(o.y, ids.a)];
    const [doc, input] = build(o);
    const res = await w.gql(doc, { input: { idempotencyKey: randomUUID(), ...input } });
    expect(errorCode(res), JSON.stringify(res.errors)).toBe(code);
    expect(await snapshot(o.order.id)).toEqual(before);
    expect([await w.level(o.x, ids.a), await w.level(o.y, ids.a)]).toEqual(levels);
  });

  it('refuses to cancel a fulfilled order or fulfil a cancelled one, naming the status, and writes nothing', async () => {
    const { order, x, y } = await partlyShipped();
    await w.ok(FULFIL, { input: { orderId: order.id, idempotencyKey: randomUUID() } });
    const fulfilled = await snapshot(order.id);
    expect(fulfilled.order.status).toBe('FULFILLED');
    const levels = [await w.level(x, ids.a), await w.level(y, ids.a)];
    const cancel = await w.gql(CANCEL, { input: { orderId: order.id, idempotencyKey: randomUUID() } });
    expect(errorCode(cancel)).toBe('BAD_USER_INPUT');
    expect(cancel.errors![0]!.extensions!.status).toBe('FULFILLED');
    expect(await snapshot(order.id)).toEqual(fulfilled);
    expect([await w.level(x, ids.a), await w.level(y, ids.a)]).toEqual(levels);

    const other = await place([{ sku: x, quantity: 1 }]);
    await w.ok(CANCEL, { input: { orderId: other.id, idempotencyKey: randomUUID() } });
    const cancelled = await snapshot(other.id);
    expect(cancelled.order.status).toBe('CANCELLED');
    for (const [doc, input] of [
      [FULFIL, { orderId: other.id, idempotencyKey: randomUUID() }],
      [CANCEL, { orderId: other.id, idempotencyKey: randomUUID() }],
    ] as const) {
      const res = await w.gql(doc, { input });
      expect(errorCode(res)).toBe('BAD_USER_INPUT');
      expect(res.errors![0]!.extensions!.status).toBe('CANCELLED');
    }
    expect(await snapshot(other.id)).toEqual(cancelled);
  });

  it('refuses a step key reused for another request with CONFLICT', async () => {
    const { order, x } = await partlyShipped();
    const key = randomUUID();
    await w.ok(FULFIL, { input: { orderId: order.id, idempotencyKey: key, lines: [{ sku: x, quantity: 1 }] } });
    const before = await snapshot(order.id);
    const res = await w.gql(FULFIL, { input: { orderId: order.id, idempotencyKey: key, lines: [{ sku: x, quantity: 2 }] } });
    expect(errorCode(res)).toBe('CONFLICT');
    expect(errorCode(await w.gql(CANCEL, { input: { orderId: order.id, idempotencyKey: key } }))).toBe('CONFLICT');
    expect(await snapshot(order.id)).toEqual(before);
  });
});

describe('when inventory does not answer', () => {
  let deadUrl = '';
  beforeAll(async () => {
    // A port nothing listens on: connections are refused, as when inventory is down.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    deadUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
    await new Promise((resolve) => server.close(resolve));
  });
  /** The order service as a process that cannot reach inventory would run it. */
  const unreachable = () =>
    new OrderService(stack.orders, new InventoryClient({ url: deadUrl, timeoutMs: 1000, identity: null }), {
      reservationTtlSeconds: 900,
      pendingGraceMs: 2000,
    });
  const caller = { requestId: 'test-unreachable', actor: 'storefront-web' };

  it('keeps the order PENDING, and the jobs process confirms it once inventory answers', async () => {
    const sku = await w.item();
    await w.receive(sku, ids.a, 3);
    const pending = await unreachable().place(placeInput([{ sku, quantity: 2 }]), caller);
    expect(pending.status).toBe('PENDING');
    expect(await w.heldFor(sku)).toBe(0);
    const confirmed = await waitFor('the sweeper to confirm the order', async () => {
      const order = (await w.ok(ORDER, { id: pending.id })).order;
      return order.status === 'CONFIRMED' ? order : null;
    });
    expect(confirmed.history.map((h: any) => [h.status, h.actor])).toEqual([
      ['PENDING', 'storefront-web'],
      ['CONFIRMED', 'order-sweeper'],
    ]);
    // The sweeper confirms first, then has inventory make the reservation permanent.
    await waitFor('the reservation to be made permanent', async () => (await reservation(confirmed.reservationId)).expiresAt === null);
    expect(await w.level(sku, ids.a)).toMatchObject({ reserved: 2 });
  });

  it('rejects a swept order that finds no stock, with the short lines', async () => {
    const sku = await w.item();
    await w.receive(sku, ids.a, 1);
    const pending = await unreachable().place(placeInput([{ sku, quantity: 2 }]), caller);
    const rejected = await waitFor('the sweeper to reject the order', async () => {
      const order = (await w.ok(ORDER, { id: pending.id })).order;
      return order.status === 'REJECTED' ? order : null;
    });
    expect(rejected.rejection).toEqual({ reason: 'INSUFFICIENT_STOCK', message: null, lines: [{ sku, locationId: null, requested: 2, available: 1 }] });
    expect(await w.heldFor(sku)).toBe(0);
  });

  it('records a shipment and the jobs process applies it in inventory later', async () => {
    const sku = await w.item();
    await w.receive(sku, ids.a, 6);
    const order = await place([{ sku, quantity: 4 }]);
    const recorded = await unreachable().fulfil({ orderId: order.id, idempotencyKey: randomUUID(), lines: [{ sku, quantity: 3 }] }, caller);
    expect(recorded.status).toBe('PARTIALLY_FULFILLED');
    expect(await w.level(sku, ids.a)).toMatchObject({ onHand: 6, reserved: 4 });
    await waitFor('the sweeper to ship it', async () => (await w.level(sku, ids.a)).onHand === 3);
    expect(await w.level(sku, ids.a)).toMatchObject({ onHand: 3, reserved: 1 });
    await waitFor('the step to be marked done', async () =>
      (await w.count(stack.orders, `SELECT COUNT(*) AS n FROM order_operations WHERE order_id = ? AND state = 'PENDING'`, [order.id])) === 0,
    );
    // And the order carries on as usual.
    const cancelled = (await w.ok(CANCEL, { input: { orderId: order.id, idempotencyKey: randomUUID() } })).cancelOrder;
    expect(cancelled.status).toBe('FULFILLED');
    expect(await w.level(sku, ids.a)).toMatchObject({ onHand: 3, reserved: 0 });
  });

  it('answers a step that would wait behind one inventory has not applied with SUBGRAPH_UNAVAILABLE, recording nothing', async () => {
    const sku = await w.item();
    await w.receive(sku, ids.a, 6);
    const order = await place([{ sku, quantity: 4 }]);
    await unreachable().fulfil({ orderId: order.id, idempotencyKey: randomUUID(), lines: [{ sku, quantity: 1 }] }, caller);
    const steps = () => w.count(stack.orders, `SELECT COUNT(*) AS n FROM order_operations WHERE order_id = ?`, [order.id]);
    const recorded = await steps();
    const second = await unreachable()
      .fulfil({ orderId: order.id, idempotencyKey: randomUUID(), lines: [{ sku, quantity: 1 }] }, caller)
      .then(() => null, (err: unknown) => err);
    expect(second).toBeInstanceOf(InventoryUnavailableError);
    expect(formatError({ message: (second as Error).message }, second).extensions).toEqual({ code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'inventory' });
    expect(await steps()).toBe(recorded);
    await waitFor('the sweeper to ship the first step', async () => (await w.level(sku, ids.a)).onHand === 5);
  });
});

describe('configuration', () => {
  it('points orders at inventory on INVENTORY_PORT unless ORDERS_INVENTORY_URL says otherwise', async () => {
    const { ordersInventoryUrl } = await import('../lib/config.js');
    expect(ordersInventoryUrl(configWith({ INVENTORY_PORT: '4101', ORDERS_INVENTORY_URL: '' }))).toBe('http://127.0.0.1:4101/graphql');
    expect(ordersInventoryUrl(configWith({ ORDERS_INVENTORY_URL: 'http://inventory:4001/graphql' }))).toBe('http://inventory:4001/graphql');
  });
});
