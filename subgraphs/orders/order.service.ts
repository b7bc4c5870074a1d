import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { z } from 'zod';
import { manyByKey, oneByKey } from '../../lib/batch.js';
import { isDuplicateKey, writeTransaction } from '../../lib/db.js';
import { ConflictError, DomainError, NotFoundError, parseInput } from '../../lib/errors.js';
import { logger } from '../../lib/logger.js';
import { decodeCursor, toConnection, type Connection } from '../../lib/pagination.js';
import { assertId, assertPageSize, idSchema } from '../../lib/validation.js';
import { OrderStateError } from './errors.js';
import { InventoryUnavailableError, type CallMeta, type InsufficientStock, type InventoryClient, type ReservationSummary, type ReserveInput } from '../../contracts/inventory-client.js';
import {
  OrderEntity,
  OrderLineEntity,
  OrderOperationEntity,
  type OperationKind,
  type OrderStatus,
  type OrderStatusChangeEntity,
} from './order.entity.js';
import {
  applyChanges,
  cancelSchema,
  fulfilSchema,
  inventoryKeyOf,
  parsePayload,
  placeOrderSchema,
  planCancel,
  planFulfil,
  planReturn,
  returnSchema,
  statusOf,
  type LineChange,
  type OperationPayload,
  type PlaceOrder,
  type Rejection,
} from './order-rules.js';
import { requestHash } from '../../contracts/idempotency.js';
import { orderStore, type OrderKey } from './order.store.js';

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
}

/** Who asks: the request id travels to inventory, the actor (x-client-id) is recorded in the status history and inventory's ledger. */
export interface Caller {
  requestId: string;
  actor: string | null;
}

export interface SweepResult {
  /** PENDING orders confirmed or rejected. */
  settled: number;
  /** Confirmed orders whose reservation was made permanent. */
  held: number;
  /** Lifecycle steps applied in inventory (or undone because inventory refused them). */
  steps: number;
  /** Orders and steps still waiting (inventory did not answer, or they failed). */
  waiting: number;
}

export const SWEEPER_ACTOR = 'order-sweeper';

const metaOf = (caller: Caller): CallMeta => ({ requestId: caller.requestId, clientId: caller.actor });

/** The reservation an order asks for: built from the stored order alone, so every retry is the very same request. */
function reserveRequestOf(order: OrderEntity, lines: OrderLineEntity[], fallbackTtl: number): ReserveInput {
  return {
    idempotencyKey: order.id,
    channelId: order.channelId,
    lines: lines.map((l) => ({ sku: l.sku, quantity: l.quantity })),
    ttlSeconds: order.reservationTtlSeconds ?? fallbackTtl,
    pickupLocationId: order.pickupLocationId,
    reference: order.id,
  };
}

