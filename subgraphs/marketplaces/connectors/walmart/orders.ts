import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { callJson, decodeCursor, encodeCursor, send, raiseForStatus, type HttpClient } from '../http.js';
import { DEFAULT_INTAKE_POLICIES } from '../policies.js';
import type { Connection, OrderFeed } from '../types.js';

/**
 * Walmart Orders API: `GET /v3/orders?lastModifiedStartDate=` (with the required `createdStartDate`
 * as far back as Walmart keeps orders; paged by `nextCursor`, the query string of the next page), so
 * a poll sees new orders and changed ones (a buyer's cancellation) alike; and
 * `POST /v3/orders/{purchaseOrderId}/acknowledge` once an order is taken, which Walmart expects
 * within four hours. A purchase order whose lines are all Cancelled is cancelled.
 */

const settingsSchema = z.object({ serviceName: z.string().min(1).nullish() });
const credentialsSchema = z.object({ accessToken: z.string().min(1) });
const cursorSchema = z.object({ since: z.number().int(), next: z.string().nullable(), high: z.number().int().nullable() });
const PAGE = 100;
/** Walmart keeps orders 180 days: a change is looked for among orders created since then. */
const KEPT_MS = 179 * 24 * 3_600_000;

const lineSchema = z.object({
  lineNumber: z.string(),
  /** When the line's status last changed (epoch ms). */
  statusDate: z.number().int().nullish(),
  item: z.object({ sku: z.string() }),
  orderLineQuantity: z.object({ amount: z.string() }),
  orderLineStatuses: z.object({ orderLineStatus: z.array(z.object({ status: z.string() })) }),
});
const ordersSchema = z.object({
  list: z.object({
    meta: z.object({ totalCount: z.number().int().nullish(), nextCursor: z.string().nullish() }),
    elements: z.object({
      order: z.array(z.object({ purchaseOrderId: z.string(), orderDate: z.number().int(), orderLines: z.object({ orderLine: z.array(lineSchema) }) })).default([]),
    }),
  }),
});

export function createWalmartOrderFeed(connection: Connection, http: HttpClient): OrderFeed {
  const settings = settingsSchema.parse(connection.settings);
  const { accessToken } = credentialsSchema.parse(connection.credentials);
  const headers = () => ({ 'WM_SEC.ACCESS_TOKEN': accessToken, 'WM_QOS.CORRELATION_ID': randomUUID(), 'WM_SVC.NAME': settings.serviceName ?? 'Walmart Marketplace' });
  const policies = DEFAULT_INTAKE_POLICIES.WALMART;
  return {
    kind: 'WALMART',
    async fetchOrders(cursor, { startAt, take, signal }) {
      const at = decodeCursor(cursorSchema, cursor) ?? { since: startAt.getTime(), next: null, high: null };
      const query =
        at.next ?? `?${new URLSearchParams({ createdStartDate: new Date(Math.min(at.since, Date.now() - KEPT_MS)).toISOString(), lastModifiedStartDate: new Date(at.since).toISOString(), limit: String(PAGE) })}`;
      await take('getOrders', 1);
      const page = await callJson(http, `${connection.baseUrl}/v3/orders${query}`, { method: 'GET', headers: headers(), signal }, 'Walmart getAllOrders', ordersSchema, 1000 / policies.getOrders.refillPerSecond);
      const found = page.list.elements.order;
      const changedAt = (o: (typeof found)[number]) => Math.max(o.orderDate, ...o.orderLines.orderLine.map((l) => l.statusDate ?? 0));
      const orders = found.map((o) => ({
        orderId: o.purchaseOrderId,
        status: o.orderLines.orderLine.every((l) => l.orderLineStatuses.orderLineStatus.some((s) => s.status === 'Cancelled')) ? ('CANCELLED' as const) : ('OPEN' as const),
        placedAt: new Date(o.orderDate),
        updatedAt: new Date(changedAt(o)),
        lines: o.orderLines.orderLine.map((l) => ({ lineId: l.lineNumber, marketplaceSku: l.item.sku, quantity: Number(l.orderLineQuantity.amount) })),
      }));
      const high = Math.max(at.high ?? 0, ...found.map(changedAt)) || null;
      const next = page.list.meta.nextCursor;
      if (next && found.length) return { orders, more: true, cursor: encodeCursor({ since: at.since, next, high }) };
      return { orders, more: false, cursor: encodeCursor({ since: high ?? at.since, next: null, high: null }) };
    },
    async acknowledge(orderId, { take, signal }) {
      await take('acknowledge', 1);
      const what = `Walmart acknowledge ${orderId}`;
      const res = await send(http, `${connection.baseUrl}/v3/orders/${encodeURIComponent(orderId)}/acknowledge`, { method: 'POST', headers: headers(), signal }, what);
      raiseForStatus(res, what, 1000 / policies.acknowledge.refillPerSecond);
    },
    // Every line cancelled by the seller (Walmart refunds the buyer).
    async cancel(order, { take, signal }) {
      await take('cancel', 1);
      const what = `Walmart cancel ${order.orderId}`;
      const json = {
        orderCancellation: {
          orderLines: {
            orderLine: order.lines.map((l) => ({
              lineNumber: l.lineId,
              orderLineStatuses: { orderLineStatus: [{ status: 'Cancelled', cancellationReason: 'CUSTOMER_REQUESTED_SELLER_TO_CANCEL', statusQuantity: { unitOfMeasurement: 'EACH', amount: String(l.quantity) } }] },
            })),
          },
        },
      };
      const res = await send(http, `${connection.baseUrl}/v3/orders/${encodeURIComponent(order.orderId)}/cancel`, { method: 'POST', headers: headers(), json, signal }, what);
      raiseForStatus(res, what, 1000 / policies.cancel.refillPerSecond);
    },
  };
}
