import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrderFeed } from '../subgraphs/marketplaces/connectors/index.js';
import { MARKETPLACE_KINDS, MarketplaceThrottledError, type MarketplaceOrder, type OrderFeed } from '../subgraphs/marketplaces/connectors/types.js';
import { startMarketplaceSimulator, type MarketplaceSimulator } from '../tools/marketplace-simulator/index.js';

/**
 * Each marketplace's order feed against the simulator's order APIs (their real shapes and limits):
 * a round of polls finds every order once placed, sees a cancellation, resumes from its cursor
 * without missing anything, and stays within the marketplace's rate limit.
 */
let sim: MarketplaceSimulator;
let exact: MarketplaceSimulator;
beforeAll(async () => {
  [sim, exact] = await Promise.all([startMarketplaceSimulator({ rateScale: 1000, amazonVisibilityMs: 0 }), startMarketplaceSimulator({ rateScale: 1, amazonVisibilityMs: 0 })]);
});
afterAll(async () => {
  await Promise.all([sim?.close(), exact?.close()]);
});

const noPacing = { take: async () => {} };
const startAt = new Date(Date.now() - 60_000);

/** Every page from `cursor` on: the orders, and the cursor to resume from. */
async function drain(feed: OrderFeed, cursor: string | null): Promise<{ orders: MarketplaceOrder[]; cursor: string }> {
  const orders: MarketplaceOrder[] = [];
  for (;;) {
    const page = await feed.fetchOrders(cursor, { ...noPacing, startAt });
    orders.push(...page.orders);
    cursor = page.cursor;
    if (!page.more) return { orders, cursor };
  }
}

describe.each(MARKETPLACE_KINDS)('%s order feed', (kind) => {
  it('finds placed orders with their lines, a cancellation, and resumes from its cursor', async () => {
    const account = `acct-${randomUUID().slice(0, 8)}`;
    const feed = createOrderFeed(sim.connection(kind, account));
    sim.setQuantity(kind, account, 'SKU-A', 10);
    sim.setQuantity(kind, account, 'SKU-B', 10);
    const first = sim.placeOrder(kind, account, [{ sku: 'SKU-A', quantity: 2 }, { sku: 'SKU-B', quantity: 1 }]);
    expect(sim.quantity(kind, account, 'SKU-A')).toBe(8);

    const round1 = await drain(feed, null);
    expect(round1.orders.map((o) => [o.orderId, o.status, o.lines.map((l) => [l.marketplaceSku, l.quantity])])).toEqual([
      [first.orderId, 'OPEN', [['SKU-A', 2], ['SKU-B', 1]]],
    ]);

    // Later rounds start at the cursor: the next order (and, where the API filters on changes, the cancellation).
    await new Promise((r) => setTimeout(r, 5));
    const second = sim.placeOrder(kind, account, [{ sku: 'SKU-A', quantity: 1 }]);
    const round2 = await drain(feed, round1.cursor);
    expect(round2.orders.map((o) => o.orderId)).toContain(second.orderId);

    // Every feed filters on changes: a buyer's cancellation of an earlier order is seen by the next poll.
    await new Promise((r) => setTimeout(r, 5));
    sim.cancelOrder(kind, account, first.orderId);
    const round3 = await drain(feed, round2.cursor);
    expect(round3.orders.find((o) => o.orderId === first.orderId)?.status).toBe('CANCELLED');
    expect(sim.violations(kind, account)).toBe(0);
  });
});

describe('pacing', () => {
  it("Amazon getOrders' burst of 20 at 0.0167 requests/s: the 21st call at once is throttled", async () => {
    const account = `acct-${randomUUID().slice(0, 8)}`;
    const feed = createOrderFeed(exact.connection('AMAZON', account));
    for (let i = 0; i < 20; i++) await feed.fetchOrders(null, { ...noPacing, startAt });
    await expect(feed.fetchOrders(null, { ...noPacing, startAt })).rejects.toBeInstanceOf(MarketplaceThrottledError);
  });

  it('Walmart orders are acknowledged', async () => {
    const account = `acct-${randomUUID().slice(0, 8)}`;
    const feed = createOrderFeed(sim.connection('WALMART', account));
    sim.setQuantity('WALMART', account, 'SKU-A', 3);
    const { orderId } = sim.placeOrder('WALMART', account, [{ sku: 'SKU-A', quantity: 1 }]);
    await feed.acknowledge(orderId, noPacing);
    expect(sim.order('WALMART', account, orderId)?.acknowledged).toBe(true);
  });
});

describe('Shopify order webhooks', () => {
  it('verifies X-Shopify-Hmac-Sha256 over the raw body in constant time, and reads the order', async () => {
    const { createHmac } = await import('node:crypto');
    const { verifyShopifyWebhook, shopifyWebhookOrder } = await import('../subgraphs/marketplaces/connectors/index.js');
    const body = Buffer.from(JSON.stringify({ id: 5000000001, created_at: '2026-12-05T10:00:00Z', updated_at: '2026-12-05T10:00:00Z', cancelled_at: null, line_items: [{ id: 1, sku: 'SKU-A', quantity: 2 }] }));
    const good = createHmac('sha256', 'app-secret').update(body).digest('base64');
    expect(verifyShopifyWebhook(body, good, 'app-secret')).toBe(true);
    // Another secret, a changed body, a truncated or missing signature: refused.
    expect(verifyShopifyWebhook(body, good, 'other-secret')).toBe(false);
    expect(verifyShopifyWebhook(Buffer.concat([body, Buffer.from(' ')]), good, 'app-secret')).toBe(false);
    expect(verifyShopifyWebhook(body, good.slice(0, 10), 'app-secret')).toBe(false);
    expect(verifyShopifyWebhook(body, undefined, 'app-secret')).toBe(false);
    expect(shopifyWebhookOrder(JSON.parse(body.toString()))).toMatchObject({ orderId: '5000000001', status: 'OPEN', lines: [{ marketplaceSku: 'SKU-A', quantity: 2 }] });
  });
});

describe.each(['EBAY', 'WALMART', 'SHOPIFY'] as const)('%s seller cancellation', (kind) => {
  it('cancels an order at the marketplace as the seller', async () => {
    const account = `acct-${randomUUID().slice(0, 8)}`;
    const feed = createOrderFeed(sim.connection(kind, account));
    sim.setQuantity(kind, account, 'SKU-A', 5);
    const { orderId } = sim.placeOrder(kind, account, [{ sku: 'SKU-A', quantity: 2 }]);
    const [order] = (await drain(feed, null)).orders;
    await feed.cancel!(order!, noPacing);
    expect(sim.order(kind, account, orderId)).toMatchObject({ status: 'CANCELLED', cancelledBy: 'SELLER' });
    // A seller's cancellation puts nothing back on sale.
    expect(sim.quantity(kind, account, 'SKU-A')).toBe(3);
    expect(sim.violations(kind, account)).toBe(0);
  });
});

it('Amazon has no cancellation call here (it takes a Feeds API document)', () => {
  expect(createOrderFeed(sim.connection('AMAZON', 'acct-x')).cancel).toBeUndefined();
});
