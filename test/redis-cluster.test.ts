import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { Queue, QueueKeys, Worker } from 'bullmq';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DemandMeter } from '../contracts/demand-meter.js';
import { TOPICS } from '../contracts/events.js';
import { SUBGRAPH_NAMES } from '../lib/config.js';
import { eventKeys } from '../lib/event-stream.js';
import { logger } from '../lib/logger.js';
import { bullmqConnection, checkRedis, createRedis, dropKeys, RedisUnreachableError, type RedisClient, type RedisTarget } from '../lib/redis.js';
import { bullmqPrefix, forceClusterKeyLayout } from '../lib/redis-keys.js';
import { StreamConsumer, type TopicEntry } from '../lib/stream-consumer.js';
import { RateLimiter } from '../gateway/limits/limits.js';
import { AuthLockouts } from '../gateway/auth/lockouts.js';
import { AvailabilitySnapshots } from '../subgraphs/inventory/data/availability-snapshot.js';
import { MAINTENANCE_QUEUE, pushQueueName } from '../subgraphs/marketplaces/services/queues.js';
import { RateBucket } from '../subgraphs/marketplaces/services/rate-bucket.js';
import { bucketKey } from '../subgraphs/marketplaces/services/pusher.js';
import { PrivateRedisCluster } from './private-redis-cluster.js';
import { waitFor } from './events.js';

/** Redis Cluster's slot of a key (the hash of its hash tag): the function ioredis routes by. */
const slotOf = createRequire(import.meta.url)('cluster-key-slot') as (key: string) => number;
const slots = (keys: readonly string[]) => new Set(keys.map(slotOf));

const PREFIX = 'omnistock';
/** The queues the system opens (marketplace push queues are one per account). */
const QUEUES = [MAINTENANCE_QUEUE, pushQueueName('EBAY', 'acct-1'), pushQueueName('WALMART', 'acct:2'), 'registry-webhooks', 'inventory-maintenance', 'orders-maintenance'];
const channelSnapshotKeys = (prefix: string, channel: string) => {
  const snapshots = new AvailabilitySnapshots(createRedis('redis://127.0.0.1:1', { lazyConnect: true }), prefix, 60, logger());
  return Array.from({ length: 200 }, (_, i) => snapshots.key(channel, `SKU-${i}`));
};

/**
 * The one-slot rule of a Redis Cluster: every multi-key command, MULTI, pipeline, XREAD of several
 * streams and Lua script touches keys of one hash slot, or the cluster refuses it (CROSSSLOT). The
 * keys each such use is given are computed here from the modules' own key builders, laid out as for a
 * cluster; each group must fall in one slot, and the same keys laid out for a single server must not
 * (so the check can fail). Then the same uses run against a real 3-master cluster.
 */
describe('the Redis key layout on a cluster: keys used together share one slot', () => {
  afterAll(() => forceClusterKeyLayout(undefined));

  it("every topic's stream and every relay's drained time (the relay's MULTI, XREAD and XREADGROUP over several streams)", () => {
    forceClusterKeyLayout(true);
    const keys = [...Object.values(TOPICS).map((t) => eventKeys.stream(PREFIX, t)), ...SUBGRAPH_NAMES.map((s) => eventKeys.drained(PREFIX, s))];
    expect(keys[0]).toBe('{omnistock:events}:stock');
    expect(slots(keys).size).toBe(1);
    forceClusterKeyLayout(false);
    const untagged = [...Object.values(TOPICS).map((t) => eventKeys.stream(PREFIX, t)), ...SUBGRAPH_NAMES.map((s) => eventKeys.drained(PREFIX, s))];
    // A single server keeps the names it always had, and they spread over slots: the check above can fail.
    expect(untagged[0]).toBe('omnistock:events:stock');
    expect(untagged).toContain('omnistock:relay:inventory:drained');
    expect(slots(untagged).size).toBeGreaterThan(1);
  });

  it("a channel's availability snapshots (saved in one pipeline, read in one MGET); channels spread over slots", () => {
    forceClusterKeyLayout(true);
    expect(slots(channelSnapshotKeys(PREFIX, 'ch-1')).size).toBe(1);
    const channels = Array.from({ length: 20 }, (_, i) => channelSnapshotKeys(PREFIX, `ch-${i}`)[0]!);
    expect(slots(channels).size).toBeGreaterThan(1);
    forceClusterKeyLayout(false);
    expect(channelSnapshotKeys(PREFIX, 'ch-1')[0]).toBe('omnistock:availability:ch-1:SKU-0');
    expect(slots(channelSnapshotKeys(PREFIX, 'ch-1')).size).toBeGreaterThan(1);
  });

  it('every key of every BullMQ queue (its Lua scripts touch many at once)', () => {
    forceClusterKeyLayout(true);
    expect(bullmqPrefix(PREFIX)).toBe('{omnistock}');
    const keys = QUEUES.flatMap((q) => Object.values(new QueueKeys(bullmqPrefix(PREFIX)).getKeys(q)).filter(Boolean));
    expect(keys.length).toBeGreaterThan(20);
    expect(slots(keys).size).toBe(1);
    forceClusterKeyLayout(false);
    expect(bullmqPrefix(PREFIX)).toBe('omnistock');
    expect(slots(Object.values(new QueueKeys(bullmqPrefix(PREFIX)).getKeys(MAINTENANCE_QUEUE)).filter(Boolean)).size).toBeGreaterThan(1);
  });
});

