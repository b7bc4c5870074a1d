import { z } from 'zod';
import { callJson, decodeCursor, encodeCursor, raiseForStatus, send, type HttpClient } from '../http.js';
import { DEFAULT_INTAKE_POLICIES } from '../policies.js';
import type { Connection, OrderFeed } from '../types.js';

/**
 * eBay Sell Fulfillment API `getOrders` filtered on `lastmodifieddate:[since..]`, paged by offset
 * (`limit` up to 200). Cancellations show as `cancelStatus.cancelState: CANCELED`. The next round
 * starts at the newest lastModifiedDate seen (inclusive: intake deduplicates the overlap).
 */

const credentialsSchema = z.object({ accessToken: z.string().min(1) });
const cursorSchema = z.object({ since: z.iso.datetime(), offset: z.number().int().min(0), high: z.iso.datetime().nullable() });
const PAGE = 200;

const ordersSchema = z.object({
  orders: z
    .array(
      z.object({
        orderId: z.string(),
        creationDate: z.iso.datetime(),
        lastModifiedDate: z.iso.datetime(),
        cancelStatus: z.object({ cancelState: z.string() }).nullish(),
        lineItems: z.array(z.object({ lineItemId: z.string(), sku: z.string().nullish(), quantity: z.number().int() })),
      }),
    )
    .default([]),
  total: z.number().int(),
  next: z.string().nullish(),
});

export function createEbayOrderFeed(connection: Connection, http: HttpClient): OrderFeed {
  const { accessToken } = credentialsSchema.parse(connection.credentials);
  const headers = { Authorization: `Bearer ${accessToken}` };
  const policy = DEFAULT_INTAKE_POLICIES.EBAY.getOrders;
  return {
    kind: 'EBAY',
    async fetchOrders(cursor, { startAt, take, signal }) {
      const at = decodeCursor(cursorSchema, cursor) ?? { since: startAt.toISOString(), offset: 0, high: null };
      const query = new URLSearchParams({ filter: `lastmodifieddate:[${at.since}..]`, limit: String(PAGE), offset: String(at.offset) });
      await take('getOrders', 1);
      const page = await callJson(http, `${connection.baseUrl}/sell/fulfillment/v1/order?${query}`, { method: 'GET', headers, signal }, 'eBay getOrders', ordersSchema, 1000 / policy.refillPerSecond);
      const orders = page.orders.map((o) => ({
        orderId: o.orderId,
        status: o.cancelStatus?.cancelState === 'CANCELED' ? ('CANCELLED' as const) : ('OPEN' as const),
        placedAt: new Date(o.creationDate),
        updatedAt: new Date(o.lastModifiedDate),
        lines: o.lineItems.map((l) => ({ lineId: l.lineItemId, marketplaceSku: l.sku ?? '', quantity: l.quantity })),
      }));
      const high = [at.high, ...page.orders.map((o) => o.lastModifiedDate)].filter((d): d is string => !!d).sort().at(-1) ?? null;
      if (page.next && page.orders.length) return { orders, more: true, cursor: encodeCursor({ since: at.since, offset: at.offset + page.orders.length, high }) };
      return { orders, more: false, cursor: encodeCursor({ since: high ?? at.since, offset: 0, high: null }) };
    },
    async acknowledge() {},
    // Post-Order API: the seller cancels an order it cannot fulfil (eBay refunds the buyer).
    async cancel(order, { take, signal }) {
      await take('cancel', 1);
      const what = `eBay cancellation of ${order.orderId}`;
      const res = await send(http, `${connection.baseUrl}/post-order/v2/cancellation`, { method: 'POST', headers, json: { legacyOrderId: order.orderId, cancelReason: 'OUT_OF_STOCK_OR_CANNOT_FULFILL' }, signal }, what);
      raiseForStatus(res, what, 1000 / DEFAULT_INTAKE_POLICIES.EBAY.cancel.refillPerSecond);
    },
  };
}
