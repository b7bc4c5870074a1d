import type { MarketplaceKind, RatePolicy } from './types.js';

/**
 * The marketplaces' documented limits as token buckets, per seller account. A push worker paces each
 * account's calls with the push policy and its drift repair with the read policy; the marketplace
 * simulator (tools/marketplace-simulator) enforces exactly these figures.
 *
 * Where one documented limit covers both pushing and reading (eBay's daily Inventory API quota,
 * Shopify's cost bucket), it is split between the two policies so that a client honouring both stays
 * within it.
 */

const HOUR_S = 3600;
const DAY_S = 86_400;

// https://developer.ebay.com/develop/api/sell/api_call_limits — Inventory API default: 2,000,000 calls per day (per application).
const EBAY_INVENTORY_CALLS_PER_DAY = 2_000_000;

/**
 * Shopify's GraphQL Admin API bucket for one app on one store (standard plan). Every query and
 * mutation is charged against this one bucket, which the simulator enforces as such.
 */
export const SHOPIFY_STANDARD_BUCKET = {
  // Observed `throttleStatus.maximumAvailable` on standard-plan stores (20 s of restore, the ratio of the former 1,000/50).
  capacity: 2000,
  // https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits — Standard: 100 points/second.
  refillPerSecond: 100,
} as const;

export const DEFAULT_PUSH_POLICIES: Record<MarketplaceKind, RatePolicy> = {
  AMAZON: {
    // https://developer-docs.amazon.com/sp-api/docs/listings-items-api-rate-limits — patchListingsItem: burst 5.
    capacity: 5,
    // Same page — patchListingsItem: 5 requests per second per account.
    refillPerSecond: 5,
    // patchListingsItem addresses one SKU in its path.
    maxBatch: 1,
    lingerMs: 0,
  },
  EBAY: {
    // No burst is documented (the quota is daily): one second's worth of calls.
    capacity: 25,
    // 90% of the 2,000,000 daily Inventory API calls, as calls per second (≈ 20.8/s); read-back gets the rest.
    // The quota is per application: an app serving N eBay sellers should divide this by N.
    refillPerSecond: (EBAY_INVENTORY_CALLS_PER_DAY * 0.9) / DAY_S,
    // https://developer.ebay.com/api-docs/sell/inventory/types/slr:BulkPriceQuantity — up to 25 per bulkUpdatePriceQuantity.
    maxBatch: 25,
    lingerMs: 300,
  },
  WALMART: {
    // https://developer.walmart.com/us-marketplace/docs/bulk-inventory — inventory feeds: 10 per hour.
    capacity: 10,
    refillPerSecond: 10 / HOUR_S,
    // Limits per feed: 5 MB (same page) and 50K records (https://developer.walmart.com/suppliers/docs/async-api-throttling-limits).
    // 10,000 items stay near 1 MB even with 50-character SKUs and match Walmart's 10,000 cap for item
    // feeds; at 10 feeds an hour that is 100,000 SKU updates per hour per seller.
    maxBatch: 10_000,
    // Feeds are scarce: wait long enough that a burst of changes becomes one feed.
    lingerMs: 5000,
  },
  SHOPIFY: {
    // 60% of the store's 2,000-point bucket; read-back takes 20%, and 20% is left for the calls a push
    // cannot announce in pushCost (re-reading and re-sending quantities that came back stale).
    capacity: SHOPIFY_STANDARD_BUCKET.capacity * 0.6,
    refillPerSecond: SHOPIFY_STANDARD_BUCKET.refillPerSecond * 0.6,
    // https://shopify.dev/docs/api/usage/limits — input arrays hold at most 250 items.
    maxBatch: 250,
    lingerMs: 250,
  },
};

