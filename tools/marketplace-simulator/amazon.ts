import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { header, isQuantity, isRecord, type AccountState, type Dialect, type SimState } from './state.js';

/**
 * Amazon SP-API Listings Items 2021-08-01: patchListingsItem and getListingsItem under
 * /amazon/:account. Errors are `{ errors: [{ code, message, details }] }`; a 429 carries
 * x-amzn-RateLimit-Limit (requests per second) and no Retry-After, as Amazon's usually do.
 */

const errors = (code: string, message: string) => ({ errors: [{ code, message, details: '' }] });

const ERRORS: Record<number, [string, string]> = {
  400: ['InvalidInput', 'Request has missing or invalid parameters and cannot be parsed.'],
  401: ['Unauthorized', 'The request has an invalid signature.'],
  403: ['Unauthorized', 'Access to requested resource is denied.'],
  404: ['NotFound', 'The resource specified does not exist.'],
  500: ['InternalFailure', 'We encountered an internal error. Please try again.'],
  502: ['InternalFailure', 'Bad gateway.'],
  503: ['ServiceUnavailable', 'Temporary overloading or maintenance of the server.'],
};

export const amazonDialect: Dialect = {
  token: (req) => header(req, 'x-amz-access-token'),
  unauthorized: (reply) => reply.code(403).send(errors(...ERRORS[403]!)),
  error: (reply, status) => reply.code(status).send(errors(...(ERRORS[status] ?? ERRORS[500]!))),
  throttled: (reply, { rate }) =>
    reply.code(429).header('x-amzn-RateLimit-Limit', String(rate)).send(errors('QuotaExceeded', 'You exceeded your quota for the requested resource.')),
};

interface ItemRoute {
  Params: { account: string; sellerId: string; sku: string };
  Querystring: { marketplaceIds?: string; includedData?: string };
  Body: unknown;
}

/** The fulfillment_availability quantity of a patch body, or why the body is invalid. */
function parsePatch(body: unknown): { quantity: number | undefined } | { invalid: string } {
  if (!isRecord(body)) return { invalid: 'The request body is not a JSON object.' };
  if (typeof body.productType !== 'string' || body.productType === '') return { invalid: "Missing required field 'productType'." };
  if (!Array.isArray(body.patches) || body.patches.length === 0) return { invalid: "Missing required field 'patches'." };
  let quantity: number | undefined;
  for (const p of body.patches as unknown[]) {
    if (!isRecord(p) || !['add', 'replace', 'merge', 'delete'].includes(String(p.op)) || typeof p.path !== 'string') {
      return { invalid: "Each patch needs an 'op' (add, replace, merge, delete) and a 'path'." };
    }
    if (p.path !== '/attributes/fulfillment_availability') continue;
    const value = Array.isArray(p.value) ? (p.value as unknown[]) : [];
    const own = value.find((v) => isRecord(v) && v.fulfillment_channel_code === 'DEFAULT');
    if (!isRecord(own)) return { invalid: "fulfillment_availability needs an entry with fulfillment_channel_code 'DEFAULT'." };
    if (!isQuantity(own.quantity)) return { invalid: `fulfillment_availability quantity must be a non-negative integer, got ${JSON.stringify(own.quantity)}.` };
    quantity = own.quantity;
  }
  return { quantity };
}

export function amazonRoutes(state: SimState) {
  return async (app: FastifyInstance): Promise<void> => {
    const path = '/listings/2021-08-01/items/:sellerId/:sku';

    /** Faults, credentials, the seller in the path, the rate limit; false once answered. */
    async function admitted(acct: AccountState, req: FastifyRequest, reply: FastifyReply, endpoint: 'push' | 'read', sellerId: string, marketplaceIds: string | undefined): Promise<boolean> {
      if (!(await state.guard(req, reply, amazonDialect, acct, endpoint))) return false;
      // A token is issued for one seller: another seller's listings are not ours to touch.
      if (sellerId !== acct.account) {
        amazonDialect.unauthorized(reply);
        return false;
      }
      const rate = state.admit(acct, endpoint, 1, state.arrival(req));
      if (!rate.ok) {
        amazonDialect.throttled(reply, rate);
        return false;
      }
      reply.header('x-amzn-RateLimit-Limit', String(state.policy('AMAZON', endpoint).refillPerSecond));
      if (!marketplaceIds) {
        reply.code(400).send(errors('InvalidInput', "Missing required parameter 'marketplaceIds'."));
        return false;
      }
      return true;
    }

    app.patch<ItemRoute>(path, async (req, reply) => {
      const acct = state.account('AMAZON', req.params.account);
      if (!(await admitted(acct, req, reply, 'push', req.params.sellerId, req.query.marketplaceIds))) return reply;
      const patch = parsePatch(req.body);
      if ('invalid' in patch) return reply.code(400).send(errors('InvalidInput', patch.invalid));
      const { sku } = req.params;
      if (acct.unlisted.has(sku)) return reply.code(404).send(errors('NOT_FOUND', `SKU '${sku}' not found in the requested marketplaces.`));
      const rejection = acct.rejected.get(sku);
      if (rejection?.transient) return amazonDialect.error(reply, 503);
      acct.calls.push++;
      acct.calls.items++;
      const submissionId = randomUUID().replaceAll('-', '');
      if (rejection) {
        return {
          sku,
          status: 'INVALID',
          submissionId,
          issues: [{ code: '90220', message: rejection.message, severity: 'ERROR', attributeNames: ['fulfillment_availability'] }],
        };
      }
      if (patch.quantity !== undefined) state.apply(acct, sku, patch.quantity);
      return { sku, status: 'ACCEPTED', submissionId, issues: [] };
    });

    app.get<ItemRoute>(path, async (req, reply) => {
      const acct = state.account('AMAZON', req.params.account);
      if (!(await admitted(acct, req, reply, 'read', req.params.sellerId, req.query.marketplaceIds))) return reply;
      const { sku } = req.params;
      if (acct.unlisted.has(sku)) return reply.code(404).send(errors('NOT_FOUND', `SKU '${sku}' not found in the requested marketplaces.`));
      acct.calls.read++;
      const included = (req.query.includedData ?? 'summaries').split(',');
      return {
        sku,
        ...(included.includes('summaries') ? { summaries: [] } : {}),
        ...(included.includes('fulfillmentAvailability')
          ? { fulfillmentAvailability: [{ fulfillmentChannelCode: 'DEFAULT', quantity: acct.quantities.get(sku) ?? 0 }] }
          : {}),
      };
    });
  };
}
