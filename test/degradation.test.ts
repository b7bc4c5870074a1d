import { slotTag } from '../lib/redis-keys.js';
import { randomUUID } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compose, readSupergraphConfig } from '../contracts/composition.js';
import { startGateway } from '../gateway/gateway.js';
import { SUBGRAPH_NAMES } from '../lib/config.js';
import { createRedis, redisTarget } from '../lib/redis.js';
import { startSubgraph } from '../lib/subgraph.js';
import { SUBGRAPHS } from '../subgraphs/index.js';
import { gql, uniq } from './client.js';
import { waitFor, waitForReplicas } from './events.js';
import { AvailabilitySnapshots } from '../subgraphs/inventory/data/availability-snapshot.js';
import { RULE_CACHE_MS } from '../subgraphs/inventory/services/replica.service.js';
import { logger } from '../lib/logger.js';
import { PrivateMariaDb } from './private-mariadb.js';
import { startStack, type Stack } from './stack.js';

// The whole stack runs on a MariaDB server of this file's own, which the tests stop and start again:
// the machine's MariaDB is shared with every other test file.
let db: PrivateMariaDb;
let stack: Stack;
const ids = { locA: '', locB: '', channel: '', sku: '', unread: '' };

async function ok(query: string, variables: Record<string, unknown> = {}) {
  const res = await gql(stack.gatewayUrl, query, variables);
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data!;
}

function readyz(url: string): Promise<{ status: number; body: { status: string; checks: Record<string, string> } }> {
  return fetch(url.replace(/\/(graphql|healthz)$/, '/readyz')).then(async (r) => ({ status: r.status, body: (await r.json()) as never }));
}

const location = (name: string) => ({
  code: uniq('DG-'),
  name,
  type: 'STORE',
  address: { line1: '1 Test Street', city: 'York', postalCode: 'Y1 1TT', countryCode: 'GB' },
  timezone: 'Europe/London',
  latitude: 53.96,
  longitude: -1.08,
  capabilities: { ships: true, pickup: true },
});

const CREATE_LOCATION = `mutation($input: CreateLocationInput!) { createLocation(input: $input) { id } }`;
const CREATE_ITEM = `mutation($input: CreateInventoryItemInput!) { createInventoryItem(input: $input) { sku } }`;
const RECEIVE = `mutation($input: ReceiveStockInput!) { receiveStock(input: $input) { replayed stockLevel { onHand } } }`;
const AVAILABILITY = `query($c: ID!, $skus: [String!]!) { availability(channelId: $c, skus: $skus) {
  sku availableToSell status stale asOf staleForSeconds locations { location { id name } available }
} }`;

const receive = (quantity: number, idempotencyKey: string = randomUUID()) =>
  gql(stack.gatewayUrl, RECEIVE, { input: { idempotencyKey, sku: ids.sku, locationId: ids.locA, quantity } });

beforeAll(async () => {
  db = await PrivateMariaDb.create();
  // MySQL answers every read here (the snapshots are what its answers leave behind); the read model's own
  // outage behaviour is in availability-read-model.test.ts.
  stack = await startStack({ jobs: true, env: { MYSQL_URL: db.url, DB_CONNECT_TIMEOUT_MS: '1000', AVAILABILITY_READ_MODEL: 'off' } });
  ids.locA = (await ok(CREATE_LOCATION, { input: location('Degradation Store A') })).createLocation.id;
  ids.locB = (await ok(CREATE_LOCATION, { input: location('Degradation Store B') })).createLocation.id;
  ids.channel = (
    await ok(`mutation($input: CreateChannelInput!) { createChannel(input: $input) { id } }`, {
      input: {
        code: uniq('CH-'),
        name: 'Degradation web',
        type: 'WEB_STOREFRONT',
        allocationRule: { sources: [{ locationId: ids.locA, priority: 1 }, { locationId: ids.locB, priority: 2 }] },
      },
    })
  ).createChannel.id;
  await waitForReplicas(stack.subgraphs.inventory.dataSource, [ids.locA, ids.locB], [ids.channel]);
  ids.sku = uniq('DG-SKU-');
  ids.unread = uniq('DG-UNREAD-');
  for (const sku of [ids.sku, ids.unread]) await ok(CREATE_ITEM, { input: { sku, name: 'Degradation parka' } });
  await ok(RECEIVE, { input: { idempotencyKey: randomUUID(), sku: ids.sku, locationId: ids.locA, quantity: 7 } });
  await ok(RECEIVE, { input: { idempotencyKey: randomUUID(), sku: ids.sku, locationId: ids.locB, quantity: 3 } });
}, 180_000);

