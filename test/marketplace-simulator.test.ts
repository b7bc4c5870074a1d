import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMarketplaceSimulator, type MarketplaceSimulator } from '../tools/marketplace-simulator/index.js';

/**
 * The simulator must catch a client that breaks a limit and must not blame one that does not. Buckets
 * are made to refill so slowly (rateScale 0.001) that no refill can happen during a test: counts stay
 * exact however slow the machine is.
 */

let slow: MarketplaceSimulator;
let fast: MarketplaceSimulator;
const account = () => `acct-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  slow = await startMarketplaceSimulator({ rateScale: 0.001, walmartFeedProcessingMs: 600_000 });
  fast = await startMarketplaceSimulator({ rateScale: 1000 });
});
afterAll(async () => {
  await slow?.close();
  await fast?.close();
});

async function call(url: string, method: string, headers: Record<string, string>, body?: unknown) {
  const res = await fetch(url, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : undefined) as Record<string, unknown> & { errors?: unknown } };
}

function amazonPatch(sim: MarketplaceSimulator, acct: string, sku: string, quantity: number, token = sim.credentials('amazon', acct).accessToken!) {
  return call(`${sim.baseUrl('amazon', acct)}/listings/2021-08-01/items/${acct}/${sku}?marketplaceIds=ATVPDKIKX0DER`, 'PATCH', { 'x-amz-access-token': token }, {
    productType: 'PRODUCT',
    patches: [{ op: 'replace', path: '/attributes/fulfillment_availability', value: [{ fulfillment_channel_code: 'DEFAULT', quantity }] }],
  });
}

function ebayUpdate(sim: MarketplaceSimulator, acct: string, items: { sku: string; quantity: number }[]) {
  return call(`${sim.baseUrl('ebay', acct)}/sell/inventory/v1/bulk_update_price_quantity`, 'POST', { authorization: `Bearer ${sim.credentials('ebay', acct).accessToken}` }, {
    requests: items.map((i) => ({ sku: i.sku, shipToLocationAvailability: { quantity: i.quantity } })),
  });
}

function walmartHeaders(sim: MarketplaceSimulator, acct: string) {
  return { 'WM_SEC.ACCESS_TOKEN': sim.credentials('walmart', acct).accessToken!, 'WM_QOS.CORRELATION_ID': randomUUID(), 'WM_SVC.NAME': 'Walmart Marketplace' };
}

function walmartFeed(sim: MarketplaceSimulator, acct: string, items: { sku: string; amount: number }[]) {
  return call(`${sim.baseUrl('walmart', acct)}/v3/feeds?feedType=inventory`, 'POST', walmartHeaders(sim, acct), {
    InventoryHeader: { version: '1.4' },
    Inventory: items.map((i) => ({ sku: i.sku, quantity: { unit: 'EACH', amount: i.amount } })),
  });
}

function shopifyGraphql(sim: MarketplaceSimulator, acct: string, query: string, variables: Record<string, unknown> = {}) {
  return call(`${sim.baseUrl('shopify', acct)}/admin/api/2026-04/graphql.json`, 'POST', { 'X-Shopify-Access-Token': sim.credentials('shopify', acct).accessToken! }, { query, variables });
}

const skus = (n: number, prefix = 'SKU') => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
const LOOKUP = 'query($first: Int!, $query: String!) { inventoryItems(first: $first, query: $query) { nodes { id sku } } }';
const searchFor = (list: string[]) => list.map((s) => `sku:"${s}"`).join(' OR ');

describe('marketplace simulator', () => {
  it('counts a violation when a client overdraws an Amazon bucket, and answers 429 with x-amzn-RateLimit-Limit', async () => {
    const acct = account();
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof amazonPatch>> | undefined;
    for (let i = 0; i < 6; i++) {
      last = await amazonPatch(slow, acct, `SKU-${i}`, i);
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    expect(last!.headers.get('x-amzn-ratelimit-limit')).toBe('0.005');
    expect(last!.headers.get('retry-after')).toBeNull();
    expect(last!.body.errors).toEqual([expect.objectContaining({ code: 'QuotaExceeded' })]);
    expect(slow.violations('AMAZON', acct)).toBe(1);
    expect(slow.violationLog().filter((v) => v.account === acct)).toEqual([expect.objectContaining({ reason: 'rate', endpoint: 'push' })]);
    expect(slow.calls('AMAZON', acct)).toMatchObject({ push: 5, items: 5, throttled: 1 });
    expect(slow.quantity('AMAZON', acct, 'SKU-4')).toBe(4);
    expect(slow.quantity('AMAZON', acct, 'SKU-5')).toBeUndefined();
  });

  it('counts a violation for a batch over the limit and answers in the marketplace error shape', async () => {
    const acct = account();
    const over = await ebayUpdate(slow, acct, skus(26).map((sku) => ({ sku, quantity: 1 })));
    expect(over.status).toBe(400);
    expect(over.body.errors).toEqual([expect.objectContaining({ errorId: 25709 })]);
    expect(slow.violationLog().filter((v) => v.account === acct)).toEqual([expect.objectContaining({ reason: 'batch' })]);
    const full = await ebayUpdate(slow, acct, skus(25).map((sku) => ({ sku, quantity: 1 })));
    expect(full.status).toBe(200);
    expect(slow.violations('EBAY', acct)).toBe(1);
    expect(slow.calls('EBAY', acct)).toMatchObject({ push: 1, items: 25 });
  });

  it('answers injected throttles like the marketplace without counting them as violations', async () => {
    const acct = account();
    slow.inject('ebay', acct, { type: 'throttle', count: 2, retryAfterMs: 3000 });
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await ebayUpdate(slow, acct, [{ sku: 'A', quantity: i }]));
    expect(answers.map((a) => a.status)).toEqual([429, 429, 200]);
    expect(answers[0]!.headers.get('retry-after')).toBe('3');
    expect(slow.violations('EBAY', acct)).toBe(0);
    expect(slow.calls('EBAY', acct)).toMatchObject({ push: 1, throttled: 2 });
    expect(slow.history('EBAY', acct, 'A')).toEqual([2]);
  });

  it('scales every refill rate with rateScale', async () => {
    const burst = async (sim: MarketplaceSimulator, acct: string, from: number) => {
      const statuses = [];
      for (let i = from; i < from + 5; i++) statuses.push((await amazonPatch(sim, acct, `S-${i}`, 1)).status);
      return statuses;
    };
    const quick = account();
    const sluggish = account();
    expect(await burst(fast, quick, 0)).toEqual([200, 200, 200, 200, 200]);
    expect(await burst(slow, sluggish, 0)).toEqual([200, 200, 200, 200, 200]);
    // 50 ms refill 250 requests at 5,000/s, and 0.00025 of one at 0.005/s.
    await new Promise((r) => setTimeout(r, 50));
    expect(await burst(fast, quick, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(await burst(slow, sluggish, 5)).toEqual([429, 429, 429, 429, 429]);
    expect(fast.violations('AMAZON', quick)).toBe(0);
    expect(slow.violations('AMAZON', sluggish)).toBe(5);
    const limit = async (sim: MarketplaceSimulator) => (await amazonPatch(sim, account(), 'X', 1)).headers.get('x-amzn-ratelimit-limit');
    expect(await limit(fast)).toBe('5000');
    expect(await limit(slow)).toBe('0.005');
  });

  it('refuses unknown credentials in each marketplace’s way, without a violation', async () => {
    const acct = account();
    expect((await amazonPatch(slow, acct, 'A', 1, 'stolen')).status).toBe(403);
    const ebay = await call(`${slow.baseUrl('ebay', acct)}/sell/inventory/v1/bulk_update_price_quantity`, 'POST', {}, { requests: [{ sku: 'A' }] });
    expect(ebay.status).toBe(401);
    expect(ebay.body.errors).toEqual([expect.objectContaining({ errorId: 1001 })]);
    const walmart = await call(`${slow.baseUrl('walmart', acct)}/v3/inventory?sku=A`, 'GET', { ...walmartHeaders(slow, acct), 'WM_SEC.ACCESS_TOKEN': 'nope' });
    expect(walmart.status).toBe(401);
    const shopify = await call(`${slow.baseUrl('shopify', acct)}/admin/api/2026-04/graphql.json`, 'POST', { 'X-Shopify-Access-Token': 'nope' }, { query: '{ __typename }' });
    expect(shopify.status).toBe(401);
    expect(typeof shopify.body.errors).toBe('string');
    expect(slow.violations(undefined, acct)).toBe(0);
  });

  it('ingests Walmart feeds later, item by item, and enforces 10 feeds an hour and the items per feed', async () => {
    const acct = account();
    slow.rejectSku('walmart', acct, 'BAD', 'Quantity update not allowed for this item');
    slow.rejectSku('walmart', acct, 'FLAKY', 'try again', { transient: true });
    slow.unlistSku('walmart', acct, 'GONE');
    const posted = await walmartFeed(slow, acct, [
      { sku: 'OK', amount: 7 },
      { sku: 'BAD', amount: 1 },
      { sku: 'FLAKY', amount: 2 },
      { sku: 'GONE', amount: 3 },
    ]);
    expect(posted.status).toBe(200);
    const feedId = String(posted.body.feedId);
    const status = () => call(`${slow.baseUrl('walmart', acct)}/v3/feeds/${encodeURIComponent(feedId)}?includeDetails=true`, 'GET', walmartHeaders(slow, acct));
    expect((await status()).body.feedStatus).not.toBe('PROCESSED');
    expect(slow.quantity('WALMART', acct, 'OK')).toBeUndefined();

    slow.processWalmartFeeds();
    const done = (await status()).body as { feedStatus: string; itemsReceived: number; itemDetails: { itemIngestionStatus: { sku: string; ingestionStatus: string; ingestionErrors: unknown }[] } };
    expect(done.feedStatus).toBe('PROCESSED');
    expect(done.itemsReceived).toBe(4);
    expect(Object.fromEntries(done.itemDetails.itemIngestionStatus.map((i) => [i.sku, i.ingestionStatus]))).toEqual({
      OK: 'SUCCESS',
      BAD: 'DATA_ERROR',
      FLAKY: 'SYSTEM_ERROR',
      GONE: 'DATA_ERROR',
    });
    expect(done.itemDetails.itemIngestionStatus.find((i) => i.sku === 'BAD')!.ingestionErrors).toEqual({
      ingestionError: [expect.objectContaining({ type: 'DATA_ERROR', description: 'Quantity update not allowed for this item' })],
    });
    expect(slow.quantity('WALMART', acct, 'OK')).toBe(7);
    expect(slow.quantity('WALMART', acct, 'BAD')).toBeUndefined();

    const tooBig = await walmartFeed(slow, acct, skus(10_001).map((sku) => ({ sku, amount: 1 })));
    expect(tooBig.status).toBe(400);
    const more = [];
    for (let i = 0; i < 9; i++) more.push((await walmartFeed(slow, acct, [{ sku: 'OK', amount: i }])).status);
    // Feeds 1 and 2 used two of the ten; eight more fit, the ninth is over.
    expect(more).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 429]);
    expect(slow.violationLog().filter((v) => v.account === acct).map((v) => v.reason)).toEqual(['batch', 'rate']);
    expect(slow.calls('WALMART', acct)).toMatchObject({ push: 9, throttled: 1 });
  });

  it('charges Shopify queries their calculated cost against one bucket and answers THROTTLED with throttleStatus', async () => {
    const acct = account();
    const answers = [];
    // Each lookup of 250 SKUs costs 2 + 250: seven fit in the 2,000-point bucket, the eighth does not.
    for (let i = 0; i < 8; i++) {
      const list = skus(250, `P${i}`);
      answers.push(await shopifyGraphql(slow, acct, LOOKUP, { first: 250, query: searchFor(list) }));
    }
    const costs = answers.map((a) => (a.body as { extensions: { cost: { requestedQueryCost: number } } }).extensions.cost.requestedQueryCost);
    expect(costs).toEqual(Array(8).fill(252));
    expect(answers.slice(0, 7).every((a) => a.status === 200 && a.body.errors === undefined)).toBe(true);
    const throttled = answers[7]!;
    expect(throttled.status).toBe(200);
    expect(throttled.body.errors).toEqual([expect.objectContaining({ message: 'Throttled', extensions: expect.objectContaining({ code: 'THROTTLED' }) })]);
    const t = (throttled.body as { extensions: { cost: { throttleStatus: { maximumAvailable: number; currentlyAvailable: number; restoreRate: number } } } }).extensions.cost.throttleStatus;
    expect(t.maximumAvailable).toBe(2000);
    expect(t.restoreRate).toBeCloseTo(0.1, 10);
    expect(t.currentlyAvailable).toBeGreaterThanOrEqual(2000 - 7 * 252);
    expect(t.currentlyAvailable).toBeLessThan(252);
    expect(slow.violations('SHOPIFY', acct)).toBe(1);
    expect(slow.calls('SHOPIFY', acct)).toMatchObject({ read: 7, throttled: 1, cost: 7 * 252 });
  });

  it('refunds Shopify the difference between requested and actual cost', async () => {
    const acct = account();
    const list = skus(100, 'R');
    for (const sku of list.slice(10)) slow.unlistSku('shopify', acct, sku);
    type Cost = { extensions: { cost: { requestedQueryCost: number; actualQueryCost: number; throttleStatus: { currentlyAvailable: number } } } };
    const first = (await shopifyGraphql(slow, acct, LOOKUP, { first: 100, query: searchFor(list) })).body as unknown as Cost;
    expect(first.extensions.cost).toMatchObject({ requestedQueryCost: 102, actualQueryCost: 12 });
    // The bucket kept only the actual cost (restore at 0.1 point/s adds next to nothing).
    expect(first.extensions.cost.throttleStatus.currentlyAvailable).toBeGreaterThanOrEqual(2000 - 12);
    expect(first.extensions.cost.throttleStatus.currentlyAvailable).toBeLessThan(2000 - 11);
  });

  it('refuses Shopify requests over the single-query cost or the input array size, as violations', async () => {
    const acct = account();
    const aliased = `query($q: String!, $loc: ID!) {
      a: inventoryItems(first: 250, query: $q) { nodes { id inventoryLevel(locationId: $loc) { quantities(names: ["available"]) { quantity } } } }
      b: inventoryItems(first: 250, query: $q) { nodes { id inventoryLevel(locationId: $loc) { quantities(names: ["available"]) { quantity } } } }
    }`;
    const costly = await shopifyGraphql(fast, acct, aliased, { q: 'sku:"A"', loc: 'gid://shopify/Location/1' });
    expect(costly.body.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'MAX_COST_EXCEEDED', cost: 1504 }) })]);
    const mutation = `mutation($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) @idempotent(key: "k") { userErrors { message } } }`;
    const quantities = Array.from({ length: 251 }, (_, i) => ({ inventoryItemId: `gid://shopify/InventoryItem/${i}`, locationId: 'gid://shopify/Location/1', quantity: 1, changeFromQuantity: null }));
    const wide = await shopifyGraphql(fast, acct, mutation, { input: { name: 'available', reason: 'correction', quantities } });
    expect(wide.body.errors).toEqual([expect.objectContaining({ extensions: { code: 'MAX_INPUT_SIZE_EXCEEDED' } })]);
    expect(fast.violationLog().filter((v) => v.account === acct).map((v) => v.reason)).toEqual(['cost', 'batch']);
  });

  it('resets connections during an outage until the faults are cleared', async () => {
    const acct = account();
    fast.inject('ebay', '*', { type: 'outage' });
    await expect(ebayUpdate(fast, acct, [{ sku: 'A', quantity: 1 }])).rejects.toThrow();
    fast.clearFaults();
    expect((await ebayUpdate(fast, acct, [{ sku: 'A', quantity: 1 }])).status).toBe(200);
  });
});

