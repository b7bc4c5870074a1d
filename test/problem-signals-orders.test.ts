import { eventKeys } from '../lib/event-stream.js';
import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { createRedis, redisTarget } from '../lib/redis.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problemSignalSchema, type ProblemSignal } from '../contracts/events.js';
import { InventoryClient } from '../contracts/inventory-client.js';
import { createOrderRecovery } from '../subgraphs/orders/api/context.js';
import { OrderService } from '../subgraphs/orders/services/order.service.js';
import { ALL_SCOPES, errorCode, gql, serviceToken } from './client.js';
import { readStream, waitFor } from './events.js';
import { CANCEL, FULFIL, ORDER_FIELDS, OrdersWorld, PLACE, startOrdersStack, type OrdersStack } from './orders-fixture.js';

/**
 * Orders' STUCK_ORDER problems: an order the sweeper cannot finish is raised once it has waited
 * ORDER_STUCK_AFTER_MS (once, however many sweeps follow), and cleared in the transaction that
 * settles it, by retryOrder or by the sweeper.
 */

const STUCK_AFTER_MS = 1500;
let stack: OrdersStack;
let w: OrdersWorld;
const ids = { store: '', channel: '' };
let deadUrl = '';

beforeAll(async () => {
  // The jobs process's sweeper is kept out of the way: the test sweeps itself, with inventory
  // reachable or not, at the moment it chooses. Its relay publishes orders' outbox.
  stack = await startOrdersStack({ ORDER_SWEEP_INTERVAL_MS: '3600000', ORDER_PENDING_GRACE_MS: '3600000', ORDER_STUCK_AFTER_MS: String(STUCK_AFTER_MS) });
  w = new OrdersWorld(stack);
  ids.store = await w.location();
  ids.channel = await w.channel([ids.store]);
  await w.replicated([ids.store], [ids.channel]);
  // A port nothing listens on: connections are refused, as when inventory is down.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  deadUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  await new Promise((resolve) => server.close(resolve));
});
afterAll(async () => {
  await stack?.close();
});

const RETRY = `mutation($id: ID!) { retryOrder(id: $id) { ${ORDER_FIELDS} updatedAt } }`;
const caller = { requestId: 'test-stuck', actor: 'storefront-web' };
const settings = { reservationTtlSeconds: 900, pendingGraceMs: 0, stuckAfterMs: STUCK_AFTER_MS };
/** The order service as a process that cannot reach inventory would run it. */
const unreachable = () => new OrderService(stack.orders, new InventoryClient({ url: deadUrl, timeoutMs: 1000, identity: null }), settings);
/** The jobs process's sweep, with no grace period, against an inventory that does not answer, or the stack's. */
const sweep = (inventory: 'down' | 'up') =>
  createOrderRecovery(stack.orders, {
    ...stack.cfg,
    ...(inventory === 'down' ? { ORDERS_INVENTORY_URL: deadUrl, ORDERS_INVENTORY_TIMEOUT_MS: 1000 } : {}),
    ORDER_PENDING_GRACE_MS: 0,
    ORDER_STUCK_AFTER_MS: STUCK_AFTER_MS,
  }).sweep(100);

async function signalsOf(orderId: string): Promise<ProblemSignal[]> {
  const rows: { payload: string }[] = await stack.orders.query(`SELECT payload FROM outbox_events WHERE topic = 'problem' AND event_key = ? ORDER BY seq`, [`STUCK_ORDER:${orderId}`]);
  return rows.map((r) => problemSignalSchema.parse(JSON.parse(r.payload)));
}

