import Fastify, { type FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Connection } from '../../subgraphs/marketplaces/connectors/types.js';
import { amazonRoutes } from './amazon.js';
import { sqsRoutes } from './sqs.js';
import { cancelOrder, isAcknowledged, orderRoutes, OrderRefusedError, placeOrder } from './orders.js';
import { ebayRoutes } from './ebay.js';
import { shopifyRoutes } from './shopify.js';
import { INVALID_JSON, kindOf, SimState, tokenFor, type CallCounts, type Fault, type Kind, type KindName, type Violation } from './state.js';
import { processFeed, walmartRoutes } from './walmart.js';

export interface MarketplaceSimulatorOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** Multiplies every refill rate the simulator enforces (use the same scale on the client's policies). Default 1. */
  rateScale?: number;
  /** How long Walmart takes to ingest a feed. Default 300 ms. */
  walmartFeedProcessingMs?: number;
  /** How long after an order changes Amazon's getOrders shows it. Default 120,000 ms (Amazon's "about two minutes"). */
  amazonVisibilityMs?: number;
  /** How long after an order changes its ORDER_CHANGE notification reaches the account's SQS queue. Default 10,000 ms (our assumption: Amazon documents no figure). */
  amazonNotificationMs?: number;
}

export interface MarketplaceSimulator {
  /** e.g. http://127.0.0.1:41234 */
  readonly url: string;
  /** A connection's baseUrl: `${url}/<kind>/<account>`. */
  baseUrl(kind: KindName, account: string): string;
  /** Amazon: the account's SQS queue of ORDER_CHANGE notifications (its calls are signed with awsCredentialsFor(account)). */
  queueUrl(account: string): string;
  /** Amazon: notifications in the account's queue, delivered or not, not yet deleted. */
  queueDepth(account: string): number;
  /** The credentials the simulator accepts for an account. */
  credentials(kind: KindName, account: string): Record<string, string>;
  /** A ready connection for an account, with the settings its marketplace needs. */
  connection(kind: KindName, account: string, settings?: Record<string, unknown>): Connection;
  /** Requests that arrived on an empty bucket or over a batch or cost limit. */
  violations(kind?: KindName, account?: string): number;
  violationLog(): readonly Violation[];
  /**
   * A buyer orders at the marketplace: the units leave its shown quantity, and intake finds the order
   * through the marketplace's order API (Shopify: also a signed webhook, when one is set).
   * @throws OrderRefusedError when the marketplace shows fewer units than a line asks
   */
  placeOrder(kind: KindName, account: string, lines: { sku: string; quantity: number }[], opts?: { id?: string }): { orderId: string };
  /** The buyer cancels the order: its units show again. */
  cancelOrder(kind: KindName, account: string, orderId: string): void;
  /** An order as the marketplace has it (Walmart: whether the seller acknowledged it). */
  order(kind: KindName, account: string, orderId: string): { status: 'OPEN' | 'CANCELLED'; cancelledBy: 'BUYER' | 'SELLER' | null; acknowledged: boolean; lines: { sku: string; quantity: number }[] } | undefined;
  /** Shopify: where the store sends its orders/create and orders/cancelled webhooks, signed with `secret` (the app's client secret). */
  setWebhook(account: string, address: string, secret: string): void;
  /** The marketplace's current quantity for a SKU; undefined when nothing was ever set. */
  quantity(kind: KindName, account: string, sku: string): number | undefined;
  quantities(kind: KindName, account: string): Map<string, number>;
  /** Every quantity the marketplace accepted for the SKU, in order. */
  history(kind: KindName, account: string, sku: string): number[];
  /** When each quantity the marketplace accepted was applied (epoch ms), per SKU. */
  appliedAt(kind: KindName, account: string): Map<string, number[]>;
  /** Changes a quantity on the marketplace's side (a sale there, a manual edit), not counted as received. */
  setQuantity(kind: KindName, account: string, sku: string, quantity: number): void;
  calls(kind: KindName, account: string): CallCounts;
  /** `account` '*' applies to every account of the kind. */
  inject(kind: KindName, account: string, fault: Fault): void;
  clearFaults(): void;
  /** The SKU gets a per-item validation error with `message` (transient: the marketplace's retryable per-item failure). */
  rejectSku(kind: KindName, account: string, sku: string, message: string, opts?: { transient?: boolean }): void;
  acceptSku(kind: KindName, account: string, sku: string): void;
  /** The marketplace does not know the SKU (every other SKU exists with quantity 0). */
  unlistSku(kind: KindName, account: string, sku: string): void;
  listSku(kind: KindName, account: string, sku: string): void;
  /** Ingests every Walmart feed still waiting, now. */
  processWalmartFeeds(): void;
  reset(): void;
  close(): Promise<void>;
}

const faultSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('throttle'), count: z.number().int().min(1), retryAfterMs: z.number().positive(), endpoint: z.union([z.enum(['push', 'read', 'feedStatus']), z.templateLiteral(['intake:', z.string()])]).optional() }),
  z.object({ type: z.literal('error'), status: z.union([z.literal(400), z.literal(401), z.literal(403), z.literal(404), z.literal(500), z.literal(502), z.literal(503)]), count: z.number().int().min(1) }),
  z.object({ type: z.literal('latency'), ms: z.number().min(0), count: z.number().int().min(1).optional() }),
  z.object({ type: z.literal('outage') }),
]);
const kindParam = z.string().transform((v, ctx) => {
  try {
    return kindOf(v);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be amazon, ebay, walmart or shopify' });
    return z.NEVER;
  }
});
const accountParams = z.object({ kind: kindParam, account: z.string().min(1) });
const skuParams = accountParams.extend({ sku: z.string().min(1) });

/**
 * Starts a local stand-in for Amazon, eBay, Walmart and Shopify that speaks their request shapes and
 * enforces the limits in adapters/policies.ts, for tests and benchmarks of the marketplace push.
 * @throws RangeError for a non-positive rateScale; the listen error when the port is taken
 */
export async function startMarketplaceSimulator(opts: MarketplaceSimulatorOptions = {}): Promise<MarketplaceSimulator> {
  const rateScale = opts.rateScale ?? 1;
  if (!Number.isFinite(rateScale) || rateScale <= 0) throw new RangeError(`rateScale must be a positive number, got ${rateScale}`);
  const state = new SimState({ rateScale, walmartFeedProcessingMs: opts.walmartFeedProcessingMs ?? 300, amazonVisibilityMs: opts.amazonVisibilityMs ?? 120_000, amazonNotificationMs: opts.amazonNotificationMs ?? 10_000 });
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 * 1024 });

  app.addHook('onRequest', async (req) => state.markArrival(req));
  // Malformed JSON reaches the handlers, which answer it in their marketplace's error shape.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(null, INVALID_JSON);
    }
  });

  // SQS's JSON protocol; the raw text is kept, for checking the request's signature over it.
  app.addContentTypeParser('application/x-amz-json-1.0', { parseAs: 'string' }, (req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    (req as typeof req & { rawBody?: string }).rawBody = text;
    try {
      done(null, text.trim() ? JSON.parse(text) : {});
    } catch {
      done(null, {});
    }
  });
  await app.register(sqsRoutes(state));

  const orders = orderRoutes(state);
  await app.register(orders.amazon, { prefix: '/amazon/:account' });
  await app.register(orders.ebay, { prefix: '/ebay/:account' });
  await app.register(orders.walmart, { prefix: '/walmart/:account' });
  await app.register(amazonRoutes(state), { prefix: '/amazon/:account' });
  await app.register(ebayRoutes(state), { prefix: '/ebay/:account' });
  await app.register(walmartRoutes(state), { prefix: '/walmart/:account' });
  await app.register(shopifyRoutes(state), { prefix: '/shopify/:account' });

  const acct = (kind: KindName, account: string) => state.account(kindOf(kind), account);
  const processWalmartFeeds = () => {
    for (const a of state.allAccounts()) for (const feed of a.feeds.values()) processFeed(state, a, feed);
  };

  let url = '';
  const sim: MarketplaceSimulator = {
    get url() {
      return url;
    },
    baseUrl: (kind, account) => `${url}/${kindOf(kind).toLowerCase()}/${encodeURIComponent(account)}`,
    queueUrl: (account) => `${url}/000000000000/${encodeURIComponent(account)}`,
    queueDepth: (account) => acct('AMAZON', account).notifications.length,
    credentials: (kind, account) => ({ accessToken: tokenFor(kindOf(kind), account) }),
    connection: (kind, account, settings) => ({
      kind: kindOf(kind),
      accountId: account,
      baseUrl: sim.baseUrl(kind, account),
      settings: { ...defaultSettings(kindOf(kind)), ...settings },
      credentials: sim.credentials(kind, account),
    }),
    violations: (kind, account) => state.violations(kind ? kindOf(kind) : undefined, account),
    violationLog: () => [...state.violationLog],
    quantity: (kind, account, sku) => acct(kind, account).quantities.get(sku),
    quantities: (kind, account) => new Map(acct(kind, account).quantities),
    history: (kind, account, sku) => [...(acct(kind, account).history.get(sku) ?? [])],
    appliedAt: (kind, account) => new Map([...acct(kind, account).appliedAt].map(([sku, times]) => [sku, [...times]])),
    setQuantity: (kind, account, sku, quantity) => void acct(kind, account).quantities.set(sku, quantity),
    calls: (kind, account) => ({ ...acct(kind, account).calls }),
    inject: (kind, account, fault) => state.inject(kindOf(kind), account, faultSchema.parse(fault)),
    clearFaults: () => state.clearFaults(),
    rejectSku: (kind, account, sku, message, o) => void acct(kind, account).rejected.set(sku, { message, transient: o?.transient ?? false }),
    acceptSku: (kind, account, sku) => void acct(kind, account).rejected.delete(sku),
    unlistSku: (kind, account, sku) => void acct(kind, account).unlisted.add(sku),
    listSku: (kind, account, sku) => void acct(kind, account).unlisted.delete(sku),
    processWalmartFeeds,
    placeOrder: (kind, account, lines, o) => {
      const order = placeOrder(state, acct(kind, account), lines, o);
      return { orderId: order.id };
    },
    cancelOrder: (kind, account, id) => void cancelOrder(state, acct(kind, account), id),
    order: (kind, account, id) => {
      const o = acct(kind, account).orders.get(id);
      return o && { status: o.status, cancelledBy: o.cancelledBy ?? null, acknowledged: isAcknowledged(o), lines: o.lines.map((l) => ({ sku: l.sku, quantity: l.quantity })) };
    },
    setWebhook: (account, address, secret) => void (acct('SHOPIFY', account).webhook = { address, secret }),
    reset: () => state.reset(),
    close: async () => {
      state.reset();
      // Long-polling SQS reads and clients' keep-alive sockets would hold the close for up to a minute.
      const closing = app.close();
      app.server.closeAllConnections();
      await closing;
    },
  };
  // Routes cannot be added once the server listens.
  registerControl(app, sim);
  await app.listen({ port: opts.port ?? 0, host: opts.host ?? '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('the simulator is not listening on a TCP port');
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  url = `http://${host}:${address.port}`;

  return sim;
}

function defaultSettings(kind: Kind): Record<string, unknown> {
  if (kind === 'AMAZON') return { marketplaceIds: ['ATVPDKIKX0DER'] };
  if (kind === 'SHOPIFY') return { locationId: 'gid://shopify/Location/1' };
  return {};
}

/**
 * The same controls over HTTP, for a simulator started in another process (main.ts). JSON in and
 * out; kinds in lower or upper case.
 */
function registerControl(app: FastifyInstance, sim: MarketplaceSimulator): void {
  const bad = (message: string) => ({ error: message });

  app.get('/_sim/violations', async (req) => {
    const q = z.object({ kind: kindParam.optional(), account: z.string().optional() }).parse(req.query);
    return { violations: sim.violations(q.kind, q.account), log: sim.violationLog() };
  });
  app.post('/_sim/reset', async () => {
    sim.reset();
    return { ok: true };
  });
  app.delete('/_sim/faults', async () => {
    sim.clearFaults();
    return { ok: true };
  });
  app.post('/_sim/:kind/:account/orders', async (req, reply) => {
    const p = accountParams.parse(req.params);
    const body = z.object({ id: z.string().min(1).optional(), lines: z.array(z.object({ sku: z.string().min(1), quantity: z.number().int().positive() })).min(1) }).parse(req.body);
    try {
      return sim.placeOrder(p.kind, p.account, body.lines, { id: body.id });
    } catch (err) {
      if (err instanceof OrderRefusedError) return reply.code(409).send(bad(err.message));
      throw err;
    }
  });
  app.post('/_sim/:kind/:account/orders/:orderId/cancel', async (req, reply) => {
    const p = accountParams.extend({ orderId: z.string() }).parse(req.params);
    try {
      sim.cancelOrder(p.kind, p.account, p.orderId);
      return { ok: true };
    } catch (err) {
      if (err instanceof OrderRefusedError) return reply.code(404).send(bad(err.message));
      throw err;
    }
  });
  app.put('/_sim/shopify/:account/webhook', async (req) => {
    const p = z.object({ account: z.string() }).parse(req.params);
    const body = z.object({ address: z.url(), secret: z.string().min(1) }).parse(req.body);
    sim.setWebhook(p.account, body.address, body.secret);
    return { ok: true };
  });
  app.post('/_sim/walmart/process-feeds', async () => {
    sim.processWalmartFeeds();
    return { ok: true };
  });
  app.get('/_sim/:kind/:account/connection', async (req) => {
    const p = accountParams.parse(req.params);
    return sim.connection(p.kind, p.account);
  });
  app.get('/_sim/:kind/:account/calls', async (req) => {
    const p = accountParams.parse(req.params);
    return sim.calls(p.kind, p.account);
  });
  app.get('/_sim/:kind/:account/quantities', async (req) => {
    const p = accountParams.parse(req.params);
    return { quantities: Object.fromEntries(sim.quantities(p.kind, p.account)) };
  });
  app.get('/_sim/:kind/:account/applied', async (req) => {
    const p = accountParams.parse(req.params);
    return { appliedAt: Object.fromEntries(sim.appliedAt(p.kind, p.account)) };
  });
  app.get('/_sim/:kind/:account/quantities/:sku', async (req) => {
    const p = skuParams.parse(req.params);
    return { sku: p.sku, quantity: sim.quantity(p.kind, p.account, p.sku) ?? null, history: sim.history(p.kind, p.account, p.sku) };
  });
  app.put('/_sim/:kind/:account/quantities/:sku', async (req, reply) => {
    const p = skuParams.parse(req.params);
    const b = z.object({ quantity: z.number().int().min(0) }).safeParse(req.body);
    if (!b.success) return reply.code(400).send(bad('body must be { quantity: a non-negative integer }'));
    sim.setQuantity(p.kind, p.account, p.sku, b.data.quantity);
    return { ok: true };
  });
  app.post('/_sim/:kind/:account/faults', async (req, reply) => {
    const p = z.object({ kind: kindParam, account: z.string().min(1) }).parse(req.params);
    const fault = faultSchema.safeParse(req.body);
    if (!fault.success) return reply.code(400).send(bad(z.prettifyError(fault.error)));
    sim.inject(p.kind, p.account, fault.data);
    return { ok: true };
  });
  app.put('/_sim/:kind/:account/rejected/:sku', async (req, reply) => {
    const p = skuParams.parse(req.params);
    const b = z.object({ message: z.string().min(1), transient: z.boolean().optional() }).safeParse(req.body);
    if (!b.success) return reply.code(400).send(bad('body must be { message, transient? }'));
    sim.rejectSku(p.kind, p.account, p.sku, b.data.message, { transient: b.data.transient });
    return { ok: true };
  });
  app.delete('/_sim/:kind/:account/rejected/:sku', async (req) => {
    const p = skuParams.parse(req.params);
    sim.acceptSku(p.kind, p.account, p.sku);
    return { ok: true };
  });
  app.put('/_sim/:kind/:account/unlisted/:sku', async (req) => {
    const p = skuParams.parse(req.params);
    sim.unlistSku(p.kind, p.account, p.sku);
    return { ok: true };
  });
  app.delete('/_sim/:kind/:account/unlisted/:sku', async (req) => {
    const p = skuParams.parse(req.params);
    sim.listSku(p.kind, p.account, p.sku);
    return { ok: true };
  });
  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof z.ZodError) return reply.code(400).send(bad(z.prettifyError(err)));
    return reply.send(err);
  });
}
