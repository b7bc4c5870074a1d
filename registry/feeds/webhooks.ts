import type { DataSource } from 'typeorm';
import type { Config } from '../../lib/config.js';
import { logger } from '../../lib/logger.js';
import { ScheduledWorker } from '../../lib/scheduled-worker.js';
import { WebhookDeliveries } from '../../lib/webhooks.js';
import type { RegistryEvents, RegistryService } from '../services/registry.service.js';
import type { WebhookEvent } from '../data/webhook.entity.js';
import { webhookStore } from '../data/webhook.store.js';
import { redisTarget, type RedisTarget } from '../../lib/redis.js';

export const WEBHOOK_QUEUE = 'registry-webhooks';
export const REGISTRY_MAINTENANCE_QUEUE = 'registry-maintenance';


export interface WebhookSettings {
  redis: RedisTarget;
  keyPrefix: string;
  attempts: number;
  backoffMs: number;
  timeoutMs: number;
}

export function webhookSettings(cfg: Config): WebhookSettings {
  return {
    redis: redisTarget(cfg),
    keyPrefix: cfg.REDIS_KEY_PREFIX,
    attempts: cfg.REGISTRY_WEBHOOK_ATTEMPTS,
    backoffMs: cfg.REGISTRY_WEBHOOK_BACKOFF_MS,
    timeoutMs: cfg.REGISTRY_WEBHOOK_TIMEOUT_MS,
  };
}

/** Registry events as signed webhook deliveries (lib/webhooks.ts) to the webhooks subscribed to them. */
export class WebhookDispatcher implements RegistryEvents {
  private constructor(
    private readonly ds: DataSource,
    private readonly deliveries: WebhookDeliveries,
  ) {}

  /** A dispatcher that queues deliveries; with `deliver`, this process also sends them. */
  static create(ds: DataSource, settings: WebhookSettings, opts: { deliver: boolean }): WebhookDispatcher {
    const deliveries = WebhookDeliveries.create(
      { ...settings, queue: WEBHOOK_QUEUE, agent: 'omnistock-registry', log: logger().child({ component: 'registry-webhooks' }) },
      (id) => webhookStore.webhook(ds.manager, id),
      opts,
    );
    return new WebhookDispatcher(ds, deliveries);
  }

  async emit(event: WebhookEvent, payload: Record<string, unknown>): Promise<void> {
    const webhooks = await webhookStore.subscribers(this.ds.manager, event);
    await this.deliveries.enqueue(webhooks.map((w) => w.id), event, payload);
  }

  /** Waits for deliveries in progress, then closes the worker and the queue. */
  close(): Promise<void> {
    return this.deliveries.close();
  }
}

/**
 * The daily deprecation check (DEPRECATION_REMOVAL_DUE notices): a BullMQ job scheduler that every
 * gateway upserts under one id, so it runs once a day across replicas; each notice is also
 * claimed in SQL, so even an overlapping run sends none twice.
 */
export function startRegistryMaintenance(service: RegistryService, settings: Pick<WebhookSettings, 'redis' | 'keyPrefix'>): Promise<ScheduledWorker> {
  const log = logger().child({ component: 'registry-maintenance' });
  return ScheduledWorker.start({
    queue: REGISTRY_MAINTENANCE_QUEUE,
    job: 'deprecation-notices',
    schedule: { pattern: '0 6 * * *', tz: 'UTC' },
    redis: settings.redis,
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