describe('createRedis with REDIS_CLUSTER_NODES', () => {
  it("opens a Cluster carrying REDIS_URL's user, password and TLS to every node, with the caller's options", () => {
    const client = createRedis({ url: 'rediss://app:s%40cret@redis.example:6380', clusterNodes: ['10.0.0.1:7000', '[::1]:7001'] }, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
    try {
      expect(client).toBeInstanceOf(Cluster);
      const { options } = client as Cluster;
      expect(options.redisOptions).toMatchObject({ username: 'app', password: 's@cret', tls: {}, maxRetriesPerRequest: 1 });
      expect(options.lazyConnect).toBe(true);
      expect(options.clusterRetryStrategy?.(1, new Error('down'))).toBeNull();
    } finally {
      client.disconnect();
    }
    // Without seeds: the single server, as before.
    const single = createRedis('redis://127.0.0.1:6379', { lazyConnect: true });
    expect(single).not.toBeInstanceOf(Cluster);
    single.disconnect();
  });
});

describe('on a Redis Cluster of 3 masters', () => {
  let cluster: PrivateRedisCluster;
  let target: RedisTarget;
  let redis: RedisClient;
  const run = `t_cluster_${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    forceClusterKeyLayout(true);
    cluster = await PrivateRedisCluster.create(3);
    target = { url: 'redis://127.0.0.1', clusterNodes: cluster.nodes };
    redis = createRedis(target);
  });
  afterAll(async () => {
    forceClusterKeyLayout(undefined);
    await redis?.quit();
    await cluster?.stop();
  });

  it('createRedis opens a cluster client and checkRedis finds the cluster whole; a seed nothing answers at fails, naming it', async () => {
    expect(redis).toBeInstanceOf(Cluster);
    await checkRedis(target);
    const gone = { url: 'redis://127.0.0.1', clusterNodes: ['127.0.0.1:1'] };
    await expect(checkRedis(gone)).rejects.toThrow(RedisUnreachableError);
    await expect(checkRedis(gone)).rejects.toThrow(/cluster 127\.0\.0\.1:1/);
  });

  it('demand counters: one MULTI and one MGET over many SKUs; the untagged layout is refused (the attack)', async () => {
    const meter = new DemandMeter(redis, `${run}:demand-ok`, 15 * 60_000);
    const skus = Array.from({ length: 40 }, (_, i) => `SKU-${i}`);
    const now = Date.now();
    await meter.record(skus.map((sku) => ({ sku, units: 2 })), now);
    const demand = await meter.demand(skus, now);
    expect(demand.get('SKU-7')!.unitsPerSecond).toBeGreaterThan(0);
    // The same operations with the single server's names span slots: the cluster refuses them.
    forceClusterKeyLayout(false);
    try {
      const untagged = new DemandMeter(redis, `${run}:demand-bad`, 15 * 60_000);
      await expect(untagged.record(skus.map((sku) => ({ sku, units: 2 })), now)).rejects.toThrow(/slot|CROSSSLOT/i);
      await expect(untagged.demand(skus, now)).rejects.toThrow(/CROSSSLOT/);
    } finally {
      forceClusterKeyLayout(true);
    }
  });

  it("availability snapshots: a channel's figures saved in one pipeline of Lua calls and read in one MGET", async () => {
    const snapshots = new AvailabilitySnapshots(redis, `${run}:snap`, 60, logger());
    const figures = Array.from({ length: 50 }, (_, i) => ({ sku: `SKU-${i}`, figure: { availableToSell: i, status: 'IN_STOCK' as const, locations: [] } }));
    snapshots.save('ch-1', figures, new Date());
    const loaded = await waitFor('the snapshots saved', async () => {
      const values = await snapshots.load('ch-1', figures.map((f) => f.sku));
      return values.every(Boolean) ? values : null;
    });
    expect(loaded.map((v) => v!.availableToSell)).toEqual(figures.map((f) => f.figure.availableToSell));
  });

  it('GCRA rate limits and token buckets: single-key scripts, on whichever master holds the key', async () => {
    const limiter = new RateLimiter(redis, { perMinute: 3, perClient: {}, keyPrefix: run, windowMs: 60_000, leaseMs: 0 }, logger());
    const decisions = [];
    for (let i = 0; i < 4; i++) decisions.push((await limiter.take('client:a')).ok);
    expect(decisions).toEqual([true, true, true, false]);
    const bucket = new RateBucket(redis, bucketKey(run, 'EBAY', 'acct-1', 'push'), { capacity: 10, refillPerSecond: 1 });
    await bucket.take(3);
    expect(await bucket.fill()).toBeLessThan(1);
  });

  it('auth lockouts: counted by single-key scripts that publish the lockout; every check asks the cluster, none answered from memory', async () => {
    const limiter = new RateLimiter(redis, { perMinute: 2, perClient: {}, keyPrefix: run, windowMs: 60_000, leaseMs: 0 }, logger());
    const [a, b] = [0, 1].map(() => new AuthLockouts(limiter, redis, target, run, logger()));
    const heard: string[] = [];
    const listener = createRedis(target);
    try {
      listener.on('message', (_channel: string, message: string) => heard.push(message));
      await listener.subscribe(`${run}:auth:lockouts`);
      for (const l of [a!, b!]) l.listen();
      await a!.fail('198.51.100.7');
      await a!.fail('198.51.100.7');
      expect((await b!.check('198.51.100.7')).ok).toBe(false);
      expect((await b!.check('198.51.100.8')).ok).toBe(true);
      await waitFor('the lockout published', async () => heard.find((m) => m.endsWith(' 198.51.100.7')));
      // Neither replica listens: three of their ping intervals pass with no ping on the channel and no
      // lockouts subscriber on any master, so no check can be answered from memory.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(heard.filter((m) => m.startsWith('ping '))).toEqual([]);
      const pubsub = await Promise.all((redis as Cluster).nodes('master').map((node) => node.call('CLIENT', 'LIST', 'TYPE', 'pubsub')));
      expect(pubsub.join('\n')).not.toContain('omnistock-auth-lockouts-');
      expect(b!.complete).toBe(false);
    } finally {
      await Promise.all([a!.close(), b!.close(), listener.quit()]);
    }
  });

  it('a consumer group reads every topic in one XREADGROUP, and dropKeys clears every master', async () => {
    const handled: TopicEntry[] = [];
    const topics = Object.values(TOPICS);
    // A client of its own (XREADGROUP BLOCK holds it), closed with the consumer: left open, it would
    // go on asking the stopped cluster for its slots in this worker's later files.
    const consumerRedis = createRedis(target);
    const consumer = new StreamConsumer({
      redis: consumerRedis,
      keyPrefix: run,
      topics,
      group: 'g',
      count: 100,
      claimIdleMs: 60_000,
      handle: async (entries) => {
        handled.push(...entries);
        return entries.map((e) => e.id);
      },
      onGroupCreated: async () => {},
      log: logger(),
    });
    await consumer.start();
    try {
      for (const [i, topic] of topics.entries()) {
        await redis.xadd(eventKeys.stream(run, topic), '*', 'source', 'inventory', 'seq', String(i + 1), 'key', 'k', 'payload', '{}');
      }
      await waitFor('every topic read', async () => (handled.length === topics.length ? true : null));
      expect(new Set(handled.map((e) => e.topic))).toEqual(new Set(topics));
    } finally {
      await consumer.stop();
      consumerRedis.disconnect();
    }
    // Keys of this run on more than one master, then none anywhere.
    await redis.set(`${run}:plain:a`, '1');
    await redis.set(`${run}:plain:b`, '1');
    const count = async () => {
      let n = 0;
      for (const node of (redis as Cluster).nodes('master')) {
        for (const pattern of [`${run}:*`, `{${run}:*`, `{${run}}:*`]) n += (await node.keys(pattern)).length;
      }
      return n;
    };
    expect(await count()).toBeGreaterThan(topics.length);
    await dropKeys(redis, run);
    expect(await count()).toBe(0);
  });

  it('BullMQ: a queue and a worker on the shared cluster client, under the hash-tagged prefix', async () => {
    const { connection, close } = bullmqConnection(target);
    const queue = new Queue('cluster-check', { connection, prefix: bullmqPrefix(run) });
    const done: string[] = [];
    const worker = new Worker('cluster-check', async (job) => void done.push(job.name), { connection, prefix: bullmqPrefix(run) });
    try {
      await queue.addBulk([{ name: 'a', data: {} }, { name: 'b', data: {}, opts: { delay: 100 } }, { name: 'c', data: {}, opts: { priority: 3 } }]);
      await waitFor('the jobs processed', async () => (done.length === 3 ? true : null));
      expect(done.sort()).toEqual(['a', 'b', 'c']);
    } finally {
      await worker.close();
      await queue.close();
      await close();
    }
  });
});
