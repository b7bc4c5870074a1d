import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJobs } from '../jobs/jobs.js';
import { fillReplicaLocationNames, republishReplicaSources } from '../jobs/resync.js';
import { config, type Config } from '../lib/config.js';
import { TOPICS, type ChannelSnapshot } from '../contracts/events.js';
import { eventKeys } from '../lib/event-stream.js';
import { outboxStore } from '../lib/outbox.js';
import { createRedis, redisTarget, type RedisClient } from '../lib/redis.js';
import type { RunningService } from '../lib/server.js';
import { startSubgraph, type RunningSubgraph } from '../lib/subgraph.js';
import { DEMO_CHANNELS, DEMO_LOCATIONS } from '../scripts/demo/estate.js';
import { channelsSubgraph } from '../subgraphs/channels/index.js';
import { seedChannels } from '../subgraphs/channels/data/seed.js';
import { inventorySubgraph } from '../subgraphs/inventory/index.js';
import { replicaStore } from '../subgraphs/inventory/data/replica.store.js';
import { locationsSubgraph } from '../subgraphs/locations/index.js';
import { seedLocations } from '../subgraphs/locations/data/seed.js';
import { gql, uniq } from './client.js';
import { dropKeys, readStream, testKeyPrefix, waitFor } from './events.js';

/**
 * The jobs process in this process, on databases and Redis keys of this file's own (empty at
 * first, so the resync is really what fills the replica), with the three subgraphs it serves.
 */
const cfg: Config = {
  ...config(),
  DB_PREFIX: `${config().DB_PREFIX}_r${randomUUID().slice(0, 8)}`,
  REDIS_KEY_PREFIX: testKeyPrefix(),
  JOBS_PORT: 0,
  OUTBOX_POLL_MS: 10,
  REPLICA_CLAIM_IDLE_MS: 300,
  RESERVATION_EXPIRY_INTERVAL_MS: 200,
};
const GROUP = 'inventory-replica';
const channelStream = eventKeys.stream(cfg.REDIS_KEY_PREFIX, TOPICS.channel);

let channels: RunningSubgraph;
let locations: RunningSubgraph;
let inventory: RunningSubgraph;
let jobs: RunningService;
let redis: RedisClient;

const CREATE_LOCATION = `mutation($input: CreateLocationInput!) { createLocation(input: $input) { id } }`;
const UPDATE_LOCATION = `mutation($id: ID!, $input: UpdateLocationInput!) { updateLocation(id: $id, input: $input) { id } }`;
const CREATE_CHANNEL = `mutation($input: CreateChannelInput!) { createChannel(input: $input) { id } }`;
const UPDATE_CHANNEL = `mutation($id: ID!, $input: UpdateChannelInput!) { updateChannel(id: $id, input: $input) { id } }`;
const SET_RULE = `mutation($id: ID!, $input: AllocationRuleInput!) { setAllocationRule(channelId: $id, input: $input) { id } }`;

async function mutate(url: string, query: string, variables: Record<string, unknown>): Promise<string> {
  const res = await gql(url, query, variables);
  expect(res.errors).toBeUndefined();
  return (Object.values(res.data!)[0] as { id: string }).id;
}

const createLocation = () =>
  mutate(locations.url, CREATE_LOCATION, {
    input: {
      code: uniq('REPL-'),
      name: 'Replicated store',
      type: 'STORE',
      address: { line1: '1 Event Street', city: 'Leeds', postalCode: 'LS1 1AA', countryCode: 'GB' },
      timezone: 'Europe/London',
      capabilities: { ships: true, pickup: true },
    },
  });

const createChannel = (locationIds: string[]) =>
  mutate(channels.url, CREATE_CHANNEL, {
    input: {
      code: uniq('REPL-'),
      name: 'Replicated channel',
      type: 'WEB_STOREFRONT',
      allocationRule: { sources: locationIds.map((locationId, i) => ({ locationId, priority: i + 1 })) },
    },
  });

async function replicaVersion(table: 'replica_channels' | 'replica_locations', id: string): Promise<number | null> {
  const column = table === 'replica_channels' ? 'channel_id' : 'location_id';
  const [row] = await inventory.dataSource.query(`SELECT version FROM ${table} WHERE ${column} = ?`, [id]);
  return row ? Number(row.version) : null;
}

const reachesVersion = (table: 'replica_channels' | 'replica_locations', id: string, version: number) =>
  waitFor(`${table} ${id} at version ${version}`, async () => (await replicaVersion(table, id)) === version);

