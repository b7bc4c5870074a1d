import { z } from 'zod';
import { callJson, decodeCursor, encodeCursor, type HttpClient } from '../http.js';
import { DEFAULT_INTAKE_POLICIES } from '../policies.js';
import type { Connection, MarketplaceOrder, OrderFeed } from '../types.js';

/**
 * Amazon SP-API Orders v0: `getOrders` with `LastUpdatedAfter` (pages by `NextToken`), then
 * `getOrderItems` for each order's lines. Amazon shows an order about two minutes after it changes,
 * so the cursor never moves past "now minus that delay": an order that appears late, with an older
 * LastUpdateDate, is still found; those seen twice are deduplicated by intake.
 */

/** How long after a change Amazon's getOrders shows it (documented as about two minutes). */
export const AMAZON_VISIBILITY_MS = 2 * 60_000;

const settingsSchema = z.object({ marketplaceIds: z.array(z.string().min(1)).min(1) });
const credentialsSchema = z.object({ accessToken: z.string().min(1) });
const cursorSchema = z.object({ since: z.iso.datetime(), nextToken: z.string().nullable(), high: z.iso.datetime().nullable() });

const ordersSchema = z.object({
  payload: z.object({
    Orders: z.array(z.object({ AmazonOrderId: z.string(), PurchaseDate: z.iso.datetime(), LastUpdateDate: z.iso.datetime(), OrderStatus: z.string() })),
    NextToken: z.string().nullish(),
  }),
});
const itemsSchema = z.object({
  payload: z.object({
    OrderItems: z.array(z.object({ OrderItemId: z.string(), SellerSKU: z.string().nullish(), QuantityOrdered: z.number().int() })),
    NextToken: z.string().nullish(),
  }),
});

export function createAmazonOrderFeed(connection: Connection, http: HttpClient, visibilityMs = AMAZON_VISIBILITY_MS): OrderFeed {
  const settings = settingsSchema.parse(connection.settings);
  const { accessToken } = credentialsSchema.parse(connection.credentials);
  const headers = { 'x-amz-access-token': accessToken };
  const policies = DEFAULT_INTAKE_POLICIES.AMAZON;
  const base = `${connection.baseUrl}/orders/v0/orders`;

  return {
    kind: 'AMAZON',
    async fetchOrders(cursor, { startAt, take, signal }) {
      const at = decodeCursor(cursorSchema, cursor) ?? { since: startAt.toISOString(), nextToken: null, high: null };
      const query = new URLSearchParams(
        at.nextToken ? { MarketplaceIds: settings.marketplaceIds.join(','), NextToken: at.nextToken } : { MarketplaceIds: settings.marketplaceIds.join(','), LastUpdatedAfter: at.since, MaxResultsPerPage: '100' },
      );
      await take('getOrders', 1);
      const requestedAt = Date.now();
      const page = await callJson(http, `${base}?${query}`, { method: 'GET', headers, signal }, 'Amazon getOrders', ordersSchema, 1000 / policies.getOrders.refillPerSecond);
      const orders: MarketplaceOrder[] = [];
      for (const o of page.payload.Orders) {
        const lines = [];
        let token: string | null | undefined = null;
        do {
          await take('getOrderItems', 1);
          const itemsUrl: string = `${base}/${encodeURIComponent(o.AmazonOrderId)}/orderItems${token ? `?NextToken=${encodeURIComponent(token)}` : ''}`;
          const items = await callJson(http, itemsUrl, { method: 'GET', headers, signal }, `Amazon getOrderItems ${o.AmazonOrderId}`, itemsSchema, 1000 / policies.getOrderItems.refillPerSecond);
          for (const i of items.payload.OrderItems) lines.push({ lineId: i.OrderItemId, marketplaceSku: i.SellerSKU ?? '', quantity: i.QuantityOrdered });
          token = items.payload.NextToken;
        } while (token);
        orders.push({
          orderId: o.AmazonOrderId,
          status: o.OrderStatus === 'Canceled' ? 'CANCELLED' : 'OPEN',
          placedAt: new Date(o.PurchaseDate),
          updatedAt: new Date(o.LastUpdateDate),
          lines,
        });
      }
      // The newest change seen over the pages of this round; the next round starts there, but never
      // later than what Amazon may still be about to show.
      const seen = [at.high, ...orders.map((o) => o.updatedAt.toISOString())].filter((d): d is string => !!d).sort().at(-1) ?? null;
      const next = page.payload.NextToken ?? null;
      if (next) return { orders, more: true, cursor: encodeCursor({ since: at.since, nextToken: next, high: seen }) };
      const horizon = new Date(requestedAt - visibilityMs).toISOString();
      const since = [at.since, seen && seen < horizon ? seen : horizon].sort().at(-1)!;
      return { orders, more: false, cursor: encodeCursor({ since, nextToken: null, high: null }) };
    },
    async acknowledge() {},
  };
}
