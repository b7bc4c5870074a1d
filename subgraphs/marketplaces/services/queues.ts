import { Job, Queue, type ConnectionOptions } from 'bullmq';
import { AVAILABILITY_RULE_SETTLE_MS } from '../../../contracts/events.js';
import { z } from 'zod';
import type { Config } from '../../../lib/config.js';
import { bullmqConnection, redisTarget, type RedisTarget } from '../../../lib/redis.js';
import { bullmqPrefix } from '../../../lib/redis-keys.js';
import type { MarketplaceKind } from '../connectors/types.js';

/** Resyncs and drift-repair runs, by channel. */
export const MAINTENANCE_QUEUE = 'marketplace-maintenance';

/** One queue per marketplace account: the account is what the marketplace rate-limits. */
export function pushQueueName(kind: MarketplaceKind, accountId: string): string {
  // BullMQ keys are ':'-separated; keep account ids from adding separators.
  return `marketplace-push.${kind.toLowerCase()}.${accountId.replace(/[^A-Za-z0-9._-]/g, '_')}`;
}

export const pushJobSchema = z.object({
  channelId: z.string(),
  sku: z.string(),
  /** sortableStreamId of the newest event behind the job ('' when none: a resync or replay). */
  seq: z.string(),
  /** Push even when the quantity equals the last one pushed (drift corrections, replays). */
  force: z.boolean(),
  /**
   * Set: a retired marketplace SKU the channel no longer lists `sku` under (or no longer lists at
   * all), to be pushed 0 (ListingService, marketplace_retired_skus).
   */
  marketplaceSku: z.string().optional(),
});
export type PushJob = z.infer<typeof pushJobSchema>;

/** A job waiting is one per (channel, SKU), and one per (channel, retired marketplace SKU). */
function deduplicationId(job: Pick<PushJob, 'channelId' | 'sku' | 'marketplaceSku'>): string {
  return job.marketplaceSku === undefined ? `${job.channelId}:${job.sku}` : `${job.channelId}:retired:${job.marketplaceSku}`;
}

export const maintenanceJobSchema = z.object({ channelId: z.string() });

export interface PushRequest extends PushJob {
  /** A sale anywhere lowered it, or it went to or from zero (domain/push-rules.ts): ahead of ordinary changes, no coalescing delay. */
  urgent: boolean;
  channelPriority: number;
  /** Not before this many milliseconds: a push that must read a change inventory just applied (AVAILABILITY_RULE_SETTLE_MS). */
  settleMs?: number;
}

/** The channel and marketplace account a push goes to. */
export interface PushTarget {
  kind: MarketplaceKind;
  accountId: string;
  channelId: string;
  channelPriority: number;
}

/**
 * BullMQ priority (lower runs first): urgent changes (sales, zero crossings) ahead of all others, then by the
 * channel's priority (-1000..1000, higher first).
 */
export function pushPriority(channelPriority: number, urgent: boolean): number {
  return (urgent ? 1 : 2048) + (1000 - channelPriority);
}

export interface QueueSettings {
  redis: RedisTarget;
  /** REDIS_KEY_PREFIX (BullMQ's key prefix is its hash-tagged form on a cluster: bullmqPrefix). */
  prefix: string;
  attempts: number;
  backoffMs: number;
  /** MARKETPLACE_COALESCE_MS. */
  coalesceMs: number;
}

/**
 * The producer side of the marketplace queues. A push job per (channel, SKU) is deduplicated while
 * it waits, and one that arrives while it is being pushed is kept (the last one only) and queued
 * when that push ends (BullMQ keepLastIfActive). An ordinary change is delayed by the coalescing
 * window, so the rest of a burst joins it: a SKU changing 1,000 times in a second is pushed once or
 * twice, and the push always reads the quantity fresh, so the latest value is what arrives.
 */
export class MarketplaceQueues {
  private readonly queues = new Map<string, Queue>();
  readonly connection: ConnectionOptions;
  /** BullMQ's key prefix, for the queues here and the workers of the same queues. */
  readonly bullPrefix: string;
  private readonly closeConnection: () => Promise<void>;

  constructor(private readonly settings: QueueSettings) {
    ({ connection: this.connection, close: this.closeConnection } = bullmqConnection(settings.redis));
    this.bullPrefix = bullmqPrefix(settings.prefix);
  }

  /** REDIS_KEY_PREFIX, for the keys of marketplace sync's own (token buckets, locks). */
  get prefix(): string {
    return this.settings.prefix;
  }