async function count(table: string): Promise<number> {
  const [row] = await inventory.dataSource.query(`SELECT COUNT(*) AS n FROM ${table}`);
  return Number(row.n);
}

/** Pending entries of the group on the channel stream (delivered, never acknowledged). */
async function pending(): Promise<number> {
  const [n] = (await redis.xpending(channelStream, GROUP)) as [number];
  return Number(n);
}

function snapshot(overrides: Partial<ChannelSnapshot> = {}): ChannelSnapshot {
  return { id: randomUUID(), status: 'ACTIVE', buffer: null, cap: null, allowSplitShipments: true, protection: 'OFF', sources: [], version: 1, ...overrides };
}

beforeAll(async () => {
  [channels, locations, inventory] = await Promise.all([
    startSubgraph(channelsSubgraph, { cfg, port: 0 }),
    startSubgraph(locationsSubgraph, { cfg, port: 0 }),
    startSubgraph(inventorySubgraph, { cfg, port: 0 }),
  ]);
  await seedLocations(locations.dataSource, DEMO_LOCATIONS);
  await seedChannels(channels.dataSource, DEMO_CHANNELS);
  // As if the seeds' events had been published long ago: only a resync can bring these rows now.
  for (const sg of [channels, locations]) await sg.dataSource.query('UPDATE outbox_events SET published_at = NOW(3)');
  redis = createRedis(redisTarget(cfg));
  jobs = await startJobs(cfg);
});

afterAll(async () => {
  await jobs?.close();
  for (const sg of [channels, locations, inventory]) {
    if (!sg) continue;
    await sg.dataSource.query(`DROP DATABASE \`${sg.dataSource.driver.database}\``);
    await sg.close();
  }
  if (redis) {
    await dropKeys(redis, cfg.REDIS_KEY_PREFIX);
    await redis.quit();
  }
});

