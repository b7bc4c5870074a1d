import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { Queue, Worker, type Job } from 'bullmq';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import type { Config } from '../../lib/config.js';
import { logger } from '../../lib/logger.js';
import { ScheduledWorker } from '../../lib/scheduled-worker.js';
import type { RegistryEvents, RegistryService } from '../services/registry.service.js';
import type { WebhookEvent } from '../data/webhook.entity.js';
import { webhookStore } from '../data/webhook.store.js';

export const WEBHOOK_QUEUE = 'registry-webhooks';
export const REGISTRY_MAINTENANCE_QUEUE = 'registry-maintenance';

/** Headers of a delivery: the signature is `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the webhook's secret>`. */
export const SIGNATURE_HEADER = 'x-omnistock-signature';
export const EVENT_HEADER = 'x-omnistock-event';
export const DELIVERY_HEADER = 'x-omnistock-delivery';

/** The signature header's value for a body sent at `timestamp` (unix seconds). */
export function signWebhook(secret: string, body: string, timestamp: number): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}

/**
 * What a receiver does: recompute the HMAC of `<t>.<body>` and compare in constant time, and refuse
 * a timestamp older than `toleranceSeconds` (a replayed delivery).
 */
export function verifyWebhook(secret: string, body: string, header: string | undefined, toleranceSeconds = 300, now = Date.now()): boolean {
  const parts = Object.fromEntries((header ?? '').split(',').map((p) => p.split('=', 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || !parts.v1 || Math.abs(now / 1000 - t) > toleranceSeconds) return false;
  const expected = Buffer.from(signWebhook(secret, body, t).split('v1=')[1]!, 'hex');
  const given = Buffer.from(parts.v1, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const deliveryJob = z.object({ webhookId: z.string(), event: z.string(), deliveryId: z.string(), body: z.string() });
type DeliveryJob = z.infer<typeof deliveryJob>;

export interface WebhookSettings {
  redisUrl: string;
  keyPrefix: string;
  attempts: number;
  backoffMs: number;
  timeoutMs: number;
}

export function webhookSettings(cfg: Config): WebhookSettings {
  return {
    redisUrl: cfg.REDIS_URL,
    keyPrefix: cfg.REDIS_KEY_PREFIX,
    attempts: cfg.REGISTRY_WEBHOOK_ATTEMPTS,
    backoffMs: cfg.REGISTRY_WEBHOOK_BACKOFF_MS,
    timeoutMs: cfg.REGISTRY_WEBHOOK_TIMEOUT_MS,
  };
}

/**
 * Registry events as signed webhook deliveries: one BullMQ job per subscribed webhook, retried
 * with exponential backoff (5xx, timeouts and network errors alike); a delivery given up is logged.
 * The body is fixed when the event is queued, so every retry sends the same bytes (newly signed).
 */
export class WebhookDispatcher implements RegistryEvents {
  private worker: Worker | null = null;
  private readonly log = logger().child({ component: 'registry-webhooks' });

  private constructor(
    private readonly ds: DataSource,
    private readonly queue: Queue,
    private readonly settings: WebhookSettings,
  ) {}

  /** A dispatcher that queues deliveries; with `deliver`, this process also sends them. */
  static create(ds: DataSource, settings: WebhookSettings, opts: { deliver: boolean }): WebhookDispatcher {
    const connection = { url: settings.redisUrl, maxRetriesPerRequest: null };
    const queue = new Queue(WEBHOOK_QUEUE, { connection, prefix: settings.keyPrefix });
    const dispatcher = new WebhookDispatcher(ds, queue, settings);
    queue.on('error', (err) => dispatcher.log.error({ err }, 'webhook queue error'));
    if (opts.deliver) dispatcher.startWorker(connection);
    return dispatcher;
  }

  async emit(event: WebhookEvent, payload: Record<string, unknown>): Promise<void> {
    const webhooks = await webhookStore.subscribers(this.ds.manager, event);
    if (!webhooks.length) return;
    const createdAt = new Date().toISOString();
    await this.queue.addBulk(
      webhooks.map((w) => {
        const deliveryId = randomUUID();
        const job: DeliveryJob = { webhookId: w.id, event, deliveryId, body: JSON.stringify({ id: deliveryId, event, createdAt, data: payload }) };
        return {
          name: event,
          data: job,
          opts: {
            jobId: deliveryId,
            attempts: this.settings.attempts,
            backoff: { type: 'exponential', delay: this.settings.backoffMs },
            removeOnComplete: 1000,
            removeOnFail: 5000,
          },
        };
      }),
    );
  }

  private startWorker(connection: { url: string; maxRetriesPerRequest: null }): void {
    const worker = new Worker(WEBHOOK_QUEUE, (job: Job) => this.deliver(deliveryJob.parse(job.data)), {
      connection,
      prefix: this.settings.keyPrefix,
      concurrency: 10,
    });
    worker.on('failed', (job, err) => {
      const finalTry = !job || job.attemptsMade >= (job.opts.attempts ?? 1);
      const data = job ? deliveryJob.safeParse(job.data) : null;
      const fields = { err: err.message, delivery: job?.id, webhook: data?.success ? data.data.webhookId : undefined, attempt: job?.attemptsMade };
      if (finalTry) this.log.error(fields, 'webhook delivery failed; giving up');
      else this.log.warn(fields, 'webhook delivery failed; will retry');
    });
    worker.on('error', (err) => this.log.error({ err }, 'webhook worker error'));
    this.worker = worker;
  }

  private async deliver(job: DeliveryJob): Promise<void> {
    const webhook = await webhookStore.webhook(this.ds.manager, job.webhookId);
    if (!webhook) return; // removed since: nothing to deliver to
    const res = await fetch(webhook.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'omnistock-registry',
        [SIGNATURE_HEADER]: signWebhook(webhook.secret, job.body, Math.floor(Date.now() / 1000)),
        [EVENT_HEADER]: job.event,
        [DELIVERY_HEADER]: job.deliveryId,
      },
      body: job.body,
      signal: AbortSignal.timeout(this.settings.timeoutMs),
    });
    await res.body?.cancel().catch(() => {});
    if (!res.ok) throw new Error(`${webhook.url} answered HTTP ${res.status}`);
  }

  /** Waits for deliveries in progress, then closes the worker and the queue. */
  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
  }
}

/**
 * The daily deprecation check (DEPRECATION_REMOVAL_DUE notices): a BullMQ job scheduler that every
 * gateway upserts under one id, so it runs once a day across replicas; each notice is also
 * claimed in SQL, so even an overlapping run sends none twice.
 */
export function startRegistryMaintenance(service: RegistryService, settings: Pick<WebhookSettings, 'redisUrl' | 'keyPrefix'>): Promise<ScheduledWorker> {
  const log = logger().child({ component: 'registry-maintenance' });
  return ScheduledWorker.start({
    queue: REGISTRY_MAINTENANCE_QUEUE,
    job: 'deprecation-notices',
    schedule: { pattern: '0 6 * * *', tz: 'UTC' },
    redisUrl: settings.redisUrl,
    keyPrefix: settings.keyPrefix,
    component: 'registry-maintenance',
    attempts: 3,
    async run() {
      const sent = await service.webhooks.notifyDueDeprecations();
      if (sent) log.info({ sent }, 'deprecation removal notices queued');
      return sent;
    },
  });
}