const STEP_REASON: Record<OperationKind, string> = { FULFIL: 'shipment', CANCEL: 'cancelled', RETURN: 'return' };

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
  constructor(
    private readonly ds: DataSource,
    private readonly inventory: InventoryClient,
    private readonly settings: OrderSettings,
  ) {}

  private get log() {
    return logger().child({ component: 'orders' });
  }

  /** Rows for the given ids, in key order, null where none exists (the loader's batch function). */
  async byIds(ids: readonly string[]): Promise<(OrderEntity | null)[]> {
    return oneByKey(ids, await orderStore.findByIds(this.ds.manager, ids), (o) => o.id);
  }

  /** Each order's lines by line number. */
  async linesOf(orderIds: readonly string[]): Promise<OrderLineEntity[][]> {
    return manyByKey(orderIds, await orderStore.linesOf(this.ds.manager, orderIds), (l) => l.orderId);
  }

  /** Each order's status changes, oldest first. */
  async historyOf(orderIds: readonly string[]): Promise<OrderStatusChangeEntity[][]> {
    return manyByKey(orderIds, await orderStore.historyOf(this.ds.manager, orderIds), (h) => h.orderId);
  }

  /** Units of each SKU on open orders (PENDING, CONFIRMED, PARTIALLY_FULFILLED) not shipped or cancelled, in key order. */
  async openQuantities(skus: readonly string[]): Promise<number[]> {
    const rows = oneByKey(skus, await orderStore.openQuantities(this.ds.manager, skus), (r) => r.sku);
    return rows.map((r) => r?.quantity ?? 0);
  }

  /**
   * Orders newest first, optionally of one channel, in one status, or created at or after `since`.
   * @throws BadUserInputError for a malformed channel id, a bad page size or cursor
   */
  async list(args: OrderListArgs): Promise<Connection<OrderEntity>> {
    const channelId = args.channelId == null ? null : assertId(args.channelId, 'channelId');
    const size = assertPageSize(args.first);
    const after = args.after ? parseOrderCursor(args.after) : null;
    const rows = await orderStore.page(this.ds.manager, { channelId, status: args.status, since: args.since }, size + 1, after);
    return toConnection(rows, size, orderCursor);
  }

  /**
   * Places an order: recorded PENDING, then every line reserved in inventory in one call (the
   * order id as its idempotency key and reference), then CONFIRMED, or REJECTED with the short
   * lines. A retry with the same idempotency key answers the same order (finishing it if it is
   * still PENDING). PENDING is answered only when inventory did not answer; a retry or the sweeper
   * settles it.
   * @throws BadUserInputError for invalid input, or when inventory finds it invalid (a pickup location without pickup)
   * @throws NotFoundError for an unknown channel, SKU or pickup location (nothing is kept)
   * @throws ConflictError for an idempotency key used for another request, or an inactive channel
   */
  async place(input: unknown, caller: Caller): Promise<OrderEntity> {
    const v = parseInput(placeOrderSchema, input);
    const { order, lines } = await this.insertOrFind(v, requestHash(v), caller);
    if (order.status !== 'PENDING') return order;
    const settled = await this.settle(order, caller, 'withdraw', lines);
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
    return this.step('FULFIL', v.orderId, v.idempotencyKey, requestHash(v), caller, (order, lines) => {
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
  async cancel(input: unknown, caller: Caller): Promise<OrderEntity> {
    const v = parseInput(cancelSchema, input);
    return this.step('CANCEL', v.orderId, v.idempotencyKey, requestHash(v), caller, (order, lines) => ({
      lines: planCancel(order.status, lines),
      reason: v.reason ?? null,
      locationId: null,
      condition: null,
    }));
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
    return this.step('RETURN', v.orderId, v.idempotencyKey, requestHash(v), caller, (_order, lines) => ({
      lines: planReturn(lines, v.lines),
      reason: v.reason ?? null,
      locationId: v.locationId,
      condition: v.condition,
    }));
  }

  /**
   * Finishes what crashes or an unanswering inventory left: PENDING orders placed at least the
   * grace period ago are settled (the reservation asked for again under the same key answers the
   * one that was made, or makes it now), confirmed orders get their reservation made permanent,
   * and steps not yet applied in inventory are applied (or undone when inventory refuses them).
   */
  async sweep(limit: number): Promise<SweepResult> {
    const before = new Date(Date.now() - this.settings.pendingGraceMs);
    const caller: Caller = { requestId: `sweep-${randomUUID()}`, actor: SWEEPER_ACTOR };
    const result: SweepResult = { settled: 0, held: 0, steps: 0, waiting: 0 };
    const attempt = async (what: string, id: string, work: () => Promise<boolean>) => {
      try {
        if (!(await work())) result.waiting++;
      } catch (err) {
        result.waiting++;
        this.log.error({ err, [what]: id }, 'sweeping failed');
      }
    };
    for (const id of await orderStore.pendingOrderIds(this.ds.manager, before, limit)) {
      await attempt('orderId', id, async () => {
        const order = await orderStore.findById(this.ds.manager, id);
        if (order?.status !== 'PENDING') return true;
        const settled = await this.settle(order, caller, 'reject');
        if (settled?.status === 'PENDING') return false;
        result.settled++;
        return true;
      });
    }
    for (const id of await orderStore.unheldOrderIds(this.ds.manager, before, limit)) {
      await attempt('orderId', id, async () => {
        const order = await orderStore.findById(this.ds.manager, id);
        if (!order?.reservationId || order.reservationHeldAt) return true;
        const held = await this.hold(order, caller);
        if (!held.reservationHeldAt && (held.status === 'CONFIRMED' || held.status === 'PARTIALLY_FULFILLED')) return false;
        result.held++;
        return true;
      });
    }
    for (const id of await orderStore.pendingOperationIds(this.ds.manager, before, limit)) {
      await attempt('operationId', id, async () => {
        const op = await orderStore.findOperationById(this.ds.manager, id);
        if (op?.state !== 'PENDING') return true;
        try {
          if ((await this.drive(op, caller)) === 'unavailable') return false;
        } catch (err) {
          // Undone: inventory refused it. Nobody is waiting for the answer but the log.
          if (!(err instanceof DomainError)) throw err;
          this.log.warn({ err, operationId: id, orderId: op.orderId }, 'inventory refused an unfinished order step; it was undone');
        }
        result.steps++;
        return true;
      });
    }
    return result;
  }

  /** Records the order PENDING, or finds the one already placed under its key (then its lines are not at hand). */
  private async insertOrFind(v: PlaceOrder, hash: string, caller: Caller): Promise<{ order: OrderEntity; lines?: OrderLineEntity[] }> {
    for (let attempt = 1; ; attempt++) {
      const now = new Date();
      const order = Object.assign(new OrderEntity(), {
        id: randomUUID(),
        channelId: v.channelId,
        customerReference: v.customerReference,
        status: 'PENDING' as const,
        fulfilmentMethod: v.fulfilment.method,
        destinationRegion: v.fulfilment.destinationRegion,
        pickupLocationId: v.fulfilment.pickupLocationId,
        idempotencyKey: v.idempotencyKey,
        requestHash: hash,
        reservationId: null,
        reservationTtlSeconds: this.settings.reservationTtlSeconds,
        reservationHeldAt: null,
        rejection: null,
        createdAt: now,
        updatedAt: now,
      });
      const lines = v.lines.map((l, i) =>
        Object.assign(new OrderLineEntity(), {
          id: randomUUID(),
          orderId: order.id,
          lineNumber: i + 1,
          sku: l.sku,
          quantity: l.quantity,
          fulfilledQuantity: 0,
          cancelledQuantity: 0,
          returnedQuantity: 0,
        }),
      );
      try {
        await writeTransaction(this.ds, async (tx) => {
          await orderStore.insert(tx, order, lines);
          await orderStore.insertHistory(tx, { orderId: order.id, status: 'PENDING', actor: caller.actor, reason: 'placed', operationId: null, createdAt: now });
        });
        return { order, lines };
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
      const existing = await orderStore.findByIdempotencyKey(this.ds.manager, v.idempotencyKey);
      if (existing) {
        if (existing.requestHash !== hash) {
          throw new ConflictError('idempotency key reused with a different request', { idempotencyKey: v.idempotencyKey, orderId: existing.id });
        }
        return { order: existing };
      }
      // The order under this key was refused by inventory and withdrawn meanwhile: place it anew.
      if (attempt >= 3) throw new ConflictError('The order under this idempotency key keeps being withdrawn', { idempotencyKey: v.idempotencyKey });
    }
  }

  /**
   * Asks inventory for the order's reservation and confirms or rejects the order by its answer.
   * Several callers may settle one order at once (identical retries, the sweeper): inventory gives
   * them all the one reservation made under the order id, and the order row decides once.
   * @returns the order as it now is (PENDING when inventory did not answer); null when it was withdrawn
   * @throws DomainError inventory's refusal, when `onRefusal` is 'withdraw' (the order is then removed)
   */
  private async settle(order: OrderEntity, caller: Caller, onRefusal: 'withdraw' | 'reject', known?: OrderLineEntity[]): Promise<OrderEntity | null> {
    const lines = known ?? (await orderStore.linesOf(this.ds.manager, [order.id]));
    let answer: ReservationSummary | InsufficientStock;
    try {
      answer = await this.inventory.reserveStock(reserveRequestOf(order, lines, this.settings.reservationTtlSeconds), metaOf(caller));
    } catch (err) {
      if (err instanceof DomainError) return this.refused(order.id, err, caller, onRefusal);
      if (!(err instanceof InventoryUnavailableError)) throw err;
      this.log.warn({ error: err.message, orderId: order.id }, 'inventory did not answer the reservation; the order stays PENDING');
      return this.current(order.id);
    }
    if (answer.__typename === 'InsufficientStock') {
      await this.reject(order.id, { reason: 'INSUFFICIENT_STOCK', message: null, lines: answer.lines }, caller.actor);
      return this.current(order.id);
    }
    if (answer.status !== 'ACTIVE') {
      // Made earlier (before a crash), and lapsed before anyone confirmed the order.
      const message = `reservation ${answer.id} is ${answer.status}`;
      await this.reject(order.id, { reason: 'RESERVATION_EXPIRED', message, lines: [] }, caller.actor);
      return this.current(order.id);
    }
    const confirmed = await this.confirm(order, answer.id, caller.actor);
    if (!confirmed) {
      // Settled meanwhile without this reservation (rejected by a caller that found no stock before
      // it was made): give the stock back now rather than when its time to live ends.
      await this.inventory.releaseReservation(answer.id, metaOf(caller)).catch((err: unknown) => {
        this.log.warn({ err, orderId: order.id, reservationId: answer.id }, 'could not release the reservation of a settled order; it expires');
      });
      return this.current(order.id);
    }
    return this.hold(confirmed, caller);
  }

  /** Inventory refused the order's reservation: withdraw the order (nothing kept) and rethrow, or reject it. */
  private async refused(orderId: string, err: DomainError, caller: Caller, onRefusal: 'withdraw' | 'reject'): Promise<OrderEntity | null> {
    if (onRefusal === 'reject') {
      await this.reject(orderId, { reason: 'INVENTORY_REFUSED', message: `${err.code}: ${err.message}`, lines: [] }, caller.actor);
      return this.current(orderId);
    }
    const withdrawn = await writeTransaction(this.ds, async (tx) => {
      const order = await orderStore.lock(tx, orderId);
      if (!order) return true;
      if (order.status !== 'PENDING') return false;
      await orderStore.delete(tx, orderId);
      return true;
    });
    if (withdrawn) throw err;
    return this.current(orderId);
  }

  /** PENDING → REJECTED; false when the order was settled otherwise meanwhile. */
  private async reject(orderId: string, rejection: Rejection, actor: string | null): Promise<boolean> {
    return writeTransaction(this.ds, async (tx) => {
      const order = await orderStore.lock(tx, orderId);
      if (order?.status !== 'PENDING') return false;
      const now = new Date();
      await orderStore.update(tx, orderId, { status: 'REJECTED', rejection: JSON.stringify(rejection), updatedAt: now });
      const reason = rejection.reason === 'INSUFFICIENT_STOCK' ? `insufficient stock: ${rejection.lines.map((l) => l.sku).join(', ')}` : `${rejection.reason}: ${rejection.message ?? ''}`;
      await orderStore.insertHistory(tx, { orderId, status: 'REJECTED', actor, reason: reason.slice(0, 500), operationId: null, createdAt: now });
      return true;
    });
  }

  /** PENDING → CONFIRMED with the reservation; the order when it is confirmed with it, null when it was settled otherwise. */
  private async confirm(order: OrderEntity, reservationId: string, actor: string | null): Promise<OrderEntity | null> {
    const now = new Date();
    const confirmed = await writeTransaction(this.ds, async (tx) => {
      // A conditional update rather than a locked read: the hot path of every order.
      if (!(await orderStore.confirm(tx, order.id, reservationId, now))) return false;
      await orderStore.insertHistory(tx, { orderId: order.id, status: 'CONFIRMED', actor, reason: 'every line reserved', operationId: null, createdAt: now });
      return true;
    });
    if (confirmed) return Object.assign(order, { status: 'CONFIRMED' as const, reservationId, updatedAt: now });
    const current = await this.current(order.id);
    return current?.reservationId === reservationId ? current : null;
  }

  /**
   * Makes a confirmed order's reservation permanent. Should it have lapsed first (inventory and
   * this service unreachable for its whole time to live), what is still open is cancelled: the
   * order must not promise stock that nothing holds.
   */
  private async hold(order: OrderEntity, caller: Caller): Promise<OrderEntity> {
    if (order.reservationHeldAt || !order.reservationId) return order;
    try {
      await this.inventory.holdReservation(order.reservationId, metaOf(caller));
    } catch (err) {
      if (err instanceof InventoryUnavailableError) {
        this.log.warn({ error: err.message, orderId: order.id }, 'inventory did not answer; the sweeper makes the reservation permanent later');
        return order;
      }
      if (!(err instanceof DomainError)) throw err;
      this.log.error({ err, orderId: order.id, reservationId: order.reservationId }, 'a confirmed order lost its reservation; cancelling what is open');
      try {
        return await this.cancel(
          { orderId: order.id, idempotencyKey: `reservation-lapsed:${order.reservationId}`, reason: `the reservation lapsed: ${err.message}`.slice(0, 500) },
          caller,
        );
      } catch (cancelErr) {
        if (cancelErr instanceof OrderStateError) return (await this.current(order.id)) ?? order;
        throw cancelErr;
      }
    }
    const now = new Date();
    await orderStore.markHeld(this.ds.manager, order.id, now);
    return Object.assign(order, { reservationHeldAt: now });
  }

  private current(orderId: string): Promise<OrderEntity | null> {
    return orderStore.findById(this.ds.manager, orderId);
  }

  /**
   * One lifecycle step: recorded with its line changes on the locked order (or found under its
   * key), then applied in inventory. Steps of one order are applied one at a time: a step still
   * waiting for inventory is finished before the next is recorded, so undoing a refused step never
   * pulls the ground from under a later one.
   */
  private async step(
    kind: OperationKind,
    orderId: string,
    idempotencyKey: string,
    hash: string,
    caller: Caller,
    plan: (order: OrderEntity, lines: OrderLineEntity[]) => OperationPayload,
  ): Promise<OrderEntity> {
    for (let round = 1; ; round++) {
      const prepared = await writeTransaction(this.ds, async (tx) => {
        const order = await orderStore.lock(tx, orderId);
        if (!order) throw new NotFoundError('Order', orderId);
        const prior = await orderStore.findOperation(tx, orderId, idempotencyKey);
        if (prior) {
          if (prior.kind !== kind || prior.requestHash !== hash) {
            throw new ConflictError('idempotency key reused with a different request', { idempotencyKey, orderId });
          }
          return { op: prior, blocking: null };
        }
        const blocking = await orderStore.pendingOperationOf(tx, orderId);
        if (blocking) return { op: null, blocking };
        const lines = await orderStore.linesOf(tx, [orderId]);
        const payload = plan(order, lines);
        const now = new Date();
        const op = Object.assign(new OrderOperationEntity(), {
          id: randomUUID(),
          orderId,
          idempotencyKey,
          kind,
          requestHash: hash,
          payload: JSON.stringify(payload),
          state: 'PENDING' as const,
          actor: caller.actor,
          attempts: 0,
          lastError: null,
          createdAt: now,
          completedAt: null,
        });
        await orderStore.insertOperation(tx, op);
        await this.changeLines(tx, order, lines, op, payload.lines, 1, payload.reason ?? STEP_REASON[kind], caller.actor, now);
        return { op, blocking: null };
      });
      if (prepared.blocking) {
        let outcome: 'done' | 'unavailable' = 'done';
        try {
          outcome = await this.drive(prepared.blocking, caller);
        } catch (err) {
          // Refused and undone: its owner learns of it from the order; ours may go ahead.
          if (!(err instanceof DomainError)) throw err;
        }
        // Each round finishes one earlier step; only an unanswering inventory (or a flood of steps) ends the wait.
        if (outcome === 'unavailable' || round >= 50) {
          throw new InventoryUnavailableError(`an earlier step of order ${orderId} is still waiting to be applied`);
        }
        continue;
      }
      if (prepared.op.state === 'PENDING') await this.drive(prepared.op, caller);
      return (await this.current(orderId))!;
    }
  }

  /** Moves the lines' counters by a step (sign -1 undoes it) and the order's status with them, on the locked order. */
  private async changeLines(
    tx: EntityManager,
    order: OrderEntity,
    lines: OrderLineEntity[],
    op: OrderOperationEntity,
    changes: LineChange[],
    sign: 1 | -1,
    reason: string,
    actor: string | null,
    now: Date,
  ): Promise<void> {
    await orderStore.changeLines(tx, op.kind, changes, sign);
    const status = statusOf(applyChanges(lines, op.kind, changes, sign));
    await orderStore.update(tx, order.id, status === order.status ? { updatedAt: now } : { status, updatedAt: now });
    // Undoing removes the step's own history rows instead (deleteOperation).
    if (status !== order.status && sign === 1) {
      await orderStore.insertHistory(tx, { orderId: order.id, status, actor, reason: reason.slice(0, 500), operationId: op.id, createdAt: now });
    }
  }

  /**
   * Applies a recorded step in inventory under keys derived from the step's id, so repeating it
   * (a retry, the sweeper, two callers at once) changes inventory once.
   * @returns 'unavailable' when inventory did not answer (the step stays PENDING)
   * @throws DomainError inventory's refusal, after the refused part of the step was undone
   */
  private async drive(op: OrderOperationEntity, caller: Caller): Promise<'done' | 'unavailable'> {
    const order = await this.current(op.orderId);
    if (!order) throw new NotFoundError('Order', op.orderId);
    const payload = parsePayload(op.payload);
    const meta = metaOf(caller);
    const key = inventoryKeyOf(op.id);
    const applied: LineChange[] = [];
    try {
      if (op.kind === 'FULFIL') {
        await this.inventory.commitReservation(
          { reservationId: order.reservationId!, idempotencyKey: key, lines: payload.lines.map((l) => ({ sku: l.sku, quantity: l.quantity })) },
          meta,
        );
      } else if (op.kind === 'CANCEL') {
        // Orders imported without a reservation hold nothing to release.
        if (order.reservationId) await this.inventory.releaseReservation(order.reservationId, meta);
      } else {
        for (const line of payload.lines) {
          await this.inventory.recordReturn(
            { idempotencyKey: `${key}:${line.sku}`, sku: line.sku, locationId: payload.locationId!, quantity: line.quantity, condition: payload.condition!, reference: order.id },
            meta,
          );
          applied.push(line);
        }
      }
    } catch (err) {
      if (err instanceof DomainError) {
        await this.undo(op, payload, applied);
        throw err;
      }
      if (!(err instanceof InventoryUnavailableError)) throw err;
      this.log.warn({ error: err.message, orderId: op.orderId, operationId: op.id, kind: op.kind }, 'inventory did not answer; the step stays recorded and is applied later');
      await writeTransaction(this.ds, (tx) => orderStore.noteOperationFailure(tx, op.id, err.message));
      return 'unavailable';
    }
    await writeTransaction(this.ds, (tx) => orderStore.finishOperation(tx, op.id, op.payload, new Date()));
    return 'done';
  }

  /**
   * Undoes the part of a step inventory refused. A step refused whole is forgotten with the status
   * changes it made, as if it had never been asked for; a return refused after some lines were
   * recorded keeps those lines.
   */
  private async undo(op: OrderOperationEntity, payload: OperationPayload, applied: LineChange[]): Promise<void> {
    const refused = payload.lines.filter((l) => !applied.includes(l));
    await writeTransaction(this.ds, async (tx) => {
      const order = await orderStore.lock(tx, op.orderId);
      const current = await orderStore.findOperationById(tx, op.id);
      // Another caller applied or undid it meanwhile.
      if (!order || current?.state !== 'PENDING') return;
      const now = new Date();
      const lines = await orderStore.linesOf(tx, [op.orderId]);
      await this.changeLines(tx, order, lines, op, refused, -1, 'undone', null, now);
      if (applied.length) await orderStore.finishOperation(tx, op.id, JSON.stringify({ ...payload, lines: applied }), now);
      else await orderStore.deleteOperation(tx, op.id);
    });
  }
}
