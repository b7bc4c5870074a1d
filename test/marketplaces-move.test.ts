import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSupergraphConfig } from '../contracts/composition.js';
import { configWith, databaseName, registryDatabaseName } from '../lib/config.js';
import { openDatabase } from '../lib/db.js';
import { createRedis, redisTarget } from '../lib/redis.js';
import { openSubgraphDatabase } from '../lib/subgraph.js';
import { OPERATOR, openRegistry, type Registry } from '../registry/index.js';
import { ChannelEntity, ChannelSourceEntity } from '../subgraphs/channels/data/channel.entity.js';
import { CreateChannels1732000001000 } from '../subgraphs/channels/data/migrations/1732000001000-create-channels.js';
import { ChannelEvents1732000002000 } from '../subgraphs/channels/data/migrations/1732000002000-channel-events.js';
import { ChannelProtection1739000000000 } from '../subgraphs/channels/data/migrations/1739000000000-channel-protection.js';
import { ChannelService } from '../subgraphs/channels/services/channel.service.js';
import { MarketplaceSync1732000003000 } from '../subgraphs/marketplaces/data/migrations/1732000003000-marketplace-sync.js';
import { MarketplaceConnectionProblem1732000004000 } from '../subgraphs/marketplaces/data/migrations/1732000004000-marketplace-connection-problem.js';
import { marketplacesSubgraph } from '../subgraphs/marketplaces/index.js';
import { MarketplaceService } from '../subgraphs/marketplaces/services/marketplace.service.js';
import { marketplaceQueues } from '../subgraphs/marketplaces/services/queues.js';
import { dropKeys } from './events.js';

/**
 * Marketplace sync moved from the channels subgraph into a subgraph of its own. An installation
 * made before keeps everything: its rows move to the new database, and its registry takes the
 * moved fields in one change.
 */
const id = randomUUID().slice(0, 8);
const cfg = configWith({ DB_PREFIX: `omnistock_mv${id}`, REDIS_KEY_PREFIX: `omnistock_test:mv${id}` });

