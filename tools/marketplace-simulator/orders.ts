import { createHmac, randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { amazonDialect } from './amazon.js';
import { ebayDialect } from './ebay.js';
import { notifyOrderChange } from './sqs.js';
import { type AccountState, type Dialect, type SimOrder, type SimState } from './state.js';
import { walmartDialect } from './walmart.js';

/**
 * Orders at the simulated marketplaces: buyers place and cancel them through the control API
 * (`placeOrder`, `cancelOrder`), which takes the units off the marketplace's shown quantity (a
 * marketplace never sells more than it shows) and gives them back on a cancellation. Intake reads
 * them through each marketplace's order API with its real shape and limits: Amazon getOrders and
 * getOrderItems (an order shows `amazonVisibilityMs` after it changes), eBay getOrders, Walmart
 * getAllOrders and acknowledge, Shopify webhooks (HMAC-signed) and the GraphQL `orders` query
 * (shopify.ts).
 */

export class OrderRefusedError extends Error {}

/**
 * A buyer's order: refused (OrderRefusedError) when the marketplace shows fewer units than a line asks.
 */
export function placeOrder(state: SimState, acct: AccountState, lines: { sku: string; quantity: number }[], opts: { id?: string; now?: number } = {}): SimOrder {
  for (const l of lines) {
    const shown = acct.quantities.get(l.sku) ?? 0;
    if (!Number.isSafeInteger(l.quantity) || l.quantity < 1) throw new OrderRefusedError(`quantity must be a positive integer, got ${l.quantity}`);
    if (shown < l.quantity) throw new OrderRefusedError(`${l.sku}: the marketplace shows ${shown}, the buyer asked for ${l.quantity}`);
  }
  const now = opts.now ?? Date.now();
  const id = opts.id ?? orderId(acct, now);
  if (acct.orders.has(id)) throw new OrderRefusedError(`order ${id} exists`);
  for (const l of lines) acct.quantities.set(l.sku, acct.quantities.get(l.sku)! - l.quantity);
  const order: SimOrder = { id, status: 'OPEN', placedAt: now, updatedAt: now, visibleAt: now + visibilityMs(state, acct), lines: lines.map((l, i) => ({ lineId: String(i + 1), ...l })) };
  acct.orders.set(id, order);
  void sendWebhook(acct, 'orders/create', order);
  if (acct.kind === 'AMAZON') notifyOrderChange(acct, order, state.opts.amazonNotificationMs, now);
  return order;
}

/**
 * The buyer cancels (the units show again), or the seller does (`by: 'SELLER'`: it could not fulfil,
 * so nothing is put back on sale; the buyer is refunded).
 */
export function cancelOrder(state: SimState, acct: AccountState, id: string, opts: { now?: number; by?: 'BUYER' | 'SELLER' } = {}): SimOrder {
  const order = acct.orders.get(id);
  if (!order) throw new OrderRefusedError(`no order ${id}`);
  if (order.status === 'CANCELLED') return order;
  const now = opts.now ?? Date.now();
  order.status = 'CANCELLED';
  order.cancelledBy = opts.by ?? 'BUYER';
  order.updatedAt = now;
  order.visibleAt = now + visibilityMs(state, acct);
  if (order.cancelledBy === 'BUYER') for (const l of order.lines) acct.quantities.set(l.sku, (acct.quantities.get(l.sku) ?? 0) + l.quantity);
  void sendWebhook(acct, 'orders/cancelled', order);
  if (acct.kind === 'AMAZON') notifyOrderChange(acct, order, state.opts.amazonNotificationMs, now);
  return order;
}

function visibilityMs(state: SimState, acct: AccountState): number {
  return acct.kind === 'AMAZON' ? state.opts.amazonVisibilityMs : 0;
}

function orderId(acct: AccountState, now: number): string {
  const n = acct.orders.size + 1;
  switch (acct.kind) {
    case 'AMAZON':
      return `114-${String(now).slice(-7)}-${String(n).padStart(7, '0')}`;
    case 'EBAY':
      return `27-${String(now).slice(-5)}-${String(n).padStart(5, '0')}`;
    case 'WALMART':
      // 13 digits, unique per account: the time's last 8 and the account's order count.
      return `${String(now).slice(-8)}${String(n).padStart(5, '0')}`;
    case 'SHOPIFY':
      return String(5_000_000_000 + n);
  }
}

/** An order as Shopify's REST webhooks carry it. */
function shopifyOrderJson(o: SimOrder) {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    id: Number(o.id),
    admin_graphql_api_id: `gid://shopify/Order/${o.id}`,
    name: `#${o.id.slice(-4)}`,
    created_at: iso(o.placedAt),
    updated_at: iso(o.updatedAt),
    cancelled_at: o.status === 'CANCELLED' ? iso(o.updatedAt) : null,
    line_items: o.lines.map((l) => ({ id: Number(o.id) * 100 + Number(l.lineId), sku: l.sku, quantity: l.quantity })),
  };
}

