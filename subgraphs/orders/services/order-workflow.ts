import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { isDuplicateKey, writeTransaction } from '../../../lib/db.js';
import { ConflictError, DomainError, NotFoundError, parseInput } from '../../../lib/errors.js';
import { logger } from '../../../lib/logger.js';
import { outboxStore } from '../../../lib/outbox.js';
import { OrderStateError } from '../domain/errors.js';
import { InventoryUnavailableError, type CallMeta, type InsufficientStock, type InventoryClient, type ReservationSummary, type ReserveInput } from '../../../contracts/inventory-client.js';
import { OrderEntity, OrderLineEntity, OrderOperationEntity } from '../data/order.entity.js';
import { type OperationKind, type OrderSourcing } from '../domain/order-vocabulary.js';
import { applyChanges, cancelSchema, inventoryKeyOf, planCancel, parsePayload, statusOf, type LineChange, type OperationPayload, type PlaceOrder, type Rejection } from '../domain/order-rules.js';
import { requestHash } from '../../../contracts/idempotency.js';
import { hasUnfinishedWork, stuckCleared } from '../domain/stuck-order-rules.js';
import { orderStore } from '../data/order.store.js';
import type { Caller, OrderSettings } from './order.service.js';

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

/** What ended a stuck order's problem when one of its steps was applied. */
const STEP_APPLIED: Record<OperationKind, string> = { FULFIL: 'its shipment was applied', CANCEL: 'its cancellation was applied', RETURN: 'its return was recorded' };

/** Told the error when inventory did not answer a call and the work was left for later (the sweeper's cause of a stuck order). */
export type Unanswered = (err: InventoryUnavailableError) => void;

/**
 * The steps an order goes through with inventory, shared by the commands (OrderService) and crash
 * recovery (OrderRecovery): record first, then tell inventory, so a crash in between is finished by
 * a retry or the sweeper. Each step is idempotent.
 */
export class OrderWorkflow {
  constructor(
    private readonly ds: DataSource,
    private readonly inventory: InventoryClient,
    private readonly settings: OrderSettings,
  ) {}

  private get log() {
    return logger().child({ component: 'orders' });
  }

