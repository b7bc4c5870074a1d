import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { writeTransaction } from '../../../lib/db.js';
import { DomainError, NotFoundError } from '../../../lib/errors.js';
import { logger } from '../../../lib/logger.js';
import { outboxStore } from '../../../lib/outbox.js';
import type { OrderEntity } from '../data/order.entity.js';
import { orderStore } from '../data/order.store.js';
import { hasUnfinishedWork, isStuck, stuckRaised, type StuckStage } from '../domain/stuck-order-rules.js';
import type { Caller, OrderSettings } from './order.service.js';
import type { OrderWorkflow, Unanswered } from './order-workflow.js';

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

/** What one piece of recovery did: finished it, found nothing to do, or left it waiting. */
type Progress = 'done' | 'nothing' | 'waiting';

const OPEN_STATUSES = new Set(['CONFIRMED', 'PARTIALLY_FULFILLED']);

/**
 * Crash recovery: finishes orders and steps that a crash or an unanswering inventory left half-way
 * (run by the order sweeper, and for one order by retryOrder). An order it still cannot finish
 * ORDER_STUCK_AFTER_MS after the unfinished work began is raised as a STUCK_ORDER problem, once;
 * the transaction that settles it clears it (OrderWorkflow.clearIfSettled).
 */
export class OrderRecovery {
  constructor(
    private readonly ds: DataSource,
    private readonly flow: OrderWorkflow,
    private readonly settings: Pick<OrderSettings, 'pendingGraceMs' | 'stuckAfterMs'>,
  ) {}

  private get log() {
    return logger().child({ component: 'orders' });
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
    const attempt = async (what: string, id: string, counter: 'settled' | 'held' | 'steps', work: () => Promise<Progress>) => {
      try {
        const progress = await work();
        if (progress === 'waiting') result.waiting++;
        else if (progress === 'done') result[counter]++;
      } catch (err) {
        result.waiting++;
        this.log.error({ err, [what]: id }, 'sweeping failed');
      }
    };
    for (const id of await orderStore.pendingOrderIds(this.ds.manager, before, limit)) {
      await attempt('orderId', id, 'settled', () => this.settlePending(id, caller));
    }
    for (const id of await orderStore.unheldOrderIds(this.ds.manager, before, limit)) {
      await attempt('orderId', id, 'held', () => this.holdUnheld(id, caller));
    }
    for (const id of await orderStore.pendingOperationIds(this.ds.manager, before, limit)) {
      await attempt('operationId', id, 'steps', () => this.driveStep(id, caller));
    }
    return result;
  }

  /**
   * The sweep of one order, now (retryOrder): whatever of it is unfinished, however recent, goes
   * through the same steps the sweeper takes, each safe beside a sweep or a client doing the same.
   * An order with nothing unfinished comes back unchanged; one inventory still does not answer
   * comes back as it is (PENDING, or its reservation not yet permanent, or a step still recorded).
   * @throws NotFoundError for an unknown order
   */
  async recoverOrder(orderId: string, caller: Caller): Promise<OrderEntity> {
    const order = await orderStore.findById(this.ds.manager, orderId);
    if (!order) throw new NotFoundError('Order', orderId);
    await this.settlePending(orderId, caller);
    await this.holdUnheld(orderId, caller);
    // One at a time, oldest first: OrderWorkflow.step records a step only once the one before was applied.
    for (const id of await orderStore.pendingOperationIdsOf(this.ds.manager, orderId)) await this.driveStep(id, caller);
    return (await this.flow.current(orderId)) ?? order;
  }

  /** Confirms or rejects a PENDING order by inventory's answer to its reservation. */
  private async settlePending(orderId: string, caller: Caller): Promise<Progress> {
    const order = await orderStore.findById(this.ds.manager, orderId);
    if (order?.status !== 'PENDING') return 'nothing';
    return this.raisingWhenStuck(orderId, 'RESERVE', order.createdAt, async (unanswered) => {
      const settled = await this.flow.settle(order, caller, 'reject', undefined, unanswered);
      return settled?.status === 'PENDING' ? 'waiting' : 'done';
    });
  }

