import type { Redis } from 'ioredis';
import { problemSignalSchema, stockChangedSchema, TOPICS, type StockChanged } from '../../../contracts/events.js';
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
  redis: Redis;
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
      onGroupCreated: async () => log.warn('exceptions consumer group created at the streams\' ends'),
      log,
      handle: async (entries: TopicEntry[]) => {
        const done: string[] = [];
        const stock: { source: string; seq: number; change: StockChanged }[] = [];
        const stockIds: string[] = [];
        for (const { topic, id, entry } of entries) {
          const { source, seq, payload } = entry;
          try {
            if (topic === TOPICS.stock) {
              const change = stockChangedSchema.safeParse(payload);
              if (change.success) {
                stock.push({ source, seq, change: change.data });
                stockIds.push(id);
              } else done.push(id);
              continue;
            }
            if (topic === TOPICS.problem) {
              const parsed = problemSignalSchema.safeParse(payload);
              if (!parsed.success) log.warn({ id, source, seq, issues: parsed.error.issues }, 'skipping a malformed problem signal');
              else {
                const signal: SourcedSignal = { source, seq, signal: parsed.data };
                await opts.exceptions.apply([signal]);
                const s = parsed.data;
                if (s.state === 'RAISED' && TRENDED.has(s.kind) && s.channelId && s.measure !== null) {
                  await opts.anomalies.recordProblemSample(s.kind === 'SYNC_LAG' ? 'SYNC_LAG_TREND' : 'DRIFT_TREND', s.channelId, new Date(s.at), s.measure);
                }
              }
            } else if (topic === TOPICS.exception) {
              const parsed = exceptionEventSchema.safeParse(payload);
              if (parsed.success) {
                await opts.webhooks.notify([parsed.data]);
                opts.onEvent?.(parsed.data);
              }
            }
            done.push(id);
          } catch (err) {
            log[failureLogLevel(err)]({ err, topic, id, source, seq }, 'handling an event failed; it stays pending and will be retried');
          }
        }
        if (stock.length) {
          try {
            await opts.anomalies.recordStockChanges(stock);
            done.push(...stockIds);
          } catch (err) {
            log[failureLogLevel(err)]({ err, count: stock.length }, 'recording stock changes failed; they stay pending and will be retried');
          }
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
