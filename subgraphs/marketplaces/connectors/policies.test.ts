import { describe, expect, it } from 'vitest';
import { createAdapter } from './index.js';
import { DEFAULT_PUSH_POLICIES, DEFAULT_READ_POLICIES, SHOPIFY_STANDARD_BUCKET, scalePolicy } from './policies.js';
import { MARKETPLACE_KINDS, type Connection, type MarketplaceKind } from './types.js';

const unusedFetch: typeof fetch = () => Promise.reject(new Error('no I/O in unit tests'));

function connection(kind: MarketplaceKind): Connection {
  return {
    kind,
    accountId: 'seller-1',
    baseUrl: 'http://marketplace.invalid',
    settings: { marketplaceIds: ['ATVPDKIKX0DER'], locationId: 'gid://shopify/Location/1' },
    credentials: { accessToken: 'token' },
  };
}

describe('marketplace rate policies', () => {
  it.each(MARKETPLACE_KINDS)('%s: a full batch fits the push bucket and a full read fits the read bucket', (kind) => {
    const adapter = createAdapter(connection(kind), { fetch: unusedFetch });
    const push = DEFAULT_PUSH_POLICIES[kind];
    const read = DEFAULT_READ_POLICIES[kind];
    // Without SKUs pushCost is the worst case (nothing cached), which must still be affordable.
    expect(adapter.pushCost(push.maxBatch)).toBeLessThanOrEqual(push.capacity);
    expect(adapter.readCost(adapter.readBatch)).toBeLessThanOrEqual(read.capacity);
    expect(read.maxBatch).toBe(adapter.readBatch);
    for (const p of [push, read]) {
      expect(p.capacity).toBeGreaterThan(0);
      expect(p.refillPerSecond).toBeGreaterThan(0);
      expect(Number.isInteger(p.maxBatch) && p.maxBatch >= 1).toBe(true);
    }
  });

  it('keeps the limits each marketplace documents', () => {
    expect(DEFAULT_PUSH_POLICIES.AMAZON).toMatchObject({ capacity: 5, refillPerSecond: 5, maxBatch: 1, lingerMs: 0 });
    expect(DEFAULT_READ_POLICIES.AMAZON).toMatchObject({ capacity: 5, refillPerSecond: 5 });
    expect(DEFAULT_PUSH_POLICIES.EBAY.maxBatch).toBe(25);
    // Push and read share eBay's 2,000,000 daily Inventory API calls.
    expect((DEFAULT_PUSH_POLICIES.EBAY.refillPerSecond + DEFAULT_READ_POLICIES.EBAY.refillPerSecond) * 86_400).toBeCloseTo(2_000_000, 0);
    expect(DEFAULT_PUSH_POLICIES.WALMART).toMatchObject({ capacity: 10, refillPerSecond: 10 / 3600, lingerMs: 5000 });
    // ...and Shopify's single cost bucket, with room left for a push's own re-reads.
    const shopify = [DEFAULT_PUSH_POLICIES.SHOPIFY, DEFAULT_READ_POLICIES.SHOPIFY];
    expect(shopify.reduce((s, p) => s + p.capacity, 0)).toBeLessThan(SHOPIFY_STANDARD_BUCKET.capacity);
    expect(shopify.reduce((s, p) => s + p.refillPerSecond, 0)).toBeLessThan(SHOPIFY_STANDARD_BUCKET.refillPerSecond);
    expect(DEFAULT_PUSH_POLICIES.SHOPIFY.maxBatch).toBe(250);
  });

  it('scalePolicy multiplies the refill rate only', () => {
    const p = DEFAULT_PUSH_POLICIES.WALMART;
    expect(scalePolicy(p, 360)).toEqual({ ...p, refillPerSecond: 1 });
    expect(scalePolicy(p, 1)).toEqual(p);
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => scalePolicy(p, bad)).toThrow(RangeError);
  });
});
