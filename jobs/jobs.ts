import type { DataSource } from 'typeorm';
import type { Config, SubgraphName } from '../lib/config.js';
import { logger } from '../lib/logger.js';
import { closeRedis, createRedis, redisTarget } from '../lib/redis.js';
import { startHealthService, type RunningService } from '../lib/server.js';
import { eventKeys } from '../lib/event-stream.js';
import { nudgeClient, openSubgraphDatabase } from '../lib/subgraph.js';
import { SUBGRAPHS } from '../subgraphs/index.js';
import { REGISTRY_MAINTENANCE_QUEUE, WEBHOOK_QUEUE } from '../registry/index.js';
import { ReplicaService } from '../subgraphs/inventory/services/replica.service.js';
import { INVENTORY_MAINTENANCE_QUEUE, startReservationExpiry } from '../subgraphs/inventory/services/reservation-expiry.js';
import { ORDERS_MAINTENANCE_QUEUE, startOrderSweeper } from '../subgraphs/orders/services/order-sweeper.js';
import { MarketplaceSync } from '../subgraphs/marketplaces/services/sync.js';
import { startExceptionJobs } from '../subgraphs/exceptions/feeds/exception-jobs.js';
import { JobsMetrics } from './metrics.js';
import { OutboxRelay, relaySettings } from '../lib/outbox-relay.js';
import { ReplicationConsumer } from '../subgraphs/inventory/feeds/replication-consumer.js';
import { fillReplicaLocationNames, republishChannels, republishReplicaSources } from './resync.js';

/** The subgraphs whose migrations create an outbox; a relay drains each one's database. */
const EVENT_SOURCES = ['inventory', 'channels', 'locations', 'marketplaces', 'orders', 'exceptions'] as const satisfies readonly SubgraphName[];

/**
 * The jobs process: a relay per event-emitting database, the consumer that feeds inventory's
 * replicas, marketplace sync (change feed, a push worker per account, resyncs and drift repair),
 * the reservation expiry worker, the order sweeper and the exceptions inbox's feed, detection and
 * webhooks, behind /healthz and /readyz on JOBS_PORT
 * (`degraded` while a marketplace connection's pushes wait for usable credentials).
 * close() lets each finish what it holds (a batch, an entry, a job), releases the relay locks and
 * closes every connection.
 */
export async function startJobs(cfg: Config): Promise<RunningService> {
  const log = logger();
  // Run in reverse on close, or when a later step of the start fails.
  const closers: (() => Promise<unknown>)[] = [];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) await close();
  };
  try {
    // What this process commits to an outbox (replicas, expiries, marketplace orders) nudges its relay too.
    const nudges = nudgeClient(cfg);
    closers.push(async () => nudges.disconnect());
    const entries = await Promise.all(
      EVENT_SOURCES.map(async (name) => [name, await openSubgraphDatabase(cfg, SUBGRAPHS[name], nudges)] as const),
    );
    const databases = Object.fromEntries(entries) as Record<(typeof EVENT_SOURCES)[number], DataSource>;
    closers.push(() => Promise.all(entries.map(([, ds]) => ds.destroy())));

    const publisher = createRedis(redisTarget(cfg));
    // XREADGROUP BLOCK holds its connection, so the consumer gets one of its own.
    const consumerRedis = createRedis(redisTarget(cfg));
    for (const client of [publisher, consumerRedis]) closers.push(() => closeRedis(client));

    // Each relay publishes as soon as a writer's nudge says it committed rows, and polls besides: inventory's
    // every OUTBOX_POLL_MS, since the time it last found its outbox drained is what the availability read
    // model counts its freshness from (it answers only while that is within AVAILABILITY_READ_MODEL_MAX_LAG_MS);
    // the others, whose drained time nobody reads, every OUTBOX_IDLE_POLL_MS (a nudge lost costs only latency).
    const relays = new Map(
      EVENT_SOURCES.map((source) => {
        const settings = { ...relaySettings(cfg), pollMs: source === 'inventory' ? cfg.OUTBOX_POLL_MS : cfg.OUTBOX_IDLE_POLL_MS };
        return [eventKeys.nudge(cfg.REDIS_KEY_PREFIX, source), new OutboxRelay({ source, dataSource: databases[source], redis: publisher, ...settings })] as const;
      }),
    );
    // SUBSCRIBE holds its connection: one of its own.
    const nudged = createRedis(redisTarget(cfg));
    closers.push(async () => nudged.disconnect());
    nudged.on('message', (channel: string) => relays.get(channel)?.wake());
    await nudged.subscribe(...relays.keys());
    for (const relay of relays.values()) relay.start();
    closers.push(() => Promise.all([...relays.values()].map((relay) => relay.stop())));

    const consumer = new ReplicationConsumer({
      redis: consumerRedis,
      replicas: new ReplicaService(databases.inventory),
      keyPrefix: cfg.REDIS_KEY_PREFIX,
      claimIdleMs: cfg.REPLICA_CLAIM_IDLE_MS,
      resync: () => republishReplicaSources(databases),
    });
    closers.push(() => consumer.stop());
    await consumer.start();
    const named = await fillReplicaLocationNames(databases);
    if (named) log.info({ locations: named }, "asked for every location's snapshot again: inventory's replica lacked names");

    const marketplacesDb = databases.marketplaces;
    const marketplace = new MarketplaceSync(cfg, marketplacesDb, () => republishChannels(databases.channels));
    closers.push(() => marketplace.stop());
    await marketplace.start();

    const expiry = await startReservationExpiry({
      inventory: databases.inventory,
      redis: redisTarget(cfg),
      keyPrefix: cfg.REDIS_KEY_PREFIX,
      everyMs: cfg.RESERVATION_EXPIRY_INTERVAL_MS,
    });
    closers.push(() => expiry.close());

    // The order sweeper works on orders' database, which its relay already holds open.
    const ordersDb = databases.orders;
    const sweeper = await startOrderSweeper({ orders: ordersDb, cfg });
    closers.push(() => sweeper.close());

    const exceptionJobs = await startExceptionJobs(databases.exceptions, cfg);
    closers.push(() => exceptionJobs.close());

    // Its own connection, failing a command after one retry: a scrape must not wait on a Redis that is away.
    const metricsRedis = createRedis(redisTarget(cfg), { maxRetriesPerRequest: 1 });
    closers.push(() => closeRedis(metricsRedis));
    const metrics = new JobsMetrics({
      outboxes: databases,
      // The gateway's registry queues too: they share REDIS_KEY_PREFIX, and this is where queues are watched.
      queueNames: () => [INVENTORY_MAINTENANCE_QUEUE, ORDERS_MAINTENANCE_QUEUE, REGISTRY_MAINTENANCE_QUEUE, WEBHOOK_QUEUE, ...exceptionJobs.queueNames, ...marketplace.queueNames()],
      channelSummaries: () => marketplace.channelSummaries(),
      redis: metricsRedis,
      prefix: cfg.REDIS_KEY_PREFIX,
      log: log.child({ component: 'metrics' }),
    });
    closers.push(() => metrics.close());

    return await startHealthService({
      name: 'jobs',
      host: cfg.HOST,
      port: cfg.JOBS_PORT,
      readiness: {
        mysql: () => Promise.all([...entries.map(([, ds]) => ds.query('SELECT 1')), ordersDb.query('SELECT 1')]),
        redis: () => publisher.ping(),
      },
      advisories: { marketplace: () => marketplace.assertHealthy() },
      routes: marketplace.webhookRoutes(),
      metrics: (registry) => metrics.register(registry),
      onClose: closeAll,
    });
  } catch (err) {
    await closeAll();
    throw err;
  }
}