  /** Records the order PENDING, or finds the one already placed under its key (then its lines are not at hand). */
  async insertOrFind(v: PlaceOrder, hash: string, caller: Caller, sourcing: OrderSourcing = 'LIVE'): Promise<{ order: OrderEntity; lines?: OrderLineEntity[] }> {
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
        sourcing,
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
  async settle(order: OrderEntity, caller: Caller, onRefusal: 'withdraw' | 'reject', known?: OrderLineEntity[], unanswered?: Unanswered): Promise<OrderEntity | null> {
    const lines = known ?? (await orderStore.linesOf(this.ds.manager, [order.id]));
    let answer: ReservationSummary | InsufficientStock;
    try {
      const request = reserveRequestOf(order, lines, this.settings.reservationTtlSeconds);
      answer =
        order.sourcing === 'LIVE'
          ? await this.inventory.reserveStock(request, metaOf(caller))
          : await this.inventory.reserveSoldStock(request, order.sourcing === 'SOLD_ANY_LOCATION', metaOf(caller));
    } catch (err) {
      if (err instanceof DomainError) return this.refused(order.id, err, caller, onRefusal);
      if (!(err instanceof InventoryUnavailableError)) throw err;
      this.log.warn({ error: err.message, orderId: order.id }, 'inventory did not answer the reservation; the order stays PENDING');
      unanswered?.(err);
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
    return this.hold(confirmed, caller, unanswered);
  }

  /** Inventory refused the order's reservation: withdraw the order (nothing kept) and rethrow, or reject it. */
  async refused(orderId: string, err: DomainError, caller: Caller, onRefusal: 'withdraw' | 'reject'): Promise<OrderEntity | null> {
    if (onRefusal === 'reject') {
      await this.reject(orderId, { reason: 'INVENTORY_REFUSED', message: `${err.code}: ${err.message}`, lines: [] }, caller.actor);
      return this.current(orderId);
    }
    const withdrawn = await writeTransaction(this.ds, async (tx) => {
      const order = await orderStore.lock(tx, orderId);
      if (!order) return true;
      if (order.status !== 'PENDING') return false;
      await orderStore.delete(tx, orderId);
      await this.clearIfSettled(tx, order, `withdrawn: inventory refused it (${err.code})`, new Date());
      return true;
    });
    if (withdrawn) throw err;
    return this.current(orderId);
  }

  /** PENDING → REJECTED; false when the order was settled otherwise meanwhile. */
  async reject(orderId: string, rejection: Rejection, actor: string | null): Promise<boolean> {
    return writeTransaction(this.ds, async (tx) => {
      const order = await orderStore.lock(tx, orderId);
      if (order?.status !== 'PENDING') return false;
      const now = new Date();
      await orderStore.update(tx, orderId, { status: 'REJECTED', rejection: JSON.stringify(rejection), updatedAt: now });
      const reason = rejection.reason === 'INSUFFICIENT_STOCK' ? `insufficient stock: ${rejection.lines.map((l) => l.sku).join(', ')}` : `${rejection.reason}: ${rejection.message ?? ''}`;
      await orderStore.insertHistory(tx, { orderId, status: 'REJECTED', actor, reason: reason.slice(0, 500), operationId: null, createdAt: now });
      await this.clearIfSettled(tx, order, `rejected (${rejection.reason})`, now);
      return true;
    });
  }

  /** PENDING → CONFIRMED with the reservation; the order when it is confirmed with it, null when it was settled otherwise. */
  async confirm(order: OrderEntity, reservationId: string, actor: string | null): Promise<OrderEntity | null> {
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
  async hold(order: OrderEntity, caller: Caller, unanswered?: Unanswered): Promise<OrderEntity> {
    if (order.reservationHeldAt || !order.reservationId) return order;
    try {
      await this.inventory.holdReservation(order.reservationId, metaOf(caller));
    } catch (err) {
      if (err instanceof InventoryUnavailableError) {
        this.log.warn({ error: err.message, orderId: order.id }, 'inventory did not answer; the sweeper makes the reservation permanent later');
        unanswered?.(err);
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
    await this.markHeld(order.id, now);
    return Object.assign(order, { reservationHeldAt: now });
  }

  /**
   * Notes the reservation permanent. On every order's path, so one guarded statement; an order
   * raised as stuck takes a locked transaction instead, which also clears its problem.
   */
  private async markHeld(orderId: string, now: Date): Promise<void> {
    if (await orderStore.markHeld(this.ds.manager, orderId, now)) return;
    await writeTransaction(this.ds, async (tx) => {
      const order = await orderStore.lock(tx, orderId);
      if (!order) return;
      await orderStore.markHeld(tx, orderId, now, true);
      await this.clearIfSettled(tx, order, 'its reservation was made permanent', now);
    });
  }

  /**
   * In a transaction that finished some of a locked order's work: when the order was raised as
   * stuck and nothing of it is left unfinished (or it was withdrawn), ends its problem with it
   * (CLEARED, in this transaction). Costs nothing for an order that was never raised.
   */
  async clearIfSettled(tx: EntityManager, locked: OrderEntity, how: string, now: Date): Promise<void> {
    if (!locked.stuckRaisedAt) return;
    // Read after this transaction's own changes, under the order's lock: what is left now.
    const order = await orderStore.findById(tx, locked.id);
    if (hasUnfinishedWork(order, (await orderStore.pendingOperationOf(tx, locked.id)) !== null)) return;
    await orderStore.setStuck(tx, locked.id, null);
    await outboxStore.append(tx, [stuckCleared(locked, how, now)], now);
  }

  /** OrderService.cancel's step; here because a confirmed order whose reservation lapsed is cancelled by the workflow itself. */
  cancel(input: unknown, caller: Caller): Promise<OrderEntity> {
    const v = parseInput(cancelSchema, input);
    return this.step('CANCEL', v.orderId, v.idempotencyKey, requestHash(v), caller, (order, lines) => ({
      lines: planCancel(order.status, lines),
      reason: v.reason ?? null,
      locationId: null,
      condition: null,
    }));
  }

  current(orderId: string): Promise<OrderEntity | null> {
    return orderStore.findById(this.ds.manager, orderId);
  }

  /**
   * One lifecycle step: recorded with its line changes on the locked order (or found under its
   * key), then applied in inventory. Steps of one order are applied one at a time: a step still
   * waiting for inventory is finished before the next is recorded, so undoing a refused step never
   * pulls the ground from under a later one.
   */
  async step(
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
  async changeLines(
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
  async drive(op: OrderOperationEntity, caller: Caller, unanswered?: Unanswered): Promise<'done' | 'unavailable'> {
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
      unanswered?.(err);
      return 'unavailable';
    }
    await writeTransaction(this.ds, async (tx) => {
      // The order locked first, as every change of it: a sweep raising it as stuck meanwhile either
      // sees the step done, or is seen here and cleared.
      const locked = await orderStore.lock(tx, op.orderId);
      const now = new Date();
      await orderStore.finishOperation(tx, op.id, op.payload, now);
      if (locked) await this.clearIfSettled(tx, locked, STEP_APPLIED[op.kind], now);
    });
    return 'done';
  }

  /**
   * Undoes the part of a step inventory refused. A step refused whole is forgotten with the status
   * changes it made, as if it had never been asked for; a return refused after some lines were
   * recorded keeps those lines.
   */
  async undo(op: OrderOperationEntity, payload: OperationPayload, applied: LineChange[]): Promise<void> {
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
      await this.clearIfSettled(tx, order, `inventory refused its ${op.kind.toLowerCase()} step, which was undone`, now);
    });
  }
}
