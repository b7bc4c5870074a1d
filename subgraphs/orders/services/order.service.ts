import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { manyByKey, oneByKey } from '../../../lib/batch.js';
import { ConflictError, parseInput } from '../../../lib/errors.js';
import { decodeCursor, toConnection, type Connection } from '../../../lib/pagination.js';
import { assertId, assertPageSize, idSchema } from '../../../lib/validation.js';
import { OrderStateError } from '../domain/errors.js';
import type { InventoryClient } from '../../../contracts/inventory-client.js';
import { OrderEntity, OrderLineEntity, type OrderStatusChangeEntity } from '../data/order.entity.js';
import { type OrderSourcing, type OrderStatus } from '../domain/order-vocabulary.js';
import { fulfilSchema, placeOrderSchema, planFulfil, planReturn, returnSchema } from '../domain/order-rules.js';
import { requestHash } from '../../../contracts/idempotency.js';
import { orderReads, orderStore, type OrderKey } from '../data/order.store.js';
import type { Reads } from '../../../lib/read-replicas.js';
import { OrderRecovery } from './order-recovery.service.js';
import { OrderWorkflow } from './order-workflow.js';

const cursorSchema = z.tuple([z.iso.datetime(), idSchema]);

/** Cursor values of an order in the newest-first listing. */
export function orderCursor(o: OrderKey): [string, string] {
  return [o.createdAt.toISOString(), o.id];
}

/**
 * @throws BadUserInputError when the cursor was not made by orderCursor
 */
export function parseOrderCursor(cursor: string): OrderKey {
  const [createdAt, id] = parseInput(cursorSchema, decodeCursor(cursor, 2), 'cursor');
  return { createdAt: new Date(createdAt), id };
}

export interface OrderListArgs {
  channelId?: string | null;
  status?: OrderStatus | null;
  since?: Date | null;
  first?: number | null;
  after?: string | null;
}

export interface OrderSettings {
  /** ORDER_RESERVATION_TTL_SECONDS: how long a reservation holds stock before its order is confirmed. */
  reservationTtlSeconds: number;
  /** ORDER_PENDING_GRACE_MS: how old a PENDING order or an unfinished step must be before the sweeper takes it. */
  pendingGraceMs: number;
  /** ORDER_STUCK_AFTER_MS: how long an order may stay unfinished before it is raised as a STUCK_ORDER problem; absent, never. */
  stuckAfterMs?: number;
}

/** Who asks: the request id travels to inventory, the actor (x-client-id) is recorded in the status history and inventory's ledger. */
export interface Caller {
  requestId: string;
  actor: string | null;
}

/**
 * Orders: placing them (all lines reserved in inventory, or none), then shipments, cancellation and
 * returns, each idempotent, each recorded here before inventory is told so that a crash in between
 * is finished by a retry or the sweeper.
 *
 * The invariants, whatever crashes or races: an order is CONFIRMED only with a reservation, and
 * inventory makes a reservation permanent only after its order is CONFIRMED. So a reservation
 * whose order was never confirmed holds stock only until its time to live ends.
 */
export class OrderService {
  private readonly flow: OrderWorkflow;
  private readonly recovery: OrderRecovery;

  constructor(
    private readonly ds: DataSource,
    inventory: InventoryClient,
    settings: OrderSettings,
  ) {
    this.flow = new OrderWorkflow(ds, inventory, settings);
    this.recovery = new OrderRecovery(ds, this.flow, settings);
  }

  /** Rows for the given ids, in key order, null where none exists (the loader's batch function). */
  async byIds(reads: Reads, ids: readonly string[]): Promise<(OrderEntity | null)[]> {
    return oneByKey(ids, await reads.run((r) => orderReads.findByIds(r, ids)), (o) => o.id);
  }

  /** Each order's lines by line number. */
  async linesOf(reads: Reads, orderIds: readonly string[]): Promise<OrderLineEntity[][]> {
    return manyByKey(orderIds, await reads.run((r) => orderReads.linesOf(r, orderIds)), (l) => l.orderId);
  }

  /** Each order's status changes, oldest first. */
  async historyOf(reads: Reads, orderIds: readonly string[]): Promise<OrderStatusChangeEntity[][]> {
    return manyByKey(orderIds, await reads.run((r) => orderReads.historyOf(r, orderIds)), (h) => h.orderId);
  }

  /** Units of each SKU on open orders (PENDING, CONFIRMED, PARTIALLY_FULFILLED) not shipped or cancelled, in key order. */
  async openQuantities(reads: Reads, skus: readonly string[]): Promise<number[]> {
    const rows = oneByKey(skus, await reads.run((r) => orderReads.openQuantities(r, skus)), (r) => r.sku);
    return rows.map((r) => r?.quantity ?? 0);
  }

