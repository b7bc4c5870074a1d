import type { Result } from 'ioredis';
import type { RedisClient } from '../../../lib/redis.js';
import type { Logger } from 'pino';
import { z } from 'zod';
import { slotTag } from '../../../lib/redis-keys.js';
import type { AvailabilityFigure } from '../domain/availability-rules.js';

/** One (channel, SKU) answer of `availability` as computed from MySQL at `asOf`. */
export interface SnapshotEntry extends AvailabilityFigure {
  asOf: Date;
}

// Stored as JSON; `t` is asOf in epoch milliseconds (the Lua below compares it).
const storedSchema = z.object({
  t: z.number().int(),
  ats: z.number().int(),
  status: z.enum(['IN_STOCK', 'LOW_STOCK', 'OUT_OF_STOCK']),
  locations: z.array(z.object({ locationId: z.string(), available: z.number().int(), pickup: z.boolean() })),
});

/**
 * Writes a snapshot unless the key already holds a newer one: replicas answering concurrently (or a
 * slow request finishing after a faster, later one) never replace a figure with an older figure.
 */
const SAVE_IF_NEWER_LUA = `
local current = redis.call('GET', KEYS[1])
if current then
  local ok, decoded = pcall(cjson.decode, current)
  if ok and type(decoded) == 'table' and tonumber(decoded.t) and tonumber(decoded.t) > tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
return 1`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    saveAvailabilitySnapshot(key: string, value: string, asOfMs: number, ttlSeconds: number): Result<number, Context>;
  }
}

/** An unchanged figure is written again at most this often (its asOf then trails by up to this much). */
const UNCHANGED_RESAVE_MS = 1000;
/** Keys whose last write this process remembers; past it the memory starts over. */
const REMEMBERED_KEYS = 50_000;

/**
 * The last availability inventory answered per (channel, SKU), kept in Redis so that `availability`
 * can still answer, marked stale, while MySQL is unreachable. It is as fresh as the last successful
 * read of that (channel, SKU): stock changes do not refresh it by themselves.
 */
export class AvailabilitySnapshots {
  /** Per key, the figure this process last wrote and when: a hot SKU read again and again is not rewritten on every read. */
  private readonly written = new Map<string, { figure: string; at: number }>();
  private failing = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
    private readonly ttlSeconds: number,
    private readonly log: Logger,
  ) {
    redis.defineCommand('saveAvailabilitySnapshot', { numberOfKeys: 1, lua: SAVE_IF_NEWER_LUA });
  }

  key(channelId: string, sku: string): string {
    // A channel's snapshots are saved in one pipeline and read in one MGET: one slot per channel on a cluster.
    return `${slotTag(`${this.keyPrefix}:availability:${channelId}`)}:${sku}`;
  }

  /**
   * Records figures computed at `asOf` in one pipeline, without making the caller wait: a failure
   * (Redis away) only costs the snapshot's freshness and is logged at warn.
   */
  save(channelId: string, figures: { sku: string; figure: AvailabilityFigure }[], asOf: Date): void {
    const t = asOf.getTime();
    const pipeline = this.redis.pipeline();
    let queued = 0;
    for (const { sku, figure } of figures) {
      const key = this.key(channelId, sku);
      const json = JSON.stringify({ ats: figure.availableToSell, status: figure.status, locations: figure.locations });
      const last = this.written.get(key);
      if (last && last.figure === json && t - last.at < UNCHANGED_RESAVE_MS && t >= last.at) continue;
      if (this.written.size >= REMEMBERED_KEYS) this.written.clear();
      this.written.set(key, { figure: json, at: t });
      pipeline.saveAvailabilitySnapshot(key, `{"t":${t},${json.slice(1)}`, t, this.ttlSeconds);
      queued++;
    }
    if (!queued) return;
    pipeline.exec().then(
      (results) => this.saved(results?.find(([err]) => err)?.[0] ?? null),
      (err: unknown) => this.saved(err as Error),
    );
  }

  /** Logs a failing Redis once per outage (every availability read would otherwise log it), and its return. */
  private saved(err: Error | null): void {
    if (err && !this.failing) this.log.warn({ err: err.message }, 'saving availability snapshots failed; answers go on, snapshots age until Redis is back');
    if (!err && this.failing) this.log.info('saving availability snapshots again');
    this.failing = err !== null;
  }

  /**
   * The snapshots of `skus` in the channel, in order; null where none is kept (or it is unreadable).
   * @throws Error when Redis cannot be read
   */
  async load(channelId: string, skus: string[]): Promise<(SnapshotEntry | null)[]> {
    const values = await this.redis.mget(skus.map((sku) => this.key(channelId, sku)));
    return values.map((value) => {
      if (value === null) return null;
      let json: unknown;
      try {
        json = JSON.parse(value);
      } catch {
        return null;
      }
      const parsed = storedSchema.safeParse(json);
      if (!parsed.success) return null;
      const s = parsed.data;
      return { asOf: new Date(s.t), availableToSell: s.ats, status: s.status, locations: s.locations };
    });
  }
}