  queue(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.connection, prefix: this.bullPrefix });
      this.queues.set(name, queue);
    }
    return queue;
  }

  /**
   * Pushes the SKUs' current quantities to the channel's account whatever it was last told (forced:
   * a replay, a changed listing, a sale the marketplace counted down itself); urgent ones at once,
   * not after the coalescing delay.
   */
  forcePushes(target: PushTarget, skus: readonly string[], urgent = true): Promise<void> {
    return this.enqueuePushes(target.kind, target.accountId, skus.map((sku) => ({ channelId: target.channelId, sku, seq: '', force: true, urgent, channelPriority: target.channelPriority })));
  }

  async enqueuePushes(kind: MarketplaceKind, accountId: string, requests: readonly PushRequest[]): Promise<void> {
    if (!requests.length) return;
    const queue = this.queue(pushQueueName(kind, accountId));
    await queue.addBulk(
      requests.map(({ urgent, channelPriority, settleMs, ...data }) => {
        const delay = Math.max(urgent ? 0 : this.settings.coalesceMs, settleMs ?? 0);
        return {
          name: 'push',
          data,
          opts: {
            deduplication: { id: deduplicationId(data), keepLastIfActive: true },
            priority: pushPriority(channelPriority, urgent),
            ...(delay ? { delay } : {}),
            attempts: this.settings.attempts,
            backoff: { type: 'exponential', delay: this.settings.backoffMs, jitter: 0.5 },
            removeOnComplete: true,
            removeOnFail: true,
          },
        };
      }),
    );
    // A request folded into a job already waiting keeps that job's data: a forced one (drift repair, a
    // listing change) makes it forced, and an urgent one sends it now rather than after its coalescing delay.
    // Each request's own job, all at once: a batch of sales must not take a round trip per SKU in turn.
    await Promise.all(
      requests.map(async (request) => {
        const { urgent, force, channelPriority } = request;
        if (!force && !(urgent && this.settings.coalesceMs)) return;
        const jobId = await queue.getDeduplicationJobId(deduplicationId(request));
        const job = jobId ? await Job.fromId<PushJob>(queue, jobId) : undefined;
        if (!job) return;
        if (force && !job.data.force) await job.updateData({ ...job.data, force: true }).catch(() => {});
        if (!urgent || !this.settings.coalesceMs || !(await job.isDelayed())) return;
        await job.promote().catch(() => {});
        await job.changePriority({ priority: pushPriority(channelPriority, true) }).catch(() => {});
      }),
    );
  }

  /**
   * Queues a resync of the channel. `settled`: one that must read what inventory applied (an
   * availability-rule event), waiting out AVAILABILITY_RULE_SETTLE_MS and never folded into a resync
   * already waiting (which may run before it).
   */
  requestResync(channelId: string, settled = false): Promise<unknown> {
    return this.maintenance('resync', channelId, settled ? { dedupe: `resync-settled:${channelId}`, delay: AVAILABILITY_RULE_SETTLE_MS * 1.5 } : {});
  }

  /** Reads the marketplace's quantities back and corrects drift. */
  requestDriftRepair(channelId: string): Promise<unknown> {
    return this.maintenance('drift', channelId);
  }

  private maintenance(name: 'resync' | 'drift', channelId: string, opts: { dedupe?: string; delay?: number } = {}): Promise<unknown> {
    return this.queue(MAINTENANCE_QUEUE).add(
      name,
      { channelId },
      {
        deduplication: { id: opts.dedupe ?? `${name}:${channelId}`, keepLastIfActive: true },
        ...(opts.delay ? { delay: opts.delay } : {}),
        attempts: 8,
        backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: 100,
        removeOnFail: 1000,
      },
    );
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
    // A cluster's client is shared by these queues and their workers, which closed before (MarketplaceSync.stop).
    await this.closeConnection();
  }
}

/** The queues as the configuration sets them (REDIS_URL or REDIS_CLUSTER_NODES, REDIS_KEY_PREFIX, MARKETPLACE_*). */
export function marketplaceQueues(cfg: Config): MarketplaceQueues {
  return new MarketplaceQueues({
    redis: redisTarget(cfg),
    prefix: cfg.REDIS_KEY_PREFIX,
    attempts: cfg.MARKETPLACE_PUSH_ATTEMPTS,
    backoffMs: cfg.MARKETPLACE_BACKOFF_MS,
    coalesceMs: cfg.MARKETPLACE_COALESCE_MS,
  });
}
