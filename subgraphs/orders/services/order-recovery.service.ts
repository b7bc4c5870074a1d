import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { DomainError } from '../../../lib/errors.js';
import { logger } from '../../../lib/logger.js';
import { orderStore } from '../data/order.store.js';
import type { Caller, OrderSettings } from './order.service.js';
import type { OrderWorkflow } from './order-workflow.js';

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

/** Crash recovery: finishes orders and steps that a crash or an unanswering inventory left half-way (run by the order sweeper). */
export class OrderRecovery {
  constructor(
    private readonly ds: DataSource,
    private readonly flow: OrderWorkflow,
    private readonly settings: Pick<OrderSettings, 'pendingGraceMs'>,
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
        const settled = await this.flow.settle(order, caller, 'reject');
        if (settled?.status === 'PENDING') return false;
        result.settled++;
        return true;
      });
    }
    for (const id of await orderStore.unheldOrderIds(this.ds.manager, before, limit)) {
      await attempt('orderId', id, async () => {
        const order = await orderStore.findById(this.ds.manager, id);
        if (!order?.reservationId || order.reservationHeldAt) return true;
        const held = await this.flow.hold(order, caller);
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
          if ((await this.flow.drive(op, caller)) === 'unavailable') return false;
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
}
