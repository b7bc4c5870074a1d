import type { DataSource } from 'typeorm';
import type { Config } from '../../../lib/config.js';
import { logger } from '../../../lib/logger.js';
import { closeRedis, createRedis, redisTarget } from '../../../lib/redis.js';
import { ScheduledWorker } from '../../../lib/scheduled-worker.js';
import { WebhookDeliveries } from '../../../lib/webhooks.js';
import { createExceptionServices } from '../api/context.js';
import { EXCEPTION_WEBHOOK_QUEUE, ExceptionWebhookService } from '../services/webhook.service.js';
import { ExceptionsFeed } from './exceptions-feed.js';

export const EXCEPTIONS_MAINTENANCE_QUEUE = 'exceptions-maintenance';
/** A queue of its own: a ScheduledWorker's worker runs every job of its queue. */
export const ANOMALY_PRUNE_QUEUE = 'exceptions-prune';

/**
 * The exceptions subgraph's work in the jobs process: the feed (problem signals, the ledger's
 * daily figures, webhook deliveries of exception events) and anomaly detection every
 * ANOMALY_DETECTION_INTERVAL_MS (once across processes: a BullMQ job scheduler).
 * @returns what stops them, in order
 */
export async function startExceptionJobs(ds: DataSource, cfg: Config): Promise<{ queueNames: string[]; close(): Promise<void> }> {
  const log = logger().child({ component: 'exceptions' });
  const { exceptions, anomalies, detection } = createExceptionServices(ds, cfg);
  const deliveries = WebhookDeliveries.create(
    {
      queue: EXCEPTION_WEBHOOK_QUEUE,
      redis: redisTarget(cfg),
      keyPrefix: cfg.REDIS_KEY_PREFIX,
      attempts: cfg.EXCEPTION_WEBHOOK_ATTEMPTS,
      backoffMs: cfg.EXCEPTION_WEBHOOK_BACKOFF_MS,
      timeoutMs: cfg.EXCEPTION_WEBHOOK_TIMEOUT_MS,
      agent: 'omnistock-exceptions',
      log: log.child({ component: 'exception-webhooks' }),
    },
    (id) => webhooks.lookup(id),
    { deliver: true },
  );
  const webhooks = new ExceptionWebhookService(ds, deliveries);
  const feedRedis = createRedis(redisTarget(cfg));
  const feed = new ExceptionsFeed({ redis: feedRedis, keyPrefix: cfg.REDIS_KEY_PREFIX, claimIdleMs: cfg.REPLICA_CLAIM_IDLE_MS, exceptions, anomalies, webhooks });
  await feed.start();
  const detector = await ScheduledWorker.start({
    queue: EXCEPTIONS_MAINTENANCE_QUEUE,
    job: 'detect-anomalies',
    schedule: { every: cfg.ANOMALY_DETECTION_INTERVAL_MS },
    redis: redisTarget(cfg),
    keyPrefix: cfg.REDIS_KEY_PREFIX,
    component: 'anomaly-detection',
    async run() {
      const run = await detection.run();
      log.info(run, 'anomaly detection ran');
      return run;
    },
  });
  // Daily figures older than the window, and the record of stock events summed, go once a day.
  const pruner = await ScheduledWorker.start({
    queue: ANOMALY_PRUNE_QUEUE,
    job: 'prune-anomaly-ledger',
    schedule: { pattern: '30 3 * * *', tz: 'UTC' },
    redis: redisTarget(cfg),
    keyPrefix: cfg.REDIS_KEY_PREFIX,
    component: 'anomaly-ledger-prune',
    attempts: 3,
    run: () => anomalies.prune(new Date()),
  });
  return {
    queueNames: [EXCEPTIONS_MAINTENANCE_QUEUE, ANOMALY_PRUNE_QUEUE, EXCEPTION_WEBHOOK_QUEUE],
    async close() {
      await pruner.close();
      await detector.close();
      await feed.stop();
      await deliveries.close();
      await closeRedis(feedRedis);
    },
  };
}
