import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setLogDestination } from '../lib/logger.js';
import { errorCode, gql, uniq, type GraphQLResponse } from './client.js';
import { waitFor, waitForReplicas } from './events.js';
import { compose, readSupergraphConfig } from '../contracts/composition.js';
import { startGateway } from '../gateway/gateway.js';
import { SUBGRAPH_NAMES, type SubgraphName } from '../lib/config.js';
import { startCountingProxy, type CountingProxy } from './counting-proxy.js';
import { startStack, type Stack } from './stack.js';
import { collect, wsClient, wsUrl } from './subscriptions-helpers.js';

// Every log line of this process (gateway and subgraphs run in it) is kept to check request ids.
const logLines: Record<string, unknown>[] = [];
setLogDestination(
  new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line) logLines.push(JSON.parse(line));
      done();
    },
  }),
  'debug',
);

let stack: Stack;
const ids = { locA: '', locB: '', channel: '', sku: '', order: randomUUID() };

async function ok(query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const res = await gql(stack.gatewayUrl, query, variables, headers);
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data!;
}

/** A gateway of its own over the stack's subgraphs, with some of them reached through the given counting proxies. */
async function gatewayThrough(proxies: Partial<Record<SubgraphName, CountingProxy>>, opts: { shareInflight?: boolean; batchWindowMs?: number; directFetch?: boolean } = {}) {
  const composed = compose(await readSupergraphConfig('supergraph.yaml'));
  if (!composed.ok) throw new Error(JSON.stringify(composed.errors));
  const urlOverrides = Object.fromEntries(SUBGRAPH_NAMES.map((n) => [n, proxies[n]?.url ?? stack.subgraphs[n].url]));
  return startGateway({ supergraphSdl: composed.supergraphSdl, urlOverrides, host: '127.0.0.1', port: 0, ...opts });
}

const CREATE_LOCATION = `mutation($input: CreateLocationInput!) { createLocation(input: $input) { id } }`;
const location = (name: string, city: string, pickup: boolean) => ({
  code: uniq('GW-'),
  name,
  type: 'STORE',
  address: { line1: '1 Test Street', city, postalCode: 'T1 1TT', countryCode: 'GB' },
  timezone: 'Europe/London',
  latitude: 53.48,
  longitude: -2.24,
  capabilities: { ships: false, pickup },
});

beforeAll(async () => {
  stack = await startStack({ jobs: true });
  ids.locA = (await ok(CREATE_LOCATION, { input: location('Gateway Store A', 'Manchester', true) })).createLocation.id;
  ids.locB = (await ok(CREATE_LOCATION, { input: location('Gateway Store B', 'Leeds', false) })).createLocation.id;
  ids.channel = (
    await ok(
      `mutation($input: CreateChannelInput!) { createChannel(input: $input) { id } }`,
      {
        input: {
          code: uniq('CH-'),
          name: 'Gateway test web',
          type: 'WEB_STOREFRONT',
          allocationRule: { sources: [{ locationId: ids.locA, priority: 1 }, { locationId: ids.locB, priority: 2 }] },
        },
      },
    )
  ).createChannel.id;
  // Inventory learns of locations and channel rules from their events (relay and replication consumer).
  await waitForReplicas(stack.subgraphs.inventory.dataSource, [ids.locA, ids.locB], [ids.channel]);
  ids.sku = uniq('GW-SKU-');
  await ok(`mutation($input: CreateInventoryItemInput!) { createInventoryItem(input: $input) { sku } }`, {
    input: { sku: ids.sku, name: 'Gateway test parka' },
  });
  for (const [locationId, quantity] of [[ids.locA, 7], [ids.locB, 3]] as const) {
    await ok(`mutation($input: ReceiveStockInput!) { receiveStock(input: $input) { replayed } }`, {
      input: { idempotencyKey: randomUUID(), sku: ids.sku, locationId, quantity },
    });
  }
  // Orders have no write path before the order lifecycle lands; the row is written as it will be.
  const orders = stack.subgraphs.orders.dataSource;
  await orders.query(
    `INSERT INTO orders (id, channel_id, customer_reference, status, fulfilment_method, pickup_location_id, created_at, updated_at)
     VALUES (?, ?, 'WEB-1001', 'CONFIRMED', 'PICKUP', ?, NOW(3), NOW(3))`,
    [ids.order, ids.channel, ids.locA],
  );
  await orders.query(
    `INSERT INTO order_lines (id, order_id, line_number, sku, quantity) VALUES (?, ?, 1, ?, 2)`,
    [randomUUID(), ids.order, ids.sku],
  );
});

