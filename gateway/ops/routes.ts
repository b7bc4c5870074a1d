import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GraphQLError } from 'graphql';
import { DomainError } from '../../lib/errors.js';
import type { AuthGuard } from '../auth/guard.js';
import type { Caller } from '../../contracts/identity.js';
import type { OpsSampler } from './ops-sampler.js';

export const OPS_PATH = '/ops';
/** Scopes that may read the ops figures (AUTH_MODE=enforce); any one suffices. */
export const OPS_READ_SCOPES = ['ops:read', 'admin'];

const asset = (name: string) => readFileSync(new URL(name, import.meta.url), 'utf8');
const PAGE = asset('page.html');
/** The page's scripts (ES modules: the inbox imports the page's sign-in and helpers) and its style. */
const ASSETS = [
  { name: 'page.js', type: 'text/javascript; charset=utf-8', body: asset('page.js') },
  { name: 'exceptions.js', type: 'text/javascript; charset=utf-8', body: asset('exceptions.js') },
  { name: 'page.css', type: 'text/css; charset=utf-8', body: asset('page.css') },
];
/** Everything the page loads comes from the gateway itself: it works offline, and nothing injected runs. */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
/** Comment lines that keep proxies from closing an idle stream. */
const KEEPALIVE_MS = 15_000;

/** Each snapshot is serialised once, whatever the number of open streams. */
const frames = new WeakMap<object, string>();
function frame(snapshot: object): string {
  let text = frames.get(snapshot);
  if (!text) frames.set(snapshot, (text = `event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`));
  return text;
}

type Refusal = { status: 401 | 403; code: 'UNAUTHENTICATED' | 'FORBIDDEN'; message: string; details?: Record<string, unknown> };

/**
 * Who may read the figures: everyone with AUTH_MODE=off (like /graphql); otherwise a caller whose
 * API key, JWT or public scopes include `ops:read` or `admin`, with the same credentials as /graphql.
 */
export async function opsRefusal(guard: AuthGuard, headers: FastifyRequest['headers']): Promise<Refusal | null> {
  let caller: Caller | null;
  try {
    caller = await guard.callerFromHeaders(headers);
  } catch (err) {
    // The guard wraps the authenticator's UnauthenticatedError (and its reason) in a GraphQLError.
    const cause = err instanceof GraphQLError ? err.originalError : err;
    const details = cause instanceof DomainError ? cause.details : {};
    return { status: 401, code: 'UNAUTHENTICATED', message: (err as Error).message, details: { reason: 'INVALID_CREDENTIALS', ...details } };
  }
  if (!caller || caller.scopes.some((s) => OPS_READ_SCOPES.includes(s))) return null;
  const details = { requiredScopes: OPS_READ_SCOPES };
  if (caller.kind === 'anonymous') {
    return { status: 401, code: 'UNAUTHENTICATED', message: 'The ops page needs credentials: send "Authorization: Bearer <token>" or "x-api-key: <key>" of a client with the scope ops:read', details: { ...details, reason: 'CREDENTIALS_REQUIRED' } };
  }
  return { status: 403, code: 'FORBIDDEN', message: `The ops page requires the scope ops:read or admin, which client ${caller.clientId} does not have`, details };
}

function refuse(reply: FastifyReply, refusal: Refusal) {
  // The shape of a GraphQL error, so clients of /graphql read it the same way.
  return reply
    .code(refusal.status)
    .header('cache-control', 'no-store')
    .send({ errors: [{ message: refusal.message, extensions: { code: refusal.code, ...refusal.details } }] });
}

/**
 * Mounts the ops page on the gateway: `/ops` (the page, its scripts and style), `/ops/data` (the
 * latest figures as JSON, for polling) and `/ops/stream` (Server-Sent Events, one snapshot per
 * tick). The page reads the stream with fetch, so credentials travel in headers, never in the URL.
 * Returns how to end the open streams and stop the sampler (run before the server closes).
 */
export function mountOpsPage(app: FastifyInstance, opts: { guard: AuthGuard; sampler: OpsSampler; refreshMs: number }): () => Promise<void> {
  const { guard, sampler } = opts;
  const streams = new Set<ServerResponse>();
  const staticFile = (type: string, body: string) => async (_req: FastifyRequest, reply: FastifyReply) =>
    reply.type(type).header('content-security-policy', CSP).header('x-content-type-options', 'nosniff').header('cache-control', 'no-cache').send(body);

  app.get(OPS_PATH, staticFile('text/html; charset=utf-8', PAGE));
  for (const { name, type, body } of ASSETS) app.get(`${OPS_PATH}/${name}`, staticFile(type, body));

  app.get(`${OPS_PATH}/data`, async (request, reply) => {
    const refusal = await opsRefusal(guard, request.headers);
    if (refusal) return refuse(reply, refusal);
    return reply.header('cache-control', 'no-store').send(await sampler.current());
  });

  app.get(`${OPS_PATH}/stream`, async (request, reply) => {
    const refusal = await opsRefusal(guard, request.headers);
    if (refusal) return refuse(reply, refusal);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // Nginx and similar proxies would otherwise buffer the stream.
      'x-accel-buffering': 'no',
      'x-request-id': request.id,
    });
    res.write(`retry: ${opts.refreshMs}\n\n`);
    streams.add(res);
    const unsubscribe = sampler.subscribe((snapshot) => {
      // A viewer that has not taken the last snapshot yet skips this one and gets the next: a slow
      // connection never makes the gateway buffer snapshots for it.
      if (!res.writableNeedDrain) res.write(frame(snapshot));
    });
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), KEEPALIVE_MS);
    keepAlive.unref();
    res.on('close', () => {
      clearInterval(keepAlive);
      unsubscribe();
      streams.delete(res);
    });
  });

  return async () => {
    sampler.close();
    // Open streams would otherwise hold the server open: end them (the page reconnects elsewhere).
    for (const res of streams) res.end();
    streams.clear();
  };
}