export const DEFAULT_READ_POLICIES: Record<MarketplaceKind, RatePolicy> = {
  AMAZON: {
    // https://developer-docs.amazon.com/sp-api/docs/listings-items-api-rate-limits — getListingsItem: 5 requests/s, burst 5.
    capacity: 5,
    refillPerSecond: 5,
    maxBatch: 1,
    lingerMs: 0,
  },
  EBAY: {
    capacity: 5,
    // The remaining 10% of the daily Inventory API quota (≈ 2.3 calls/s, 25 SKUs each).
    refillPerSecond: (EBAY_INVENTORY_CALLS_PER_DAY * 0.1) / DAY_S,
    // https://developer.ebay.com/api-docs/sell/inventory/resources/inventory_item/methods/bulkGetInventoryItem — up to 25 SKUs.
    maxBatch: 25,
    lingerMs: 0,
  },
  WALMART: {
    // Walmart lists 200 TPM for its single-item sync APIs (e.g. PUT /v3/inventory); no separate figure for
    // GET /v3/inventory could be found (https://developer.walmart.com/us-marketplace/docs/rate-limiting): assumed the same.
    capacity: 3,
    refillPerSecond: 200 / 60,
    // GET /v3/inventory?sku= reads one SKU.
    maxBatch: 1,
    lingerMs: 0,
  },
  SHOPIFY: {
    // 20% of the store's bucket (see the push policy).
    capacity: SHOPIFY_STANDARD_BUCKET.capacity * 0.2,
    refillPerSecond: SHOPIFY_STANDARD_BUCKET.refillPerSecond * 0.2,
    // 100 SKUs per inventoryItems query cost 302 points, which fits the 400-point read bucket.
    maxBatch: 100,
    lingerMs: 0,
  },
};

/**
 * Walmart's feed status calls (GET /v3/feeds/{feedId}), which the adapter makes while it waits for a
 * feed: https://developer.walmart.com/us-marketplace/docs/item-management-available-requests —
 * 5000 TPM, shared with the all-feed-statuses call.
 */
export const WALMART_FEED_STATUS_POLICY: RatePolicy = {
  // No burst is documented: about one second's worth.
  capacity: 80,
  refillPerSecond: 5000 / 60,
  // Item statuses per call (the `limit` parameter's maximum).
  maxBatch: 1000,
  lingerMs: 0,
};

/**
 * The policy with its refill rate multiplied by `rateScale` (capacity unchanged): benchmarks shorten
 * their runs with it, and the simulator applies the same scale to what it enforces.
 * @throws RangeError when rateScale is not a positive finite number
 */
export function scalePolicy(policy: RatePolicy, rateScale: number): RatePolicy {
  if (!Number.isFinite(rateScale) || rateScale <= 0) throw new RangeError(`rateScale must be a positive number, got ${rateScale}`);
  return { ...policy, refillPerSecond: policy.refillPerSecond * rateScale };
}

/**
 * Order intake's buckets per account, by the order API call they pace. Each marketplace's figure
 * comes from its documentation; the simulator enforces the same.
 */
export const DEFAULT_INTAKE_POLICIES = {
  AMAZON: {
    // https://developer-docs.amazon.com/sp-api/docs/orders-api-rate-limits — getOrders: 0.0167 requests/s, burst 20.
    getOrders: { capacity: 20, refillPerSecond: 0.0167 },
    // Same page — getOrderItems: 0.5 requests/s, burst 30.
    getOrderItems: { capacity: 30, refillPerSecond: 0.5 },
  },
  EBAY: {
    // https://developer.ebay.com/develop/api/sell/api_call_limits — Fulfillment API: 100,000 calls per day.
    getOrders: { capacity: 10, refillPerSecond: 100_000 / DAY_S },
    // Post-Order API (cancellations): no lower figure is published than the Fulfillment API's; we keep to it.
    cancel: { capacity: 10, refillPerSecond: 100_000 / DAY_S },
  },
  WALMART: {
    // Walmart publishes no figure for GET /v3/orders on the pages we read ("rate limits vary by API"):
    // we hold ourselves to one call a second, ten at once, and the simulator enforces that.
    getOrders: { capacity: 10, refillPerSecond: 1 },
    acknowledge: { capacity: 10, refillPerSecond: 1 },
    cancel: { capacity: 10, refillPerSecond: 1 },
  },
  SHOPIFY: {
    // Backfill polling shares the app's cost bucket with pushes: a tenth of it (an orders page costs about 60 points).
    orders: { capacity: SHOPIFY_STANDARD_BUCKET.capacity * 0.1, refillPerSecond: SHOPIFY_STANDARD_BUCKET.refillPerSecond * 0.1 },
  },
} as const satisfies Record<MarketplaceKind, Record<string, Pick<RatePolicy, 'capacity' | 'refillPerSecond'>>>;
