import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { configWith, databaseName } from '../lib/config.js';
import { logger } from '../lib/logger.js';
import { outboxStore } from '../lib/outbox.js';
import { createRedis, redisTarget } from '../lib/redis.js';
import { startHealthService, type RunningService } from '../lib/server.js';
import { openSubgraphDatabase } from '../lib/subgraph.js';
import { JobsMetrics } from '../jobs/metrics.js';
import { SUBGRAPHS } from '../subgraphs/index.js';
import { errorCode, gql } from './client.js';
import { waitFor } from './events.js';
import { marketplaceEnv, MarketplaceWorld, secretsDir, startSimulator } from './marketplace-fixture.js';
import type { MarketplaceSimulator } from '../tools/marketplace-simulator/index.js';
import { scrape, sample, value, type Sample } from './metrics-scrape.js';
import { startOrdersStack, type OrdersStack } from './orders-fixture.js';
import { startStack, type Stack } from './stack.js';
import { collect, wsClient, wsUrl } from './subscriptions-helpers.js';

/**
 * Each metric of issue #8 moves when its cause happens, read from /metrics over HTTP: the gateway's
 * (operations, refusals, subgraph fetches, subscription deliveries), inventory's (refused
 * reservations) and the jobs process's (queues, marketplace channels, outbox).
 */

const LIMITED = 'metrics-limited';
let stack: OrdersStack;
let sim: MarketplaceSimulator;
let w: MarketplaceWorld;
let secrets: Awaited<ReturnType<typeof secretsDir>>;
let store: string;

beforeAll(async () => {
  secrets = await secretsDir();
  sim = await startSimulator();
  stack = await startOrdersStack({
    ...marketplaceEnv(secrets.dir),
    // Pushes to a marketplace that is down stay in the backlog for a few seconds of retries, then become dead letters.
    MARKETPLACE_PUSH_ATTEMPTS: '6',
    MARKETPLACE_COALESCE_MS: '200',
    RATE_LIMITS: `${LIMITED}=1`,
  });
  w = new MarketplaceWorld(stack, sim, secrets.dir);
  store = await w.location();
});
afterAll(async () => {
  await stack?.close();
  await sim?.close();
  await secrets?.remove();
});

const gateway = () => scrape(stack.gatewayUrl);
const PROBE = 'query MetricsProbe { inventoryItem(sku: "NOPE-1") { sku } }';

