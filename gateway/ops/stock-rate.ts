import type { RedisClient } from '../../lib/redis.js';

/** Stock changes counted over the two windows the ops page shows. */
export interface StockRate {
  /** Changes relayed in the last 10 s, and per second over it. */
  last10s: number;
  perSecond10s: number;
  /** Changes relayed in the last 60 s, and per second over it. */
  lastMinute: number;
  perSecondMinute: number;
  /** Entries in the stream (its retention, OUTBOX_RETENTION_MS). */
  streamLength: number;
  /** True when this tick stopped reading before the stream's end (a burst): the next one catches up. */
  catchingUp: boolean;
}

const MINUTE_MS = 60_000;
const BATCH = 2000;
/** Entries one tick reads at most, so a burst of events never holds a tick (and Redis) for long. */
const MAX_PER_TICK = 100_000;

/** The millisecond part of a stream id (`<ms>-<n>`): the time the relay appended the entry. */
export function streamIdMs(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}

/**
 * Counts of stream entries per second, fed in stream order, for the last minute. Pure, so the
 * window arithmetic is unit-tested; StockRateReader feeds it from Redis.
 */
export class SecondBuckets {
  private readonly counts = new Map<number, number>();

  add(ms: number, n = 1): void {
    const second = Math.floor(ms / 1000);
    this.counts.set(second, (this.counts.get(second) ?? 0) + n);
  }

  /** Entries of the `windowMs` before `nowMs`, by whole seconds (the current, partial one included). */
  count(nowMs: number, windowMs: number): number {
    const from = Math.floor(nowMs / 1000) - Math.ceil(windowMs / 1000) + 1;
    let total = 0;
    for (const [second, n] of this.counts) if (second >= from) total += n;
    return total;
  }

  /** Forgets seconds older than `windowMs` before `nowMs`. */
  prune(nowMs: number, windowMs: number): void {
    const from = Math.floor(nowMs / 1000) - Math.ceil(windowMs / 1000) + 1;
    for (const second of this.counts.keys()) if (second < from) this.counts.delete(second);
  }

  clear(): void {
    this.counts.clear();
  }
}

/**
 * The stock-change rate from the Redis stock stream the outbox relay appends to (stream ids are the
 * relay's millisecond timestamps). Each tick reads only the entries added since the previous one
 * (XRANGE from the last id seen, exclusive), so its cost follows the event rate, not the window;
 * after a pause longer than the window it starts again from a minute ago. Windows are measured on
 * the Redis clock (TIME), the clock the ids come from.
 */
export class StockRateReader {
  private readonly buckets = new SecondBuckets();
  private lastId: string | null = null;

  constructor(
    private readonly redis: RedisClient,
    private readonly streamKey: string,
  ) {}

  async sample(): Promise<StockRate> {
    const [seconds, micros] = await this.redis.time();
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    if (!this.lastId || streamIdMs(this.lastId) < now - MINUTE_MS) {
      this.buckets.clear();
      this.lastId = null;
    }
    let start = this.lastId ? `(${this.lastId}` : `${now - MINUTE_MS + 1}-0`;
    let read = 0;
    let catchingUp = false;
    for (;;) {
      const entries = await this.redis.xrange(this.streamKey, start, '+', 'COUNT', BATCH);
      for (const [id] of entries) this.buckets.add(streamIdMs(id));
      read += entries.length;
      if (entries.length) {
        this.lastId = entries.at(-1)![0];
        start = `(${this.lastId}`;
      }
      if (entries.length < BATCH) break;
      if (read >= MAX_PER_TICK) {
        catchingUp = true;
        break;
      }
    }
    // Nothing in the window: whatever the relay appends from now on has a later id (TIME came first).
    this.lastId ??= `${now - 1}-0`;
    this.buckets.prune(now, MINUTE_MS);
    const last10s = this.buckets.count(now, 10_000);
    const lastMinute = this.buckets.count(now, MINUTE_MS);
    return {
      last10s,
      perSecond10s: last10s / 10,
      lastMinute,
      perSecondMinute: lastMinute / 60,
      streamLength: await this.redis.xlen(this.streamKey),
      catchingUp,
    };
  }
}
