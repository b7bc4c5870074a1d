import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compose, readSupergraphConfig } from '../../contracts/composition.js';
import { startGateway } from '../../gateway/gateway.js';
import { limitSettings } from '../../gateway/limits/limits.js';
import { SUBGRAPH_NAMES } from '../../lib/config.js';
import { createRedis, redisTarget } from '../../lib/redis.js';
import { errorCode, gql } from '../client.js';
import { startCountingProxy, type CountingProxy } from '../counting-proxy.js';
import { dropKeys, waitFor } from '../events.js';
import { startStack, type Stack } from '../stack.js';
import { collect, wsClient, wsUrl } from '../subscriptions-helpers.js';

/**
 * #16 item 3: the cost and depth limits cannot be switched off by the query. With the default
 * limits (MAX_QUERY_COST, MAX_QUERY_DEPTH, MAX_QUERY_FIELDS, MAX_QUERY_TOKENS), each attack is
 * sent as a client would send it and must be refused before any subgraph is called.
 */
let stack: Stack;
let proxy: CountingProxy;
let gateway: Awaited<ReturnType<typeof startGateway>>;
const prefix = `omnistock_test:qlimits-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  stack = await startStack({ env: { REDIS_KEY_PREFIX: prefix } });
  proxy = await startCountingProxy(stack.subgraphs.inventory.url);
  const composed = compose(await readSupergraphConfig('supergraph.yaml'));
  if (!composed.ok) throw new Error(JSON.stringify(composed.errors));
  gateway = await startGateway({
    supergraphSdl: composed.supergraphSdl,
    urlOverrides: { ...Object.fromEntries(SUBGRAPH_NAMES.map((n) => [n, stack.subgraphs[n].url])), inventory: proxy.url },
    subscriptionUrls: { inventory: wsUrl(stack.subgraphs.inventory.url) },
    limits: limitSettings(stack.cfg),
    host: '127.0.0.1',
    port: 0,
  });
});

afterAll(async () => {
  await gateway?.close();
  await proxy?.close();
  const redis = createRedis(redisTarget(stack.cfg));
  await dropKeys(redis, prefix);
  await redis.quit();
  await stack?.close();
});

const spreads = (fragment: string, n: number) => Array.from({ length: n }, () => `...${fragment}`).join(' ');
/** 30 × 30 × 30 spreads of a two-field fragment: 54,000 selections once expanded, in 3 KB of text. */
const FRAGMENT_BOMB = `query Bomb { inventoryItems(skus: ["SKU-000001"]) { ...L3 } }
fragment L0 on InventoryItem { sku name }
fragment L1 on InventoryItem { ${spreads('L0', 30)} }
fragment L2 on InventoryItem { ${spreads('L1', 30)} }
fragment L3 on InventoryItem { ${spreads('L2', 30)} }`;

describe('query limits that the query cannot switch off', () => {
  it('refuses a fragment bomb too large to estimate, instead of letting it through unmeasured', async () => {
    const before = proxy.calls;
    const res = await gql(gateway.url, FRAGMENT_BOMB, {}, { 'x-client-id': 'attacker' });
    expect(res.status).toBe(400);
    expect(errorCode(res)).toBe('QUERY_TOO_COMPLEX');
    expect(res.errors![0]!.extensions).toMatchObject({ reason: 'FIELDS', maxFields: stack.cfg.MAX_QUERY_FIELDS });
    expect(res.data ?? null).toBeNull();
    expect(proxy.calls).toBe(before);
  });

  it('refuses the same bomb as a subscription over graphql-ws, before anything is opened upstream', async () => {
    const client = wsClient(wsUrl(gateway.url));
    try {
      const received = collect(client, `subscription Bomb { stockChanged(filter: { skus: ["SKU-000001"] }) { ...S3 } }
        fragment S0 on StockChange { sku } fragment S1 on StockChange { ${spreads('S0', 30)} }
        fragment S2 on StockChange { ${spreads('S1', 30)} } fragment S3 on StockChange { ${spreads('S2', 30)} }`);
      await waitFor('the refusal', async () => received.errors.length > 0 || null);
      expect(JSON.stringify(received.errors[0])).toMatch(/"code":"QUERY_TOO_COMPLEX".*"reason":"FIELDS"|"reason":"FIELDS".*"code":"QUERY_TOO_COMPLEX"/);
      expect(received.results).toEqual([]);
    } finally {
      await client.dispose();
    }
  });

  it('stops parsing past MAX_QUERY_TOKENS: a huge document is refused before it is validated', async () => {
    const aliases = Array.from({ length: 6000 }, (_, i) => `a${i}: __typename`).join(' ');
    const res = await gql(gateway.url, `{ ${aliases} }`, {}, { 'x-client-id': 'attacker' });
    expect(res.status).toBe(400);
    expect(errorCode(res)).toBe('GRAPHQL_PARSE_FAILED');
    expect(res.errors![0]!.message).toMatch(/Document contains more tha[nt] \d+ tokens/);
  });

  it('still answers a query whose variables do not fit with the variables error, and a normal query with data', async () => {
    const wrong = await gql(gateway.url, `query($s: [String!]!) { inventoryItems(skus: $s) { sku } }`, { s: 42 }, { 'x-client-id': 'web' });
    expect(errorCode(wrong)).toBe('BAD_USER_INPUT');
    const ok = await gql(gateway.url, `{ inventoryItems(skus: ["NOPE"]) { sku } }`, {}, { 'x-client-id': 'web' });
    expect(ok.errors).toBeUndefined();
    expect(ok.data).toEqual({ inventoryItems: [null] });
  });
});
