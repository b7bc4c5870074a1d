import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { BadUserInputError, parseInput } from '../../../lib/errors.js';
import { newWebhookSecret, webhookUrlProblem, type WebhookDeliveries } from '../../../lib/webhooks.js';
import { exceptionStore, type WebhookRow } from '../data/exception.store.js';
import { EXCEPTION_KINDS, SEVERITIES, severityRank } from '../domain/exception-rules.js';
import type { ExceptionEventPayload } from './exception.service.js';

export const EXCEPTION_WEBHOOK_QUEUE = 'exception-webhooks';

/** The history entries webhooks are told about: an exception appearing, growing worse, or ending. */
const ANNOUNCED = new Set(['RAISED', 'ESCALATED', 'RESOLVED', 'AUTO_RESOLVED']);

const webhookSchema = z.object({
  url: z.string().max(2000),
  minSeverity: z.enum(SEVERITIES),
  kinds: z.array(z.enum(EXCEPTION_KINDS)).min(1).nullish(),
});

/** Where exceptions are POSTed, and the deliveries of each exception event to the webhooks that chose it. */
export class ExceptionWebhookService {
  constructor(
    private readonly ds: DataSource,
    private readonly deliveries: WebhookDeliveries | null,
  ) {}

  /**
   * Adds a webhook; its signing secret is returned this once.
   * @throws BadUserInputError for a URL that may not receive webhooks (see lib/webhooks.ts)
   */
  async add(input: unknown, actor: string | null): Promise<{ webhook: WebhookRow; secret: string }> {
    const parsed = parseInput(webhookSchema, input, 'webhook');
    const problem = webhookUrlProblem(parsed.url);
    if (problem) throw new BadUserInputError(`Webhook URL refused: ${problem}`, [{ path: 'url', message: problem }]);
    const webhook: WebhookRow = {
      id: randomUUID(),
      url: parsed.url,
      secret: newWebhookSecret(),
      minSeverity: parsed.minSeverity,
      kinds: parsed.kinds ?? null,
      createdBy: actor,
      createdAt: new Date(),
    };
    await exceptionStore.insertWebhook(this.ds.manager, webhook);
    return { webhook, secret: webhook.secret };
  }

  list(): Promise<WebhookRow[]> {
    return exceptionStore.webhooks(this.ds.manager);
  }

  remove(id: string): Promise<boolean> {
    return exceptionStore.deleteWebhook(this.ds.manager, id);
  }

  lookup(id: string): Promise<WebhookRow | null> {
    return exceptionStore.webhook(this.ds.manager, id);
  }

  /** Queues a delivery of each announced event to every webhook whose severity and kinds it matches. */
  async notify(events: readonly ExceptionEventPayload[]): Promise<void> {
    const announced = events.filter((e) => ANNOUNCED.has(e.event));
    if (!announced.length || !this.deliveries) return;
    const webhooks = await this.list();
    for (const e of announced) {
      const to = webhooks.filter((w) => severityRank(e.severity) >= severityRank(w.minSeverity) && (!w.kinds || w.kinds.includes(e.kind)));
      await this.deliveries.enqueue(
        to.map((w) => w.id),
        `EXCEPTION_${e.event}`,
        e,
      );
    }
  }
}