describe('replication of channel rules and location states into inventory', () => {
  it('fills an empty replica by a resync when the consumer group is created, and again on demand', async () => {
    const filled = async () =>
      (await count('replica_locations')) === DEMO_LOCATIONS.length && (await count('replica_channels')) === DEMO_CHANNELS.length;
    await waitFor('the demo estate in the replicas', filled);
    const amazon = DEMO_CHANNELS.find((c) => c.code === 'AMAZON-UK')!;
    const expectedRule = {
      channelId: amazon.id,
      status: 'ACTIVE',
      buffer: amazon.buffer,
      cap: amazon.cap,
      allowSplitShipments: false,
      protection: 'OFF',
      sources: [...amazon.sources]
        .sort((a, b) => a.priority - b.priority || a.locationId.localeCompare(b.locationId))
        .map((s) => expect.objectContaining({ locationId: s.locationId, priority: s.priority, status: 'ACTIVE' })),
    };
    expect(await replicaStore.channelRule(inventory.dataSource.manager, amazon.id)).toEqual(expectedRule);

    for (const table of ['replica_channel_sources', 'replica_channels', 'replica_locations']) {
      await inventory.dataSource.query(`DELETE FROM ${table}`);
    }
    expect(await republishReplicaSources({ channels: channels.dataSource, locations: locations.dataSource })).toEqual({
      channels: DEMO_CHANNELS.length,
      setAsides: 0,
      locations: DEMO_LOCATIONS.length,
    });
    await waitFor('the replicas refilled', filled);
    expect(await replicaStore.channelRule(inventory.dataSource.manager, amazon.id)).toEqual(expectedRule);
  });

  it('brings a set-aside made through the channels subgraph to the replica, and its lifting', async () => {
    const store = await createLocation();
    const channel = await createChannel([store]);
    await reachesVersion('replica_channels', channel, 1);
    const SET = `mutation($c: ID!, $s: String!, $u: Int!) { setChannelSetAside(channelId: $c, sku: $s, units: $u) { units } }`;
    const held = async () => (await inventory.dataSource.query('SELECT units, version FROM replica_set_asides WHERE channel_id = ? AND sku = ?', [channel, 'REPL-SA']))[0];
    await mutate(channels.url, SET, { c: channel, s: 'REPL-SA', u: 5 });
    await waitFor('the set-aside replicated', async () => (await held())?.units === 5);
    await mutate(channels.url, SET, { c: channel, s: 'REPL-SA', u: 0 });
    await waitFor('its lifting replicated', async () => (await held())?.units === 0);
    expect(Number((await held()).version)).toBe(2);
    // Each change inventory applied is announced from its own outbox, for what reads available-to-sell (marketplace sync).
    const announced: { payload: string }[] = await inventory.dataSource.query("SELECT payload FROM outbox_events WHERE topic = 'availability-rule' AND event_key = ? ORDER BY seq", [channel]);
    expect(announced.map((a) => JSON.parse(a.payload))).toEqual([
      { kind: 'CHANNEL', channelId: channel, version: 1 },
      { kind: 'SET_ASIDE', channelId: channel, sku: 'REPL-SA', version: 1 },
      { kind: 'SET_ASIDE', channelId: channel, sku: 'REPL-SA', version: 2 },
    ]);
  });

  it('brings channel and location writes made through the subgraphs to the replicas', async () => {
    const store = await createLocation();
    await reachesVersion('replica_locations', store, 1);
    const dc = DEMO_LOCATIONS[0]!.id;
    const channel = await createChannel([store]);
    await reachesVersion('replica_channels', channel, 1);

    await mutate(channels.url, UPDATE_CHANNEL, { id: channel, input: { status: 'PAUSED' } });
    await reachesVersion('replica_channels', channel, 2);
    const rule = { sources: [{ locationId: store, priority: 2 }, { locationId: dc, priority: 1 }], buffer: { kind: 'UNITS', value: 4 }, cap: 10, allowSplitShipments: false, protection: 'PROTECTIVE' };
    await mutate(channels.url, SET_RULE, { id: channel, input: rule });
    await reachesVersion('replica_channels', channel, 3);
    await mutate(locations.url, UPDATE_LOCATION, { id: store, input: { status: 'OFFLINE', capabilities: { ships: false, pickup: true } } });
    await reachesVersion('replica_locations', store, 2);

    expect(await replicaStore.channelRule(inventory.dataSource.manager, channel)).toEqual({
      channelId: channel,
      status: 'PAUSED',
      buffer: { kind: 'UNITS', value: 4 },
      cap: 10,
      allowSplitShipments: false,
      protection: 'PROTECTIVE',
      sources: [
        { locationId: dc, priority: 1, status: 'ACTIVE', pickup: DEMO_LOCATIONS[0]!.pickup },
        { locationId: store, priority: 2, status: 'OFFLINE', pickup: true },
      ],
    });
    expect(await replicaStore.locations(inventory.dataSource.manager, [store])).toEqual([
      { location_id: store, status: 'OFFLINE', ships: false, pickup: true },
    ]);
  });

  it('brings location names to the replica, and fills one a row replicated before names were carried lacks', async () => {
    const store = await createLocation();
    await reachesVersion('replica_locations', store, 1);
    const names = () => replicaStore.namesOf(inventory.dataSource.manager, [store]);
    expect(await names()).toEqual(new Map([[store, 'Replicated store']]));
    await mutate(locations.url, UPDATE_LOCATION, { id: store, input: { name: 'Renamed store' } });
    await reachesVersion('replica_locations', store, 2);
    expect(await names()).toEqual(new Map([[store, 'Renamed store']]));

    // As replicated before names were carried: it answers its code meanwhile.
    await inventory.dataSource.query('UPDATE replica_locations SET name = NULL WHERE location_id = ?', [store]);
    const [{ code }] = await locations.dataSource.query('SELECT code FROM locations WHERE id = ?', [store]);
    expect(await names()).toEqual(new Map([[store, code]]));
    // What the jobs process does at start: the same version's snapshot, sent again, fills the name alone.
    expect(await fillReplicaLocationNames({ inventory: inventory.dataSource, locations: locations.dataSource })).toBeGreaterThan(0);
    await waitFor('the name filled in', async () => (await names()).get(store) === 'Renamed store');
    expect(await replicaVersion('replica_locations', store)).toBe(2);
    expect(await fillReplicaLocationNames({ inventory: inventory.dataSource, locations: locations.dataSource }), 'none missing: nothing sent').toBe(0);
  });

  it('never lets an older snapshot overwrite a newer one', async () => {
    const channel = await createChannel([DEMO_LOCATIONS[1]!.id]);
    await mutate(channels.url, UPDATE_CHANNEL, { id: channel, input: { status: 'PAUSED' } });
    await reachesVersion('replica_channels', channel, 2);
    // A stale snapshot (a late resend, an old republish) reaches the stream after the newer one ...
    await channels.dataSource.transaction((tx) =>
      outboxStore.append(tx, [{ topic: TOPICS.channel, key: channel, payload: snapshot({ id: channel, status: 'ARCHIVED', version: 1 }) }]),
    );
    // ... followed by a marker on the same stream: once the marker is applied, so was the stale one.
    const marker = await createChannel([DEMO_LOCATIONS[1]!.id]);
    await reachesVersion('replica_channels', marker, 1);
    expect(await replicaVersion('replica_channels', channel)).toBe(2);
    expect((await replicaStore.channelRule(inventory.dataSource.manager, channel))!.status).toBe('PAUSED');
  });

  it('retries an entry whose consumer took it and died before acknowledging it', async () => {
    const lost = snapshot();
    // Added and handed to a consumer that never acknowledges, in one transaction: the running
    // consumer, blocked on the stream, is only served after it and finds nothing new.
    const [[, id], [, delivered]] = (await redis
      .multi()
      .xadd(channelStream, '*', 'source', 'test', 'seq', '1', 'key', lost.id, 'payload', JSON.stringify(lost))
      .xreadgroup('GROUP', GROUP, 'crashed-consumer', 'COUNT', 1, 'STREAMS', channelStream, '>')
      .exec())!;
    expect(JSON.stringify(delivered)).toContain(String(id));
    await reachesVersion('replica_channels', lost.id, 1);
    await waitFor('no pending entries', async () => (await pending()) === 0);
  });

  it('acknowledges entries it can never apply, and carries on', async () => {
    const good = snapshot();
    await redis.xadd(channelStream, '*', 'source', 'test', 'seq', '2', 'key', 'x');
    await redis.xadd(channelStream, '*', 'source', 'test', 'seq', '3', 'key', 'x', 'payload', '{not json');
    await redis.xadd(channelStream, '*', 'source', 'test', 'seq', '4', 'key', 'x', 'payload', JSON.stringify({ id: 42 }));
    await redis.xadd(channelStream, '*', 'source', 'test', 'seq', '5', 'key', good.id, 'payload', JSON.stringify(good));
    await reachesVersion('replica_channels', good.id, 1);
    await waitFor('no pending entries', async () => (await pending()) === 0);
  });
});

