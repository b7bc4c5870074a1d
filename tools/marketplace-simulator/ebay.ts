import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DEFAULT_PUSH_POLICIES, DEFAULT_READ_POLICIES } from '../../subgraphs/marketplaces/connectors/policies.js';
import { header, INVALID_JSON, isQuantity, isRecord, type AccountState, type Dialect, type SimState } from './state.js';

/**
 * eBay Sell Inventory API v1: bulkUpdatePriceQuantity and bulkGetInventoryItem under /ebay/:account.
 * Whole-call errors are `{ errors: [{ errorId, domain, category, message }] }`; per-item results
 * come in `responses` (HTTP 207 when some failed). A 429 carries Retry-After.
 */

interface EbayError {
  errorId: number;
  domain: string;
  category: string;
  message: string;
}
const err = (errorId: number, message: string, category = 'REQUEST'): EbayError => ({ errorId, domain: 'API_INVENTORY', category, message });

const STATUS_ERRORS: Record<number, EbayError> = {
  400: err(25709, 'Invalid value for the request.'),
  401: { errorId: 1001, domain: 'OAuth', category: 'REQUEST', message: 'Invalid access token' },
  403: { errorId: 1100, domain: 'ACCESS', category: 'REQUEST', message: 'Access denied' },
  404: err(25710, "We didn't find the resource/entity you are requesting."),
  500: err(25001, 'A system error has occurred.', 'APPLICATION'),
};

export const ebayDialect: Dialect = {
  token: (req) => header(req, 'authorization')?.replace(/^Bearer /, ''),
  unauthorized: (reply) => reply.code(401).send({ errors: [STATUS_ERRORS[401]] }),
  error: (reply, status) => reply.code(status).send({ errors: [STATUS_ERRORS[status] ?? STATUS_ERRORS[500]] }),
  throttled: (reply, { waitMs }) =>
    reply
      .code(429)
      .header('Retry-After', String(Math.max(1, Math.ceil(waitMs / 1000))))
      .send({ errors: [{ errorId: 2001, domain: 'ACCESS', category: 'REQUEST', message: 'Too many requests. The request limit has been reached for the resource.' }] }),
};

interface Route {
  Params: { account: string };
  Body: unknown;
}

/** The `requests` array of a bulk call, or the answer already sent for a malformed or oversized one. */
function requestsOf(state: SimState, acct: AccountState, body: unknown, max: number, endpoint: 'push' | 'read', reply: FastifyReply): unknown[] | undefined {
  if (body === INVALID_JSON || !isRecord(body) || !Array.isArray(body.requests) || body.requests.length === 0) {
    reply.code(400).send({ errors: [err(2004, 'Invalid request. The request payload must contain a non-empty requests array.')] });
    return undefined;
  }
  if (body.requests.length > max) {
    state.violation(acct, endpoint, 'batch', `${body.requests.length} requests, at most ${max}`);
    reply.code(400).send({ errors: [err(25709, `Invalid value for requests. The number of requests must not exceed ${max}.`)] });
    return undefined;
  }
  return body.requests as unknown[];
}

export function ebayRoutes(state: SimState) {
  return async (app: FastifyInstance): Promise<void> => {
    async function admitted(acct: AccountState, req: FastifyRequest, reply: FastifyReply, endpoint: 'push' | 'read'): Promise<boolean> {
      if (!(await state.guard(req, reply, ebayDialect, acct, endpoint))) return false;
      const rate = state.admit(acct, endpoint, 1, state.arrival(req));
      if (rate.ok) return true;
      ebayDialect.throttled(reply, rate);
      return false;
    }

    app.post<Route>('/sell/inventory/v1/bulk_update_price_quantity', async (req, reply) => {
      const acct = state.account('EBAY', req.params.account);
      if (!(await admitted(acct, req, reply, 'push'))) return reply;
      const requests = requestsOf(state, acct, req.body, DEFAULT_PUSH_POLICIES.EBAY.maxBatch, 'push', reply);
      if (!requests) return reply;
      acct.calls.push++;
      acct.calls.items += requests.length;
      const responses = requests.map((r) => {
        const sku = isRecord(r) && typeof r.sku === 'string' && r.sku !== '' ? r.sku : undefined;
        if (!sku) return { statusCode: 400, sku: '', errors: [err(25702, 'The SKU is missing or invalid.')] };
        const availability = isRecord(r) && isRecord(r.shipToLocationAvailability) ? r.shipToLocationAvailability : undefined;
        if (!availability || !isQuantity(availability.quantity)) {
          return { statusCode: 400, sku, errors: [err(25604, `Input error. The quantity of SKU ${sku} must be a non-negative integer.`)] };
        }
        if (acct.unlisted.has(sku)) return { statusCode: 404, sku, errors: [err(25702, `The SKU ${sku} is not available in the system.`)] };
        const rejection = acct.rejected.get(sku);
        if (rejection?.transient) return { statusCode: 500, sku, errors: [err(25001, rejection.message, 'APPLICATION')] };
        if (rejection) return { statusCode: 400, sku, errors: [err(25019, rejection.message)] };
        state.apply(acct, sku, availability.quantity);
        return { statusCode: 200, sku };
      });
      return reply.code(responses.every((r) => r.statusCode === 200) ? 200 : 207).send({ responses });
    });

    app.post<Route>('/sell/inventory/v1/bulk_get_inventory_item', async (req, reply) => {
      const acct = state.account('EBAY', req.params.account);
      if (!(await admitted(acct, req, reply, 'read'))) return reply;
      const requests = requestsOf(state, acct, req.body, DEFAULT_READ_POLICIES.EBAY.maxBatch, 'read', reply);
      if (!requests) return reply;
      acct.calls.read++;
      const responses = requests.map((r) => {
        const sku = isRecord(r) && typeof r.sku === 'string' ? r.sku : '';
        if (!sku) return { statusCode: 400, sku, errors: [err(25702, 'The SKU is missing or invalid.')] };
        if (acct.unlisted.has(sku)) return { statusCode: 404, sku, errors: [STATUS_ERRORS[404]] };
        const quantity = acct.quantities.get(sku) ?? 0;
        return { statusCode: 200, sku, inventoryItem: { sku, availability: { shipToLocationAvailability: { quantity } } } };
      });
      return reply.code(responses.every((r) => r.statusCode === 200) ? 200 : 207).send({ responses });
    });
  };
}
