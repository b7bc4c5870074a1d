import type { Result } from 'ioredis';
import type { RedisClient } from '../../../lib/redis.js';
import { setTimeout as sleep } from 'node:timers/promises';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    takeFromBucket(key: string, capacity: number, refillPerMs: number, cost: number, pauseMs: number): Result<number, Context>;
    bucketLevel(key: string, capacity: number, refillPerMs: number): Result<string, Context>;
  }
}

/**
 * A token bucket in Redis, so every process pushing to one account shares it and a restart does not
 * refill it. Time is Redis's own clock. A pause (the marketplace said "retry after") drives the
 * level below zero, so nothing is taken until it has refilled past the pause.
 * Returns 0 when `cost` was taken, else the milliseconds to wait before asking again.
 */
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local capacity, rate, cost, pause = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or capacity
local ts = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
local wait = 0
if pause > 0 then
  tokens = math.min(tokens, 0) - pause * rate
elseif tokens >= cost then
  tokens = tokens - cost
else
  wait = math.ceil((cost - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate) + 60000)
return wait
`;

/** The units in the bucket now, refilled to this moment; nothing is written (a string: Lua would truncate a number). */
const LEVEL = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local capacity, rate = tonumber(ARGV[1]), tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or capacity
local ts = tonumber(state[2]) or now
return tostring(math.min(capacity, tokens + math.max(0, now - ts) * rate))
`;

export interface BucketPolicy {
  capacity: number;
  refillPerSecond: number;
}

/**
 * Our bucket is kept a little behind the marketplace's: refilled 2% slower, and smaller by a
 * quarter of a second's refill (at least one unit, at most all but one), so requests that reach the
 * marketplace unevenly (a busy event loop, a slow connection) still find units left there.
 */
const SAFETY = 0.98;
const HEADROOM_SECONDS = 0.25;

export class RateBucket {
  private readonly refillPerMs: number;
  private readonly capacity: number;

  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
    policy: BucketPolicy,
  ) {
    this.refillPerMs = (policy.refillPerSecond * SAFETY) / 1000;
    const headroom = Math.min(policy.capacity - 1, Math.max(1, policy.refillPerSecond * HEADROOM_SECONDS));
    this.capacity = headroom > 0 ? policy.capacity - headroom : policy.capacity;
    if (!redis.takeFromBucket) redis.defineCommand('takeFromBucket', { numberOfKeys: 1, lua: TAKE });
    if (!redis.bucketLevel) redis.defineCommand('bucketLevel', { numberOfKeys: 1, lua: LEVEL });
  }

  /**
   * How full the bucket is now, as a share of its capacity: near 0 while calls go out as fast as the
   * policy lets them, below 0 while a Retry-After pause lasts (the sync lag's cause).
   */
  async fill(): Promise<number> {
    return Number(await this.redis.bucketLevel(this.key, this.capacity, this.refillPerMs)) / this.capacity;
  }

  /** Waits until `cost` units are free and takes them; a cost above the capacity takes the whole bucket. */
  async take(cost: number, signal?: AbortSignal): Promise<void> {
    const units = Math.min(cost, this.capacity);
    for (;;) {
      const wait = Number(await this.redis.takeFromBucket(this.key, this.capacity, this.refillPerMs, units, 0));
      if (wait <= 0) return;
      await sleep(wait, undefined, { signal });
    }
  }

  /** The marketplace asked us to wait `ms`: nothing is taken before then. */
  async pause(ms: number): Promise<void> {
    await this.redis.takeFromBucket(this.key, this.capacity, this.refillPerMs, 0, Math.max(1, ms));
  }
}
