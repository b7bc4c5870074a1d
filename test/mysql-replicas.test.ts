import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { configWith, databaseName } from '../lib/config.js';
import { gql } from './client.js';
import { AVAILABILITY, InventoryFixture, RESERVE } from './inventory-fixture.js';
import { scrape, value } from './metrics-scrape.js';
import { createReplicatedPair, type PrivateMariaDb, type ReplicaServer } from './private-mariadb.js';
import { startStack, type Stack } from './stack.js';

/**
 * Read replicas (lib/read-replicas.ts) against a private primary (binary log, GTIDs) and a private
 * replica following it: inventory's read-only queries go to the replica, a caller that wrote reads
 * its write while the replica lags or has stopped, a replica that dies is read around without an
 * error, and reservations decide on the primary whatever the replica shows.
 */
const LEVEL = `query($sku: String!, $loc: ID!) { stockLevel(sku: $sku, locationId: $loc) { onHand } }`;
const MAX_LAG_MS = 30_000;

let primary: PrivateMariaDb;
let replica: ReplicaServer;
let f: InventoryFixture;
let dbName: string;
let replicaEnv: Record<string, string>;

/** A stockLevel read as `client` (its service token names it, as the gateway's does; null: no client, as the fixture writes). */
async function onHandAs(client: string | null, sku: string, loc: string): Promise<number | null> {
  const res = await gql(f.url, LEVEL, { sku, loc }, client ? { 'x-client-id': client } : {});
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data!.stockLevel?.onHand ?? null;
}

async function metrics(url = f.url) {
  const samples = await scrape(url);
  return {
    replicaReads: value(samples, 'omnistock_db_reads_total', { target: 'replica' }),
    primaryReads: value(samples, 'omnistock_db_reads_total', { target: 'primary' }),
    fallback: (reason: string) => value(samples, 'omnistock_db_replica_fallbacks_total', { reason }),
    usable: value(samples, 'omnistock_db_replica_usable', { replica: `127.0.0.1:${replica.port}` }),
    lagSeconds: value(samples, 'omnistock_db_replica_lag_seconds', { replica: `127.0.0.1:${replica.port}` }),
  };
}

/** Waits until the replica has applied everything so far and the router has seen it do so. */
async function replicaCurrent(url = f.url): Promise<void> {
  await replica.caughtUpWith(primary);
  await vi.waitFor(async () => expect((await metrics(url)).usable).toBe(1), { timeout: 30_000, interval: 100 });
}

/** Changes a level on the replica alone (not written to a binary log, so nothing replicates it anywhere). */
async function onReplicaOnly(sku: string, loc: string, onHand: number): Promise<void> {
  await replica.sql('SET SESSION sql_log_bin = 0', [`UPDATE \`${dbName}\`.stock_levels SET on_hand = ? WHERE sku = ? AND location_id = ?`, [onHand, sku, loc]]);
}

beforeAll(async () => {
  ({ primary, replica } = await createReplicatedPair());
  const id = randomUUID().slice(0, 8);
  replicaEnv = {
    MYSQL_URL: primary.url,
    MYSQL_REPLICA_URLS: replica.url,
    MYSQL_REPLICA_MAX_LAG_MS: String(MAX_LAG_MS),
    MYSQL_REPLICA_CHECK_INTERVAL_MS: '100',
    MYSQL_REPLICA_WAIT_MS: '50',
    REDIS_KEY_PREFIX: `omnistock_test:rr${id}`,
    // Availability from MySQL on every read (the read model would answer from memory).
    AVAILABILITY_READ_MODEL: 'off',
  };
  const cfg = configWith(replicaEnv);
  dbName = databaseName(cfg, 'inventory');
  f = await InventoryFixture.start(cfg);
  await replicaCurrent();
}, 180_000);

afterAll(async () => {
  await f?.close();
  await Promise.all([replica?.dispose(), primary?.dispose()]);
});

