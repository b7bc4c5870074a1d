import type { RedisClient } from '../../../lib/redis.js';
import { problemSignalSchema, stockChangedSchema, TOPICS, type ProblemSignal, type StockChanged } from '../../../contracts/events.js';
import { failureLogLevel } from '../../../lib/db.js';
import { logger } from '../../../lib/logger.js';
import { StreamConsumer, type TopicEntry } from '../../../lib/stream-consumer.js';
import type { AnomalyService } from '../services/anomaly.service.js';
import { exceptionEventSchema, type ExceptionEventPayload, type ExceptionService, type SourcedSignal } from '../services/exception.service.js';
import type { ExceptionWebhookService } from '../services/webhook.service.js';

const READ_COUNT = 200;
/** The problem kinds whose measures feed the trend findings (SYNC_LAG_TREND, DRIFT_TREND). */
const TRENDED = new Set(['SYNC_LAG', 'MARKETPLACE_DRIFT']);

export interface ExceptionsFeedOptions {
  /** A client of its own: XREADGROUP BLOCK holds the connection while it waits. */
  redis: RedisClient;
  keyPrefix: string;
  claimIdleMs: number;
  exceptions: ExceptionService;
  anomalies: AnomalyService;
  webhooks: ExceptionWebhookService;
  /** Told of each exception event (metrics). */
  onEvent?: (e: ExceptionEventPayload) => void;
  group?: string;
}

/**
 * What the exceptions subgraph reads from the event streams, in the jobs process: every module's
 * `problem` signals (grouped into exceptions), the `stock` changes of the movement ledger (daily
 * figures for anomaly detection) and its own `exception` events (signed webhooks). An entry is
 * acknowledged once handled; one that fails stays pending and is claimed again. Problem signals
 * carry (source, seq), and a subject ignores a signal older than the last it applied, so redelivery
 * and a retried entry overtaken by a later one are harmless.
 */
export class ExceptionsFeed {
  private readonly consumer: StreamConsumer;

  constructor(opts: ExceptionsFeedOptions) {
    const group = opts.group ?? 'exceptions';
    const log = logger().child({ component: 'exceptions-feed', group });
    this.consumer = new StreamConsumer({
      redis: opts.redis,
      keyPrefix: opts.keyPrefix,
      topics: [TOPICS.problem, TOPICS.stock, TOPICS.exception],
      group,
      count: READ_COUNT,
      claimIdleMs: opts.claimIdleMs,
      // The group starts at the streams' ends: what was raised before lives on in the owners, who raise it again when it recurs.
      onGroupCreated: async () => log.info('exceptions consumer group created at the streams\' ends'),
      log,
      handle: async (entries: TopicEntry[]) => {
        const done: string[] = [];
        const signals: SourcedSignal[] = [];
        const signalIds: string[] = [];
        const stock: { source: string; seq: number; change: StockChanged }[] = [];
        const stockIds: string[] = [];
        const events: { id: string; event: ExceptionEventPayload }[] = [];
        for (const { topic, id, entry } of entries) {
          const { source, seq, payload } = entry;
          const parsed =
            topic === TOPICS.problem ? problemSignalSchema.safeParse(payload) : topic === TOPICS.stock ? stockChangedSchema.safeParse(payload) : exceptionEventSchema.safeParse(payload);
          if (!parsed.success) {
            log.warn({ topic, id, source, seq, issues: parsed.error.issues }, 'skipping a malformed event');
            done.push(id);
          } else if (topic === TOPICS.problem) {
            signals.push({ source, seq, signal: parsed.data as ProblemSignal });
            signalIds.push(id);
          } else if (topic === TOPICS.stock) {
            stock.push({ source, seq, change: parsed.data as StockChanged });
            stockIds.push(id);
          } else events.push({ id, event: parsed.data as ExceptionEventPayload });
        }
        // An entry is acknowledged once what it feeds is written; a failure leaves its part pending, to be retried.
        const handled = async (ids: string[], what: string, work: () => Promise<unknown>) => {
          try {
            await work();
            done.push(...ids);
          } catch (err) {
            log[failureLogLevel(err)]({ err, what, count: ids.length }, 'handling events failed; they stay pending and will be retried');
          }
        };
        if (signals.length) {
          await handled(signalIds, 'problem signals', async () => {
            // Only the signals applied feed the trends: a resent one would count a day's drift twice.
            for (const { signal: s } of await opts.exceptions.apply(signals)) {
              if (s.state === 'RAISED' && TRENDED.has(s.kind) && s.channelId && s.measure !== null) {
                await opts.anomalies.recordProblemSample(s.kind === 'SYNC_LAG' ? 'SYNC_LAG_TREND' : 'DRIFT_TREND', s.channelId, new Date(s.at), s.measure);
              }
            }
          });
        }
        if (stock.length) await handled(stockIds, 'stock changes', () => opts.anomalies.recordStockChanges(stock));
        if (events.length) {
          // One read of the webhooks for the batch's events.
          await handled(events.map((e) => e.id), 'exception events', async () => {
            await opts.webhooks.notify(events.map((e) => e.event));
            for (const { event } of events) opts.onEvent?.(event);
          });
        }
        return done;
      },
    });
  }

  start(): Promise<void> {
    return this.consumer.start();
  }

  stop(): Promise<void> {
    return this.consumer.stop();
  }
}
