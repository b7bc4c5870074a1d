import { Queue, Worker } from 'bullmq';
import type { DataSource } from 'typeorm';
import { ordersInventoryUrl, type Config } from '../lib/config.js';
import { failureLogLevel } from '../lib/db.js';
import { logger } from '../lib/logger.js';
import { createOrderService } from '../subgraphs/orders/context.js';
import type { OrderService, SweepResult } from '../subgraphs/orders/order.service.js';

export const ORDERS_MAINTENANCE_QUEUE = 'orders-maintenance';
const SWEEP = 'sweep-orders';
/** Orders (and steps) per sweep call. */
const SWEEP_BATCH = 200;

export interface OrderSweeperOptions {
  orders: DataSource;
  cfg: Config;
}

/**
 * Finishes orders that a crash or an unanswering inventory left half-way (see OrderService.sweep):
 * PENDING orders are confirmed or rejected, confirmed orders get their reservation made permanent,
 * recorded steps are applied in inventory. A BullMQ job scheduler every ORDER_SWEEP_INTERVAL_MS:
 * every jobs process upserts the same one, so each run happens once, on whichever worker takes it.
 */
export class OrderSweeper {
  private constructor(
    private readonly queue: Queue,
    private readonly worker: Worker,
  ) {}

  static async start(opts: OrderSweeperOptions): Promise<OrderSweeper> {
    const { cfg } = opts;
    const log = logger().child({ component: 'order-sweeper' });
    const connection = { url: cfg.REDIS_URL, maxRetriesPerRequest: null };
    const queue = new Queue(ORDERS_MAINTENANCE_QUEUE, { connection, prefix: cfg.REDIS_KEY_PREFIX });
    queue.on('error', (err) => log.error({ err }, 'order sweeper queue error'));
    await queue.upsertJobScheduler(
      SWEEP,
      { every: cfg.ORDER_SWEEP_INTERVAL_MS },
      { name: SWEEP, opts: { removeOnComplete: 100, removeOnFail: 1000 } },
    );
    const orders: OrderService = createOrderService(opts.orders, cfg);
    const worker: Worker = new Worker(
      ORDERS_MAINTENANCE_QUEUE,
      async () => {
        const total: SweepResult = { settled: 0, held: 0, steps: 0, waiting: 0 };
        // A backlog is worked off in this run; batches that leave only waiting work end it.
        for (;;) {
          const r = await orders.sweep(SWEEP_BATCH);
          for (const k of Object.keys(total) as (keyof SweepResult)[]) total[k] += r[k];
          const done = r.settled + r.held + r.steps;
          if (done === 0 || done + r.waiting < SWEEP_BATCH || worker.closing) break;
        }
        if (total.settled + total.held + total.steps + total.waiting) log.info({ ...total, inventory: ordersInventoryUrl(cfg) }, 'swept orders');
        return total;
      },
      { connection, prefix: cfg.REDIS_KEY_PREFIX, concurrency: 1 },
    );
    worker.on('failed', (job, err) => log[failureLogLevel(err)]({ err, jobId: job?.id }, 'sweeping orders failed'));
    worker.on('error', (err) => log.error({ err }, 'order sweeper worker error'));
    return new OrderSweeper(queue, worker);
  }

  /** Waits for a running sweep to finish, then closes the worker and the queue. */
  async close(): Promise<void> {
    await this.worker.close();
    await this.queue.close();
  }
}