describe('read replicas', () => {
  it('sends read-only queries to the replica: a figure only the replica holds is what a reader sees', async () => {
    const loc = await f.location();
    const sku = await f.item();
    await f.receive(sku, loc, 10);
    await replicaCurrent();
    await onReplicaOnly(sku, loc, 777);
    const before = await metrics();
    // A caller that never wrote, and the writer (the fixture's unnamed client) too once the replica has its write: both read the replica.
    expect(await onHandAs(`reader-${randomUUID()}`, sku, loc)).toBe(777);
    expect(await onHandAs(null, sku, loc)).toBe(777);
    const after = await metrics();
    expect(after.replicaReads).toBeGreaterThanOrEqual(before.replicaReads + 2);
    // A replica that keeps up is measured as (nearly) current.
    expect(after.lagSeconds).toBeLessThan(MAX_LAG_MS / 1000);
    // The primary never had it.
    expect((await f.level(sku, loc)).on_hand).toBe(10);
  });

  it('a caller reads its own write while the replica lags; another caller may read the lagging replica', async () => {
    const loc = await f.location();
    const sku = await f.item();
    const writer = `writer-${randomUUID()}`;
    const other = `other-${randomUUID()}`;
    await f.receive(sku, loc, 10);
    await replicaCurrent();
    // Replication keeps running, an hour behind: the replica stays usable for MYSQL_REPLICA_MAX_LAG_MS after the next write.
    await replica.delay(3600);
    try {
      await vi.waitFor(async () => expect((await metrics()).usable).toBe(1), { timeout: 30_000, interval: 100 });
      const res = await gql(f.url, `mutation($i: StockMovementInput!) { recordMovement(input: $i) { stockLevel { onHand } } }`, { i: { idempotencyKey: randomUUID(), type: 'RECEIPT', sku, locationId: loc, quantity: 5 } }, { 'x-client-id': writer });
      expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
      // The mutation's own payload is read on the primary.
      expect(res.data!.recordMovement.stockLevel.onHand).toBe(15);
      const before = await metrics();
      // The attack: read straight after the write, from the caller that wrote it.
      expect(await onHandAs(writer, sku, loc)).toBe(15);
      const afterWriter = await metrics();
      // Answered by the primary, as a fallback: own_write, unless under load the replica stopped
      // counting as fresh first (no_replica) or the caller's writes could not be looked up in time
      // (write_unknown), which one CI run saw. Each sends the writer to the primary all the same.
      const primaryFallbacks = (m: typeof before) => m.fallback('own_write') + m.fallback('no_replica') + m.fallback('write_unknown');
      expect(primaryFallbacks(afterWriter)).toBe(primaryFallbacks(before) + 1);
      expect(afterWriter.replicaReads).toBe(before.replicaReads);
      // Another caller is served by the replica, within MYSQL_REPLICA_MAX_LAG_MS of stale.
      expect(await onHandAs(other, sku, loc)).toBe(10);
      expect((await metrics()).replicaReads).toBe(afterWriter.replicaReads + 1);
      // The lag gauge sees it fall behind (it has not applied the write).
      await vi.waitFor(async () => expect((await metrics()).lagSeconds).toBeGreaterThanOrEqual(1), { timeout: 20_000, interval: 200 });
      // And the writer again: still its write.
      expect(await onHandAs(writer, sku, loc)).toBe(15);
    } finally {
      await replica.delay(0);
    }
    await replicaCurrent();
    expect(await onHandAs(other, sku, loc)).toBe(15);
  });

  it('a replica whose replication stopped answers nobody: the writer and every other caller read the primary', async () => {
    const loc = await f.location();
    const sku = await f.item();
    const writer = `writer-${randomUUID()}`;
    await f.receive(sku, loc, 10);
    await replicaCurrent();
    await replica.stopApplying();
    try {
      await vi.waitFor(async () => expect((await metrics()).usable).toBe(0), { timeout: 30_000, interval: 100 });
      const res = await gql(f.url, `mutation($i: StockMovementInput!) { recordMovement(input: $i) { replayed } }`, { i: { idempotencyKey: randomUUID(), type: 'RECEIPT', sku, locationId: loc, quantity: 3 } }, { 'x-client-id': writer });
      expect(res.errors).toBeUndefined();
      const before = await metrics();
      expect(await onHandAs(writer, sku, loc)).toBe(13);
      expect(await onHandAs(`other-${randomUUID()}`, sku, loc)).toBe(13);
      const after = await metrics();
      expect(after.fallback('no_replica')).toBe(before.fallback('no_replica') + 2);
      expect(after.replicaReads).toBe(before.replicaReads);
    } finally {
      await replica.resumeApplying();
    }
    await replicaCurrent();
  });

  it('a replica that dies is read around without an error, and used again once it is back', async () => {
    const loc = await f.location();
    const sku = await f.item();
    await f.receive(sku, loc, 4);
    await replicaCurrent();
    await replica.stop('SIGKILL');
    try {
      // Straight away (the router has not checked yet: its pooled connections die under the reads) and after.
      for (let i = 0; i < 5; i++) expect(await onHandAs(`reader-${randomUUID()}`, sku, loc)).toBe(4);
      const m = await metrics();
      expect(m.usable).toBe(0);
      expect(m.fallback('replica_failed') + m.fallback('no_replica')).toBeGreaterThanOrEqual(5);
    } finally {
      await replica.start();
    }
    await replicaCurrent();
    const before = await metrics();
    expect(await onHandAs(`reader-${randomUUID()}`, sku, loc)).toBe(4);
    expect((await metrics()).replicaReads).toBe(before.replicaReads + 1);
  });

  it('reservations decide on the primary even when the replica shows plenty', async () => {
    const loc = await f.location();
    const channel = await f.channel([loc]);
    const sku = await f.item();
    await f.receive(sku, loc, 2);
    await replicaCurrent();
    // The attack: the replica shows 1,000 units where the primary has 2.
    await onReplicaOnly(sku, loc, 1000);
    const buyer = `buyer-${randomUUID()}`;
    expect(await onHandAs(buyer, sku, loc)).toBe(1000);
    const shown = await gql(f.url, AVAILABILITY, { c: channel, skus: [sku] }, { 'x-client-id': buyer });
    expect(shown.errors).toBeUndefined();
    expect(shown.data!.availability[0].availableToSell).toBe(1000);
    const res = await gql(f.url, RESERVE, { input: { idempotencyKey: randomUUID(), ttlSeconds: 600, channelId: channel, lines: [{ sku, quantity: 5 }] } }, { 'x-client-id': buyer });
    expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
    expect(res.data!.reserveStock.__typename).toBe('InsufficientStock');
    expect(res.data!.reserveStock.lines[0].available).toBe(2);
    // READ_YOUR_WRITES availability (every change committed before the call) is the primary's too.
    const exact = await gql(f.url, `query($c: ID!, $skus: [String!]!) { availability(channelId: $c, skus: $skus, consistency: READ_YOUR_WRITES) { availableToSell } }`, { c: channel, skus: [sku] }, { 'x-client-id': `reader-${randomUUID()}` });
    expect(exact.errors).toBeUndefined();
    expect(exact.data!.availability[0].availableToSell).toBe(2);
    const row = await f.level(sku, loc);
    expect([row.on_hand, row.reserved]).toEqual([2, 0]);
  });
});

