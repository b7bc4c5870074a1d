import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DEFAULT_PUSH_POLICIES } from '../../subgraphs/marketplaces/connectors/policies.js';
import {
  header,
  INVALID_JSON,
  isQuantity,
  isRecord,
  type AccountState,
  type Dialect,
  type EndpointClass,
  type SimState,
  type WalmartFeed,
  type WalmartItemResult,
} from './state.js';

/**
 * Walmart Marketplace: the bulk inventory feed (POST /v3/feeds?feedType=inventory, spec 1.4), its
 * status (GET /v3/feeds/{feedId}, item details paged by offset/limit, limit at most 1000, default 50)
 * and the single-SKU inventory read (GET /v3/inventory?sku=), under /walmart/:account. A feed is
 * ingested `walmartFeedProcessingMs` after it was accepted; only then do its quantities apply.
 */

/** https://developer.walmart.com/us-marketplace/docs/bulk-inventory — 5 MB per inventory feed. */
export const MAX_FEED_BYTES = 5 * 1024 * 1024;

const errors = (code: string, description: string) => ({
  errors: [{ code, field: code.split('.')[0], description, info: description, severity: 'ERROR', category: 'DATA', causes: [], errorIdentifiers: {} }],
});

const STATUS_ERRORS: Record<number, [string, string]> = {
  400: ['INVALID_REQUEST_CONTENT.GMP_INVENTORY_API', 'Invalid request content'],
  401: ['UNAUTHORIZED.GMP_GATEWAY_API', 'Unauthorized'],
  403: ['FORBIDDEN.GMP_GATEWAY_API', 'Forbidden'],
  404: ['CONTENT_NOT_FOUND.GMP_INVENTORY_API', 'Content not found'],
  500: ['SYSTEM_ERROR.GMP_GATEWAY_API', 'Internal Server Error'],
  502: ['SYSTEM_ERROR.GMP_GATEWAY_API', 'Bad Gateway'],
  503: ['SERVICE_UNAVAILABLE.GMP_GATEWAY_API', 'Service Unavailable'],
};

export const walmartDialect: Dialect = {
  token: (req) => header(req, 'WM_SEC.ACCESS_TOKEN'),
  unauthorized: (reply) => reply.code(401).send(errors(...STATUS_ERRORS[401]!)),
  error: (reply, status) => reply.code(status).send(errors(...(STATUS_ERRORS[status] ?? STATUS_ERRORS[500]!))),
  throttled: (reply, { waitMs }) =>
    reply
      .code(429)
      .header('Retry-After', String(Math.max(1, Math.ceil(waitMs / 1000))))
      .send(errors('REQUEST_THRESHOLD_VIOLATED.GMP_GATEWAY_API', 'Too Many Requests')),
};

/** The quantities of an inventory feed body, or why it is invalid. */
function parseFeed(body: unknown): { items: { sku: string; amount: number }[] } | { invalid: string } {
  if (body === INVALID_JSON || !isRecord(body)) return { invalid: 'The feed is not a JSON object.' };
  if (!isRecord(body.InventoryHeader) || body.InventoryHeader.version !== '1.4') return { invalid: "InventoryHeader.version must be '1.4'." };
  if (!Array.isArray(body.Inventory) || body.Inventory.length === 0) return { invalid: 'Inventory must be a non-empty array.' };
  const items: { sku: string; amount: number }[] = [];
  for (const [i, item] of (body.Inventory as unknown[]).entries()) {
    if (!isRecord(item) || typeof item.sku !== 'string' || item.sku === '') return { invalid: `Inventory[${i}].sku is required.` };
    const q = item.quantity;
    if (!isRecord(q) || q.unit !== 'EACH' || !isQuantity(q.amount)) {
      return { invalid: `Inventory[${i}].quantity must be { unit: 'EACH', amount: a non-negative integer }.` };
    }
    items.push({ sku: item.sku, amount: q.amount });
  }
  return { items };
}

/** Ingests a feed: per item SUCCESS (quantity applied), DATA_ERROR or SYSTEM_ERROR. */
export function processFeed(state: SimState, acct: AccountState, feed: WalmartFeed): void {
  if (feed.status === 'PROCESSED') return;
  feed.results = feed.items.map((item): WalmartItemResult => {
    if (acct.unlisted.has(item.sku)) {
      return { sku: item.sku, ingestionStatus: 'DATA_ERROR', error: { type: 'DATA_ERROR', code: 'ERR_EXT_DATA_0101', description: `SKU ${item.sku} is not set up for this seller.` } };
    }
    const rejection = acct.rejected.get(item.sku);
    if (rejection?.transient) {
      return { sku: item.sku, ingestionStatus: 'SYSTEM_ERROR', error: { type: 'SYSTEM_ERROR', code: 'ERR_INT_SYS_0001', description: rejection.message } };
    }
    if (rejection) return { sku: item.sku, ingestionStatus: 'DATA_ERROR', error: { type: 'DATA_ERROR', code: 'ERR_EXT_DATA_0801', description: rejection.message } };
    state.apply(acct, item.sku, item.amount);
    return { sku: item.sku, ingestionStatus: 'SUCCESS' };
  });
  feed.status = 'PROCESSED';
}