afterAll(async () => {
  await stack?.close();
  await db?.dispose();
}, 60_000);

describe('a subgraph that is down', () => {
  it('yields the other subgraphs’ data with SUBGRAPH_UNAVAILABLE at the fields it supplies, and recovers by itself', async () => {
    const reserved = await ok(`mutation($input: ReserveStockInput!) { reserveStock(input: $input) { ... on Reservation { id } } }`, {
      input: { idempotencyKey: randomUUID(), channelId: ids.channel, lines: [{ sku: ids.sku, quantity: 1, locationId: ids.locA }], ttlSeconds: 600, pickupLocationId: ids.locA },
    });
    const reservationId = reserved.reserveStock.id as string;
    const QUERY = `query($skus: [String!]!, $sku: String!, $r: ID!) {
      inventoryItems(skus: $skus) { sku stockLevels { onHand location { id name } } }
      item: inventoryItem(sku: $sku) { sku totals { onHand } stockLevels { location { id } } }
      reservation(id: $r) { id status pickupLocation { id name } }
    }`;
    const variables = { skus: [ids.sku], sku: ids.sku, r: reservationId };
    const locations = stack.subgraphs.locations;
    await locations.close();
    try {
      // A storefront's availability names its locations from inventory's replica: the locations subgraph is not asked.
      const storefront = await ok(`query($c: ID!, $skus: [String!]!) { availability(channelId: $c, skus: $skus) { sku locations { available location { id name } } } }`, {
        c: ids.channel,
        skus: [ids.sku],
      });
      expect(storefront.availability[0].locations.map((l: { location: { name: string } }) => l.location.name).sort()).toEqual(['Degradation Store A', 'Degradation Store B']);
      const res = await gql(stack.gatewayUrl, QUERY, variables);
      expect(res.status).toBe(200);
      // What inventory supplies is served: a location's id comes from inventory itself.
      expect(res.data!.item).toEqual({ sku: ids.sku, totals: { onHand: 10 }, stockLevels: [{ location: { id: expect.any(String) } }, { location: { id: expect.any(String) } }] });
      // A nullable reference the locations subgraph was to complete is null, the rest of its object served.
      expect(res.data!.reservation).toEqual({ id: reservationId, status: 'ACTIVE', pickupLocation: null });
      // StockLevel.location and Location.name are non-null: their null spreads to the nearest nullable parent, the item.
      expect(res.data!.inventoryItems).toEqual([null]);
      // Every location the locations subgraph was to complete carries an error at its path, with a stable code naming it.
      for (const error of res.errors!) expect(error.extensions).toMatchObject({ code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'locations' });
      expect(new Set(res.errors!.map((e) => JSON.stringify(e.path)))).toEqual(
        new Set([
          ...[0, 1].map((i) => JSON.stringify(['inventoryItems', 0, 'stockLevels', i, 'location'])),
          JSON.stringify(['reservation', 'pickupLocation']),
        ]),
      );
    } finally {
      // Back on the same port, as a restarted process would be: the gateway needs no restart.
      stack.subgraphs.locations = await startSubgraph(SUBGRAPHS.locations, { port: locations.port, cfg: stack.cfg });
    }
    const data = await ok(QUERY, variables);
    const names = data.inventoryItems[0].stockLevels.map((l: { location: { name: string } }) => l.location.name).sort();
    expect(names).toEqual(['Degradation Store A', 'Degradation Store B']);
    expect(data.reservation.pickupLocation).toEqual({ id: ids.locA, name: 'Degradation Store A' });
    await ok(`mutation($id: ID!) { releaseReservation(id: $id) { id } }`, { id: reservationId });
  });
});