describe('read replicas through the gateway', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: replicaEnv });
  }, 120_000);
  afterAll(async () => {
    await stack?.close();
  });

  const levelVia = async (client: string, sku: string, loc: string) => {
    const res = await gql(stack.gatewayUrl, `query($sku: String!, $loc: ID!) { stockLevel(sku: $sku, locationId: $loc) { onHand reserved } }`, { sku, loc }, { 'x-client-id': client });
    expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
    return res.data!.stockLevel;
  };

  it('the other subgraphs read their replicas too: a location and a channel named on the replica alone', async () => {
    const admin = `admin-${randomUUID()}`;
    const created = await gql(
      stack.gatewayUrl,
      `mutation($input: CreateLocationInput!) { createLocation(input: $input) { id name } }`,
      {
        input: {
          code: `RR-${randomUUID().slice(0, 8).toUpperCase()}`,
          name: 'Primary name',
          type: 'STORE',
          address: { line1: '1 Test Street', city: 'Leeds', postalCode: 'LS1 1AA', countryCode: 'GB' },
          timezone: 'Europe/London',
          latitude: 53.8,
          longitude: -1.55,
          capabilities: { ships: true, pickup: true },
        },
      },
      { 'x-client-id': admin },
    );
    expect(created.errors, JSON.stringify(created.errors)).toBeUndefined();
    const id = created.data!.createLocation.id;
    const channel = await gql(
      stack.gatewayUrl,
      `mutation($input: CreateChannelInput!) { createChannel(input: $input) { id name } }`,
      { input: { code: `RRC-${randomUUID().slice(0, 8).toUpperCase()}`, name: 'Primary channel', type: 'WEB_STOREFRONT', allocationRule: { sources: [{ locationId: id, priority: 1 }] } } },
      { 'x-client-id': admin },
    );
    expect(channel.errors, JSON.stringify(channel.errors)).toBeUndefined();
    const channelId = channel.data!.createChannel.id;
    await replicaCurrent(stack.subgraphs.locations.url);
    await replicaCurrent(stack.subgraphs.channels.url);
    const cfg = configWith(replicaEnv);
    await replica.sql(
      'SET SESSION sql_log_bin = 0',
      [`UPDATE \`${databaseName(cfg, 'locations')}\`.locations SET name = 'Replica name' WHERE id = ?`, [id]],
      [`UPDATE \`${databaseName(cfg, 'channels')}\`.channels SET name = 'Replica channel' WHERE id = ?`, [channelId]],
    );
    const read = await gql(stack.gatewayUrl, `query($id: ID!, $c: ID!) { location(id: $id) { name } channel(id: $c) { name } }`, { id, c: channelId }, { 'x-client-id': `reader-${randomUUID()}` });
    expect(read.errors, JSON.stringify(read.errors)).toBeUndefined();
    expect(read.data).toEqual({ location: { name: 'Replica name' }, channel: { name: 'Replica channel' } });
  });

  it('an order placed through orders reserves in inventory for its client, who then reads the reservation while the replica lags', async () => {
    const inventory = stack.subgraphs.inventory.url;
    const loc = await f.location();
    const channel = await f.channel([loc]);
    const sku = await f.item();
    await f.receive(sku, loc, 10);
    await replicaCurrent(inventory);
    const shopper = `shopper-${randomUUID()}`;
    const other = `other-${randomUUID()}`;
    await replica.delay(3600);
    try {
      await vi.waitFor(async () => expect((await metrics(inventory)).usable).toBe(1), { timeout: 30_000, interval: 100 });
      // gateway → orders → inventory (orders signs for the shopper): the write recorded in inventory is the shopper's.
      const placed = await gql(
        stack.gatewayUrl,
        `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } }`,
        { input: { idempotencyKey: randomUUID(), channelId: channel, lines: [{ sku, quantity: 2 }], fulfilment: { method: 'SHIP', destinationRegion: 'Yorkshire' } } },
        { 'x-client-id': shopper },
      );
      expect(placed.errors, JSON.stringify(placed.errors)).toBeUndefined();
      expect(placed.data!.placeOrder.status).toBe('CONFIRMED');
      expect(await levelVia(shopper, sku, loc)).toEqual({ onHand: 10, reserved: 2 });
      const before = await metrics(inventory);
      // Another client reads the lagging replica: no reservation there yet.
      expect(await levelVia(other, sku, loc)).toEqual({ onHand: 10, reserved: 0 });
      expect((await metrics(inventory)).replicaReads).toBe(before.replicaReads + 1);
      // The shopper's own order, read back through orders, is there too (orders recorded its write for the shopper).
      const order = await gql(stack.gatewayUrl, `query($id: ID!) { order(id: $id) { id status } }`, { id: placed.data!.placeOrder.id }, { 'x-client-id': shopper });
      expect(order.errors, JSON.stringify(order.errors)).toBeUndefined();
      expect(order.data!.order).toMatchObject({ status: 'CONFIRMED' });
      // Another client asking for it reads the orders replica, which has not applied it yet.
      const elsewhere = await gql(stack.gatewayUrl, `query($id: ID!) { order(id: $id) { id } }`, { id: placed.data!.placeOrder.id }, { 'x-client-id': other });
      expect(elsewhere.errors, JSON.stringify(elsewhere.errors)).toBeUndefined();
      expect(elsewhere.data!.order).toBeNull();
    } finally {
      await replica.delay(0);
    }
    await replicaCurrent(inventory);
    expect(await levelVia(other, sku, loc)).toEqual({ onHand: 10, reserved: 2 });
  });
});
