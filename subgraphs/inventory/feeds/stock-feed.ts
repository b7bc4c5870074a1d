import { closeRedis, type RedisClient } from '../../../lib/redis.js';
import type { Logger } from 'pino';
import { z } from 'zod';
import { DomainError, BadUserInputError } from '../../../lib/errors.js';
import { stockChangedSchema, TOPICS, type StockChanged } from '../../../contracts/events.js';
import { eventKeys, parseStreamEntry } from '../../../lib/event-stream.js';

/**
 * A stock event as subscribers see it. `streamId` is the Redis stream entry id the relay's XADD
 * gave it: the relay publishes XADD and PUBLISH in one script, so live messages arrive in stream
 * id order, and the id is the subscription's resume position. The outbox `seq` is not (a lower
 * seq can be published after a higher one); `(source, seq)` only identifies an event, for
 * de-duplicating a relay's resend.
 */
export interface FeedEvent {
  streamId: string;
  source: string;
  seq: number;
  key: string;
  payload: StockChanged;
}

const STREAM_ID = /^(\d{1,15})-(\d{1,15})$/;

/** Stream ids compare as (ms, n) pairs. */
export function compareStreamIds(a: string, b: string): number {
  const [am, an] = a.split('-').map(Number) as [number, number];
  const [bm, bn] = b.split('-').map(Number) as [number, number];
  return am - bm || an - bn;
}

/** A `since` older than the event retention: what the client missed is gone. */
export class SinceExpiredError extends DomainError {
  readonly code = 'BAD_USER_INPUT' as const;
  constructor(since: string, retentionMs: number) {
    super(
      `since ${since} is older than the ${Math.round(retentionMs / 3_600_000)} h event retention: the changes after it are no longer kept. ` +
        'Re-read current stock (inventoryItems or availability), then subscribe without since.',
      { reason: 'SINCE_EXPIRED', since, retentionMs },
    );
  }
}

/** A `since` after the last event the stream ever had: no client received it, and nothing would ever be delivered. */
export class SinceInFutureError extends DomainError {
  readonly code = 'BAD_USER_INPUT' as const;
  constructor(since: string, last: string) {
    super(
      `since ${since} is after the last stock change (${last}): it is no sequence this stream gave out. ` +
        'Pass the sequence of the last change received, or subscribe without since.',
      { reason: 'SINCE_IN_FUTURE', since, lastSequence: last },
    );
  }
}

const liveMessageSchema = z.object({
  source: z.string(),
  seq: z.number().int(),
  key: z.string(),
  payload: stockChangedSchema,
  streamId: z.string().regex(STREAM_ID),
});

/** How far ahead of this process's clock a gateway's resume position in time may be (clocks of two machines). */
const RESUME_CLOCK_SKEW_MS = 60_000;
/** Live events a subscription may hold before it stops queueing and catches up from the stream. */
const LIVE_QUEUE_LIMIT = 1000;
const REPLAY_BATCH = 500;
/** (source, seq) pairs remembered per subscription to drop a relay's resends. */
const DEDUPE_WINDOW = 2000;

export interface StockFeedOptions {
  /** Subscriber-mode connection (only SUBSCRIBE); the feed owns it. */
  subscriber: RedisClient;
  /** Ordinary connection for XRANGE; the feed owns it. */
  reader: RedisClient;
  keyPrefix: string;
  retentionMs: number;
  log: Logger;
}

/**
 * The stock events of every writer, for this process's subscriptions. One pub/sub subscription per
 * process (every replica has its own, so each sees every change), fanned out to its subscriptions;
 * history (since, or a subscription that fell behind) is read from the stream.
 */
export class StockFeed {
  private readonly listeners = new Set<(event: FeedEvent) => void>();
  private readonly stream: string;
  private readonly ready: Promise<unknown>;

  constructor(private readonly opts: StockFeedOptions) {
    this.stream = eventKeys.stream(opts.keyPrefix, TOPICS.stock);
    const channel = eventKeys.live(opts.keyPrefix, TOPICS.stock);
    opts.subscriber.on('message', (ch: string, message: string) => {
      if (ch !== channel) return;
      const event = this.parseLive(message);
      if (event) for (const listener of this.listeners) listener(event);
    });
    this.ready = opts.subscriber.subscribe(channel);
    // Until the first subscription, a failed SUBSCRIBE is only logged (ioredis re-subscribes on reconnect).
    this.ready.catch((err) => opts.log.error({ err }, 'stock feed could not subscribe'));
  }

  /**
   * The events after `since` (exclusive), then live ones, in stream order, each once.
   * @throws BadUserInputError for a malformed since
   * @throws SinceExpiredError for a since older than the retention
   * @throws SinceInFutureError for a since after the stream's last id (when `resuming`, only one
   *   later than now: a gateway resumes from the time it subscribed when no event had reached it)
   */
  async open(since: string | null, opts: { resuming?: boolean } = {}): Promise<FeedSubscription> {
    if (since !== null) {
      if (!STREAM_ID.test(since)) throw new BadUserInputError(`since must be a sequence received before (<ms>-<n>), got ${JSON.stringify(since)}`);
      const ms = Number(since.split('-')[0]);
      if (ms < Date.now() - this.opts.retentionMs) throw new SinceExpiredError(since, this.opts.retentionMs);
      const last = await this.lastId();
      if (compareStreamIds(since, last) > 0 && !(opts.resuming && ms <= Date.now() + RESUME_CLOCK_SKEW_MS)) throw new SinceInFutureError(since, last);
    }
    await this.ready;
    return new FeedSubscription(this, since);
  }