  /**
   * Orders newest first, optionally of one channel, in one status, or created at or after `since`.
   * @throws BadUserInputError for a malformed channel id, a bad page size or cursor
   */
  async list(reads: Reads, args: OrderListArgs): Promise<Connection<OrderEntity>> {
    const channelId = args.channelId == null ? null : assertId(args.channelId, 'channelId');
    const size = assertPageSize(args.first);
    const after = args.after ? parseOrderCursor(args.after) : null;
    const rows = await reads.run((r) => orderReads.page(r, { channelId, status: args.status, since: args.since }, size + 1, after));
    return toConnection(rows, size, orderCursor);
  }

  /**
   * Places an order (for a live buyer, or with `sourcing` SOLD or SOLD_ANY_LOCATION a sale the
   * channel already made: see contracts/inventory-client.ts Sourcing): recorded PENDING, then every line reserved in inventory in one call (the
   * order id as its idempotency key and reference), then CONFIRMED, or REJECTED with the short
   * lines. A retry with the same idempotency key answers the same order (finishing it if it is
   * still PENDING). PENDING is answered only when inventory did not answer; a retry or the sweeper
   * settles it.
   * @throws BadUserInputError for invalid input, or when inventory finds it invalid (a pickup location without pickup)
   * @throws NotFoundError for an unknown channel, SKU or pickup location (nothing is kept)
   * @throws ConflictError for an idempotency key used for another request, or an inactive channel
   */
  async place(input: unknown, caller: Caller, sourcing: OrderSourcing = 'LIVE'): Promise<OrderEntity> {
    const v = parseInput(placeOrderSchema, input);
    // The sourcing is part of the request: one key for a live and a sold order is a CONFLICT.
    const { order, lines } = await this.flow.insertOrFind(v, requestHash(sourcing === 'LIVE' ? v : { ...v, sourcing }), caller, sourcing);
    if (order.status !== 'PENDING') return order;
    const settled = await this.flow.settle(order, caller, 'withdraw', lines);
    if (!settled) throw new ConflictError('The order was withdrawn while it was being placed; send it again', { idempotencyKey: v.idempotencyKey });
    return settled;
  }

  /**
   * Ships some lines (or everything still open): inventory commits that part of the reservation.
   * A retry with the same key answers the order and changes nothing.
   * @throws NotFoundError for an unknown order
   * @throws OrderStateError (BAD_USER_INPUT) unless the order is CONFIRMED or PARTIALLY_FULFILLED
   * @throws BadUserInputError for a SKU not on the order or more than is left to ship
   * @throws ConflictError for a key used for another request, or when inventory no longer holds the stock
   * @throws InsufficientStockError when inventory's on-hand fell below what the reservation holds
   */
  async fulfil(input: unknown, caller: Caller): Promise<OrderEntity> {
    const v = parseInput(fulfilSchema, input);
    return this.flow.step('FULFIL', v.orderId, v.idempotencyKey, requestHash(v), caller, (order, lines) => {
      const changes = planFulfil(order.status, lines, v.lines);
      if (!order.reservationId) throw new OrderStateError('The order holds no reservation to ship from', order.status);
      return { lines: changes, reason: v.reason ?? null, locationId: null, condition: null };
    });
  }

  /**
   * Cancels what is still open; inventory releases what the reservation still holds.
   * @throws NotFoundError for an unknown order
   * @throws OrderStateError (BAD_USER_INPUT) unless the order is CONFIRMED or PARTIALLY_FULFILLED
   * @throws ConflictError for a key used for another request
   */
  cancel(input: unknown, caller: Caller): Promise<OrderEntity> {
    return this.flow.cancel(input, caller);
  }

  /**
   * Runs the sweeper's recovery of one order now (a STUCK_ORDER problem's action): settles it if
   * PENDING, has its reservation made permanent, applies its recorded steps. An order with nothing
   * unfinished comes back unchanged.
   * @throws BadUserInputError for a malformed id
   * @throws NotFoundError for an unknown order
   */
  retry(id: string, caller: Caller): Promise<OrderEntity> {
    return this.recovery.recoverOrder(assertId(id), caller);
  }


  /**
   * Takes shipped units back at a location: RETURN movements in inventory, to on-hand when
   * RESALABLE, to damaged when DAMAGED.
   * @throws NotFoundError for an unknown order, or a location inventory does not know (nothing is kept)
   * @throws BadUserInputError for a SKU not on the order or more than shipped and not yet returned
   * @throws ConflictError for a key used for another request
   */
  async returnLines(input: unknown, caller: Caller): Promise<OrderEntity> {
    const v = parseInput(returnSchema, input);
    return this.flow.step('RETURN', v.orderId, v.idempotencyKey, requestHash(v), caller, (_order, lines) => ({
      lines: planReturn(lines, v.lines),
      reason: v.reason ?? null,
      locationId: v.locationId,
      condition: v.condition,
    }));
  }
}
