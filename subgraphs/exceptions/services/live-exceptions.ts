import { on } from 'node:events';
import { closeRedis, type RedisClient } from '../../../lib/redis.js';
import { z } from 'zod';
import { TOPICS } from '../../../contracts/events.js';
import { eventKeys } from '../../../lib/event-stream.js';
import { parseInput } from '../../../lib/errors.js';
import type { ExceptionEntity } from '../data/exception.entity.js';
import { EXCEPTION_KINDS, SEVERITIES, severityRank } from '../domain/exception-rules.js';
import { exceptionEventSchema } from './exception.service.js';

const filterSchema = z
  .object({
    kinds: z.array(z.enum(EXCEPTION_KINDS)).nullish(),
    minSeverity: z.enum(SEVERITIES).nullish(),
    channelId: z.string().max(64).nullish(),
  })
  .nullish();

const liveMessage = z.object({ payload: exceptionEventSchema });

/**
 * `exceptionRaised`: the `exception` topic's live channel (the relay publishes each outbox row there),
 * one pub/sub connection per process shared by every subscription, each filtering what it hears.
 */
export class LiveExceptions {
  private subscribed: Promise<unknown> | null = null;

  constructor(
    private readonly subscriber: RedisClient,
    private readonly keyPrefix: string,
    private readonly load: (id: string) => Promise<ExceptionEntity | null>,
  ) {
    // Every subscription listens on this one connection: thousands of listeners are expected, not a leak.
    subscriber.setMaxListeners(0);
  }

  /** @throws BadUserInputError for a bad filter */
  async *subscribe(filterInput: unknown, signal?: AbortSignal): AsyncGenerator<{ exceptionRaised: ExceptionEntity }> {
    const filter = parseInput(filterSchema, filterInput ?? null, 'filter') ?? {};
    const channel = eventKeys.live(this.keyPrefix, TOPICS.exception);
    this.subscribed ??= this.subscriber.subscribe(channel);
    await this.subscribed;
    const closing = new AbortController();
    signal?.addEventListener('abort', () => closing.abort());
    try {
      for await (const [from, message] of on(this.subscriber, 'message', { signal: closing.signal }) as AsyncIterable<[string, string]>) {
        if (from !== channel) continue;
        const parsed = liveMessage.safeParse(JSON.parse(message));
        if (!parsed.success) continue;
        const e = parsed.data.payload;
        if (e.event !== 'RAISED' && e.event !== 'ESCALATED') continue;
        if (filter.kinds?.length && !(filter.kinds as readonly string[]).includes(e.kind)) continue;
        if (filter.minSeverity && severityRank(e.severity) < severityRank(filter.minSeverity)) continue;
        if (filter.channelId && e.channelId !== filter.channelId) continue;
        const row = await this.load(e.id);
        if (row) yield { exceptionRaised: row };
      }
    } catch (err) {
      if (!closing.signal.aborted) throw err;
    }
  }

  close(): Promise<unknown> {
    return closeRedis(this.subscriber);
  }
}
