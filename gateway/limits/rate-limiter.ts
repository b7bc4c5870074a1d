import type { Logger } from 'pino';
import type { RedisClient } from '../../lib/redis.js';

/** What a rate limiter needs of the limits' settings. */
export interface RateSettings {
  /** Requests per client and window; 0 = off. */
  perMinute: number;
  /** Per-client overrides of perMinute (0 = unlimited for that client). */
  perClient: Record<string, number>;
  /** Redis key prefix (REDIS_KEY_PREFIX). */
  keyPrefix: string;
  windowMs: number;
  /**
   * How long a replica may hold requests of a client's budget taken ahead from Redis
   * (RATE_LIMIT_LEASE_MS); 0 = every request counted in Redis.
   */
  leaseMs: number;
}

/**
 * GCRA (the generic cell rate algorithm), one atomic step on the Redis clock: each request moves the
 * client's theoretical arrival time (TAT) on by one emission interval (window / limit); a request is
 * refused when that would put the TAT more than a window ahead of now. So at most `limit` requests
 * pass in any sliding window (no doubling across a fixed window's boundary), an idle client has its
 * whole budget as a burst, and one key per client holds all the state.
 * KEYS[1] the client's TAT; ARGV[1] emission interval (ms), ARGV[2] window (ms), ARGV[3] requests taken
 * (0: only whether one more would be allowed, taking nothing), ARGV[4] requests handed back first
 * (taken earlier and not used), ARGV[5] a channel ('' for none) on which `<ms> <ARGV[6]>` is
 * published when the step leaves the client locked: for `ms`, not even one more request would pass.
 * Returns {allowed (1/0), ms until the requests would be allowed, ms the client is locked for after this step}.
 * Times are doubles of milliseconds since 1970 (a resolution of about 0.25 µs today), fine for any limit
 * up to millions per minute; the expiry is at least 1 ms.
 */
const GCRA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval, window, n, back = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or 0) - back * interval, now)
local next = tat + interval * math.max(n, 1)
local allowed = next - now <= window
if allowed and n > 0 then tat = next end
if (allowed and n > 0) or back > 0 then
  if tat > now then redis.call('SET', KEYS[1], tat, 'PX', math.max(1, math.ceil(tat - now))) else redis.call('DEL', KEYS[1]) end
