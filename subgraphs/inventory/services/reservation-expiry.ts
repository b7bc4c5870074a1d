import type { DataSource } from 'typeorm';
import { logger } from '../../../lib/logger.js';
import { ScheduledWorker } from '../../../lib/scheduled-worker.js';
import { ReservationService } from './reservation.service.js';
import { type RedisTarget } from '../../../lib/redis.js';

export const INVENTORY_MAINTENANCE_QUEUE = 'inventory-maintenance';
/** Reservations per releaseExpired call. */
const RELEASE_BATCH = 1000;

/** Releases expired reservations every RESERVATION_EXPIRY_INTERVAL_MS (run by the jobs process). */
export function startReservationExpiry(opts: { inventory: DataSource; redis: RedisTarget; keyPrefix: string; everyMs: number }): Promise<ScheduledWorker> {
  const log = logger().child({ component: 'reservation-expiry' });
  const reservations = new ReservationService(opts.inventory);
  return ScheduledWorker.start({
    queue: INVENTORY_MAINTENANCE_QUEUE,
    job: 'release-expired',
    schedule: { every: opts.everyMs },
    redis: opts.redis,
    keyPrefix: opts.keyPrefix,
    component: 'reservation-expiry',
    async run(closing) {
      // A backlog (a flash sale's abandoned carts) is worked off in this run, a batch at a time,
      // rather than at one batch per interval; a closing worker stops after its current batch.
      let released = 0;
      for (;;) {
        const count = await reservations.releaseExpired(RELEASE_BATCH);
        released += count;
        if (count < RELEASE_BATCH || closing()) break;
      }
      if (released) log.info({ released }, 'released expired reservations');
      return released;
    },
  });
}
