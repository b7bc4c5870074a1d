import type { DataSource } from 'typeorm';
import { ordersInventoryUrl, type Config } from '../../../lib/config.js';
import { logger } from '../../../lib/logger.js';
import { ScheduledWorker } from '../../../lib/scheduled-worker.js';
import { createOrderRecovery } from '../api/context.js';
import type { SweepResult } from './order-recovery.service.js';
import { redisTarget } from '../../../lib/redis.js';

export const ORDERS_MAINTENANCE_QUEUE = 'orders-maintenance';
/** Orders (and steps) per sweep call. */
const SWEEP_BATCH = 200;

/**
 * Finishes orders that a crash or an unanswering inventory left half-way (see OrderRecovery.sweep):
 * PENDING orders are confirmed or rejected, confirmed orders get their reservation made permanent,
 * recorded steps are applied in inventory. Every ORDER_SWEEP_INTERVAL_MS, run by the jobs process.
 */
export function startOrderSweeper(opts: { orders: DataSource; cfg: Config }): Promise<ScheduledWorker> {
  const { cfg } = opts;
  const log = logger().child({ component: 'order-sweeper' });
  const recovery = createOrderRecovery(opts.orders, cfg);
  return ScheduledWorker.start({
    queue: ORDERS_MAINTENANCE_QUEUE,
    job: 'sweep-orders',
    schedule: { every: cfg.ORDER_SWEEP_INTERVAL_MS },
    redis: redisTarget(cfg),
    keyPrefix: cfg.REDIS_KEY_PREFIX,
    component: 'order-sweeper',
    async run(closing) {
      const total: SweepResult = { settled: 0, held: 0, steps: 0, waiting: 0 };
      // A backlog is worked off in this run; batches that leave only waiting work end it.
      for (;;) {
        const r = await recovery.sweep(SWEEP_BATCH);
        for (const k of Object.keys(total) as (keyof SweepResult)[]) total[k] += r[k];
        const done = r.settled + r.held + r.steps;
        if (done === 0 || done + r.waiting < SWEEP_BATCH || closing()) break;
      }
      if (total.settled + total.held + total.steps + total.waiting) log.info({ ...total, inventory: ordersInventoryUrl(cfg) }, 'swept orders');
      return total;
    },
  });
}
