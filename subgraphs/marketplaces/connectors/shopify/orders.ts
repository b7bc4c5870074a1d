import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { decodeCursor, encodeCursor, parseValue, type HttpClient } from '../http.js';
import { MarketplaceRejectedError, type Connection, type MarketplaceOrder, type OrderFeed } from '../types.js';
import { SHOPIFY_API_VERSION, shopifyGraphql } from './push.js';

/**
 * Shopify orders: the `orders/create` and `orders/cancelled` webhooks are the fast path (verified by
 * `X-Shopify-Hmac-Sha256`, the base64 HMAC-SHA256 of the raw body under the app's client secret), and
 * Admin GraphQL `orders` sorted by UPDATED_AT, filtered `updated_at:>=since`, is the backfill that
 * finds what a lost webhook missed.
 */

const settingsSchema = z.object({ apiVersion: z.string().min(1).nullish() });
const credentialsSchema = z.object({ accessToken: z.string().min(1) });
const cursorSchema = z.object({ since: z.iso.datetime(), after: z.string().nullable(), high: z.iso.datetime().nullable() });
const PAGE = 10;
/** Lines read per order: Shopify caps a checkout far below this. */
const LINES = 50;
/** Shopify's requested cost of one page: 2 for the connection, per order 1 plus its line connection (2 + a point per line). */
const PAGE_COST = 2 + PAGE * (1 + 2 + LINES);

const ORDERS = `query Orders($first: Int!, $lines: Int!, $after: String, $query: String!) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    nodes { id createdAt updatedAt cancelledAt lineItems(first: $lines) { nodes { id sku quantity } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const CANCEL = `mutation Cancel($orderId: ID!) {
  orderCancel(orderId: $orderId, reason: INVENTORY, refund: true, restock: false, notifyCustomer: true) { job { id } orderCancelUserErrors { field message code } }
}`;
/** A mutation costs 10 points. */
const CANCEL_COST = 10;
const cancelSchema = z.object({
  orderCancel: z.object({ orderCancelUserErrors: z.array(z.object({ message: z.string(), code: z.string().nullish() })) }).nullish(),
});

const ordersSchema = z.object({
  orders: z.object({
    nodes: z.array(
      z.object({
        id: z.string(),
        createdAt: z.iso.datetime(),
        updatedAt: z.iso.datetime(),
        cancelledAt: z.iso.datetime().nullish(),
        lineItems: z.object({ nodes: z.array(z.object({ id: z.string(), sku: z.string().nullish(), quantity: z.number().int() })) }),
      }),
    ),
    pageInfo: z.object({ hasNextPage: z.boolean(), endCursor: z.string().nullish() }),
  }),
});

/** `gid://shopify/Order/123` → `123`: webhooks carry the numeric id, GraphQL the global one; intake keys on the number. */
const numericId = (gid: string) => gid.slice(gid.lastIndexOf('/') + 1);

export function createShopifyOrderFeed(connection: Connection, http: HttpClient): OrderFeed {
  const settings = settingsSchema.parse(connection.settings);
  const { accessToken } = credentialsSchema.parse(connection.credentials);
  const url = `${connection.baseUrl}/admin/api/${settings.apiVersion ?? SHOPIFY_API_VERSION}/graphql.json`;
  return {
    kind: 'SHOPIFY',
    async fetchOrders(cursor, { startAt, take, signal }) {
      const at = decodeCursor(cursorSchema, cursor) ?? { since: startAt.toISOString(), after: null, high: null };
      await take('orders', PAGE_COST);
      const data = await shopifyGraphql(http, url, accessToken, ORDERS, { first: PAGE, lines: LINES, after: at.after, query: `updated_at:>='${at.since}'` }, 'Shopify orders', signal);
      const page = parseValue(ordersSchema, data, 'Shopify orders', 'GraphQL data').orders;
      const orders: MarketplaceOrder[] = page.nodes.map((o) => ({
        orderId: numericId(o.id),
        status: o.cancelledAt ? 'CANCELLED' : 'OPEN',
        placedAt: new Date(o.createdAt),
        updatedAt: new Date(o.updatedAt),
        lines: o.lineItems.nodes.map((l) => ({ lineId: numericId(l.id), marketplaceSku: l.sku ?? '', quantity: l.quantity })),
      }));
      const high = [at.high, ...page.nodes.map((o) => o.updatedAt)].filter((d): d is string => !!d).sort().at(-1) ?? null;
      if (page.pageInfo.hasNextPage && page.pageInfo.endCursor) return { orders, more: true, cursor: encodeCursor({ since: at.since, after: page.pageInfo.endCursor, high }) };
      return { orders, more: false, cursor: encodeCursor({ since: high ?? at.since, after: null, high: null }) };
    },
    async acknowledge() {},
    // orderCancel: out of inventory, the buyer refunded, nothing restocked (the units never were).
    async cancel(order, { take, signal }) {
      await take('orders', CANCEL_COST);
      const data = await shopifyGraphql(http, url, accessToken, CANCEL, { orderId: `gid://shopify/Order/${order.orderId}` }, `Shopify orderCancel ${order.orderId}`, signal);
      const errors = parseValue(cancelSchema, data, 'Shopify orderCancel', 'GraphQL data').orderCancel?.orderCancelUserErrors ?? [];
      if (errors.length) throw new MarketplaceRejectedError(`Shopify orderCancel ${order.orderId}: ${errors.map((e) => e.message).join('; ')}`, 200, errors[0]!.code ?? undefined);
    },
  };
}

/** Whether `signature` (X-Shopify-Hmac-Sha256) is the HMAC of `rawBody` under `secret`, compared in constant time. */
export function verifyShopifyWebhook(rawBody: Buffer, signature: string | undefined, secret: string): boolean {
  if (!signature) return false;
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  const given = Buffer.from(signature, 'base64');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const webhookOrderSchema = z.object({
  id: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
  cancelled_at: z.string().nullish(),
  line_items: z.array(z.object({ id: z.number().int(), sku: z.string().nullish(), quantity: z.number().int() })),
});

/** The topics intake takes. */
export const SHOPIFY_ORDER_TOPICS = ['orders/create', 'orders/cancelled'] as const;

/**
 * The order of an `orders/create` or `orders/cancelled` webhook body (REST order JSON).
 * @throws ZodError when it is not one
 */
export function shopifyWebhookOrder(body: unknown): MarketplaceOrder {
  const o = webhookOrderSchema.parse(body);
  return {
    orderId: String(o.id),
    status: o.cancelled_at ? 'CANCELLED' : 'OPEN',
    placedAt: new Date(o.created_at),
    updatedAt: new Date(o.updated_at),
    lines: o.line_items.map((l) => ({ lineId: String(l.id), marketplaceSku: l.sku ?? '', quantity: l.quantity })),
  };
}