/** Shopify delivers a webhook at most once here (a lost one is what backfill polling is for). */
async function sendWebhook(acct: AccountState, topic: string, order: SimOrder): Promise<void> {
  if (acct.kind !== 'SHOPIFY' || !acct.webhook) return;
  const body = JSON.stringify(shopifyOrderJson(order));
  const hmac = createHmac('sha256', acct.webhook.secret).update(body).digest('base64');
  try {
    await fetch(acct.webhook.address, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'X-Shopify-Topic': topic,
        'X-Shopify-Hmac-Sha256': hmac,
        'X-Shopify-Shop-Domain': `${acct.account}.myshopify.com`,
        'X-Shopify-Webhook-Id': randomUUID(),
        'X-Shopify-API-Version': '2026-04',
      },
      body,
      signal: AbortSignal.timeout(5000),
    });
  } catch {
    // Shopify retries for 48 hours; the simulator leaves that to backfill polling.
  }
}

/** The orders Shopify's GraphQL `orders(query: "updated_at:>='…'")` returns, oldest change first. */
export function shopifyOrders(acct: AccountState, query: string | null | undefined) {
  const since = /updated_at:>=?'([^']+)'/.exec(query ?? '')?.[1];
  const from = since ? Date.parse(since) : 0;
  return [...acct.orders.values()]
    .filter((o) => o.updatedAt >= from)
    .sort((a, b) => a.updatedAt - b.updatedAt || a.id.localeCompare(b.id))
    .map((o) => {
      const json = shopifyOrderJson(o);
      return {
        id: json.admin_graphql_api_id,
        createdAt: json.created_at,
        updatedAt: json.updated_at,
        cancelledAt: json.cancelled_at,
        lineItems: { nodes: json.line_items.map((l) => ({ id: `gid://shopify/LineItem/${l.id}`, sku: l.sku, quantity: l.quantity })) },
      };
    });
}

/** Visible orders changed at or after `from`, oldest change first. */
function changedSince(acct: AccountState, from: number, now: number, by: (o: SimOrder) => number = (o) => o.updatedAt): SimOrder[] {
  return [...acct.orders.values()].filter((o) => o.visibleAt <= now && by(o) >= from).sort((a, b) => by(a) - by(b) || a.id.localeCompare(b.id));
}