describe('jobs process', () => {
  it('answers /healthz and /readyz', async () => {
    expect((await fetch(jobs.url)).status).toBe(200);
    const ready = await fetch(jobs.url.replace(/\/healthz$/, '/readyz'));
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { mysql: 'ok', redis: 'ok' } });
  });

  it('releases an expired reservation on schedule and relays the stock events it writes', async () => {
    const store = await createLocation();
    const channel = await createChannel([store]);
    await reachesVersion('replica_channels', channel, 1);
    await reachesVersion('replica_locations', store, 1);
    const sku = uniq('EXP-');
    const item = await gql(inventory.url, `mutation($input: CreateInventoryItemInput!) { createInventoryItem(input: $input) { sku } }`, {
      input: { sku, name: 'Expiring item' },
    });
    expect(item.errors).toBeUndefined();
    const received = await gql(inventory.url, `mutation($input: ReceiveStockInput!) { receiveStock(input: $input) { replayed } }`, {
      input: { idempotencyKey: uniq('rcv-'), sku, locationId: store, quantity: 5 },
    });
    expect(received.errors).toBeUndefined();
    const reserved = await gql(
      inventory.url,
      `mutation($input: ReserveStockInput!) { reserveStock(input: $input) { __typename ... on Reservation { id status } } }`,
      { input: { idempotencyKey: uniq('res-'), channelId: channel, lines: [{ sku, quantity: 3 }], ttlSeconds: 1 } },
    );
    expect(reserved.errors).toBeUndefined();
    expect(reserved.data!.reserveStock).toMatchObject({ __typename: 'Reservation', status: 'ACTIVE' });
    const reservationId: string = reserved.data!.reserveStock.id;

    await waitFor('the expiry job to release the reservation', async () => {
      const [row] = await inventory.dataSource.query('SELECT status FROM reservations WHERE id = ?', [reservationId]);
      return row.status === 'EXPIRED';
    });
    const [level] = await inventory.dataSource.query('SELECT reserved FROM stock_levels WHERE sku = ? AND location_id = ?', [sku, store]);
    expect(Number(level.reserved)).toBe(0);
    // The inventory relay carries the release to the stock stream.
    const stockStream = eventKeys.stream(cfg.REDIS_KEY_PREFIX, TOPICS.stock);
    await waitFor('the EXPIRE stock event on the stream', async () =>
      (await readStream(redis, stockStream)).some((e) => e.source === 'inventory' && (e.payload as { sku: string; change: string }).sku === sku && (e.payload as { change: string }).change === 'EXPIRE'),
    );
  });
});
