import type { FastifyInstance } from 'fastify';
import { importSales, parseSalesCsv, SalesFileError, SalesImportError, type GraphQLCall } from '../contracts/sales-import.js';

/** Where POS systems and partners post a day's sales as CSV. */
export const SALES_IMPORT_PATH = '/imports/sales';

const STATUS: Record<string, number> = { UNAUTHENTICATED: 401, FORBIDDEN: 403, RATE_LIMITED: 429, BAD_USER_INPUT: 400 };

/**
 * `POST /imports/sales` (text/csv, up to `maxBytes`): the sales import of contracts/sales-import.ts,
 * recorded through this gateway's own GraphQL endpoint as the caller (its Authorization header goes
 * with every call, so the same authentication, scopes and limits apply as to any GraphQL request).
 * 200 with the report (rows rejected by line included); 400 for a file that is no sales CSV; 401,
 * 403 or 429 as the GraphQL API answers the caller.
 */
export function mountSalesImport(app: FastifyInstance, opts: { maxBytes: number }): void {
  app.register(async (scope) => {
    scope.addContentTypeParser(['text/csv', 'text/plain'], { parseAs: 'string', bodyLimit: opts.maxBytes }, (_req, body, done) => done(null, body));
    scope.post(SALES_IMPORT_PATH, { bodyLimit: opts.maxBytes }, async (request, reply) => {
      const forwarded: Record<string, string> = { 'content-type': 'application/json' };
      for (const h of ['authorization', 'x-client-id', 'x-request-id']) {
        const v = request.headers[h];
        if (typeof v === 'string') forwarded[h] = v;
      }
      const call: GraphQLCall = async (query, variables) => {
        const res = await scope.inject({ method: 'POST', url: '/graphql', headers: forwarded, payload: { query, variables }, remoteAddress: request.ip });
        return res.json();
      };
      try {
        return await importSales(parseSalesCsv(typeof request.body === 'string' ? request.body : ''), call);
      } catch (err) {
        if (err instanceof SalesFileError) return reply.code(400).send({ error: 'BAD_USER_INPUT', message: err.message });
        if (err instanceof SalesImportError) return reply.code(STATUS[err.code] ?? 502).send({ error: err.code, message: err.message });
        throw err;
      }
    });
  });
}