  /** The last id the stream ever gave out (kept by Redis when older entries are trimmed); 0-0 before the first. */
  private async lastId(): Promise<string> {
    try {
      const info = (await this.opts.reader.xinfo('STREAM', this.stream)) as unknown[];
      const at = info.indexOf('last-generated-id');
      return at >= 0 ? String(info[at + 1]) : '0-0';
    } catch (err) {
      if (/no such key/i.test((err as Error).message)) return '0-0';
      throw err;
    }
  }

  /** @internal for FeedSubscription */
  listen(listener: (event: FeedEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** @internal for FeedSubscription: entries after `from` (exclusive unless `inclusive`). */
  async read(from: string, inclusive: boolean): Promise<FeedEvent[]> {
    const entries = await this.opts.reader.xrange(this.stream, inclusive ? from : `(${from}`, '+', 'COUNT', REPLAY_BATCH);
    const events: FeedEvent[] = [];
    for (const [id, fields] of entries) {
      const entry = parseStreamEntry(fields);
      const payload = entry.success ? stockChangedSchema.safeParse(entry.data.payload) : undefined;
      if (!entry.success || !payload?.success) {
        this.opts.log.warn({ streamId: id }, 'skipping a malformed stock stream entry');
        // Still a position: an empty-payload marker keeps the catch-up moving past it.
        events.push({ streamId: id, source: '', seq: 0, key: '', payload: null as unknown as StockChanged });
        continue;
      }
      events.push({ streamId: id, source: entry.data.source, seq: entry.data.seq, key: entry.data.key, payload: payload.data });
    }
    return events;
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await Promise.all([closeRedis(this.opts.subscriber), closeRedis(this.opts.reader)]);
  }

  private parseLive(message: string): FeedEvent | null {
    try {
      const parsed = liveMessageSchema.safeParse(JSON.parse(message));
      if (parsed.success) return parsed.data;
    } catch {
      // fall through
    }
    this.opts.log.warn('skipping a malformed live stock message');
    return null;
  }
}

/**
 * One subscriber's view of the feed. Live events are queued from the moment it opens; replay (of
 * `since`, or after the queue overflowed because the consumer is slow) reads the stream, and
 * anything at or before the last delivered position is dropped, so joining replay with live
 * neither loses nor repeats an event.
 */
export class FeedSubscription implements AsyncIterableIterator<FeedEvent> {
  private readonly live: FeedEvent[] = [];
  private replayed: FeedEvent[] = [];
  private overflowed = false;
  /** Where catching up starts when nothing was delivered yet: the first event that did not fit. */
  private firstUndelivered: string | null = null;
  private catchingUp: boolean;
  private last: string | null;
  private readonly seen = new Set<string>();
  private closed = false;
  private wake: (() => void) | null = null;
  private readonly unlisten: () => void;

  constructor(
    private readonly feed: StockFeed,
    since: string | null,
  ) {
    this.last = since;
    this.catchingUp = since !== null;
    this.unlisten = feed.listen((event) => this.onLive(event));
  }

  private onLive(event: FeedEvent): void {
    if (this.overflowed) return;
    if (this.live.length >= LIVE_QUEUE_LIMIT) {
      this.overflowed = true;
      this.firstUndelivered ??= this.live[0]?.streamId ?? event.streamId;
      this.live.length = 0;
    } else {
      this.live.push(event);
    }
    this.wake?.();
  }

  async next(): Promise<IteratorResult<FeedEvent>> {
    while (!this.closed) {
      const replayed = this.replayed.shift();
      if (replayed) {
        if (this.accept(replayed)) return { done: false, value: replayed };
        continue;
      }
      if (this.overflowed) {
        // Queue live events again before reading the stream: whatever the read misses is queued.
        this.overflowed = false;
        this.live.length = 0;
        this.catchingUp = true;
      }
      if (this.catchingUp) {
        const from = this.last ?? this.firstUndelivered!;
        const batch = await this.feed.read(from, this.last === null);
        this.firstUndelivered = null;
        if (batch.length) this.replayed = batch;
        else this.catchingUp = false;
        continue;
      }
      const live = this.live.shift();
      if (live) {
        if (this.accept(live)) return { done: false, value: live };
        continue;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
    return { done: true, value: undefined };
  }

  /** Advances the position; false for what was already delivered (by position or, for a resend, by source and seq). */
  private accept(event: FeedEvent): boolean {
    if (this.last !== null && compareStreamIds(event.streamId, this.last) <= 0) return false;
    this.last = event.streamId;
    if (!event.payload) return false;
    const id = `${event.source}:${event.seq}`;
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    if (this.seen.size > DEDUPE_WINDOW) this.seen.delete(this.seen.values().next().value!);
    return true;
  }

  async return(): Promise<IteratorResult<FeedEvent>> {
    this.closed = true;
    this.unlisten();
    this.wake?.();
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
