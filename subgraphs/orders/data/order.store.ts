import { In, type EntityManager } from 'typeorm';
import { affectedRows } from '../../../lib/db.js';
import type { ReadSide } from '../../../lib/read-replicas.js';
import { OrderEntity, OrderLineEntity, OrderOperationEntity, OrderStatusChangeEntity } from './order.entity.js';
import { type OperationKind, type OrderStatus } from '../domain/order-vocabulary.js';

export interface OrderFilter {
  channelId?: string | null;
  status?: OrderStatus | null;
  since?: Date | null;
}

/** Position of an order in the newest-first listing. */
export interface OrderKey {
  createdAt: Date;
  id: string;
}

export interface StatusChange {
  orderId: string;
  status: OrderStatus;
  actor: string | null;
  reason: string | null;
  operationId: string | null;
  createdAt: Date;
}

/** Statuses whose lines still count as demand (openOrderQuantity). */
const OPEN_STATUSES: OrderStatus[] = ['PENDING', 'CONFIRMED', 'PARTIALLY_FULFILLED'];

const LINE_COLUMN: Record<OperationKind, string> = {
  FULFIL: 'fulfilled_quantity',
  CANCEL: 'cancelled_quantity',
  RETURN: 'returned_quantity',
};

/** All SQL of the orders subgraph. Every method runs on the manager it is given. */
export const orderStore = {
  findByIds(tx: EntityManager, ids: readonly string[]): Promise<OrderEntity[]> {
    return tx.find(OrderEntity, { where: { id: In([...ids]) } });
  },

  findById(tx: EntityManager, id: string): Promise<OrderEntity | null> {
    return tx.findOne(OrderEntity, { where: { id } });
  },

  findByIdempotencyKey(tx: EntityManager, key: string): Promise<OrderEntity | null> {
    return tx.findOne(OrderEntity, { where: { idempotencyKey: key } });
  },

  /** Locks the order until the transaction ends: every change of an order and its lines and steps serializes here. */
  lock(tx: EntityManager, id: string): Promise<OrderEntity | null> {
    return tx.findOne(OrderEntity, { where: { id }, lock: { mode: 'pessimistic_write' } });
  },

  linesOf(tx: EntityManager, orderIds: readonly string[]): Promise<OrderLineEntity[]> {
    return tx.find(OrderLineEntity, { where: { orderId: In([...orderIds]) }, order: { orderId: 'ASC', lineNumber: 'ASC' } });
  },

  /** Fails with ER_DUP_ENTRY when the idempotency key was used before. Plain SQL: placing orders is the hot path. */
  async insert(tx: EntityManager, o: OrderEntity, lines: OrderLineEntity[]): Promise<void> {
    await tx.query(
      `INSERT INTO orders (id, channel_id, customer_reference, status, fulfilment_method, destination_region, pickup_location_id, sourcing,
         idempotency_key, request_hash, reservation_ttl_seconds, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [o.id, o.channelId, o.customerReference, o.status, o.fulfilmentMethod, o.destinationRegion, o.pickupLocationId, o.sourcing,
        o.idempotencyKey, o.requestHash, o.reservationTtlSeconds, o.createdAt, o.updatedAt],
    );
    await tx.query('INSERT INTO order_lines (id, order_id, line_number, sku, quantity) VALUES ?', [
      lines.map((l) => [l.id, l.orderId, l.lineNumber, l.sku, l.quantity]),
    ]);
  },

  /** PENDING → CONFIRMED with its reservation, in one conditional statement; false when the order is no longer PENDING. */
  async confirm(tx: EntityManager, id: string, reservationId: string, at: Date): Promise<boolean> {
    const result: unknown = await tx.query(
      `UPDATE orders SET status = 'CONFIRMED', reservation_id = ?, updated_at = ? WHERE id = ? AND status = 'PENDING'`,
      [reservationId, at, id],
    );
    return affectedRows(result) === 1;
  },

  /**
   * Notes that inventory made the order's reservation permanent: one statement, no transaction of
   * its own needed. Unless `evenIfStuck`, only an order not raised as stuck: false for one that is,
   * which the caller notes on the locked order so that its problem is cleared with it.
   */
  async markHeld(tx: EntityManager, id: string, at: Date, evenIfStuck = false): Promise<boolean> {
    const result: unknown = await tx.query(`UPDATE orders SET reservation_held_at = ? WHERE id = ?${evenIfStuck ? '' : ' AND stuck_raised_at IS NULL'}`, [at, id]);
    return affectedRows(result) === 1;
  },

  /** Notes the order raised as stuck at `at`, or (null) no longer raised. Leaves updated_at alone: the order itself did not change. */
  async setStuck(tx: EntityManager, id: string, at: Date | null): Promise<void> {
    await tx.query('UPDATE orders SET stuck_raised_at = ? WHERE id = ?', [at, id]);
  },

  async insertHistory(tx: EntityManager, change: StatusChange): Promise<void> {
    await tx.query(
      'INSERT INTO order_status_history (order_id, status, actor, reason, operation_id, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      [change.orderId, change.status, change.actor, change.reason, change.operationId, change.createdAt],
    );
  },

  historyOf(tx: EntityManager, orderIds: readonly string[]): Promise<OrderStatusChangeEntity[]> {
    return tx.find(OrderStatusChangeEntity, { where: { orderId: In([...orderIds]) }, order: { orderId: 'ASC', id: 'ASC' } });
  },

  async update(tx: EntityManager, id: string, values: Partial<Pick<OrderEntity, 'status' | 'reservationId' | 'reservationHeldAt' | 'rejection' | 'updatedAt'>>): Promise<void> {
    await tx.update(OrderEntity, { id }, values);
  },

  /** Removes an order that never was (inventory refused it): its history, lines and the order. */
  async delete(tx: EntityManager, id: string): Promise<void> {
    await tx.query('DELETE FROM order_status_history WHERE order_id = ?', [id]);
    await tx.query('DELETE FROM order_lines WHERE order_id = ?', [id]);
    await tx.query('DELETE FROM orders WHERE id = ?', [id]);
  },

  /** Moves one counter of each line by its change (sign -1 undoes a step); the table's CHECK bounds the result. */
  async changeLines(tx: EntityManager, kind: OperationKind, changes: { lineId: string; quantity: number }[], sign: 1 | -1): Promise<void> {
    const column = LINE_COLUMN[kind];
    for (const c of changes) {
      await tx.query(`UPDATE order_lines SET ${column} = ${column} + ? WHERE id = ?`, [sign * c.quantity, c.lineId]);
    }
  },

  findOperation(tx: EntityManager, orderId: string, idempotencyKey: string): Promise<OrderOperationEntity | null> {
    return tx.findOne(OrderOperationEntity, { where: { orderId, idempotencyKey } });
  },

  findOperationById(tx: EntityManager, id: string): Promise<OrderOperationEntity | null> {
    return tx.findOne(OrderOperationEntity, { where: { id } });
  },

  /** A step of the order still waiting for inventory, oldest first. */
  pendingOperationOf(tx: EntityManager, orderId: string): Promise<OrderOperationEntity | null> {
    return tx.findOne(OrderOperationEntity, { where: { orderId, state: 'PENDING' }, order: { createdAt: 'ASC' } });
  },

  async insertOperation(tx: EntityManager, op: OrderOperationEntity): Promise<void> {
    await tx.insert(OrderOperationEntity, op);
  },

  async finishOperation(tx: EntityManager, id: string, payload: string, at: Date): Promise<void> {
    await tx.query(`UPDATE order_operations SET state = 'DONE', payload = ?, completed_at = ? WHERE id = ? AND state = 'PENDING'`, [payload, at, id]);
  },

  async noteOperationFailure(tx: EntityManager, id: string, error: string): Promise<void> {
    await tx.query('UPDATE order_operations SET attempts = attempts + 1, last_error = ? WHERE id = ?', [error.slice(0, 500), id]);
  },

  /** Forgets a step inventory refused, with the status changes it made. */
  async deleteOperation(tx: EntityManager, id: string): Promise<void> {
    await tx.query('DELETE FROM order_status_history WHERE operation_id = ?', [id]);
    await tx.query('DELETE FROM order_operations WHERE id = ?', [id]);
  },

  /** Orders still PENDING that were placed at or before `before`, oldest first. */
  async pendingOrderIds(tx: EntityManager, before: Date, limit: number): Promise<string[]> {
    const rows: { id: string }[] = await tx.query(
      `SELECT id FROM orders WHERE status = 'PENDING' AND created_at <= ? ORDER BY created_at LIMIT ?`,
      [before, limit],
    );
    return rows.map((r) => r.id);
  },

  /** Confirmed, still open orders whose reservation inventory has not made permanent, last changed at or before `before`. */
  async unheldOrderIds(tx: EntityManager, before: Date, limit: number): Promise<string[]> {
    const rows: { id: string }[] = await tx.query(
      `SELECT id FROM orders
        WHERE status IN ('CONFIRMED', 'PARTIALLY_FULFILLED') AND reservation_held_at IS NULL
          AND updated_at <= ? AND reservation_id IS NOT NULL
        ORDER BY updated_at LIMIT ?`,
      [before, limit],
    );
    return rows.map((r) => r.id);
  },

  /** The order's steps still waiting for inventory, oldest first. */
  async pendingOperationIdsOf(tx: EntityManager, orderId: string): Promise<string[]> {
    const rows: { id: string }[] = await tx.query(`SELECT id FROM order_operations WHERE order_id = ? AND state = 'PENDING' ORDER BY created_at`, [orderId]);
    return rows.map((r) => r.id);
  },

  /** Steps still waiting for inventory that began at or before `before`, oldest first. */
  async pendingOperationIds(tx: EntityManager, before: Date, limit: number): Promise<string[]> {
    const rows: { id: string }[] = await tx.query(
      `SELECT id FROM order_operations WHERE state = 'PENDING' AND created_at <= ? ORDER BY created_at LIMIT ?`,
      [before, limit],
    );
    return rows.map((r) => r.id);
  },

  /** Units of each SKU on open orders, neither shipped nor cancelled: one grouped query for a batch of SKUs. */
  async openQuantities(tx: EntityManager, skus: readonly string[]): Promise<{ sku: string; quantity: number }[]> {
    if (!skus.length) return [];
    const rows: { sku: string; quantity: string | number }[] = await tx.query(
      `SELECT l.sku, SUM(l.quantity - l.fulfilled_quantity - l.cancelled_quantity) AS quantity
         FROM order_lines l JOIN orders o ON o.id = l.order_id
        WHERE l.sku IN (?) AND o.status IN (?)
        GROUP BY l.sku`,
      [[...skus], OPEN_STATUSES],
    );
    return rows.map((r) => ({ sku: r.sku, quantity: Number(r.quantity) }));
  },

  /** Keyset page, newest first with id breaking ties; fetches `limit` rows after `after`. */
  page(tx: EntityManager, filter: OrderFilter, limit: number, after: OrderKey | null): Promise<OrderEntity[]> {
    const qb = tx.createQueryBuilder(OrderEntity, 'o');
    if (filter.channelId) qb.andWhere('o.channel_id = :channelId', { channelId: filter.channelId });
    if (filter.status) qb.andWhere('o.status = :status', { status: filter.status });
    if (filter.since) qb.andWhere('o.created_at >= :since', { since: filter.since });
    if (after) {
      // The redundant `<=` gives the optimiser a range on the (…, created_at) indexes; the OR alone would not.
      qb.andWhere('o.created_at <= :afterAt AND (o.created_at < :afterAt OR o.id < :afterId)', {
        afterAt: after.createdAt,
        afterId: after.id,
      });
    }
    return qb.orderBy('o.created_at', 'DESC').addOrderBy('o.id', 'DESC').limit(limit).getMany();
  },
};

/**
 * Order queries that may run on a read replica (lib/read-replicas.ts): orders, lines and history as
 * the API shows them, open quantities per SKU. The workflow, recovery and sweeper read and lock on
 * the primary, in their transactions.
 */
export const orderReads = {
  findByIds: (r: ReadSide, ids: readonly string[]) => orderStore.findByIds(r.manager, ids),
  linesOf: (r: ReadSide, orderIds: readonly string[]) => orderStore.linesOf(r.manager, orderIds),
  historyOf: (r: ReadSide, orderIds: readonly string[]) => orderStore.historyOf(r.manager, orderIds),
  openQuantities: (r: ReadSide, skus: readonly string[]) => orderStore.openQuantities(r.manager, skus),
  page: (r: ReadSide, filter: OrderFilter, limit: number, after: OrderKey | null) => orderStore.page(r.manager, filter, limit, after),
};