end
local locked = math.max(0, math.ceil(tat + interval - window - now))
if locked > 0 and ARGV[5] ~= '' then redis.call('PUBLISH', ARGV[5], locked .. ' ' .. ARGV[6]) end
if allowed then return {1, 0, locked} end
return {0, math.ceil(next - window - now), locked}`;

type GcraRedis = RedisClient & {
  omnistockGcra(key: string, intervalMs: string, windowMs: string, n: string, back: string, channel: string, subject: string): Promise<[number, number, number]>;
};

/** One GCRA step: whether the requests passed, how long until they would, and how long not even one more would. */
export interface GcraStep {
  allowed: boolean;
  waitMs: number;
  lockedForMs: number;
}

export type RateDecision = { ok: true } | { ok: false; limit: number; retryAfterMs: number; retryAfterSeconds: number };

const OK: RateDecision = { ok: true };

/** A refusal of a client with `limit` requests per window that may send again in `waitMs`. */
export function refused(limit: number, waitMs: number): RateDecision {
  return { ok: false, limit, retryAfterMs: waitMs, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
}

/**
 * The same GCRA in this process's memory: the budget a replica enforces alone while Redis cannot be
 * reached, so a Redis outage neither takes the API down nor lifts its limits (each replica then
 * allows up to the limit by itself). Entries whose time has passed are dropped as the map grows.
 */
export class LocalGcra {
  private readonly tats = new Map<string, number>();

  constructor(private readonly maxKeys = 100_000) {}

  take(key: string, intervalMs: number, windowMs: number, n: number, now = Date.now()): GcraStep {
    const tat = Math.max(this.tats.get(key) ?? 0, now);
    const next = tat + intervalMs * Math.max(n, 1);
    const locked = (t: number) => Math.max(0, Math.ceil(t + intervalMs - windowMs - now));
    if (next - now > windowMs) return { allowed: false, waitMs: Math.ceil(next - windowMs - now), lockedForMs: locked(tat) };
    if (n > 0) {
      if (this.tats.size >= this.maxKeys) for (const [k, t] of this.tats) if (t <= now) this.tats.delete(k);
      // Still full of live budgets (a flood of distinct keys): refuse rather than forget one.
      if (this.tats.size >= this.maxKeys && !this.tats.has(key)) return { allowed: false, waitMs: windowMs, lockedForMs: windowMs };
      this.tats.set(key, next);
      return { allowed: true, waitMs: 0, lockedForMs: locked(next) };
    }
    return { allowed: true, waitMs: 0, lockedForMs: locked(tat) };
  }
}

/** A replica's part of a client's budget, taken ahead from Redis. */
interface Lease {
  /** Requests taken and not used yet; they lapse at `until`, and are handed back with the next step. */
  tokens: number;
  until: number;
  /** Requests used of the lease, which sizes the next. */
  used: number;
  /** The step in flight for this client on this replica: others wait for it rather than each asking Redis. */
  step: Promise<RateDecision> | null;
}

/** Clients with a lease on one replica; past it, clients go without. */
const MAX_LEASES = 10_000;

/**
 * Requests per client and sliding window, counted in Redis (so every gateway replica shares one budget).
 *
 * A busy client's requests are not each a round trip: a replica takes several of its requests from
 * Redis at once (a lease) and admits from them for up to `leaseMs`. A lease holds at most what the
 * client may spend in `leaseMs` at its full rate (clients whose limit allows less than two in that
 * time are counted request by request), starts at one request, doubles while it is used up, and what
 * a replica did not use goes back to Redis with its next step. Nothing is admitted that was not taken
 * from the shared budget: across replicas a client gets at most its limit in any window plus what it
 * may use in one lease time (window + leaseMs), and a lease held unused by one replica can refuse a
 * client at another for up to `leaseMs` before its limit. Near its limit, a client is counted request
 * by request (a lease that does not fit is not taken), so its refusal and Retry-After are exact.
 */
export class RateLimiter {
  /** Counts while Redis is unreachable: limits fail closed to a per-replica budget. */
  private readonly local = new LocalGcra();
  private readonly leases = new Map<string, Lease>();
  private redisDown = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly settings: RateSettings,
    private readonly log: Logger,
  ) {
    // EVALSHA, loading the script once (ioredis falls back to EVAL after a SCRIPT FLUSH): not the script's text with every request.
    if (!('omnistockGcra' in redis)) redis.defineCommand('omnistockGcra', { numberOfKeys: 1, lua: GCRA });
  }

  limitOf(client: string): number {
    return perClientSetting(client, this.settings.perClient, this.settings.perMinute);
  }

  /** The client's emission interval: its window over its limit (a locked client waits at most this long per request it may send). */
  intervalOf(client: string): number {
    return this.settings.windowMs / this.limitOf(client);
  }

  /** Takes `n` requests (a batch counts each of its operations) from the client's budget, or none when they do not all fit; `n` = 0 only asks whether one more would. */
  async take(client: string, n = 1): Promise<RateDecision> {
    const limit = this.limitOf(client);
    if (limit <= 0) return OK;
    const key = this.keyOf(client);
    const most = Math.floor((limit * this.settings.leaseMs) / this.settings.windowMs);
    const lease = most >= 2 && !this.redisDown ? this.leaseOf(key) : null;
    if (!lease) return this.decide(limit, await this.step(key, limit, n));
    for (;;) {
      if (lease.until > Date.now() && lease.tokens >= Math.max(n, 1)) {
        lease.tokens -= n;
        lease.used += n;
        return OK;
      }
      if (!lease.step) {
        const step = (lease.step = this.renew(key, limit, most, n, lease));
        // Waiters resume after this requester (its own answer comes first, then theirs).
        void step.finally(() => {
          if (lease.step === step) lease.step = null;
        });
        return step;
      }
      await lease.step.catch(() => {});
    }
  }

  /**
   * One exact step for the client (no lease), publishing `<ms> <subject>` on `channel` when it leaves
   * the client locked; with the step's lock, which the local fallback computes alike.
   */
  async count(client: string, n: number, announce: { channel: string; subject: string }): Promise<{ decision: RateDecision; lockedForMs: number }> {
    const limit = this.limitOf(client);
    if (limit <= 0) return { decision: OK, lockedForMs: 0 };
    const step = await this.step(this.keyOf(client), limit, n, 0, announce);
    return { decision: this.decide(limit, step), lockedForMs: step.lockedForMs };
  }

  private keyOf(client: string): string {
    return `${this.settings.keyPrefix}:ratelimit:${client}`;
  }

  private leaseOf(key: string): Lease | null {
    let lease = this.leases.get(key);
    if (lease) return lease;
    if (this.leases.size >= MAX_LEASES) {
      const now = Date.now();
      for (const [k, l] of this.leases) if (l.until <= now && !l.step) this.leases.delete(k);
      if (this.leases.size >= MAX_LEASES) return null;
    }
    this.leases.set(key, (lease = { tokens: 0, until: 0, used: 0, step: null }));
    return lease;
  }

  /** A new lease for the client, sized on the last one's use (at most `most`), handing back what is left of the last; exact when that does not fit. */
  private async renew(key: string, limit: number, most: number, n: number, lease: Lease): Promise<RateDecision> {
    const back = lease.tokens;
    const want = Math.max(n, Math.min(most, 2 * lease.used));
    lease.tokens = 0;
    lease.used = 0;
    // Without Redis the replica's own budget answers for the request alone: no lease is taken from it.
    let step = await this.step(key, limit, want, back, undefined, n);
    let taken = this.redisDown ? n : want;
    if (!step.allowed && want > n) {
      taken = n;
      step = await this.step(key, limit, n);
    }
    if (step.allowed) {
      lease.tokens = taken - n;
      lease.used = n;
      lease.until = Date.now() + this.settings.leaseMs;
    }
    return this.decide(limit, step);
  }

  /** One GCRA step in Redis; while Redis cannot be reached, `alone` requests (default `n`) from this replica's own budget. */
  private async step(key: string, limit: number, n: number, back = 0, announce?: { channel: string; subject: string }, alone = n): Promise<GcraStep> {
    const { windowMs } = this.settings;
    try {
      const [allowed, waitMs, lockedForMs] = await (this.redis as unknown as GcraRedis).omnistockGcra(
        key,
        String(windowMs / limit),
        String(windowMs),
        String(n),
        String(back),
        announce?.channel ?? '',
        announce?.subject ?? '',
      );
      if (this.redisDown) this.log.info('rate limits counted in Redis again');
      this.redisDown = false;
      return { allowed: allowed === 1, waitMs, lockedForMs };
    } catch (err) {
      // Fail closed, not down: this replica counts alone until Redis answers again.
      if (!this.redisDown) this.log.warn({ err: (err as Error).message }, 'Redis unavailable: rate limits counted by this replica alone');
      this.redisDown = true;
      return this.local.take(key, windowMs / limit, windowMs, alone);
    }
  }

  private decide(limit: number, step: GcraStep): RateDecision {
    if (step.allowed) return OK;
    return refused(limit, step.waitMs);
  }
}

/** A client's override of a limit (RATE_LIMITS, MAX_QUERY_COSTS) when it has one, else the default; `client` is a rateKey. */
export function perClientSetting(client: string, overrides: Record<string, number>, fallback: number): number {
  const id = client.startsWith('client:') ? client.slice('client:'.length) : undefined;
  return (id !== undefined ? overrides[id] : undefined) ?? fallback;
}
