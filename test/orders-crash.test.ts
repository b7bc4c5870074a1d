import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import type { QueryRunner } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createOrderRecovery } from '../subgraphs/orders/api/context.js';
import { gql } from './client.js';
import { waitFor } from './events.js';
import { CANCEL, ORDER, OrdersWorld, PLACE, startOrdersStack, type OrdersStack } from './orders-fixture.js';
import { untilLockWait } from './lock-waits.js';
import { serviceArgs } from '../scripts/system.js';

/**
 * The orders subgraph dies (SIGKILL) between reserving and confirming: it has recorded the order
 * PENDING and asked inventory for the reservation, and inventory makes it after the process is
 * gone. The order must end CONFIRMED with that reservation, or not confirmed with no reservation
 * holding stock once its time to live passed; never a held reservation without a confirmed order.
 */

let stack: OrdersStack;
let w: OrdersWorld;
const ids = { store: '', channel: '' };
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  // The jobs process's sweeper is kept out of the way (the test runs the sweep itself, at the
  // moment it chooses); the expiry job runs often.
  stack = await startOrdersStack({ ORDER_SWEEP_INTERVAL_MS: '3600000', ORDER_PENDING_GRACE_MS: '3600000', RESERVATION_EXPIRY_INTERVAL_MS: '200' });
  w = new OrdersWorld(stack);
  ids.store = await w.location();
  ids.channel = await w.channel([ids.store]);
  await w.replicated([ids.store], [ids.channel]);
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  await stack?.close();
});

interface OrdersProcess {
  child: ChildProcess;
  url: string;
}

/** The orders subgraph's process (compiled, as production runs it) on the stack's databases, talking to the stack's inventory. */
async function startOrdersProcess(ttlSeconds: number): Promise<OrdersProcess> {
  const child = spawn(process.execPath, serviceArgs('orders'), {
    env: {
      ...process.env,
      DB_PREFIX: stack.cfg.DB_PREFIX,
      ORDERS_PORT: '0',
      HOST: '127.0.0.1',
      ORDERS_INVENTORY_URL: stack.subgraphs.inventory.url,
      ORDER_RESERVATION_TTL_SECONDS: String(ttlSeconds),
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });
  // It listens on a free port and names it in its "orders listening" log line.
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'orders listening' && entry.url) resolve(entry.url);
      } catch {
        // not a log line
      }
    });
    child.once('exit', (code) => reject(new Error(`the orders process exited with ${code} before listening`)));
  });
  return { child, url };
}

async function kill(p: OrdersProcess): Promise<void> {
  p.child.kill('SIGKILL');
  if (p.child.exitCode === null && p.child.signalCode === null) await new Promise((resolve) => p.child.once('exit', resolve));
}

/** Holds the stock level's row lock from a connection of the test's own, so inventory's reservation waits for it. */
async function lockLevel(sku: string): Promise<QueryRunner> {
  const runner = stack.inventory.createQueryRunner();
  await runner.connect();
  await runner.startTransaction();
  await runner.query('SELECT on_hand FROM stock_levels WHERE sku = ? AND location_id = ? FOR UPDATE', [sku, ids.store]);
  cleanups.push(async () => {
    if (runner.isTransactionActive) await runner.commitTransaction();
    await runner.release();
  });
  return runner;
}

interface ReservationRow {
  id: string;
  status: string;
  expires_at: Date | null;
}

async function reservationOf(orderId: string): Promise<ReservationRow | undefined> {
  const [row] = await stack.inventory.query('SELECT id, status, expires_at FROM reservations WHERE idempotency_key = ?', [orderId]);
  return row;
}

/**
 * Places an order through a process that is killed while inventory is making its reservation,
 * then lets inventory finish. Answers the order id, left PENDING, and the reservation inventory made.
 */