export function orderRoutes(state: SimState) {
  /** Faults, credentials and the call's intake bucket; false once answered. */
  async function admitted(acct: AccountState, req: FastifyRequest, reply: FastifyReply, dialect: Dialect, call: string): Promise<boolean> {
    const endpoint = `intake:${call}` as const;
    if (!(await state.guard(req, reply, dialect, acct, endpoint))) return false;
    const rate = state.admit(acct, endpoint, 1, state.arrival(req));
    if (!rate.ok) {
      dialect.throttled(reply, rate);
      return false;
    }
    acct.calls.read++;
    return true;
  }
  const page = <T>(items: T[], start: number, size: number) => ({ items: items.slice(start, start + size), more: start + size < items.length });

  return {
    amazon: async (app: FastifyInstance) => {
      app.get<{ Params: { account: string }; Querystring: Record<string, string | undefined> }>('/orders/v0/orders', async (req, reply) => {
        const acct = state.account('AMAZON', req.params.account);
        if (!(await admitted(acct, req, reply, amazonDialect, 'getOrders'))) return reply;
        const q = req.query;
        let start = 0;
        let since = q.LastUpdatedAfter;
        if (q.NextToken) [since, start] = JSON.parse(Buffer.from(q.NextToken, 'base64url').toString()) as [string, number];
        if (!q.MarketplaceIds || !since) return reply.code(400).send({ errors: [{ code: 'InvalidInput', message: 'MarketplaceIds and one of LastUpdatedAfter or NextToken are required', details: '' }] });
        const size = Math.min(100, Number(q.MaxResultsPerPage ?? 100));
        const { items, more } = page(changedSince(acct, Date.parse(since), Date.now()), start, size);
        return {
          payload: {
            Orders: items.map((o) => ({
              AmazonOrderId: o.id,
              PurchaseDate: new Date(o.placedAt).toISOString(),
              LastUpdateDate: new Date(o.updatedAt).toISOString(),
              OrderStatus: o.status === 'CANCELLED' ? 'Canceled' : 'Unshipped',
              MarketplaceId: q.MarketplaceIds!.split(',')[0],
            })),
            ...(more ? { NextToken: Buffer.from(JSON.stringify([since, start + size])).toString('base64url') } : {}),
            LastUpdatedBefore: new Date(Date.now() - state.opts.amazonVisibilityMs).toISOString(),
          },
        };
      });
      app.get<{ Params: { account: string; orderId: string } }>('/orders/v0/orders/:orderId/orderItems', async (req, reply) => {
        const acct = state.account('AMAZON', req.params.account);
        if (!(await admitted(acct, req, reply, amazonDialect, 'getOrderItems'))) return reply;
        const order = acct.orders.get(req.params.orderId);
        if (!order) return reply.code(404).send({ errors: [{ code: 'NotFound', message: `Order ${req.params.orderId} not found`, details: '' }] });
        return { payload: { AmazonOrderId: order.id, OrderItems: order.lines.map((l) => ({ ASIN: `B0${l.sku}`.slice(0, 10), SellerSKU: l.sku, OrderItemId: `${order.id}-${l.lineId}`, QuantityOrdered: l.quantity })) } };
      });
    },

    ebay: async (app: FastifyInstance) => {
      // Post-Order API: a seller's cancellation of an order it cannot fulfil.
      app.post<{ Params: { account: string }; Body: { legacyOrderId?: string; cancelReason?: string } | undefined }>('/post-order/v2/cancellation', async (req, reply) => {
        const acct = state.account('EBAY', req.params.account);
        if (!(await admitted(acct, req, reply, ebayDialect, 'cancel'))) return reply;
        const id = req.body?.legacyOrderId;
        if (!id || !req.body?.cancelReason) return reply.code(400).send({ errors: [{ errorId: 1001, message: 'legacyOrderId and cancelReason are required' }] });
        if (!acct.orders.has(id)) return reply.code(404).send({ errors: [{ errorId: 1501, message: `Order ${id} not found` }] });
        cancelOrder(state, acct, id, { by: 'SELLER' });
        return reply.code(201).send({ cancelId: `5${Date.now()}`, cancelStatus: 'CANCEL_CLOSED_WITH_REFUND' });
      });
      app.get<{ Params: { account: string }; Querystring: { filter?: string; limit?: string; offset?: string } }>('/sell/fulfillment/v1/order', async (req, reply) => {
        const acct = state.account('EBAY', req.params.account);
        if (!(await admitted(acct, req, reply, ebayDialect, 'getOrders'))) return reply;
        const since = /lastmodifieddate:\[([^.\]]+(?:\.\d+)?Z?)\.\./.exec(req.query.filter ?? '')?.[1];
        const limit = Math.min(200, Number(req.query.limit ?? 50));
        const offset = Number(req.query.offset ?? 0);
        const all = changedSince(acct, since ? Date.parse(since) : 0, Date.now());
        const { items, more } = page(all, offset, limit);
        return {
          href: req.url,
          total: all.length,
          limit,
          offset,
          ...(more ? { next: `${req.url.split('?')[0]}?${new URLSearchParams({ ...req.query, offset: String(offset + limit) } as Record<string, string>)}` } : {}),
          orders: items.map((o) => ({
            orderId: o.id,
            creationDate: new Date(o.placedAt).toISOString(),
            lastModifiedDate: new Date(o.updatedAt).toISOString(),
            orderFulfillmentStatus: 'NOT_STARTED',
            cancelStatus: { cancelState: o.status === 'CANCELLED' ? 'CANCELED' : 'NONE_REQUESTED', cancelRequests: [] },
            lineItems: o.lines.map((l) => ({ lineItemId: `${o.id}-${l.lineId}`, sku: l.sku, quantity: l.quantity })),
          })),
        };
      });
    },

    walmart: async (app: FastifyInstance) => {
      // createdStartDate is required; lastModifiedStartDate narrows to orders changed since (a buyer's cancellation included).
      app.get<{ Params: { account: string }; Querystring: { createdStartDate?: string; lastModifiedStartDate?: string; limit?: string; nextCursor?: string } }>('/v3/orders', async (req, reply) => {
        const acct = state.account('WALMART', req.params.account);
        if (!(await admitted(acct, req, reply, walmartDialect, 'getOrders'))) return reply;
        const q = req.query;
        const [since, modifiedSince, start] = q.nextCursor
          ? (JSON.parse(Buffer.from(q.nextCursor, 'base64url').toString()) as [string, string | null, number])
          : [q.createdStartDate, q.lastModifiedStartDate ?? null, 0];
        if (!since) return reply.code(400).send({ errors: [{ code: 'INVALID_REQUEST_PARAM.GMP_ORDER_API', field: 'createdStartDate', description: 'createdStartDate is required' }] });
        const limit = Math.min(200, Number(q.limit ?? 100));
        const created = changedSince(acct, Date.parse(since), Date.now(), (o) => o.placedAt);
        const all = modifiedSince ? created.filter((o) => o.updatedAt >= Date.parse(modifiedSince)).sort((a, b) => a.updatedAt - b.updatedAt || a.id.localeCompare(b.id)) : created;
        const { items, more } = page(all, start, limit);
        return {
          list: {
            meta: {
              totalCount: all.length,
              limit,
              nextCursor: more ? `?${new URLSearchParams({ limit: String(limit), nextCursor: Buffer.from(JSON.stringify([since, modifiedSince, start + limit])).toString('base64url') })}` : null,
            },
            elements: {
              order: items.map((o) => ({
                purchaseOrderId: o.id,
                customerOrderId: `C${o.id}`,
                orderDate: o.placedAt,
                orderLines: {
                  orderLine: o.lines.map((l) => ({
                    lineNumber: l.lineId,
                    item: { productName: l.sku, sku: l.sku },
                    orderLineQuantity: { unitOfMeasurement: 'EACH', amount: String(l.quantity) },
                    statusDate: o.updatedAt,
                    orderLineStatuses: { orderLineStatus: [{ status: o.status === 'CANCELLED' ? 'Cancelled' : acknowledged.has(o) ? 'Acknowledged' : 'Created', statusQuantity: { unitOfMeasurement: 'EACH', amount: String(l.quantity) } }] },
                  })),
                },
              })),
            },
          },
        };
      });
      app.post<{ Params: { account: string; purchaseOrderId: string }; Body: unknown }>('/v3/orders/:purchaseOrderId/cancel', async (req, reply) => {
        const acct = state.account('WALMART', req.params.account);
        if (!(await admitted(acct, req, reply, walmartDialect, 'cancel'))) return reply;
        const order = acct.orders.get(req.params.purchaseOrderId);
        if (!order) return reply.code(404).send({ errors: [{ code: 'CONTENT_NOT_FOUND.GMP_ORDER_API', description: 'Purchase order not found' }] });
        const lines = (req.body as { orderCancellation?: { orderLines?: { orderLine?: unknown[] } } } | undefined)?.orderCancellation?.orderLines?.orderLine;
        if (!Array.isArray(lines) || !lines.length) return reply.code(400).send({ errors: [{ code: 'INVALID_REQUEST_CONTENT.GMP_ORDER_API', description: 'orderCancellation.orderLines.orderLine is required' }] });
        cancelOrder(state, acct, order.id, { by: 'SELLER' });
        return { order: { purchaseOrderId: order.id } };
      });
      app.post<{ Params: { account: string; purchaseOrderId: string } }>('/v3/orders/:purchaseOrderId/acknowledge', async (req, reply) => {
        const acct = state.account('WALMART', req.params.account);
        if (!(await admitted(acct, req, reply, walmartDialect, 'acknowledge'))) return reply;
        const order = acct.orders.get(req.params.purchaseOrderId);
        if (!order) return reply.code(404).send({ errors: [{ code: 'CONTENT_NOT_FOUND.GMP_ORDER_API', description: 'Purchase order not found' }] });
        acknowledged.add(order);
        return { order: { purchaseOrderId: order.id } };
      });
    },
  };
}

/** Walmart orders acknowledged by the seller. */
const acknowledged = new WeakSet<SimOrder>();

/** Whether the seller acknowledged a Walmart order. */
export function isAcknowledged(order: SimOrder): boolean {
  return acknowledged.has(order);
}

