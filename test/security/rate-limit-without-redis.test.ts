import { afterAll, describe, expect, it } from 'vitest';
import { limitSettings, LocalGcra, RateLimiter } from '../../gateway/limits/limits.js';
import { configWith } from '../../lib/config.js';
import { logger } from '../../lib/logger.js';
import { createRedis } from '../../lib/redis.js';
import { freePort } from '../ports.js';

/**
 * Limits fail closed: the attack is a flood while the gateway cannot reach Redis (a failover, a
 * partition, or one the attacker caused). The rate limit must still refuse past its budget, counted
 * by the replica alone, instead of letting every request through.
 */
const dead = createRedis(`redis://127.0.0.1:${await freePort()}`, { maxRetriesPerRequest: 0, retryStrategy: () => 1000, enableOfflineQueue: false });

afterAll(() => {
  dead.disconnect();
});

describe('the rate limit without Redis', () => {
  it('still refuses past the budget, counting in the replica', async () => {
    const limiter = new RateLimiter(dead, { ...limitSettings(configWith({})), perMinute: 3, perClient: {} }, logger());
    const decisions = [];
    for (let i = 0; i < 5; i++) decisions.push((await limiter.take('ip:203.0.113.9')).ok);
    expect(decisions).toEqual([true, true, true, false, false]);
    expect((await limiter.take('ip:203.0.113.10')).ok).toBe(true);
  });

  it('still refuses past the budget when the client is busy enough for leases: no lease is taken without Redis', async () => {
    const limiter = new RateLimiter(dead, { ...limitSettings(configWith({})), perMinute: 1200, perClient: {}, leaseMs: 1000 }, logger());
    let admitted = 0;
    for (let wave = 0; wave < 30; wave++) {
      const decisions = await Promise.all(Array.from({ length: 50 }, () => limiter.take('client:busy')));
      admitted += decisions.filter((d) => d.ok).length;
    }
    // 1,500 asked at once: the replica's own budget of 1,200 (plus what a second or two regains), no more.
    expect(admitted).toBeGreaterThanOrEqual(1200);
    expect(admitted).toBeLessThanOrEqual(1200 + 60);
  });

  it('keeps a bounded memory under a flood of distinct callers, refusing newcomers rather than forgetting live budgets', () => {
    const local = new LocalGcra(100);
    const now = 1_000_000;
    for (let i = 0; i < 100; i++) expect(local.take(`ip:${i}`, 20_000, 60_000, 1, now).allowed).toBe(true);
    expect(local.take('ip:new', 20_000, 60_000, 1, now).allowed).toBe(false);
    // Once the budgets' time has passed, their entries make room.
    expect(local.take('ip:new', 20_000, 60_000, 1, now + 20_001).allowed).toBe(true);
  });
});
