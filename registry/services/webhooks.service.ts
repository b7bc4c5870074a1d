import { randomUUID } from 'node:crypto';
import { newWebhookSecret } from '../../lib/webhooks.js';
import type { DataSource, EntityManager } from 'typeorm';
import { z } from 'zod';
import { parseInput } from '../../lib/errors.js';
import { requireAdmin, type Principal } from '../domain/principal.js';
import { day, DAY_MS, httpUrl } from '../domain/inputs.js';
import type { RegistryServiceOptions } from './registry.service.js';
import { WEBHOOK_EVENTS, type WebhookEntity, type WebhookEvent } from '../data/webhook.entity.js';
import { webhookStore } from '../data/webhook.store.js';

const webhookSchema = z.object({
  url: httpUrl,
  events: z.array(z.enum(WEBHOOK_EVENTS)).min(1).nullish(),
  secret: z.string().min(16).max(200).nullish(),
});

/** Webhook subscriptions, the registry's events sent to them, and the notices of deprecations falling due. */
export class WebhooksService {
  private readonly m: EntityManager;

  constructor(
    ds: DataSource,
    private readonly opts: Pick<RegistryServiceOptions, 'events' | 'log' | 'deprecationNoticeDays'>,
  ) {
    this.m = ds.manager;
  }

  /**
   * Adds a webhook; its signing secret (given, or generated) is returned once.
   * @throws ForbiddenError unless the principal is an admin
   */
  async add(principal: Principal, input: { url: string; events?: WebhookEvent[] | null; secret?: string | null }): Promise<{ webhook: WebhookEntity; secret: string }> {
    requireAdmin(principal, 'manage webhooks');
    const parsed = parseInput(webhookSchema, input, 'webhook');
    const webhook: WebhookEntity = {
      id: randomUUID(),
      url: parsed.url,
      secret: parsed.secret ?? newWebhookSecret(),
      events: parsed.events ?? [...WEBHOOK_EVENTS],
      createdBy: principal.name,
      createdAt: new Date(),
    };
    await webhookStore.insertWebhook(this.m, webhook);
    return { webhook, secret: webhook.secret };
  }

  /** @throws ForbiddenError unless the principal is an admin */
  async list(principal: Principal): Promise<WebhookEntity[]> {
    requireAdmin(principal, 'manage webhooks');
    return webhookStore.webhooks(this.m);
  }

  /** @throws ForbiddenError unless the principal is an admin */
  async remove(principal: Principal, id: string): Promise<boolean> {
    requireAdmin(principal, 'manage webhooks');
    return webhookStore.deleteWebhook(this.m, id);
  }

  /**
   * Sends DEPRECATION_REMOVAL_DUE for every deprecation in force whose removal date is within
   * REGISTRY_DEPRECATION_NOTICE_DAYS of `at`, once per deprecation: each notice is claimed with a
   * conditional update, so overlapping runs (replicas, retries) never send one twice.
   * @returns the notices sent
   */
  async notifyDueDeprecations(at = new Date()): Promise<number> {
    const dueBy = day(new Date(at.getTime() + this.opts.deprecationNoticeDays * DAY_MS));
    let sent = 0;
    for (const d of await webhookStore.dueDeprecations(this.m, dueBy)) {
      if (!(await webhookStore.claimNotice(this.m, d.subgraph, d.coordinate, at))) continue;
      const daysLeft = Math.ceil((new Date(`${d.removalDate}T00:00:00Z`).getTime() - at.getTime()) / DAY_MS);
      await this.emit('DEPRECATION_REMOVAL_DUE', { subgraph: d.subgraph, coordinate: d.coordinate, reason: d.reason, removalDate: d.removalDate, daysLeft });
      sent++;
    }
    return sent;
  }

  /** Queues an event for its subscribers after a change committed; a failure is logged, never thrown. */
  async emit(event: WebhookEvent, payload: Record<string, unknown>): Promise<void> {
    try {
      await this.opts.events.emit(event, payload);
    } catch (err) {
      // The change is committed; a notification that cannot even be queued must not undo it.
      this.opts.log.error({ err, event }, 'registry event not queued');
    }
  }
}