describe('a subgraph that does not answer', () => {
  it('costs at most SUBGRAPH_TIMEOUT_MS per fetch, then SUBGRAPH_UNAVAILABLE at its fields', async () => {
    // Accepts connections and never answers: a hung process, not a refused port.
    const sockets = new Set<Socket>();
    const hung = createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    const hungUrl = `http://127.0.0.1:${(hung.address() as { port: number }).port}/graphql`;
    const composed = compose(await readSupergraphConfig('supergraph.yaml'));
    if (!composed.ok) throw new Error(JSON.stringify(composed.errors));
    const gateway = await startGateway({
      supergraphSdl: composed.supergraphSdl,
      urlOverrides: { ...Object.fromEntries(SUBGRAPH_NAMES.map((n) => [n, stack.subgraphs[n].url])), locations: hungUrl },
      subgraphTimeoutMs: 300,
      limits: { perMinute: 0, perClient: {} },
      host: '127.0.0.1',
      port: 0,
    });
    try {
      const res = await gql(gateway.url, `query($sku: String!) { inventoryItem(sku: $sku) { sku stockLevels { location { id name } } } }`, { sku: ids.sku });
      expect(res.data).toEqual({ inventoryItem: null });
      expect(res.errors!.length).toBeGreaterThan(0);
      for (const error of res.errors!) {
        expect(error.extensions).toMatchObject({ code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'locations' });
        expect(error.message).toContain('no answer within 300 ms');
        expect(error.path?.slice(0, 3)).toEqual(['inventoryItem', 'stockLevels', error.path![2]]);
      }
    } finally {
      await gateway.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => hung.close(() => resolve()));
    }
  });
});

describe('availability snapshots', () => {
  it('never replace a figure with an older one, and skip unreadable entries', async () => {
    const redis = createRedis(redisTarget(stack.cfg));
    try {
      const snapshots = new AvailabilitySnapshots(redis, stack.cfg.REDIS_KEY_PREFIX, 60, logger());
      const channel = randomUUID();
      const figure = (ats: number) => ({ availableToSell: ats, status: 'IN_STOCK' as const, locations: [{ locationId: ids.locA, available: ats, pickup: true }] });
      // A slow request finishing after a faster, later one: its older figure must not win.
      snapshots.save(channel, [{ sku: 'A', figure: figure(9) }], new Date(2_000_000));
      snapshots.save(channel, [{ sku: 'A', figure: figure(4) }], new Date(1_000_000));
      await redis.set(snapshots.key(channel, 'B'), 'not json');
      // One connection runs commands in order: the pipelines above are done before this read.
      const [a, b, c] = await snapshots.load(channel, ['A', 'B', 'C']);
      expect(a).toEqual({ asOf: new Date(2_000_000), ...figure(9) });
      expect(b).toBeNull();
      expect(c).toBeNull();
      expect(await redis.ttl(snapshots.key(channel, 'A'))).toBeGreaterThan(0);
    } finally {
      await redis.quit();
    }
  });
});

