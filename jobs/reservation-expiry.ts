import { Queue, Worker } from 'bullmq';
import type { DataSource } from 'typeorm';
import { failureLogLevel } from '../lib/db.js';
import { logger } from '../lib/logger.js';
import { ReservationService } from '../subgraphs/inventory/reservation.service.js';

export const MAINTENANCE_QUEUE = 'inventory-maintenance';
const RELEASE_EXPIRED = 'release-expired';
/** Reservations per releaseExpired call. */
const RELEASE_BATCH = 1000;

export interface ReservationExpiryOptions {
  inventory: DataSource;
  redisUrl: string;
  /** REDIS_KEY_PREFIX; BullMQ's own key prefix. */
  keyPrefix: string;
  /** RESERVATION_EXPIRY_INTERVAL_MS. */
  everyMs: number;
}

/**
 * Releases expired reservations on a schedule. The schedule is a BullMQ job scheduler: every jobs
 * process upserts the same one and BullMQ keeps one, so with several processes each run still
 * happens once, on whichever worker takes it.
 */
export class ReservationExpiry {
  private constructor(
    private readonly queue: Queue,
    private readonly worker: Worker,
  ) {}

  static async start(opts: ReservationExpiryOptions): Promise<ReservationExpiry> {
    const log = logger().child({ component: 'reservation-expiry' });
    // BullMQ opens (and closes) its own connections; workers need maxRetriesPerRequest: null.
    const connection = { url: opts.redisUrl, maxRetriesPerRequest: null };
    const queue = new Queue(MAINTENANCE_QUEUE, { connection, prefix: opts.keyPrefix });
    queue.on('error', (err) => log.error({ err }, 'reservation expiry queue error'));
    await queue.upsertJobScheduler(
      RELEASE_EXPIRED,
      { every: opts.everyMs },
      // Keep a short history only: a run every few seconds would otherwise fill Redis.
      { name: RELEASE_EXPIRED, opts: { removeOnComplete: 100, removeOnFail: 1000 } },
    );
    const reservations = new ReservationService(opts.inventory);
    const worker: Worker = new Worker(
      MAINTENANCE_QUEUE,
      async () => {
        // A backlog (a flash sale's abandoned carts) is worked off in this run, a batch at a time,
        // rather than at one batch per interval; a closing worker stops after its current batch.
        let released = 0;
        for (;;) {
          const count = await reservations.releaseExpired(RELEASE_BATCH);
          released += count;
          if (count < RELEASE_BATCH || worker.closing) break;
        }
        if (released) log.info({ released }, 'released expired reservations');
        return released;
      },
      { connection, prefix: opts.keyPrefix, concurrency: 1 },
    );
    worker.on('failed', (job, err) => log[failureLogLevel(err)]({ err, jobId: job?.id }, 'releasing expired reservations failed'));
    worker.on('error', (err) => log.error({ err }, 'reservation expiry worker error'));
    return new ReservationExpiry(queue, worker);
  }

  /** Waits for a running release to finish, then closes the worker and the queue. */
  async close(): Promise<void> {
    await this.worker.close();
    await this.queue.close();
  }
}
