import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyService, openRegistryDatabase } from '../../registry/index.js';
import { gql, serviceToken } from '../client.js';
import { COMMIT, InventoryFixture, RELEASE, RESERVE } from '../inventory-fixture.js';
import { startStack, type Stack } from '../stack.js';

/**
 * #16 item 8: stock held by one client is released only by it. Two storefront clients with the
 * same scopes share the gateway; the attacks: B releases, extends or ships A's reservation, A holds
 * its own without end (the orders service's privilege), and B reuses A's idempotency key to learn of
 * A's reservation or block it. Sent through the gateway with API keys, as clients send them.
 */
let stack: Stack;
let gatewayDb: DataSource;
let inv: InventoryFixture;
let ids: { loc: string; channel: string; sku: string };
const keys: Record<'a' | 'b' | 'admin', string> = { a: '', b: '', admin: '' };

const EXTEND = `mutation($id: ID!, $ttl: Int) { extendReservation(id: $id, ttlSeconds: $ttl) { id expiresAt } }`;
const as = (who: keyof typeof keys) => ({ 'x-api-key': keys[who] });

async function reserve(who: keyof typeof keys, idempotencyKey: string, quantity = 2) {
  return gql(stack.gatewayUrl, RESERVE, { input: { idempotencyKey, channelId: ids.channel, ttlSeconds: 600, lines: [{ sku: ids.sku, quantity }] } }, as(who));
}

beforeAll(async () => {
  stack = await startStack({ env: { AUTH_MODE: 'enforce' } });
  gatewayDb = await openRegistryDatabase(stack.cfg);
  const apiKeys = new ApiKeyService(gatewayDb);
  const issue = async (clientId: string, scopes: string[]) => (await apiKeys.create({ clientId, scopes, expiresInMs: 3_600_000, createdBy: 'reservation-ownership.test' })).key;
  const storefront = ['inventory:read', 'inventory:write', 'availability:read'];
  keys.a = await issue(`web-a-${randomUUID().slice(0, 6)}`, storefront);
  keys.b = await issue(`web-b-${randomUUID().slice(0, 6)}`, storefront);
  keys.admin = await issue(`ops-${randomUUID().slice(0, 6)}`, [...storefront, 'admin']);
  inv = new InventoryFixture(stack.subgraphs.inventory.url, stack.subgraphs.inventory.dataSource);
  const loc = await inv.location();
  ids = { loc, channel: await inv.channel([loc]), sku: await inv.item() };
  await inv.receive(ids.sku, loc, 100);
});

afterAll(async () => {
  await gatewayDb?.destroy();
  await stack?.close();
});

describe("one client's reservation is changed only by it, the orders service or an admin", () => {
  it("refuses another client's release, extension and commit, and moves no stock", async () => {
    const mine = await reserve('a', randomUUID());
    const id = mine.data!.reserveStock.id as string;
    const before = await inv.level(ids.sku, ids.loc);
    const attempts = [
      await gql(stack.gatewayUrl, RELEASE, { id }, as('b')),
      await gql(stack.gatewayUrl, EXTEND, { id, ttl: 3600 }, as('b')),
      await gql(stack.gatewayUrl, COMMIT, { input: { reservationId: id, idempotencyKey: randomUUID() } }, as('b')),
    ];
    for (const res of attempts) expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'NOT_RESERVATION_OWNER' });
    expect(await inv.level(ids.sku, ids.loc)).toEqual(before);
    expect((await gql(stack.gatewayUrl, EXTEND, { id, ttl: 3600 }, as('a'))).errors).toBeUndefined();
    expect((await gql(stack.gatewayUrl, RELEASE, { id }, as('admin'))).data!.releaseReservation.status).toBe('RELEASED');
  });

  it('keeps a hold without end to the orders service', async () => {
    const id = (await reserve('a', randomUUID())).data!.reserveStock.id as string;
    const refused = await gql(stack.gatewayUrl, EXTEND, { id, ttl: null }, as('a'));
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'HOLD_RESERVED_TO_ORDERS' });
    const admin = await gql(stack.gatewayUrl, EXTEND, { id, ttl: null }, as('admin'));
    expect(admin.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'HOLD_RESERVED_TO_ORDERS' });
    const orders = await gql(stack.subgraphs.inventory.url, EXTEND, { id, ttl: null }, { 'x-service-token': await serviceToken({ issuer: 'orders', scopes: ['orders:write'] }) });
    expect(orders.errors).toBeUndefined();
    expect(orders.data!.extendReservation.expiresAt).toBeNull();
  });

  it("scopes idempotency keys per client: another client's key is neither a conflict nor a replay", async () => {
    const key = randomUUID();
    const a = await reserve('a', key, 2);
    // The same key with another request, and with the same request: B gets its own reservation each time it is new.
    const other = await reserve('b', key, 3);
    expect(other.errors).toBeUndefined();
    expect(other.data!.reserveStock).toMatchObject({ __typename: 'Reservation', replayed: false });
    expect(other.data!.reserveStock.id).not.toBe(a.data!.reserveStock.id);
    const again = await reserve('b', key, 3);
    expect(again.data!.reserveStock).toMatchObject({ id: other.data!.reserveStock.id, replayed: true });
    expect((await reserve('a', key, 2)).data!.reserveStock).toMatchObject({ id: a.data!.reserveStock.id, replayed: true });
  });

  it('under a race on one key from two clients, holds exactly one reservation per client', async () => {
    const key = randomUUID();
    const before = await inv.level(ids.sku, ids.loc);
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => reserve(i % 2 ? 'b' : 'a', key, 1)));
    for (const res of answers) expect(res.errors).toBeUndefined();
    const byClient = (odd: number) => new Set(answers.filter((_, i) => i % 2 === odd).map((r) => r.data!.reserveStock.id));
    expect(byClient(0).size).toBe(1);
    expect(byClient(1).size).toBe(1);
    expect([...byClient(0)][0]).not.toBe([...byClient(1)][0]);
    expect((await inv.level(ids.sku, ids.loc)).reserved).toBe(before.reserved + 2);
  });
});
