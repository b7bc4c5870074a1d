import { createAmazonOrderFeed } from './amazon/orders.js';
import { createAmazonAdapter } from './amazon/push.js';
import { createEbayOrderFeed } from './ebay/orders.js';
import { createEbayAdapter } from './ebay/push.js';
import type { HttpClient } from './http.js';
import { createShopifyOrderFeed } from './shopify/orders.js';
import { createShopifyAdapter } from './shopify/push.js';
import type { Connection, MarketplaceAdapter, OrderFeed } from './types.js';
import { createWalmartOrderFeed } from './walmart/orders.js';
import { createWalmartAdapter } from './walmart/push.js';

export * from './types.js';
export { DEFAULT_INTAKE_POLICIES, DEFAULT_PUSH_POLICIES, DEFAULT_READ_POLICIES, scalePolicy } from './policies.js';
export { SHOPIFY_ORDER_TOPICS, shopifyWebhookOrder, verifyShopifyWebhook } from './shopify/orders.js';
export { createAmazonNotificationQueue, type NotificationQueue } from './amazon/notifications.js';
export { AMAZON_VISIBILITY_MS } from './amazon/orders.js';

export interface AdapterOptions {
  /** Defaults to the global fetch (undici). */
  fetch?: typeof fetch;
  /** Per HTTP request, body included. Default 30 s. */
  timeoutMs?: number;
  /** Walmart: between feed status polls. Default 2 s. */
  pollIntervalMs?: number;
  /** Amazon: how long after a change getOrders shows it (default two minutes, as Amazon documents). */
  amazonVisibilityMs?: number;
  /** Walmart: how long a push waits for its feed to be processed. Default 45 min (Walmart allows itself 30). */
  feedTimeoutMs?: number;
}

/**
 * The adapter speaking the connection's marketplace API.
 * @throws ZodError when the connection lacks a setting or credential its marketplace needs
 *   (Amazon settings.marketplaceIds, Shopify settings.locationId, credentials.accessToken for all)
 */
export function createAdapter(connection: Connection, opts: AdapterOptions = {}): MarketplaceAdapter {
  const http: HttpClient = { fetch: opts.fetch ?? globalThis.fetch, timeoutMs: opts.timeoutMs ?? 30_000 };
  switch (connection.kind) {
    case 'AMAZON':
      return createAmazonAdapter(connection, http);
    case 'EBAY':
      return createEbayAdapter(connection, http);
    case 'WALMART':
      return createWalmartAdapter(connection, http, {
        pollIntervalMs: opts.pollIntervalMs ?? 2000,
        feedTimeoutMs: opts.feedTimeoutMs ?? 45 * 60 * 1000,
      });
    case 'SHOPIFY':
      return createShopifyAdapter(connection, http);
  }
}

/**
 * The order feed speaking the connection's marketplace API (order intake).
 * @throws ZodError when the connection lacks a setting or credential its marketplace needs
 */
export function createOrderFeed(connection: Connection, opts: AdapterOptions = {}): OrderFeed {
  const http: HttpClient = { fetch: opts.fetch ?? globalThis.fetch, timeoutMs: opts.timeoutMs ?? 30_000 };
  switch (connection.kind) {
    case 'AMAZON':
      return createAmazonOrderFeed(connection, http, opts.amazonVisibilityMs);
    case 'EBAY':
      return createEbayOrderFeed(connection, http);
    case 'WALMART':
      return createWalmartOrderFeed(connection, http);
    case 'SHOPIFY':
      return createShopifyOrderFeed(connection, http);
  }
}