const placeInput = (sku: string, quantity: number) => ({
  idempotencyKey: randomUUID(),
  channelId: ids.channel,
  lines: [{ sku, quantity }],
  fulfilment: { method: 'SHIP' },
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('STUCK_ORDER', () => {
  it('an order inventory cannot reserve is raised once after the threshold; retryOrder once inventory is back settles it and clears it', async () => {
    const sku = await w.item();
    await w.receive(sku, ids.store, 5);
    const pending = await unreachable().place(placeInput(sku, 2), caller);
    expect(pending.status).toBe('PENDING');

    // Before the threshold: swept, still waiting, nothing raised.
    expect((await sweep('down')).waiting).toBeGreaterThanOrEqual(1);
    expect(await signalsOf(pending.id)).toEqual([]);

    await sleep(STUCK_AFTER_MS + 100);
    await sweep('down');
    const [raised, ...more] = await signalsOf(pending.id);
    expect(more).toEqual([]);
    expect(raised).toMatchObject({
      kind: 'STUCK_ORDER',
      state: 'RAISED',
      subject: pending.id,
      cause: 'INVENTORY_UNREACHABLE',
      channelId: ids.channel,
      units: 2,
      evidence: [{ type: 'ORDER', id: pending.id }],
      action: { kind: 'RETRY_ORDER', orderId: pending.id },
    });
    expect(raised!.measure).toBeGreaterThanOrEqual(1);

    // Later sweeps that still fail raise nothing more.
    await sweep('down');
    await sweep('down');
    expect(await signalsOf(pending.id)).toHaveLength(1);

    // Orders' outbox reaches the problem stream through the jobs process's relay.
    const redis = createRedis(redisTarget(stack.cfg));
    try {
      const entry = await waitFor('the relay to publish the problem', async () =>
        (await readStream(redis, eventKeys.stream(stack.cfg.REDIS_KEY_PREFIX, 'problem'))).find((e) => e.key === `STUCK_ORDER:${pending.id}`),
      );
      expect(entry).toMatchObject({ source: 'orders', payload: { state: 'RAISED', subject: pending.id } });
    } finally {
      await redis.quit();
    }

    // Inventory is back (the stack's orders subgraph reaches it): the person's retry settles it.
    const retried = (await w.ok(RETRY, { id: pending.id }, { 'x-client-id': 'ops-console' })).retryOrder;
    expect(retried.status).toBe('CONFIRMED');
    expect(retried.history.map((h: { status: string; actor: string }) => [h.status, h.actor])).toEqual([
      ['PENDING', 'storefront-web'],
      ['CONFIRMED', 'ops-console'],
    ]);
    expect(await w.heldFor(sku)).toBe(2);
    const signals = await signalsOf(pending.id);
    expect(signals.map((s) => s.state)).toEqual(['RAISED', 'CLEARED']);
    expect(signals[1]).toMatchObject({ subject: pending.id, channelId: ids.channel, action: null });
    const [row] = await stack.orders.query('SELECT stuck_raised_at, reservation_held_at FROM orders WHERE id = ?', [pending.id]);
    expect(row.stuck_raised_at).toBeNull();
    expect(row.reservation_held_at).not.toBeNull();

    // Nothing is left to finish: a second retry answers the order unchanged and writes nothing.
    const again = (await w.ok(RETRY, { id: pending.id })).retryOrder;
    expect(again).toEqual(retried);
    expect(await signalsOf(pending.id)).toHaveLength(2);
  });

  it('a shipment inventory does not apply is raised with its cause, and the sweep that applies it clears it', async () => {
    const sku = await w.item();
    await w.receive(sku, ids.store, 6);
    const order = (await w.ok(PLACE, { input: placeInput(sku, 4) })).placeOrder;
    expect(order.status).toBe('CONFIRMED');
    await unreachable().fulfil({ orderId: order.id, idempotencyKey: randomUUID(), lines: [{ sku, quantity: 3 }] }, caller);

    await sleep(STUCK_AFTER_MS + 100);
    await sweep('down');
    expect((await signalsOf(order.id)).map((s) => [s.state, s.cause, s.units])).toEqual([['RAISED', 'INVENTORY_UNREACHABLE', 4]]);
    expect((await signalsOf(order.id))[0]!.explanation).toMatch(/shipment/);

    expect((await sweep('up')).steps).toBeGreaterThanOrEqual(1);
    expect(await w.level(sku, ids.store)).toMatchObject({ onHand: 3, reserved: 1 });
    expect((await signalsOf(order.id)).map((s) => s.state)).toEqual(['RAISED', 'CLEARED']);
  });

  it('an order that is not stuck comes back unchanged; an unknown order is NOT_FOUND, a malformed id BAD_USER_INPUT', async () => {
    const sku = await w.item();
    await w.receive(sku, ids.store, 2);
    const order = (await w.ok(PLACE, { input: placeInput(sku, 1) })).placeOrder;
    const before = (await w.ok(`query($id: ID!) { order(id: $id) { ${ORDER_FIELDS} updatedAt } }`, { id: order.id })).order;
    expect((await w.ok(RETRY, { id: order.id })).retryOrder).toEqual(before);
    expect(await signalsOf(order.id)).toEqual([]);

    const unknown = await w.gql(RETRY, { id: randomUUID() });
    expect(errorCode(unknown)).toBe('NOT_FOUND');
    expect(errorCode(await w.gql(RETRY, { id: 'nope' }))).toBe('BAD_USER_INPUT');
  });

  it('cancelOrder (the CANCEL_ORDER action) cancels an order taken in from a marketplace and releases its stock', async () => {
    const sku = await w.item();
    await w.receive(sku, ids.store, 3);
    const intake = { 'x-service-token': await serviceToken({ clientId: 'marketplace-intake', scopes: [...ALL_SCOPES, 'orders:intake'] }) };
    const sold = await gql(stack.subgraphs.orders.url, `mutation($input: PlaceOrderInput!) { placeSoldOrder(input: $input) { id status } }`, { input: placeInput(sku, 2) }, intake);
    expect(sold.errors).toBeUndefined();
    expect(sold.data!.placeSoldOrder.status).toBe('CONFIRMED');
    expect(await w.level(sku, ids.store)).toMatchObject({ reserved: 2 });
    // As the exceptions inbox runs it: a person's key with orders:write, one idempotency key per exception.
    const cancelled = (await w.ok(CANCEL, { input: { orderId: sold.data!.placeSoldOrder.id, idempotencyKey: `exception:${randomUUID()}:cancel`, reason: 'exceptions inbox' } })).cancelOrder;
    expect(cancelled.status).toBe('CANCELLED');
    expect(await w.level(sku, ids.store)).toMatchObject({ onHand: 3, reserved: 0 });
    // Shipped orders cannot be cancelled: what the action meets once the marketplace order has gone out.
    const shipped = (await w.ok(PLACE, { input: placeInput(sku, 1) })).placeOrder;
    await w.ok(FULFIL, { input: { orderId: shipped.id, idempotencyKey: randomUUID() } });
    expect(errorCode(await w.gql(CANCEL, { input: { orderId: shipped.id, idempotencyKey: randomUUID() } }))).toBe('BAD_USER_INPUT');
  });
});