  /** Has inventory make an open order's reservation permanent. */
  private async holdUnheld(orderId: string, caller: Caller): Promise<Progress> {
    const order = await orderStore.findById(this.ds.manager, orderId);
    if (!order?.reservationId || order.reservationHeldAt || !OPEN_STATUSES.has(order.status)) return 'nothing';
    // updated_at: when it was confirmed, or last changed since (what unheldOrderIds goes by).
    return this.raisingWhenStuck(orderId, 'HOLD', order.updatedAt, async (unanswered) => {
      const held = await this.flow.hold(order, caller, unanswered);
      return !held.reservationHeldAt && OPEN_STATUSES.has(held.status) ? 'waiting' : 'done';
    });
  }

  /** Applies a recorded step in inventory, or undoes it when inventory refuses it. */
  private async driveStep(operationId: string, caller: Caller): Promise<Progress> {
    const op = await orderStore.findOperationById(this.ds.manager, operationId);
    if (op?.state !== 'PENDING') return 'nothing';
    return this.raisingWhenStuck(op.orderId, op.kind, op.createdAt, async (unanswered) => {
      try {
        if ((await this.flow.drive(op, caller, unanswered)) === 'unavailable') return 'waiting';
      } catch (err) {
        // Undone: inventory refused it. Nobody is waiting for the answer but the log.
        if (!(err instanceof DomainError)) throw err;
        this.log.warn({ err, operationId, orderId: op.orderId }, 'inventory refused an unfinished order step; it was undone');
      }
      return 'done';
    });
  }

  /**
   * Runs one piece of an order's recovery that began at `since`. Left waiting (inventory did not
   * answer) or failed, the order is raised as stuck once it has waited ORDER_STUCK_AFTER_MS.
   */
  private async raisingWhenStuck(orderId: string, stage: StuckStage, since: Date, work: (unanswered: Unanswered) => Promise<Progress>): Promise<Progress> {
    let why: unknown = null;
    let progress: Progress;
    try {
      progress = await work((err) => {
        why = err;
      });
    } catch (err) {
      await this.raiseIfStuck(orderId, stage, since, err).catch((raiseErr: unknown) => this.log.error({ err: raiseErr, orderId }, 'could not raise a stuck order'));
      throw err;
    }
    if (progress === 'waiting') await this.raiseIfStuck(orderId, stage, since, why);
    return progress;
  }

  /** RAISED for the order, with the flag that keeps later sweeps from raising it again, in one transaction. */
  private async raiseIfStuck(orderId: string, stage: StuckStage, since: Date, why: unknown): Promise<void> {
    const stuckAfterMs = this.settings.stuckAfterMs;
    const now = new Date();
    if (stuckAfterMs === undefined || !isStuck(since, now, stuckAfterMs)) return;
    const raised = await writeTransaction(this.ds, async (tx) => {
      // Locked, as every transaction that settles it locks it: either it is settled by now and
      // nothing is raised, or its settling transaction finds the flag and clears it.
      const order = await orderStore.lock(tx, orderId);
      if (!order || order.stuckRaisedAt) return false;
      if (!hasUnfinishedWork(order, (await orderStore.pendingOperationOf(tx, orderId)) !== null)) return false;
      const units = (await orderStore.linesOf(tx, [orderId])).reduce((sum, l) => sum + l.quantity, 0);
      await orderStore.setStuck(tx, orderId, now);
      await outboxStore.append(tx, [stuckRaised({ id: order.id, channelId: order.channelId, status: order.status, units }, stage, why, since, now)], now);
      return true;
    });
    if (raised) this.log.warn({ orderId, stage, since }, 'raised a stuck order as a problem');
  }
}
