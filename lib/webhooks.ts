import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { Agent, fetch } from 'undici';
import { z } from 'zod';
import { forbiddenHost, guardedLookup } from './forbidden-addresses.js';
import { bullmqConnection, closeWorker, type RedisTarget } from './redis.js';
import { bullmqPrefix } from './redis-keys.js';

/**
 * Signed webhook deliveries, shared by every part that tells the outside world about its events
 * (the registry, the exceptions inbox): one BullMQ job per (event, webhook), retried with
 * exponential backoff (5xx, timeouts and network errors alike), a delivery given up logged. The body
 * is fixed when the event is queued, so every retry sends the same bytes (newly signed). Sockets
 * resolve names through `guardedLookup`, so no webhook reaches a metadata or link-local address,
 * whatever its name resolves to.
 */

/** The signature is `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the webhook's secret>`. */
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

/** Why a webhook URL is refused, or null: http(s) only, and no metadata or link-local host. */
export function webhookUrlProblem(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'not a URL';
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return 'only http and https URLs receive webhooks';
  if (parsed.username || parsed.password) return 'credentials in a webhook URL would be sent to whoever answers it';
  if (forbiddenHost(parsed.hostname)) return 'metadata and link-local addresses receive no webhooks';
  return null;
}

/** A new webhook's signing secret. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64url')}`;
}

const deliveryJob = z.object({ webhookId: z.string(), event: z.string(), deliveryId: z.string(), body: z.string() });
type DeliveryJob = z.infer<typeof deliveryJob>;

export interface WebhookDeliverySettings {
  queue: string;
  redis: RedisTarget;
  keyPrefix: string;
  attempts: number;
  backoffMs: number;
  timeoutMs: number;
  /** Sent as User-Agent. */
  agent: string;
  log: Logger;
}

/** Where a webhook is and its secret; null once it was removed. */
export type WebhookLookup = (webhookId: string) => Promise<{ url: string; secret: string } | null>;

export class WebhookDeliveries {
  private worker: Worker | null = null;
  private readonly dispatcher = new Agent({ connect: { lookup: guardedLookup } });

  private constructor(
    private readonly queue: Queue,
    private readonly settings: WebhookDeliverySettings,
    private readonly lookup: WebhookLookup,
    /** Closes a cluster's client, shared by the queue and the worker (a single server's connections are BullMQ's). */
    private readonly closeConnection: () => Promise<void>,
  ) {}

  /** Deliveries that queue; with `deliver`, this process also sends them. */
  static create(settings: WebhookDeliverySettings, lookup: WebhookLookup, opts: { deliver: boolean }): WebhookDeliveries {
    const { connection, close } = bullmqConnection(settings.redis);
    const queue = new Queue(settings.queue, { connection, prefix: bullmqPrefix(settings.keyPrefix) });
    const deliveries = new WebhookDeliveries(queue, settings, lookup, close);
    queue.on('error', (err) => settings.log.error({ err }, 'webhook queue error'));
    if (opts.deliver) deliveries.startWorker(connection);
    return deliveries;
  }

  /** Queues one delivery of `event` per webhook, all with the same body. */
  async enqueue(webhookIds: readonly string[], event: string, data: Record<string, unknown>): Promise<void> {
    if (!webhookIds.length) return;
    const createdAt = new Date().toISOString();
    await this.queue.addBulk(
      webhookIds.map((webhookId) => {
        const deliveryId = randomUUID();
        const job: DeliveryJob = { webhookId, event, deliveryId, body: JSON.stringify({ id: deliveryId, event, createdAt, data }) };
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

  private startWorker(connection: ConnectionOptions): void {
    const { log } = this.settings;
    const worker = new Worker(this.settings.queue, (job: Job) => this.deliver(deliveryJob.parse(job.data)), {
      connection,
      prefix: bullmqPrefix(this.settings.keyPrefix),
      concurrency: 10,
    });
    worker.on('failed', (job, err) => {
      const finalTry = !job || job.attemptsMade >= (job.opts.attempts ?? 1);
      const data = job ? deliveryJob.safeParse(job.data) : null;
      const fields = { err: err.message, delivery: job?.id, webhook: data?.success ? data.data.webhookId : undefined, attempt: job?.attemptsMade };
      if (finalTry) log.error(fields, 'webhook delivery failed; giving up');
      else log.warn(fields, 'webhook delivery failed; will retry');
    });
    worker.on('error', (err) => log.error({ err }, 'webhook worker error'));
    this.worker = worker;
  }

  private async deliver(job: DeliveryJob): Promise<void> {
    const webhook = await this.lookup(job.webhookId);
    if (!webhook) return; // removed since: nothing to deliver to
    const problem = webhookUrlProblem(webhook.url);
    if (problem) throw new Error(`${webhook.url}: ${problem}`);
    const res = await fetch(webhook.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': this.settings.agent,
        [SIGNATURE_HEADER]: signWebhook(webhook.secret, job.body, Math.floor(Date.now() / 1000)),
        [EVENT_HEADER]: job.event,
        [DELIVERY_HEADER]: job.deliveryId,
      },
      body: job.body,
      redirect: 'manual',
      dispatcher: this.dispatcher,
      signal: AbortSignal.timeout(this.settings.timeoutMs),
    });
    await res.body?.cancel().catch(() => {});
    if (!res.ok) throw new Error(`${webhook.url} answered HTTP ${res.status}`);
  }

  /** Waits for deliveries in progress (while Redis answers: closeWorker), then closes the worker, the queue and the sockets. */
  async close(): Promise<void> {
    if (this.worker) await closeWorker(this.worker);
    await this.queue.close();
    await this.closeConnection();
    await this.dispatcher.close();
  }
}