describe('gateway metrics', () => {
  it('counts an operation with its name, client and outcome, its latency, and the subgraph fetch it made', async () => {
    const client = `metrics-${randomUUID().slice(0, 8)}`;
    const before = await gateway();
    const res = await gql(stack.gatewayUrl, PROBE, {}, { 'x-client-id': client });
    expect(res.errors).toBeUndefined();
    const after = await gateway();
    expect(value(after, 'omnistock_gateway_requests_total', { operation: 'MetricsProbe', client, outcome: 'ok' })).toBe(1);
    expect(value(after, 'omnistock_gateway_request_duration_seconds_count', { operation: 'MetricsProbe', client })).toBe(1);
    expect(value(after, 'omnistock_gateway_request_duration_seconds_sum', { operation: 'MetricsProbe', client })).toBeGreaterThan(0);
    const fetches = (s: typeof before) => value(s, 'omnistock_gateway_subgraph_fetch_duration_seconds_count', { subgraph: 'inventory' });
    expect(fetches(after) - fetches(before)).toBeGreaterThanOrEqual(1);
  });

  it('counts a subgraph error as the outcome and as a graphql fetch error, not as a refusal', async () => {
    const client = `metrics-${randomUUID().slice(0, 8)}`;
    const before = await gateway();
    const res = await gql(stack.gatewayUrl, 'query MetricsBad { nearbyLocations(latitude: 0, longitude: 0, radiusKm: -5) { distanceKm } }', {}, { 'x-client-id': client });
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    const after = await gateway();
    expect(value(after, 'omnistock_gateway_requests_total', { operation: 'MetricsBad', client, outcome: 'BAD_USER_INPUT' })).toBe(1);
    const errors = (s: typeof before) => value(s, 'omnistock_gateway_subgraph_fetch_errors_total', { subgraph: 'locations', kind: 'graphql' });
    expect(errors(after) - errors(before)).toBe(1);
    expect(sample(after, 'omnistock_gateway_refusals_total', { client })).toBeUndefined();
  });

  it('counts a rate-limited request as a RATE_LIMITED outcome and refusal of its client', async () => {
    const first = await gql(stack.gatewayUrl, PROBE, {}, { 'x-client-id': LIMITED });
    expect(first.errors).toBeUndefined();
    const second = await gql(stack.gatewayUrl, PROBE, {}, { 'x-client-id': LIMITED });
    expect(errorCode(second)).toBe('RATE_LIMITED');
    const after = await gateway();
    expect(value(after, 'omnistock_gateway_requests_total', { operation: 'MetricsProbe', client: LIMITED, outcome: 'ok' })).toBe(1);
    expect(value(after, 'omnistock_gateway_requests_total', { operation: 'MetricsProbe', client: LIMITED, outcome: 'RATE_LIMITED' })).toBe(1);
    expect(value(after, 'omnistock_gateway_refusals_total', { reason: 'RATE_LIMITED', client: LIMITED })).toBe(1);
  });

  it('counts a body refused before Apollo (413) with operation unknown and reason PAYLOAD_TOO_LARGE', async () => {
    const before = await gateway();
    const res = await fetch(stack.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ __typename }`, variables: { pad: 'x'.repeat(12 * 1024 * 1024) } }),
    });
    expect(res.status).toBe(413);
    await res.arrayBuffer();
    const after = await gateway();
    const labels = { operation: 'unknown', client: 'anonymous', outcome: 'PAYLOAD_TOO_LARGE' };
    expect(value(after, 'omnistock_gateway_requests_total', labels) - value(before, 'omnistock_gateway_requests_total', labels)).toBe(1);
    const refusal = { reason: 'PAYLOAD_TOO_LARGE', client: 'anonymous' };
    expect(value(after, 'omnistock_gateway_refusals_total', refusal) - value(before, 'omnistock_gateway_refusals_total', refusal)).toBe(1);
  });

  it('counts each operation of a batched request and of a graphql-ws connection', async () => {
    const client = `metrics-${randomUUID().slice(0, 8)}`;
    const res = await fetch(stack.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-client-id': client },
      body: JSON.stringify([{ query: PROBE }, { query: 'query MetricsOther { __typename }' }]),
    });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const ws = wsClient(wsUrl(stack.gatewayUrl), { 'x-client-id': client });
    try {
      const r = collect(ws, PROBE);
      await waitFor('the graphql-ws query', async () => r.completed);
      expect(r.errors).toEqual([]);
    } finally {
      await ws.dispose();
    }
    const after = await gateway();
    expect(value(after, 'omnistock_gateway_requests_total', { operation: 'MetricsProbe', client, outcome: 'ok' })).toBe(2);
    expect(value(after, 'omnistock_gateway_requests_total', { operation: 'MetricsOther', client, outcome: 'ok' })).toBe(1);
  });

  it('counts subscription deliveries and keeps the active subscriptions gauge', async () => {
    const channel = await w.channel([store]);
    const sku = await w.item();
    await w.replicated([store], [channel]);
    const before = value(await gateway(), 'omnistock_subscription_deliveries_total');
    const ws = wsClient(wsUrl(stack.gatewayUrl));
    try {
      const r = collect(ws, 'subscription($f: StockChangedFilter!) { stockChanged(filter: $f) { sku } }', { f: { skus: [sku], channelId: channel } });
      // The first receipts may come before the upstream subscription is open: receive until one arrives.
      await waitFor('a delivered stock change', async () => {
        if (!r.results.length) await w.receive(sku, store, 1);
        return r.results.length > 0;
      });
      const during = await gateway();
      expect(value(during, 'omnistock_subscriptions_active')).toBeGreaterThanOrEqual(1);
      expect(value(during, 'omnistock_subscription_deliveries_total') - before).toBeGreaterThanOrEqual(r.results.length);
      r.stop();
    } finally {
      await ws.dispose();
    }
  });
});

describe('gateway metrics with authentication enforced', () => {
  let enforced: Stack;
  beforeAll(async () => {
    enforced = await startStack({ env: { AUTH_MODE: 'enforce' } });
  });
  afterAll(async () => {
    await enforced?.close();
  });

  it('counts credentials refused while the context is built and an anonymous operation refused by the guard as UNAUTHENTICATED', async () => {
    const refusals = (s: Sample[]) => value(s, 'omnistock_gateway_refusals_total', { reason: 'UNAUTHENTICATED', client: 'anonymous' });
    const before = await scrape(enforced.gatewayUrl);
    // Refused before Apollo read the operation: named by the body's operationName when it has one, else unknown.
    const unknownKey = await fetch(enforced.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'osk_nope' },
      body: JSON.stringify({ query: 'query MetricsKey { inventoryItem(sku: "NOPE-1") { sku } }', operationName: 'MetricsKey' }),
    });
    expect([unknownKey.status, ((await unknownKey.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code]).toEqual([401, 'UNAUTHENTICATED']);
    const unnamed = await gql(enforced.gatewayUrl, 'query MetricsKey { inventoryItem(sku: "NOPE-1") { sku } }', {}, { 'x-api-key': 'osk_nope' });
    expect(errorCode(unnamed)).toBe('UNAUTHENTICATED');
    const anonymous = await gql(enforced.gatewayUrl, 'query MetricsAnon { inventoryItem(sku: "NOPE-1") { sku } }');
    expect(errorCode(anonymous)).toBe('UNAUTHENTICATED');
    const after = await scrape(enforced.gatewayUrl);
    expect(refusals(after) - refusals(before)).toBe(3);
    expect(value(after, 'omnistock_gateway_requests_total', { operation: 'MetricsKey', client: 'anonymous', outcome: 'UNAUTHENTICATED' })).toBe(1);
    expect(value(after, 'omnistock_gateway_requests_total', { operation: 'unknown', client: 'anonymous', outcome: 'UNAUTHENTICATED' })).toBe(1);
    expect(value(after, 'omnistock_gateway_requests_total', { operation: 'MetricsAnon', client: 'anonymous', outcome: 'UNAUTHENTICATED' })).toBe(1);
  });
});

describe('inventory metrics', () => {
  it('counts a reservation refused for insufficient stock, made through orders or directly', async () => {
    const channel = await w.channel([store]);
    const sku = await w.item();
    await w.receive(sku, store, 1);
    await w.replicated([store], [channel]);
    const refused = async () => value(await scrape(stack.subgraphs.inventory.url), 'omnistock_reservations_refused_total', { reason: 'INSUFFICIENT_STOCK' });
    const before = await refused();
    const res = await w.ok(`mutation($input: ReserveStockInput!) { reserveStock(input: $input) { __typename } }`, {
      input: { idempotencyKey: randomUUID(), channelId: channel, lines: [{ sku, quantity: 5 }], ttlSeconds: 60 },
    });
    expect(res.reserveStock.__typename).toBe('InsufficientStock');
    expect((await refused()) - before).toBe(1);
  });
});

describe('jobs metrics', () => {
  it('reports queue depths, and a channel backlog, dead letters, throttles and lag when its marketplace throttles and then is down', async () => {
    const jobsUrl = stack.jobs!.url;
    const channel = await w.marketplaceChannel('EBAY', [store]);
    await w.replicated([store], [channel.channelId]);
    const sku = await w.item();
    sim.inject('EBAY', channel.account, { type: 'throttle', count: 1, retryAfterMs: 200 });
    await w.receive(sku, store, 5);
    await w.converged(channel, [sku]);
    const labels = { channel: channel.channelId };
    const throttled = await waitFor('the throttle and the lag of the pushes', async () => {
      const s = await scrape(jobsUrl);
      return value(s, 'omnistock_marketplace_throttles_total', labels) >= 1 && sample(s, 'omnistock_marketplace_lag_seconds', labels) ? s : null;
    });
    expect(sample(throttled, 'omnistock_marketplace_lag_seconds', labels)!.value).toBeGreaterThan(0);
    expect(value(throttled, 'omnistock_marketplace_dead_letters', labels)).toBe(0);
    const pushQueue = `marketplace-push.ebay.${channel.account}`;
    for (const state of ['waiting', 'active', 'delayed', 'failed', 'prioritized']) {
      expect(sample(throttled, 'omnistock_queue_jobs', { queue: pushQueue, state }), state).toBeDefined();
      expect(sample(throttled, 'omnistock_queue_jobs', { queue: 'inventory-maintenance', state }), state).toBeDefined();
      expect(sample(throttled, 'omnistock_queue_jobs', { queue: 'registry-webhooks', state }), state).toBeDefined();
    }

    sim.inject('EBAY', channel.account, { type: 'outage' });
    await w.receive(sku, store, 2);
    await waitFor('the backlog of the channel whose marketplace is down', async () => value(await scrape(jobsUrl), 'omnistock_marketplace_backlog', labels) >= 1, 30_000);
    await waitFor('its dead letter', async () => value(await scrape(jobsUrl), 'omnistock_marketplace_dead_letters', labels) >= 1, 30_000);
    sim.clearFaults();
  });

  describe('outbox', () => {
    const cfg = configWith({ DB_PREFIX: `omnistock_tm${randomUUID().slice(0, 8)}` });
    let ds: DataSource;
    let broken: DataSource;
    let service: RunningService;
    let metrics: JobsMetrics;
    const redis = createRedis(redisTarget(cfg), { maxRetriesPerRequest: 1 });

    beforeAll(async () => {
      // A database of its own that no relay drains, and one that is closed (its reads fail).
      ds = await openSubgraphDatabase(cfg, SUBGRAPHS.locations);
      const brokenCfg = configWith({ DB_PREFIX: `omnistock_tm${randomUUID().slice(0, 8)}` });
      broken = await openSubgraphDatabase(brokenCfg, SUBGRAPHS.locations);
      await broken.query(`DROP DATABASE \`${databaseName(brokenCfg, 'locations')}\``);
      await broken.destroy();
      metrics = new JobsMetrics({
        outboxes: { locations: ds, channels: broken },
        queueNames: () => [],
        channelSummaries: async () => [],
        redis,
        prefix: cfg.REDIS_KEY_PREFIX,
        log: logger(),
        cacheMs: 0,
      });
      service = await startHealthService({ name: 'jobs', host: '127.0.0.1', port: 0, readiness: {}, metrics: (r) => metrics.register(r) });
    });
    afterAll(async () => {
      await service?.close();
      await metrics?.close();
      await redis.quit();
      await ds?.query(`DROP DATABASE \`${databaseName(cfg, 'locations')}\``);
      await ds?.destroy();
    });

    it('reports the backlog and the age of the oldest waiting row, and leaves out a database it cannot read', async () => {
      const empty = await scrape(service.url);
      expect(value(empty, 'omnistock_outbox_backlog', { service: 'locations' })).toBe(0);
      expect(sample(empty, 'omnistock_outbox_lag_seconds', { service: 'locations' })?.value).toBe(0);
      expect(sample(empty, 'omnistock_outbox_backlog', { service: 'channels' })).toBeUndefined();

      await outboxStore.append(ds.manager, [{ topic: 'location', key: 'metrics-test', payload: { n: 1 } }], new Date(Date.now() - 5000));
      await outboxStore.append(ds.manager, [{ topic: 'location', key: 'metrics-test', payload: { n: 2 } }]);
      const waiting = await scrape(service.url);
      expect(value(waiting, 'omnistock_outbox_backlog', { service: 'locations' })).toBe(2);
      expect(value(waiting, 'omnistock_outbox_lag_seconds', { service: 'locations' })).toBeGreaterThanOrEqual(5);

      const rows = await outboxStore.unpublished(ds.manager, 10);
      await outboxStore.markPublished(ds.manager, rows.map((r) => r.seq), new Date());
      const drained = await scrape(service.url);
      expect(value(drained, 'omnistock_outbox_backlog', { service: 'locations' })).toBe(0);
      expect(value(drained, 'omnistock_outbox_lag_seconds', { service: 'locations' })).toBe(0);
    });
  });
});