describe('marketplace simulator HTTP controls', () => {
  let sim: MarketplaceSimulator;
  beforeAll(async () => {
    sim = await startMarketplaceSimulator({ rateScale: 1000 });
  });
  afterAll(async () => {
    await sim?.close();
  });

  const control = (method: string, path: string, body?: unknown) => call(`${sim.url}/_sim${path}`, method, {}, body);

  it('drives faults, SKU rejections, quantities and resets over HTTP', async () => {
    const acct = account();
    const connection = (await control('GET', `/ebay/${acct}/connection`)).body;
    expect(connection).toMatchObject({ kind: 'EBAY', accountId: acct, baseUrl: sim.baseUrl('ebay', acct), credentials: sim.credentials('ebay', acct) });

    expect((await control('POST', `/ebay/${acct}/faults`, { type: 'error', status: 503, count: 1 })).status).toBe(200);
    expect((await control('POST', `/ebay/${acct}/faults`, { type: 'error', status: 418, count: 1 })).status).toBe(400);
    expect((await ebayUpdate(sim, acct, [{ sku: 'A', quantity: 1 }])).status).toBe(503);

    await control('PUT', `/ebay/${acct}/rejected/B`, { message: 'Listing ended' });
    const mixed = await ebayUpdate(sim, acct, [
      { sku: 'A', quantity: 4 },
      { sku: 'B', quantity: 5 },
    ]);
    expect(mixed.status).toBe(207);
    expect(mixed.body.responses).toEqual([
      { statusCode: 200, sku: 'A' },
      expect.objectContaining({ statusCode: 400, sku: 'B', errors: [expect.objectContaining({ message: 'Listing ended' })] }),
    ]);
    await control('DELETE', `/ebay/${acct}/rejected/B`);
    expect((await ebayUpdate(sim, acct, [{ sku: 'B', quantity: 6 }])).status).toBe(200);

    await control('PUT', `/ebay/${acct}/quantities/C`, { quantity: 9 });
    expect((await control('GET', `/ebay/${acct}/quantities`)).body).toEqual({ quantities: { A: 4, B: 6, C: 9 } });
    expect((await control('GET', `/ebay/${acct}/quantities/A`)).body).toEqual({ sku: 'A', quantity: 4, history: [4] });
    expect((await control('GET', `/ebay/${acct}/calls`)).body).toMatchObject({ push: 2, items: 3 });
    expect((await control('GET', `/violations?kind=ebay&account=${acct}`)).body).toMatchObject({ violations: 0 });

    await control('PUT', `/ebay/${acct}/unlisted/D`);
    const unlisted = await ebayUpdate(sim, acct, [{ sku: 'D', quantity: 1 }]);
    expect(unlisted.body.responses).toEqual([expect.objectContaining({ statusCode: 404, sku: 'D' })]);
    await control('DELETE', `/ebay/${acct}/unlisted/D`);

    await control('POST', `/ebay/*/faults`, { type: 'outage' });
    await expect(ebayUpdate(sim, acct, [{ sku: 'A', quantity: 1 }])).rejects.toThrow();
    await control('DELETE', '/faults');

    await control('POST', '/reset');
    expect((await control('GET', `/ebay/${acct}/calls`)).body).toMatchObject({ push: 0, items: 0 });
    expect((await control('GET', `/ebay/${acct}/quantities`)).body).toEqual({ quantities: {} });
    expect((await control('GET', `/nowhere/${acct}/calls`)).status).toBe(400);
  });
});