afterAll(async () => {
  await stack?.close();
});

describe('the federated graph through the gateway', () => {
  it('answers stock per location with location names (locations) and the channels each feeds (channels)', async () => {
    const data = await ok(
      `query($skus: [String!]!) { inventoryItems(skus: $skus) { sku name totals { onHand }
         stockLevels { onHand available location { name address { city } channels { id name } } } } }`,
      { skus: [ids.sku, 'NO-SUCH-SKU'] },
    );
    const [item, missing] = data.inventoryItems;
    expect(missing).toBeNull();
    expect(item.totals.onHand).toBe(10);
    const byName = Object.fromEntries(item.stockLevels.map((l: any) => [l.location.name, l]));
    expect(byName['Gateway Store A']).toMatchObject({ onHand: 7, location: { address: { city: 'Manchester' }, channels: [{ id: ids.channel, name: 'Gateway test web' }] } });
    expect(byName['Gateway Store B']).toMatchObject({ onHand: 3, location: { address: { city: 'Leeds' } } });
  });

  it('resolves an order across all four subgraphs', async () => {
    const data = await ok(
      `query($id: ID!) { order(id: $id) { status channel { name allocationRule { sources { location { name } } } }
         fulfilment { method pickupLocation { name capabilities { pickup } } }
         lines { quantity item { name stockLevels { onHand location { name } } } } } }`,
      { id: ids.order },
    );
    expect(data.order).toMatchObject({
      status: 'CONFIRMED',
      channel: { name: 'Gateway test web', allocationRule: { sources: [{ location: { name: 'Gateway Store A' } }, { location: { name: 'Gateway Store B' } }] } },
      fulfilment: { method: 'PICKUP', pickupLocation: { name: 'Gateway Store A', capabilities: { pickup: true } } },
      lines: [{ quantity: 2, item: { name: 'Gateway test parka' } }],
    });
    expect(data.order.lines[0].item.stockLevels).toHaveLength(2);
  });

  it('carries the request id to every subgraph and into their log lines', async () => {
    const requestId = `req-${randomUUID()}`;
    const res = await gql(
      stack.gatewayUrl,
      `query($id: ID!) { order(id: $id) { channel { name } lines { item { name } } fulfilment { pickupLocation { name } } } }`,
      { id: ids.order },
      { 'x-request-id': requestId },
    );
    expect(res.headers.get('x-request-id')).toBe(requestId);
    const servers = new Set(logLines.filter((l) => l.reqId === requestId).map((l) => l.server));
    expect([...servers].sort()).toEqual(['channels', 'gateway', 'inventory', 'locations', 'orders']);
  });

  it('answers unknown ids with null and bad arguments with BAD_USER_INPUT, from any subgraph', async () => {
    const unknown = await ok(`{ location(id: "${randomUUID()}") { id } channel(id: "${randomUUID()}") { id } order(id: "${randomUUID()}") { id } inventoryItem(sku: "NOPE-1") { sku } }`);
    expect(unknown).toEqual({ location: null, channel: null, order: null, inventoryItem: null });
    for (const query of [
      '{ nearbyLocations(latitude: 0, longitude: 0, radiusKm: -5) { distanceKm } }',
      '{ locations(first: 500) { edges { cursor } } }',
      '{ channel(id: "abc") { id } }',
      '{ orders(first: 101) { edges { cursor } } }',
    ]) {
      expect(errorCode(await gql(stack.gatewayUrl, query)), query).toBe('BAD_USER_INPUT');
    }
  });

  it('refuses a malformed query with HTTP 400 GRAPHQL_PARSE_FAILED', async () => {
    const res = await gql(stack.gatewayUrl, '{ inventoryItems(skus: [');
    expect(res.status).toBe(400);
    expect(errorCode(res)).toBe('GRAPHQL_PARSE_FAILED');
  });

  it('refuses an unknown field with GRAPHQL_VALIDATION_FAILED', async () => {
    const res = await gql(stack.gatewayUrl, '{ inventoryItem(sku: "X") { price } }');
    expect(res.status).toBe(400);
    expect(errorCode(res)).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('writes nothing when a mutation through the gateway is refused', async () => {
    const code = uniq('BAD-');
    const res = await gql(stack.gatewayUrl, CREATE_LOCATION, { input: { ...location('x', 'y', true), code, latitude: 123 } });
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    const rows = await stack.subgraphs.locations.dataSource.query('SELECT COUNT(*) AS n FROM locations WHERE code = ?', [code]);
    expect(Number(rows[0].n)).toBe(0);
  });

  it('serves a storefront: channel availability with store names, then a reservation committed at checkout', async () => {
    const availability = await ok(
      `query($c: ID!, $skus: [String!]!) { availability(channelId: $c, skus: $skus) {
         sku availableToSell status item { name } locations { available pickup location { name address { city } } } } }`,
      { c: ids.channel, skus: [ids.sku] },
    );
    expect(availability.availability[0]).toMatchObject({
      availableToSell: 10,
      status: 'IN_STOCK',
      item: { name: 'Gateway test parka' },
      locations: [
        { available: 7, pickup: true, location: { name: 'Gateway Store A', address: { city: 'Manchester' } } },
        { available: 3, pickup: false, location: { name: 'Gateway Store B', address: { city: 'Leeds' } } },
      ],
    });
    const reserved = await ok(
      `mutation($input: ReserveStockInput!) { reserveStock(input: $input) { __typename ... on Reservation { id lines { quantity location { name } } } } }`,
      { input: { idempotencyKey: randomUUID(), channelId: ids.channel, ttlSeconds: 900, lines: [{ sku: ids.sku, quantity: 9 }] } },
    );
    // A (priority 1) gives all it has, B the rest.
    const byStore = [...reserved.reserveStock.lines].sort((x: any, y: any) => x.location.name.localeCompare(y.location.name));
    expect(byStore).toEqual([
      { quantity: 7, location: { name: 'Gateway Store A' } },
      { quantity: 2, location: { name: 'Gateway Store B' } },
    ]);
    const after = await ok(`query($c: ID!, $skus: [String!]!) { availability(channelId: $c, skus: $skus, consistency: READ_YOUR_WRITES) { availableToSell status } }`, {
      c: ids.channel,
      skus: [ids.sku],
    });
    expect(after.availability[0]).toEqual({ availableToSell: 1, status: 'LOW_STOCK' });
    const short = await ok(
      `mutation($input: ReserveStockInput!) { reserveStock(input: $input) { __typename ... on InsufficientStock { lines { requested available } } } }`,
      { input: { idempotencyKey: randomUUID(), channelId: ids.channel, ttlSeconds: 900, lines: [{ sku: ids.sku, quantity: 2 }] } },
    );
    expect(short.reserveStock).toEqual({ __typename: 'InsufficientStock', lines: [{ requested: 2, available: 1 }] });
    const committed = await ok(`mutation($input: CommitReservationInput!) { commitReservation(input: $input) { status } }`, {
      input: { reservationId: reserved.reserveStock.id, idempotencyKey: randomUUID() },
    });
    expect(committed.commitReservation.status).toBe('COMMITTED');
    const totals = await ok(`query($s: String!) { inventoryItem(sku: $s) { totals { onHand reserved } } }`, { s: ids.sku });
    expect(totals.inventoryItem.totals).toEqual({ onHand: 1, reserved: 0 });
  });

  it('asks a subgraph for each distinct entity once, and answers every place', async () => {
    const locations = await startCountingProxy(stack.subgraphs.locations.url);
    const gateway = await gatewayThrough({ locations });
    try {
      // A location's name alone inventory answers itself (@provides): the locations subgraph is not asked.
      const named = await gql(gateway.url, `query($c: ID!, $skus: [String!]!) { availability(channelId: $c, skus: $skus) { sku locations { location { id name } } } }`, {
        c: ids.channel,
        skus: [ids.sku],
      });
      expect(named.errors).toBeUndefined();
      expect(named.data!.availability[0].locations.map((l: { location: { name: string } }) => l.location.name)).toEqual(['Gateway Store A', 'Gateway Store B']);
      expect(locations.calls).toBe(0);
      // The same SKU three times over two locations: six places, two distinct locations (their type is the locations subgraph's).
      const res = await gql(gateway.url, `query($c: ID!, $skus: [String!]!) { availability(channelId: $c, skus: $skus) { sku locations { location { id name type } } } }`, {
        c: ids.channel,
        skus: [ids.sku, ids.sku, ids.sku],
      });
      expect(res.errors).toBeUndefined();
      const names = { [ids.locA]: 'Gateway Store A', [ids.locB]: 'Gateway Store B' };
      for (const row of res.data!.availability) {
        expect(row.locations.map((l: { location: { id: string; name: string } }) => [l.location.id, l.location.name])).toEqual(
          [ids.locA, ids.locB].map((id) => [id, names[id]]),
        );
      }
      const entityFetches = locations.requests.filter((r) => r.variables?.['representations']);
      expect(entityFetches.map((r) => (r.variables!['representations'] as { id: string }[]).map((rep) => rep.id).sort())).toEqual([[ids.locA, ids.locB].sort()]);
    } finally {
      await gateway.close();
      await locations.close();
    }
  });

  it('answers a query planned as one fetch of its own operation straight from that fetch, exactly as the full path does', async () => {
    const inventory = await startCountingProxy(stack.subgraphs.inventory.url);
    // Each on its own: no answer of one is shared with the other.
    const direct = await gatewayThrough({ inventory }, { directFetch: true, shareInflight: false });
    const full = await gatewayThrough({ inventory }, { directFetch: false, shareInflight: false });
    const directCount = async () => Number(/^omnistock_gateway_direct_fetches_total\S* (\d+)$/m.exec(await (await fetch(direct.url.replace('/graphql', '/metrics'))).text())?.[1]);
    const answer = ({ status, data, errors }: GraphQLResponse) => ({ status, data, errors });
    const both = async (query: string, variables: Record<string, unknown>) => {
      const [a, b] = await Promise.all([gql(direct.url, query, variables), gql(full.url, query, variables)]);
      expect(answer(a)).toEqual(answer(b));
      return a;
    };
    const SHELF = `query Shelf($c: ID!, $skus: [String!]!) { availability(channelId: $c, skus: $skus) { sku units: availableToSell status locations { available pickup location { id name } } } }`;
    const NEEDS_LOCATIONS = `query Types($c: ID!, $skus: [String!]!) { availability(channelId: $c, skus: $skus) { sku locations { location { id type } } } }`;
    try {
      // The first request of a document runs the usual way and teaches the gateway its plan; the next ones go direct.
      for (let i = 0; i < 2; i++) {
        const shelf = await both(SHELF, { c: ids.channel, skus: [ids.sku] });
        expect(shelf.data!.availability[0].sku).toBe(ids.sku);
        expect(shelf.data!.availability[0].locations.map((l: { location: { name: string } }) => l.location.name)).toEqual(['Gateway Store A', 'Gateway Store B']);
        // A refusal of the subgraph: its message, path and code, and the subgraph's name.
        const unknown = await both(SHELF, { c: randomUUID(), skus: [ids.sku] });
        expect(unknown.errors![0]!.extensions).toMatchObject({ code: 'NOT_FOUND', serviceName: 'inventory' });
        // A plan of two fetches is always shaped by @apollo/gateway.
        await both(NEEDS_LOCATIONS, { c: ids.channel, skus: [ids.sku] });
      }
      // A query over graphql-ws goes direct too (the document of its text is the one HTTP requests got).
      const ws = wsClient(wsUrl(direct.url));
      try {
        const variables = { c: ids.channel, skus: [ids.sku] };
        const overWs = collect(ws, SHELF, variables);
        await waitFor('the query answered over graphql-ws', async () => overWs.completed || overWs.errors.length > 0);
        expect(overWs.errors).toEqual([]);
        expect(overWs.results).toEqual([{ data: (await gql(full.url, SHELF, variables)).data }]);
      } finally {
        await ws.dispose();
      }
      // Every Shelf but the first (whatever its variables), the one over graphql-ws included; never Types.
      expect(await directCount()).toBe(4);
      // The subgraph gone: each root field it was to answer unavailable, as on the full path.
      await inventory.close();
      const down = await both(SHELF, { c: ids.channel, skus: [ids.sku] });
      expect(down.errors![0]!.extensions).toMatchObject({ code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'inventory' });
      expect(await directCount()).toBe(5);
    } finally {
      await direct.close();
      await full.close();
      await inventory.close();
    }
  });

  it('runs identical queries in flight at once once; other variables, other clients and mutations run apart', async () => {
    const locations = await startCountingProxy(stack.subgraphs.locations.url);
    const gateway = await gatewayThrough({ locations });
    const shared = async () => Number(/^omnistock_gateway_shared_executions_total\S* (\d+)$/m.exec(await (await fetch(gateway.url.replace('/graphql', '/metrics'))).text())?.[1]);
    const query = 'query Store($id: ID!) { location(id: $id) { id name } }';
    const asClient = (client: string) => ({ 'x-client-id': client });
    try {
      locations.hold();
      const sameIds = Array.from({ length: 4 }, () => `req-${randomUUID()}`);
      const same = sameIds.map((requestId) => gql(gateway.url, query, { id: ids.locA }, { ...asClient('storefront'), 'x-request-id': requestId }));
      const apart = [gql(gateway.url, query, { id: ids.locB }, asClient('storefront')), gql(gateway.url, query, { id: ids.locA }, asClient('pos'))];
      await waitFor('one locations fetch for the four alike, one each for the others', async () => locations.calls === 3 && (await shared()) === 3);
      locations.release();
      const answers = await Promise.all([...same, ...apart]);
      expect(answers.map((a) => a.data?.location?.name)).toEqual(['Gateway Store A', 'Gateway Store A', 'Gateway Store A', 'Gateway Store A', 'Gateway Store B', 'Gateway Store A']);
      expect(locations.calls).toBe(3);
      // The three that joined say in their log lines whose execution they shared: the one whose id the subgraph was sent.
      const leader = locations.requests.map((r) => r.requestId).find((id) => sameIds.includes(id!));
      expect(leader).toBeDefined();
      for (const id of sameIds.filter((i) => i !== leader)) {
        expect(logLines.some((l) => l.reqId === id && l.sharedWith === leader), id).toBe(true);
      }
      // Nothing is kept: the same query again is a new execution.
      await gql(gateway.url, query, { id: ids.locA }, asClient('storefront'));
      expect(locations.calls).toBe(4);

      // The same mutation twice at once runs twice (each write, and each read after it, is its own).
      locations.hold();
      const rename = 'mutation Rename($id: ID!, $input: UpdateLocationInput!) { updateLocation(id: $id, input: $input) { name } }';
      const renames = [1, 2].map(() => gql(gateway.url, rename, { id: ids.locB, input: { name: 'Gateway Store B' } }, asClient('storefront')));
      await waitFor('both mutations at the locations subgraph', async () => locations.calls === 6);
      locations.release();
      for (const r of await Promise.all(renames)) expect(r.data?.updateLocation).toEqual({ name: 'Gateway Store B' });
      expect(await shared()).toBe(3);
    } finally {
      locations.release();
      await gateway.close();
      await locations.close();
    }
  });

  it('merges the entity fetches of concurrent queries into one call, each query answered its own', async () => {
    const locations = await startCountingProxy(stack.subgraphs.locations.url);
    const inventory = await startCountingProxy(stack.subgraphs.inventory.url);
    const gateway = await gatewayThrough({ locations, inventory }, { batchWindowMs: 1000 });
    const query = 'query Store($id: ID!) { location(id: $id) { name stockLevels(first: 5) { edges { node { sku onHand } } } } }';
    try {
      // Both root fetches answered at once, and a window that outlasts a loaded machine's gap between reading the two answers.
      locations.hold();
      const answers = [ids.locA, ids.locB].map((id) => gql(gateway.url, query, { id }, { 'x-client-id': 'storefront' }));
      await waitFor('both root fetches', async () => locations.calls === 2);
      locations.release();
      const [a, b] = await Promise.all(answers);
      expect(a!.data?.location).toEqual({ name: 'Gateway Store A', stockLevels: { edges: [{ node: { sku: ids.sku, onHand: expect.any(Number) } }] } });
      expect(b!.data?.location).toEqual({ name: 'Gateway Store B', stockLevels: { edges: [{ node: { sku: ids.sku, onHand: expect.any(Number) } }] } });
      expect(a!.data?.location.stockLevels.edges[0].node.onHand).not.toBe(b!.data?.location.stockLevels.edges[0].node.onHand);
      const entityFetches = inventory.requests.filter((r) => r.variables?.['representations']);
      // One call for both, in whichever order their root fetches were read.
      expect(entityFetches.map((r) => (r.variables!['representations'] as { id: string }[]).map((rep) => rep.id).sort())).toEqual([[ids.locA, ids.locB].sort()]);
    } finally {
      locations.release();
      await gateway.close();
      await Promise.all([locations.close(), inventory.close()]);
    }
  });

  it('runs every query on its own with GATEWAY_SHARE_INFLIGHT off', async () => {
    const locations = await startCountingProxy(stack.subgraphs.locations.url);
    const gateway = await gatewayThrough({ locations }, { shareInflight: false });
    try {
      locations.hold();
      const same = Array.from({ length: 3 }, () => gql(gateway.url, 'query Store($id: ID!) { location(id: $id) { name } }', { id: ids.locA }, { 'x-client-id': 'storefront' }));
      await waitFor('a locations fetch per query', async () => locations.calls === 3);
      locations.release();
      for (const r of await Promise.all(same)) expect(r.data?.location).toEqual({ name: 'Gateway Store A' });
    } finally {
      locations.release();
      await gateway.close();
      await locations.close();
    }
  });

  it('reports readiness', async () => {
    const res = await fetch(stack.gatewayUrl.replace('/graphql', '/readyz'));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ready', checks: { supergraph: 'ok' } });
  });
});