describe('marketplaces leaving the channels subgraph', () => {
  let channelsDb: DataSource;
  let marketplacesDb: DataSource | undefined;
  let registry: Registry;

  beforeAll(async () => {
    // The channels database as the channels subgraph's migrations left it before the move, with the
    // rule's protection column added since (ChannelService writes it).
    channelsDb = await openDatabase(cfg, {
      database: databaseName(cfg, 'channels'),
      entities: [ChannelEntity, ChannelSourceEntity],
      migrations: [CreateChannels1732000001000, ChannelEvents1732000002000, MarketplaceSync1732000003000, MarketplaceConnectionProblem1732000004000, ChannelProtection1739000000000],
    });
    registry = await openRegistry(cfg, { deliverWebhooks: false });
  });

  afterAll(async () => {
    for (const db of [databaseName(cfg, 'channels'), databaseName(cfg, 'marketplaces'), registryDatabaseName(cfg)]) await channelsDb.query(`DROP DATABASE IF EXISTS \`${db}\``);
    await marketplacesDb?.destroy();
    await channelsDb?.destroy();
    await registry?.close();
    const redis = createRedis(redisTarget(cfg));
    await dropKeys(redis, cfg.REDIS_KEY_PREFIX);
    await redis.quit();
  });

  it('moves every connection, sync state, dead letter and drift run, with the channels they belong to', async () => {
    const store = randomUUID();
    const channel = await new ChannelService(channelsDb).create({
      code: `MV-${id.toUpperCase()}`,
      name: 'eBay moved',
      type: 'MARKETPLACE',
      marketplace: 'EBAY',
      priority: 40,
      allocationRule: { sources: [{ locationId: store, priority: 1 }] },
    });
    const at = new Date('2026-11-27T08:00:00.000Z');
    await channelsDb.query(
      `INSERT INTO marketplace_connections (channel_id, kind, account_id, base_url, secret_name, settings, rate_policy, throttle_count, last_throttled_at, created_at, updated_at, problem_code, problem_message, problem_since)
       VALUES (?, 'EBAY', 'acct-1', 'https://api.ebay.com', 'ebay-acct-1', '{}', NULL, 3, ?, ?, ?, 'SECRET_MISSING', 'no such file', ?)`,
      [channel.id, at, at, at, at],
    );
    await channelsDb.query(
      `INSERT INTO marketplace_sync_state (channel_id, sku, pending, pending_since, last_event_seq, last_pushed_quantity, last_pushed_at, last_pushed_seq)
       VALUES (?, 'SKU-1', 0, NULL, '00000001700000000000-00000', 7, ?, '00000001700000000000-00000'), (?, 'SKU-2', 1, ?, '00000001700000000001-00000', NULL, NULL, NULL)`,
      [channel.id, at, channel.id, at],
    );
    const letter = randomUUID();
    await channelsDb.query(
      `INSERT INTO marketplace_dead_letters (id, channel_id, sku, quantity, message, code, attempts, created_at) VALUES (?, ?, 'SKU-3', 2, 'Invalid SKU', '25002', 1, ?)`,
      [letter, channel.id, at],
    );
    const run = randomUUID();
    await channelsDb.query(`INSERT INTO marketplace_drift_runs (id, channel_id, started_at, finished_at, checked, drifted, corrected) VALUES (?, ?, ?, ?, 2, 1, 1)`, [run, channel.id, at, at]);
    await channelsDb.query(`INSERT INTO marketplace_drift_lines (run_id, sku, ours, theirs) VALUES (?, 'SKU-1', 7, 9)`, [run]);

    // What `npm start` (and every process) does on start: open the subgraph's database, migrating it.
    marketplacesDb = await openSubgraphDatabase(cfg, marketplacesSubgraph);
    const queues = marketplaceQueues(cfg);
    try {
      const service = new MarketplaceService(marketplacesDb, queues, { allowedHosts: [] });
      const [connection] = await service.resolvedConnections();
      expect(connection).toMatchObject({
        channelId: channel.id,
        channelCode: `MV-${id.toUpperCase()}`,
        kind: 'EBAY',
        accountId: 'acct-1',
        secretName: 'ebay-acct-1',
        channelStatus: 'ACTIVE',
        channelPriority: 40,
        locationIds: [store],
        problem: { code: 'SECRET_MISSING', message: 'no such file', since: at },
      });
      const [summary] = await service.summaries([channel.id]);
      expect(summary).toMatchObject({ backlog: 1, deadLetters: 1, throttleCount: 3 });
      const states = await service.syncStatesOf(channel.id, ['SKU-1', 'SKU-2']);
      expect(states.get('SKU-1')).toMatchObject({ lastPushedQuantity: 7, pending: false });
      expect(states.get('SKU-2')).toMatchObject({ pending: true });
      expect((await service.deadLetters(channel.id, false, 10, null)).edges.map((e) => e.node.id)).toEqual([letter]);
      const runs = await service.driftRuns(channel.id, 10, null);
      expect(runs.edges.map((e) => e.node.id)).toEqual([run]);
      expect((await service.driftLinesOf([run]))[0]).toMatchObject([{ sku: 'SKU-1', ours: 7, theirs: 9 }]);
    } finally {
      await queues.close();
    }
    // Run again (a second process starting): the migration is recorded, nothing is copied twice.
    await marketplacesDb.destroy();
    marketplacesDb = await openSubgraphDatabase(cfg, marketplacesSubgraph);
    const [{ n }] = await marketplacesDb.query('SELECT COUNT(*) AS n FROM marketplace_sync_state');
    expect(Number(n)).toBe(2);
  });

  it("publishes the registry's channels and marketplaces schemas as one change, where one by one would break a client", async () => {
    const now = await readSupergraphConfig('supergraph.yaml');
    const channelsNow = now.find((s) => s.name === 'channels')!;
    const before = now
      .filter((s) => s.name !== 'marketplaces')
      .map((s) => (s.name === 'channels' ? { ...s, sdl: readFileSync('test/fixtures/channels-schema-before-marketplaces.graphql', 'utf8') } : s));
    expect(await registry.service.seed(before)).toBe(true);
    // The ops page reads the marketplace sync state of its channels.
    const today = new Date().toISOString().slice(0, 10);
    await registry.service.recordUsage([
      { coordinate: 'Channel.marketplaceSync', day: today, clientId: 'ops-page', operationHash: 'f'.repeat(64), operationName: 'OpsChannels', count: 12, lastSeen: new Date() },
    ]);

    const alone = await registry.service.check(OPERATOR, { subgraph: 'channels', sdl: channelsNow.sdl });
    expect(alone.ok).toBe(false);
    expect(alone.blockers.join('\n')).toContain('Channel.marketplaceSync used by ops-page');

    const outcomes = await registry.service.syncFromSources(OPERATOR, now);
    expect(Object.fromEntries(outcomes.map((o) => [o.subgraph, o.outcome]))).toEqual({
      inventory: 'unchanged',
      orders: 'unchanged',
      locations: 'unchanged',
      channels: 'published',
      marketplaces: 'published',
      exceptions: 'unchanged',
    });
    const published = outcomes.filter((o) => o.outcome === 'published');
    expect(new Set(published.map((o) => o.supergraphVersion))).toEqual(new Set([2]));
    for (const o of published) expect(o.check!.changes.filter((c) => c.criticality === 'BREAKING')).toEqual([]);
    const latest = await registry.service.history.supergraph();
    expect(latest!.members.map((m) => m.subgraph).sort()).toEqual(['channels', 'exceptions', 'inventory', 'locations', 'marketplaces', 'orders']);
    expect(latest!.sdl).toMatch(/marketplaceSync: MarketplaceSync @join__field\(graph: MARKETPLACES/);
  });
});
