import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compose, readSupergraphConfig } from '../../contracts/composition.js';
import { startGateway } from '../../gateway/gateway.js';
import { limitSettings } from '../../gateway/limits/limits.js';
import { configWith, SUBGRAPH_NAMES, type TrustProxy } from '../../lib/config.js';
import { createAuthenticator, gatewayAuth } from '../../gateway/auth/index.js';
import { openKeyStore, openRegistryDatabase } from '../../registry/index.js';
import { errorCode, gql } from '../client.js';
import { InventoryFixture } from '../inventory-fixture.js';
import { startStack, type Stack } from '../stack.js';

/**
 * #16 item 5: client identity comes only from credentials. An anonymous caller that names itself
 * with x-client-id (a client with a large rate budget, no cost limit, or an actor it wants to frame)
 * gets none of it: it is limited per address, by the public cost limit, and recorded as no one. Its
 * address is its socket's peer unless TRUST_PROXY says whose X-Forwarded-For to believe.
 */
let stack: Stack;
let inv: InventoryFixture;
let ids: { loc: string; sku: string };
let supergraph: string;
const gateways: { close(): Promise<unknown> }[] = [];

const ITEM = `query($s: String!) { inventoryItem(sku: $s) { sku } }`;
const RECORD = `mutation($i: StockMovementInput!) { recordMovement(input: $i) { movement { actor } } }`;

/** A gateway enforcing authentication over the stack's subgraphs, with its own rate buckets. */
async function gateway(env: Record<string, string>, trustProxy?: TrustProxy): Promise<string> {
  const cfg = configWith({ AUTH_MODE: 'enforce', REDIS_KEY_PREFIX: `omnistock_test:anon${randomUUID().slice(0, 8)}`, ...env });
  const db = await openRegistryDatabase(cfg);
  const keys = await openKeyStore(cfg, db);
  const running = await startGateway({
    auth: gatewayAuth(cfg, createAuthenticator(cfg, keys)),
    supergraphSdl: supergraph,
    urlOverrides: Object.fromEntries(SUBGRAPH_NAMES.map((n) => [n, stack.subgraphs[n].url])),
    limits: limitSettings(cfg),
    authFailuresPerMinute: 0,
    trustProxy,
    host: '127.0.0.1',
    port: 0,
  });
  gateways.push(running, { close: () => keys.close() }, { close: () => db.destroy() });
  return running.url;
}

beforeAll(async () => {
  stack = await startStack();
  inv = new InventoryFixture(stack.subgraphs.inventory.url, stack.subgraphs.inventory.dataSource);
  ids = { loc: await inv.location(), sku: await inv.item() };
  const composed = compose(await readSupergraphConfig('supergraph.yaml'));
  if (!composed.ok) throw new Error(JSON.stringify(composed.errors));
  supergraph = composed.supergraphSdl;
});

afterAll(async () => {
  for (const g of gateways.reverse()) await g.close();
  await stack?.close();
});

describe('an anonymous x-client-id chooses nothing', () => {
  it("does not take a named client's rate budget: anonymous callers share their address's", async () => {
    const url = await gateway({ AUTH_PUBLIC_SCOPES: 'availability:read', RATE_LIMIT_PER_MINUTE: '3', RATE_LIMITS: 'storefront=100000' });
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await gql(url, ITEM, { s: ids.sku }, { 'x-client-id': 'storefront' }));
    expect(answers.map(errorCode)).toEqual([undefined, undefined, undefined, 'RATE_LIMITED', 'RATE_LIMITED']);
    // Another name from the same address: the same bucket.
    expect(errorCode(await gql(url, ITEM, { s: ids.sku }, { 'x-client-id': `fresh-${randomUUID()}` }))).toBe('RATE_LIMITED');
  });

  it("does not take a named client's cost limit", async () => {
    const url = await gateway({ AUTH_PUBLIC_SCOPES: 'availability:read', RATE_LIMIT_PER_MINUTE: '0', MAX_QUERY_COST: '5', MAX_QUERY_COSTS: 'reporting=0' });
    const costly = `query($s: [String!]!) { inventoryItems(skus: $s) { sku name stockLevels { onHand location { name } } } }`;
    const res = await gql(url, costly, { s: [ids.sku, `${ids.sku}-2`, `${ids.sku}-3`] }, { 'x-client-id': 'reporting' });
    expect(errorCode(res)).toBe('QUERY_TOO_COMPLEX');
  });

  it('is not recorded as the actor of what an anonymous caller writes', async () => {
    const url = await gateway({ AUTH_PUBLIC_SCOPES: 'availability:read inventory:write', RATE_LIMIT_PER_MINUTE: '0' });
    const res = await gql(url, RECORD, { i: { idempotencyKey: randomUUID(), sku: ids.sku, locationId: ids.loc, type: 'RECEIPT', quantity: 1 } }, { 'x-client-id': 'erp-nightly' });
    expect(res.errors).toBeUndefined();
    expect(res.data!.recordMovement.movement.actor).toBeNull();
  });
});

describe("the caller's address", () => {
  it('ignores X-Forwarded-For unless TRUST_PROXY names the proxy, so a forged one buys no fresh budget', async () => {
    const url = await gateway({ AUTH_PUBLIC_SCOPES: 'availability:read', RATE_LIMIT_PER_MINUTE: '2' });
    const forged = [];
    for (let i = 0; i < 4; i++) forged.push(errorCode(await gql(url, ITEM, { s: ids.sku }, { 'x-forwarded-for': `203.0.113.${i + 1}` })));
    expect(forged).toEqual([undefined, undefined, 'RATE_LIMITED', 'RATE_LIMITED']);
  });

  it('behind a trusted proxy, limits each forwarded caller apart', async () => {
    const url = await gateway({ AUTH_PUBLIC_SCOPES: 'availability:read', RATE_LIMIT_PER_MINUTE: '2' }, ['loopback']);
    const from = (address: string) => gql(url, ITEM, { s: ids.sku }, { 'x-forwarded-for': address });
    const a = [await from('198.51.100.7'), await from('198.51.100.7'), await from('198.51.100.7')].map(errorCode);
    expect(a).toEqual([undefined, undefined, 'RATE_LIMITED']);
    expect(errorCode(await from('198.51.100.8'))).toBeUndefined();
  });
});