function feedStatus(feed: WalmartFeed, includeDetails: boolean, offset: number, limit: number) {
  const results = feed.results ?? [];
  const failed = results.filter((r) => r.ingestionStatus !== 'SUCCESS').length;
  return {
    feedId: feed.id,
    feedStatus: feed.status,
    feedSubmissionDate: feed.submittedAt,
    ingestionErrors: { ingestionError: null },
    itemsReceived: feed.items.length,
    itemsSucceeded: results.length - failed,
    itemsFailed: failed,
    itemsProcessing: feed.items.length - results.length,
    offset,
    limit,
    itemDetails: includeDetails
      ? {
          itemIngestionStatus: results.slice(offset, offset + limit).map((r, i) => ({
            martId: 0,
            sku: r.sku,
            index: offset + i,
            ingestionStatus: r.ingestionStatus,
            ingestionErrors: { ingestionError: r.error ? [r.error] : null },
          })),
        }
      : undefined,
  };
}

interface Route {
  Params: { account: string; feedId?: string };
  Querystring: { feedType?: string; sku?: string; includeDetails?: string; offset?: string; limit?: string };
  Body: unknown;
}

export function walmartRoutes(state: SimState) {
  return async (app: FastifyInstance): Promise<void> => {
    async function admitted(acct: AccountState, req: FastifyRequest, reply: FastifyReply, endpoint: EndpointClass): Promise<boolean> {
      if (!(await state.guard(req, reply, walmartDialect, acct, endpoint))) return false;
      if (!header(req, 'WM_QOS.CORRELATION_ID') || !header(req, 'WM_SVC.NAME')) {
        reply.code(400).send(errors('INVALID_REQUEST_HEADER.GMP_GATEWAY_API', 'WM_QOS.CORRELATION_ID and WM_SVC.NAME are required headers.'));
        return false;
      }
      const rate = state.admit(acct, endpoint, 1, state.arrival(req));
      if (rate.ok) return true;
      walmartDialect.throttled(reply, rate);
      return false;
    }

    app.post<Route>('/v3/feeds', async (req, reply) => {
      const acct = state.account('WALMART', req.params.account);
      if (!(await admitted(acct, req, reply, 'push'))) return reply;
      if (req.query.feedType !== 'inventory') return reply.code(400).send(errors(STATUS_ERRORS[400]![0], `Unsupported feedType ${req.query.feedType ?? '(none)'}.`));
      if (Number(req.headers['content-length'] ?? 0) > MAX_FEED_BYTES) {
        state.violation(acct, 'push', 'batch', `feed of ${req.headers['content-length']} bytes, at most ${MAX_FEED_BYTES}`);
        return reply.code(413).send(errors('REQUEST_ENTITY_TOO_LARGE.GMP_GATEWAY_API', `A feed may be at most ${MAX_FEED_BYTES} bytes.`));
      }
      const feed = parseFeed(req.body);
      if ('invalid' in feed) return reply.code(400).send(errors(STATUS_ERRORS[400]![0], feed.invalid));
      const max = DEFAULT_PUSH_POLICIES.WALMART.maxBatch;
      if (feed.items.length > max) {
        state.violation(acct, 'push', 'batch', `${feed.items.length} items in one feed, at most ${max}`);
        return reply.code(400).send(errors(STATUS_ERRORS[400]![0], `A feed may carry at most ${max} items.`));
      }
      acct.calls.push++;
      acct.calls.items += feed.items.length;
      const id = `${randomBytes(16).toString('hex').toUpperCase()}@AQMBCgA`;
      const record: WalmartFeed = { id, items: feed.items, status: 'RECEIVED', submittedAt: Date.now() };
      acct.feeds.set(id, record);
      const half = setTimeout(() => {
        state.timers.delete(half);
        if (record.status === 'RECEIVED') record.status = 'INPROGRESS';
      }, state.opts.walmartFeedProcessingMs / 2);
      const done = setTimeout(() => {
        state.timers.delete(done);
        processFeed(state, acct, record);
      }, state.opts.walmartFeedProcessingMs);
      state.timers.add(half).add(done);
      return { feedId: id };
    });

    app.get<Route>('/v3/feeds/:feedId', async (req, reply) => {
      const acct = state.account('WALMART', req.params.account);
      if (!(await admitted(acct, req, reply, 'feedStatus'))) return reply;
      acct.calls.polls++;
      const feed = acct.feeds.get(req.params.feedId ?? '');
      if (!feed) return reply.code(404).send(errors(STATUS_ERRORS[404]![0], `Feed ${req.params.feedId} not found.`));
      const offset = Number(req.query.offset ?? 0);
      const limit = Number(req.query.limit ?? 50);
      if (!Number.isInteger(offset) || offset < 0 || !Number.isInteger(limit) || limit < 1 || limit > 1000) {
        return reply.code(400).send(errors(STATUS_ERRORS[400]![0], 'offset must be ≥ 0 and limit between 1 and 1000.'));
      }
      return feedStatus(feed, req.query.includeDetails === 'true', offset, limit);
    });

    app.get<Route>('/v3/inventory', async (req, reply) => {
      const acct = state.account('WALMART', req.params.account);
      if (!(await admitted(acct, req, reply, 'read'))) return reply;
      const sku = req.query.sku;
      if (!sku) return reply.code(400).send(errors(STATUS_ERRORS[400]![0], 'The sku query parameter is required.'));
      if (acct.unlisted.has(sku)) return reply.code(404).send(errors(STATUS_ERRORS[404]![0], `SKU ${sku} not found.`));
      acct.calls.read++;
      return { sku, quantity: { unit: 'EACH', amount: acct.quantities.get(sku) ?? 0 } };
    });
  };
}