async function crashBetweenReserveAndConfirm(sku: string, ttlSeconds: number): Promise<{ orderId: string; reservation: ReservationRow }> {
  const lock = await lockLevel(sku);
  const first = await startOrdersProcess(ttlSeconds);
  const key = randomUUID();
  const request = gql(first.url, PLACE, {
    input: { idempotencyKey: key, channelId: ids.channel, lines: [{ sku, quantity: 2 }], fulfilment: { method: 'SHIP' } },
  }).catch((err: unknown) => err);
  const orderId = await waitFor('the order to be recorded', async () => {
    const [row] = await stack.orders.query('SELECT id, status FROM orders WHERE idempotency_key = ?', [key]);
    return row?.status === 'PENDING' ? (row.id as string) : null;
  });
  await untilLockWait(stack.inventory);
  await kill(first);
  expect(await request).toBeInstanceOf(Error);

  await lock.commitTransaction();
  const reservation = await waitFor('inventory to make the reservation', async () => reservationOf(orderId));
  const [order] = await stack.orders.query('SELECT status, reservation_id FROM orders WHERE id = ?', [orderId]);
  // The dangerous moment: stock held for an order nobody confirmed. Only its time to live bounds it.
  expect(order).toEqual({ status: 'PENDING', reservation_id: null });
  expect(reservation.status).toBe('ACTIVE');
  expect(reservation.expires_at).not.toBeNull();
  expect(await w.heldFor(sku)).toBe(2);
  return { orderId, reservation };
}

/** The sweep the jobs process runs, with no grace period. */
const sweep = () => createOrderRecovery(stack.orders, { ...stack.cfg, ORDER_PENDING_GRACE_MS: 0 }).sweep(100);

/** Never a reservation holding stock for an order that is not confirmed. */
async function assertNoOrphan(orderId: string, sku: string): Promise<void> {
  const [order] = await stack.orders.query('SELECT status FROM orders WHERE id = ?', [orderId]);
  const reservation = await reservationOf(orderId);
  if (order.status !== 'CONFIRMED') {
    expect(await w.heldFor(sku)).toBe(0);
    expect(reservation?.status ?? 'NONE').not.toBe('ACTIVE');
  }
}

describe('orders subgraph killed between reserving and confirming', () => {
  it('after a restart, the sweep confirms the order with the reservation inventory made, and makes it permanent', async () => {
    const sku = await w.item();
    await w.receive(sku, ids.store, 5);
    const { orderId, reservation } = await crashBetweenReserveAndConfirm(sku, 60);

    const restarted = await startOrdersProcess(60);
    expect((await sweep()).settled).toBe(1);
    const res = await gql(restarted.url, ORDER, { id: orderId });
    expect(res.errors).toBeUndefined();
    expect(res.data!.order).toMatchObject({ status: 'CONFIRMED', reservationId: reservation.id });
    expect(res.data!.order.history.map((h: any) => [h.status, h.actor])).toEqual([
      ['PENDING', null],
      ['CONFIRMED', 'order-sweeper'],
    ]);
    expect(await reservationOf(orderId)).toMatchObject({ id: reservation.id, status: 'ACTIVE', expires_at: null });
    expect(await w.level(sku, ids.store)).toMatchObject({ onHand: 5, reserved: 2 });
    await assertNoOrphan(orderId, sku);

    // The restarted process carries on with the order as usual.
    const cancelled = await gql(restarted.url, CANCEL, { input: { orderId, idempotencyKey: randomUUID() } });
    expect(cancelled.errors).toBeUndefined();
    expect(cancelled.data!.cancelOrder.status).toBe('CANCELLED');
    expect(await w.level(sku, ids.store)).toMatchObject({ onHand: 5, reserved: 0 });
  });

  it('when the reservation lapses first, the expiry gives its stock back and the sweep rejects the order', async () => {
    const sku = await w.item();
    await w.receive(sku, ids.store, 5);
    const { orderId, reservation } = await crashBetweenReserveAndConfirm(sku, 2);

    // Nothing confirms the order within the reservation's 2 s: the expiry job releases it.
    await waitFor('the reservation to expire', async () => (await reservationOf(orderId))?.status === 'EXPIRED', 20_000);
    expect(await w.level(sku, ids.store)).toMatchObject({ onHand: 5, reserved: 0, available: 5 });
    await assertNoOrphan(orderId, sku);

    const restarted = await startOrdersProcess(2);
    expect((await sweep()).settled).toBe(1);
    const res = await gql(restarted.url, ORDER, { id: orderId });
    expect(res.data!.order).toMatchObject({
      status: 'REJECTED',
      reservationId: null,
      rejection: { reason: 'RESERVATION_EXPIRED', message: `reservation ${reservation.id} is EXPIRED`, lines: [] },
    });
    expect(await w.level(sku, ids.store)).toMatchObject({ onHand: 5, reserved: 0 });
    expect(await w.heldFor(sku)).toBe(0);
    await assertNoOrphan(orderId, sku);
  });
});
