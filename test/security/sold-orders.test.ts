import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyService, openRegistryDatabase } from '../../registry/index.js';
import { gql, serviceToken } from '../client.js';
import { InventoryFixture } from '../inventory-fixture.js';
import { startStack, type Stack } from '../stack.js';

/**
 * #17: a sale the channel already made (a marketplace order) reserves past the channel's buffer,
 * cap and protection. That door is for order intake only (scope orders:intake): the attacks are a
 * storefront that places its live orders as "sold" to take the units the buffer holds back, through
 * the gateway and straight at each subgraph with a service token that lacks the scope.
 */
let stack: Stack;
let gatewayDb: DataSource;
let inv: InventoryFixture;
let ids: { loc: string; channel: string; sku: string };
const keys = { storefront: '', intake: '' };

const PLACE_SOLD = `mutation($input: PlaceOrderInput!) { placeSoldOrder(input: $input) { id status sourcing } }`;
const RESERVE_SOLD = `mutation($input: ReserveStockInput!) { reserveSoldStock(input: $input) { __typename ... on Reservation { id } } }`;
const order = (idempotencyKey = randomUUID()) => ({ idempotencyKey, channelId: ids.channel, lines: [{ sku: ids.sku, quantity: 4 }], fulfilment: { method: 'SHIP' } });
const reservation = () => ({ idempotencyKey: randomUUID(), channelId: ids.channel, ttlSeconds: 600, lines: [{ sku: ids.sku, quantity: 4 }] });
const ordersWithKey = async (key: string) => Number((await stack.subgraphs.orders.dataSource.query('SELECT COUNT(*) AS n FROM orders WHERE idempotency_key = ?', [key]))[0].n);

beforeAll(async () => {
  stack = await startStack({ env: { AUTH_MODE: 'enforce' } });
  gatewayDb = await openRegistryDatabase(stack.cfg);
  const apiKeys = new ApiKeyService(gatewayDb);
  const issue = async (clientId: string, scopes: string[]) => (await apiKeys.create({ clientId, scopes, expiresInMs: 3_600_000, createdBy: 'sold-orders.test' })).key;
  keys.storefront = await issue(`web-${randomUUID().slice(0, 6)}`, ['availability:read', 'inventory:read', 'inventory:write', 'orders:read', 'orders:write']);
  keys.intake = await issue(`intake-${randomUUID().slice(0, 6)}`, ['orders:read', 'orders:intake']);
  inv = new InventoryFixture(stack.subgraphs.inventory.url, stack.subgraphs.inventory.dataSource);
  const loc = await inv.location();
  // 5 on hand, a buffer of 4: live buyers may take 1.
  ids = { loc, channel: await inv.channel([loc], { buffer: { kind: 'UNITS', value: 4 } }), sku: await inv.item() };
  await inv.receive(ids.sku, loc, 5);
});

afterAll(async () => {
  await gatewayDb?.destroy();
  await stack?.close();
});

describe('only order intake reserves past the buffer', () => {
  it('refuses a storefront key placeSoldOrder and reserveSoldStock through the gateway, and writes nothing', async () => {
    const key = randomUUID();
    const placed = await gql(stack.gatewayUrl, PLACE_SOLD, { input: order(key) }, { 'x-api-key': keys.storefront });
    expect(placed.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', field: 'Mutation.placeSoldOrder', missingScopes: ['orders:intake'] });
    const reserved = await gql(stack.gatewayUrl, RESERVE_SOLD, { input: reservation() }, { 'x-api-key': keys.storefront });
    expect(reserved.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', field: 'Mutation.reserveSoldStock' });
    expect(await ordersWithKey(key)).toBe(0);
    expect(await inv.level(ids.sku, ids.loc)).toMatchObject({ on_hand: 5, reserved: 0 });
  });

  it('refuses the same calls sent straight at the subgraphs with service tokens that lack orders:intake', async () => {
    const key = randomUUID();
    const asGateway = { 'x-service-token': await serviceToken({ issuer: 'gateway', scopes: ['orders:write', 'inventory:write'] }) };
    const placed = await gql(stack.subgraphs.orders.url, PLACE_SOLD, { input: order(key) }, asGateway);
    expect(placed.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    // Orders' own service identity without the scope may not reserve past the buffer either.
    const asOrders = { 'x-service-token': await serviceToken({ issuer: 'orders', scopes: ['orders:write', 'inventory:write'] }) };
    const reserved = await gql(stack.subgraphs.inventory.url, RESERVE_SOLD, { input: reservation() }, asOrders);
    expect(reserved.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await ordersWithKey(key)).toBe(0);
    expect(await inv.level(ids.sku, ids.loc)).toMatchObject({ on_hand: 5, reserved: 0 });
  });

  it('lets a key with orders:intake place the sale past the buffer, which a live order of the same units may not', async () => {
    const live = await gql(stack.gatewayUrl, `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { status sourcing } }`, { input: order() }, { 'x-api-key': keys.storefront });
    expect(live.data!.placeOrder).toEqual({ status: 'REJECTED', sourcing: 'LIVE' });
    const sold = await gql(stack.gatewayUrl, PLACE_SOLD, { input: order() }, { 'x-api-key': keys.intake });
    expect(sold.errors).toBeUndefined();
    expect(sold.data!.placeSoldOrder).toMatchObject({ status: 'CONFIRMED', sourcing: 'SOLD' });
    expect(await inv.level(ids.sku, ids.loc)).toMatchObject({ on_hand: 5, reserved: 4 });
  });

  it('answers the same key used for a live order and then a sold one with CONFLICT, placing nothing more', async () => {
    const key = randomUUID();
    await gql(stack.gatewayUrl, `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { status } }`, { input: { ...order(key), lines: [{ sku: ids.sku, quantity: 1 }] } }, { 'x-api-key': keys.storefront });
    const again = await gql(stack.gatewayUrl, PLACE_SOLD, { input: { ...order(key), lines: [{ sku: ids.sku, quantity: 1 }] } }, { 'x-api-key': keys.intake });
    expect(again.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(await ordersWithKey(key)).toBe(1);
  });
});
