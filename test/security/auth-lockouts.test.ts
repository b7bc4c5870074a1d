import { randomUUID } from 'node:crypto';
import { Cluster } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { AuthLockouts } from '../../gateway/auth/lockouts.js';
import { limitSettings, RateLimiter } from '../../gateway/limits/limits.js';
import { configWith } from '../../lib/config.js';
import { logger } from '../../lib/logger.js';
import { createRedis, redisTarget, type RedisClient } from '../../lib/redis.js';
import { dropKeys, waitFor } from '../events.js';

/**
 * Lockouts after failed authentications are checked from each gateway replica's memory, fed by a
 * Redis channel. The attacks: spread the guesses over replicas, cut a replica off the channel (its
 * connection killed, or silently unsubscribed), flood it with more locked addresses than it keeps.
 * Each time a locked address must stay locked on every replica.
 */
const cfg = configWith({});
const PER_MINUTE = 120; // one failure every 500 ms: a lockout lasts at most that long after its failure
const open: { lockouts: AuthLockouts; redis: RedisClient }[] = [];
const prefix = `omnistock_test:lockouts-${randomUUID().slice(0, 8)}`;

/** One gateway replica's lockouts, counting the checks that asked Redis. */
function replica(opts: { maxAddresses?: number } = {}) {
  const redis = createRedis(redisTarget(cfg));
  const failures = new RateLimiter(redis, { ...limitSettings(cfg), keyPrefix: prefix, perMinute: PER_MINUTE, perClient: {}, leaseMs: 0 }, logger());
  const r = { lockouts: new AuthLockouts(failures, redis, redisTarget(cfg), prefix, logger(), opts), redis, redisChecks: 0 };
  const take = failures.take.bind(failures);
  failures.take = (client, n) => {
    r.redisChecks++;
    return take(client, n);
  };
  r.lockouts.listen();
  open.push(r);
  return r;
}

const heardEnough = (r: ReturnType<typeof replica>) => waitFor('the replica to hear every lockout', async () => r.lockouts.complete || null, 15_000);
const address = () => `203.0.113.${Math.floor(Math.random() * 250)}-${randomUUID().slice(0, 6)}`;

/** Kills the connection of that name on whichever server (a cluster's master) holds it. */
async function killConnection(name: string): Promise<void> {
  const admin = createRedis(redisTarget(cfg));
  try {
    const servers = admin instanceof Cluster ? admin.nodes('master') : [admin];
    let killed = 0;
    for (const server of servers) {
      const line = String(await server.call('CLIENT', 'LIST', 'TYPE', 'pubsub')).split('\n').find((l) => l.includes(name));
      if (line) killed += Number(await server.call('CLIENT', 'KILL', 'ID', /id=(\d+)/.exec(line)![1]!));
    }
    expect(killed).toBe(1);
  } finally {
    await admin.quit();
  }
}

async function lockOut(r: ReturnType<typeof replica>, addr: string): Promise<void> {
  for (let i = 0; i < PER_MINUTE; i++) await r.lockouts.fail(addr);
}

afterEach(async () => {
  await Promise.all(open.splice(0).map(async (r) => {
    await r.lockouts.close();
    await r.redis.quit();
  }));
  const redis = createRedis(redisTarget(cfg));
  await dropKeys(redis, prefix);
  await redis.quit();
});

describe('auth lockouts across replicas', () => {
  it('asks Redis until a replica has heard the channel for a lockout’s length, then answers from memory', async () => {
    const a = replica();
    const addr = address();
    expect(a.lockouts.complete).toBe(false);
    expect((await a.lockouts.check(addr)).ok).toBe(true);
    expect(a.redisChecks).toBe(1);
    await heardEnough(a);
    const before = a.redisChecks;
    for (let i = 0; i < 100; i++) expect((await a.lockouts.check(address())).ok).toBe(true);
    expect(a.redisChecks).toBe(before);
  });

  it('a guesser locked out at one replica is refused at the other, from memory, with the wait', async () => {
    const [a, b] = [replica(), replica()];
    await Promise.all([heardEnough(a), heardEnough(b)]);
    const addr = address();
    await lockOut(a, addr);
    const checksBefore = b.redisChecks;
    const refused = await waitFor('the lockout heard at the other replica', async () => {
      const d = await b.lockouts.check(addr);
      return d.ok ? null : d;
    });
    expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(refused.limit).toBe(PER_MINUTE);
    expect(b.redisChecks).toBe(checksBefore);
    // Other addresses are not affected.
    expect((await b.lockouts.check(address())).ok).toBe(true);
  });

  it('a replica whose subscription is killed asks Redis again, and so refuses a lockout it never heard', async () => {
    const [a, b] = [replica(), replica()];
    await Promise.all([heardEnough(a), heardEnough(b)]);
    const id = (b.lockouts as unknown as { me: string }).me;
    await killConnection(`omnistock-auth-lockouts-${id}`);
    await waitFor('the replica to notice', async () => (b.lockouts.complete ? null : true), 5000);
    const addr = address();
    await lockOut(a, addr);
    // Whatever b heard or missed while reconnecting, it asks Redis now.
    const checks = b.redisChecks;
    expect((await b.lockouts.check(addr)).ok).toBe(false);
    expect(b.redisChecks).toBe(checks + 1);
  });

  it('a replica that silently stops hearing the channel stops trusting its memory within the deafness bound', async () => {
    const [a, b] = [replica(), replica()];
    await Promise.all([heardEnough(a), heardEnough(b)]);
    // The connection stays up, the messages stop: only the missing pings tell.
    await (b.lockouts as unknown as { subscriber: RedisClient }).subscriber.unsubscribe();
    await waitFor('the replica to notice it is deaf', async () => (b.lockouts.complete ? null : true), 5000);
    const addr = address();
    await lockOut(a, addr);
    expect((await b.lockouts.check(addr)).ok).toBe(false);
  });

  it('a flood of locked addresses beyond what a replica keeps makes it ask Redis, not forget a lockout', async () => {
    const [a, b] = [replica(), replica({ maxAddresses: 3 })];
    await Promise.all([heardEnough(a), heardEnough(b)]);
    const addrs = [address(), address(), address(), address()];
    for (const addr of addrs) await lockOut(a, addr);
    await waitFor('the replica to give up on memory', async () => (b.lockouts.complete ? null : true), 5000);
    for (const addr of addrs) expect((await b.lockouts.check(addr)).ok).toBe(false);
  });
});