describe('the inventory database down', () => {
  let lastFreshAsOf = '';

  it('answers availability fresh while MySQL is up', async () => {
    // A stock change just before the outage, read after it: the stale answer must show it.
    expect((await receive(5)).errors).toBeUndefined();
    const data = await ok(AVAILABILITY, { c: ids.channel, skus: [ids.sku] });
    expect(data.availability[0]).toMatchObject({ sku: ids.sku, availableToSell: 15, stale: false, staleForSeconds: null });
    lastFreshAsOf = data.availability[0].asOf;
    expect(new Date(lastFreshAsOf).getTime()).toBeGreaterThan(Date.now() - 60_000);
    // The snapshot is written after the answer; the outage below must not overtake it.
    const redis = createRedis(redisTarget(stack.cfg));
    try {
      await waitFor('the snapshot', async () => {
        const value = await redis.get(`${slotTag(`${stack.cfg.REDIS_KEY_PREFIX}:availability:${ids.channel}`)}:${ids.sku}`);
        return value && JSON.parse(value).t === new Date(lastFreshAsOf).getTime();
      });
    } finally {
      await redis.quit();
    }
  });

  it('serves the last-known availability marked stale, fails writes with DATABASE_UNAVAILABLE and reports not ready', async () => {
    await db.stop('SIGKILL');
    // Past the time inventory keeps the location names it read: the outage is what it meets.
    await new Promise((resolve) => setTimeout(resolve, RULE_CACHE_MS + 100));

    const res = await gql(stack.gatewayUrl, AVAILABILITY, { c: ids.channel, skus: [ids.sku, ids.unread] });
    const [stale, unknown] = res.data!.availability;
    expect(stale).toMatchObject({ sku: ids.sku, availableToSell: 15, status: 'IN_STOCK', stale: true, asOf: lastFreshAsOf });
    expect(stale.staleForSeconds).toBeGreaterThanOrEqual(0);
    // Names too: inventory answers them from its replica, with those it read before while MySQL is away.
    expect(stale.locations).toEqual([
      { location: { id: ids.locA, name: 'Degradation Store A' }, available: 12 },
      { location: { id: ids.locB, name: 'Degradation Store B' }, available: 3 },
    ]);
    // A SKU never read has no snapshot: null, with the error at its entry.
    expect(unknown).toBeNull();
    expect(res.errors).toHaveLength(1);
    expect(res.errors![0]).toMatchObject({ path: ['availability', 1], extensions: { code: 'DATABASE_UNAVAILABLE' } });

    // Nothing known at all: the whole field errors.
    const none = await gql(stack.gatewayUrl, AVAILABILITY, { c: ids.channel, skus: [ids.unread] });
    expect(none.data).toBeNull();
    expect(none.errors?.[0]?.extensions?.code).toBe('DATABASE_UNAVAILABLE');
    const metrics = await fetch(stack.subgraphs.inventory.url.replace(/\/graphql$/, '/metrics')).then((r) => r.text());
    expect(metrics).toMatch(/^omnistock_availability_stale_entries_total\{outcome="served"[^}]*\} 1$/m);
    expect(metrics).toMatch(/^omnistock_availability_stale_entries_total\{outcome="missing"[^}]*\} 2$/m);

    // Writes of every subgraph fail at once with the code and a message saying what to do (the test's timeout bounds them).
    const writes = await Promise.all([
      receive(4, 'outage-write'),
      gql(stack.gatewayUrl, CREATE_LOCATION, { input: location('Never created') }),
      gql(stack.gatewayUrl, `mutation($input: CreateChannelInput!) { createChannel(input: $input) { id } }`, {
        input: { code: uniq('CH-'), name: 'Never created', type: 'WEB_STOREFRONT', allocationRule: { sources: [{ locationId: ids.locA, priority: 1 }] } },
      }),
      gql(stack.gatewayUrl, `mutation($input: ReserveStockInput!) { reserveStock(input: $input) { __typename } }`, {
        input: { idempotencyKey: randomUUID(), channelId: ids.channel, lines: [{ sku: ids.sku, quantity: 1 }], ttlSeconds: 60 },
      }),
      gql(stack.gatewayUrl, `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }`, {
        input: { idempotencyKey: randomUUID(), channelId: ids.channel, lines: [{ sku: ids.sku, quantity: 1 }], fulfilment: { method: 'SHIP' } },
      }),
    ]);
    for (const write of writes) {
      expect(write.errors?.[0]?.extensions?.code, JSON.stringify(write.errors)).toBe('DATABASE_UNAVAILABLE');
      expect(write.errors![0]!.message).toMatch(/database is unreachable.*retry/i);
    }

    const inventory = await readyz(stack.subgraphs.inventory.url);
    expect(inventory.status).toBe(503);
    expect(inventory.body.status).toBe('not-ready');
    expect(inventory.body.checks.mysql).not.toBe('ok');
    expect((await readyz(stack.jobs!.url)).status).toBe(503);
  });

  it('recovers when MySQL returns: fresh availability, writes succeed, ready again, the relay resumes', async () => {
    await db.start();
    await waitFor('inventory ready', async () => (await readyz(stack.subgraphs.inventory.url)).status === 200, 30_000);
    await waitFor('jobs ready', async () => (await readyz(stack.jobs!.url)).status === 200, 30_000);

    const before = await ok(AVAILABILITY, { c: ids.channel, skus: [ids.sku] });
    // Fresh, and the write refused during the outage left nothing behind.
    expect(before.availability[0]).toMatchObject({ availableToSell: 15, stale: false, staleForSeconds: null });
    expect(new Date(before.availability[0].asOf).getTime()).toBeGreaterThan(new Date(lastFreshAsOf).getTime());

    // The key refused during the outage was never recorded: it applies now.
    const write = await receive(4, 'outage-write');
    expect(write.errors).toBeUndefined();
    expect(write.data!.receiveStock).toMatchObject({ replayed: false, stockLevel: { onHand: 16 } });
    const after = await ok(AVAILABILITY, { c: ids.channel, skus: [ids.sku] });
    expect(after.availability[0]).toMatchObject({ availableToSell: 19, stale: false });

    // The outbox relay survived the outage: what was written since is published.
    const inventory = stack.subgraphs.inventory.dataSource;
    await waitFor('the relay to publish', async () => {
      const [row] = await inventory.query('SELECT COUNT(*) AS n FROM outbox_events WHERE published_at IS NULL');
      return Number(row.n) === 0;
    }, 30_000);
  });
});
