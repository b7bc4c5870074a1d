import { Queue, Worker, type RepeatOptions } from 'bullmq';
import { failureLogLevel } from './db.js';
import { bullmqConnection, closeWorker, type RedisTarget } from './redis.js';
import { bullmqPrefix } from './redis-keys.js';
import { logger } from './logger.js';

export interface ScheduledWorkerOptions {
  /** The BullMQ queue (one per owning module, e.g. `inventory-maintenance`). */
  queue: string;
  /** The job scheduler's id and the job's name. */
  job: string;
  /** When it runs: `{ every: ms }` or a cron `{ pattern, tz }`. */
  schedule: Pick<RepeatOptions, 'every' | 'pattern' | 'tz'>;
  redis: RedisTarget;
  /** REDIS_KEY_PREFIX (BullMQ's key prefix in its hash-tagged form on a cluster). */
  keyPrefix: string;
  /** The logger's component. */
  component: string;
  /** Retries of a failed run before the next scheduled one (default: none, the schedule retries). */
  attempts?: number;
  /**
   * One run. `closing()` turns true once the process is shutting down: a run working off a backlog
   * in batches stops after its current batch.
   */
  run(closing: () => boolean): Promise<unknown>;
}

/**
 * A job that runs on a schedule in whichever process's worker takes it. Every process upserts the
 * same BullMQ job scheduler and BullMQ keeps one, so with several processes each run still happens
 * once. A short history is kept: a run every few seconds would otherwise fill Redis.
 */
export class ScheduledWorker {
  private constructor(
    private readonly queue: Queue,
    private readonly worker: Worker,
    private readonly closeConnection: () => Promise<void>,
  ) {}

  static async start(opts: ScheduledWorkerOptions): Promise<ScheduledWorker> {
    const log = logger().child({ component: opts.component });
    // BullMQ opens (and closes) its own connections to a single server; a cluster's client is ours to close.
    const { connection, close } = bullmqConnection(opts.redis);
    const prefix = bullmqPrefix(opts.keyPrefix);
    const queue = new Queue(opts.queue, { connection, prefix });
    queue.on('error', (err) => log.error({ err }, `${opts.queue} queue error`));
    const retries = opts.attempts ? { attempts: opts.attempts, backoff: { type: 'exponential', delay: 60_000 } } : {};
    try {
      await queue.upsertJobScheduler(opts.job, opts.schedule, {
        name: opts.job,
        opts: { removeOnComplete: 100, removeOnFail: 1000, ...retries },
      });
    } catch (err) {
      await queue.close().catch(() => {});
      await close();
      throw err;
    }
    const worker: Worker = new Worker(opts.queue, () => opts.run(() => worker.closing !== undefined), {
      connection,
      prefix,
      concurrency: 1,
    });
    worker.on('failed', (job, err) => log[failureLogLevel(err)]({ err, jobId: job?.id }, `${opts.job} failed`));
    worker.on('error', (err) => log.error({ err }, `${opts.queue} worker error`));
    return new ScheduledWorker(queue, worker, close);
  }

  /** Waits for a running job to finish (while Redis answers: closeWorker), then closes the worker and the queue. */
  async close(): Promise<void> {
    await closeWorker(this.worker);
    await this.queue.close();
    await this.closeConnection();
  }
}
