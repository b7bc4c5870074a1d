import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { WebSocketServer } from 'ws';
import { ApolloServer, type ApolloServerPlugin, type BaseContext } from '@apollo/server';
import { fastifyApolloDrainPlugin, fastifyApolloHandler } from '@as-integrations/fastify';
import { logger, requestScope } from './logger.js';
import proxyAddr from '@fastify/proxy-addr';
import { config, type TrustProxy } from './config.js';
import { BadRequestError, BatchTooLargeError, errorBody, PayloadTooLargeError } from './errors.js';
import type { Registry } from 'prom-client';
import { createMetricsRegistry } from './metrics.js';
import { clusterMetricsReader } from './cluster.js';
import { serverSpans, stopTracing } from './tracing.js';

export type ReadinessCheck = () => Promise<unknown>;

export interface ServiceOptions {
  name: string;
  host: string;
  port: number;
  /** Named dependency checks behind /readyz; each throws when its dependency is unusable. */
  readiness: Record<string, ReadinessCheck>;
  /**
   * Named checks of parts the service works around (a marketplace connection without credentials
   * holds only its own pushes): one that throws is reported on /readyz as `degraded`, still 200,
   * since taking the service out of rotation would fix nothing and stop the rest of its work.
   */
  advisories?: Record<string, ReadinessCheck>;
  /** Releases the service's resources (database pools, Redis) after the HTTP server closed. */
  onClose?: () => Promise<void>;
  /** Registers the service's own metrics on its registry, served with the process metrics at /metrics. */
  metrics?: (registry: Registry) => void;
  /** The registry /metrics serves, when the service made it before starting (a subgraph hands it to its services); else a new one. */
  registry?: Registry;
  /** Largest request body in bytes (default MAX_BODY_BYTES); a larger one is answered 413 PAYLOAD_TOO_LARGE. */
  maxBodyBytes?: number;
  /** The bearer token /metrics asks for (default METRICS_TOKEN); without one it answers loopback callers only. */
  metricsToken?: string;
  /** Whose X-Forwarded-For names the caller's address (TRUST_PROXY); default: nobody's. */
  trustProxy?: TrustProxy;
}

/**
 * The caller's address of a raw request (a WebSocket upgrade, which Fastify does not see): its
 * socket's peer, or with TRUST_PROXY the nearest X-Forwarded-For hop not trusted, as Fastify's
 * request.ip is for HTTP.
 */
export function callerAddress(trust: TrustProxy = false): (req: IncomingMessage) => string {
  const trusted = trustedHops(trust);
  if (!trusted) return (req) => req.socket.remoteAddress ?? '';
  return (req) => proxyAddr(req, trusted);
}

/** TRUST_PROXY as the function Fastify and proxy-addr ask of each hop; null: trust none. */
function trustedHops(trust: TrustProxy): ((address: string, hop: number) => boolean) | null {
  if (trust === false) return null;
  return typeof trust === 'number' ? (_address, hop) => hop < trust : proxyAddr.compile(trust);
}

/**
 * Whether a caller may read /metrics (its figures name clients, operations and subgraphs): with a
 * token, whoever presents it, from anywhere; without one, callers on this host only. 401 or 403 when not.
 */
export function metricsRefusal(authorization: string | undefined, remoteAddress: string | undefined, token: string | undefined): 401 | 403 | null {
  if (token) {
    const presented = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    const a = Buffer.from(presented ?? '');
    const b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b) ? null : 401;
  }
  return isLoopback((remoteAddress ?? '').replace(/^::ffff:/, '')) ? null : 403;
}

/** Whether a host or address is reachable from this host only. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export interface HttpServiceOptions<C extends BaseContext> extends ServiceOptions {
  /** Builds the Apollo server; the plugins passed in (drain on shutdown) must be included. */
  apollo: (plugins: ApolloServerPlugin<C>[]) => ApolloServer<C>;
  context: (request: FastifyRequest) => Promise<C>;
  /**
   * Serves WebSockets (graphql-ws) on the same port and `/graphql` path as HTTP; returns how to
   * close them, which runs first on close (open sockets would otherwise hold the server open).
   */
  webSocket?: (server: HttpServer, path: string) => () => Promise<void>;
  /** Adds routes beside /graphql (the gateway's registry API); returns how to drain them, run on close after /graphql's. */
  routes?: (app: FastifyInstance) => Promise<() => Promise<void>>;
  /**
   * Most operations of a batched HTTP request (a JSON array; the Apollo server must allow batches): a
   * larger batch is answered 400 BATCH_TOO_LARGE before any of its operations runs. Unset: no check here.
   */
  maxBatchSize?: number;
}

export interface RunningService {
  name: string;
  url: string;
  port: number;
  app: FastifyInstance;
  metrics: Registry;
  close(): Promise<void>;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Accepts a caller's x-request-id when it is well-formed, so one id follows a request through every hop. */
export function requestIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value && REQUEST_ID.test(value) ? value : randomUUID();
}

/** The x-client-id a caller names itself with (until authentication provides identities), when well-formed. */
export function clientIdFrom(header: string | string[] | undefined): string | null {
  const value = Array.isArray(header) ? header[0] : header;
  return value && REQUEST_ID.test(value) ? value : null;
}

/**
 * Starts a GraphQL service over Fastify: /graphql, /healthz (alive), /readyz (dependencies and not
 * shutting down), /metrics (Prometheus), a request id on every log line, and a close() that drains
 * in-flight requests.
 */
export function startHttpService<C extends BaseContext>(opts: HttpServiceOptions<C>): Promise<RunningService> {
  return serve(opts, '/graphql', async (app) => {
    const apollo = opts.apollo([fastifyApolloDrainPlugin(app) as ApolloServerPlugin<C>]);
    await apollo.start();
    const closeWebSocket = opts.webSocket?.(app.server, '/graphql');
    const { maxBatchSize } = opts;
    // Server-sent events are not a transport we serve: say which one is, before Apollo's CSRF
    // check answers a peer gateway's SSE request with an unrelated message.
    app.addHook('onRequest', async (request, reply) => {
      if (request.url.split('?')[0] !== '/graphql' || !String(request.headers.accept ?? '').includes('text/event-stream')) return;
      return reply.code(400).type('application/json').send(errorBody(subscriptionTransportError(request.headers.host)));
    });
    app.route({
      url: '/graphql',
      method: ['GET', 'POST', 'OPTIONS'],
      // Before Apollo sees the batch: no operation of a refused batch runs.
      preHandler:
        maxBatchSize === undefined
          ? undefined
          : async (request: FastifyRequest, reply: FastifyReply) => {
              if (!Array.isArray(request.body) || request.body.length <= maxBatchSize) return;
              const size = request.body.length;
              const err = new BatchTooLargeError(`The batch has ${size} operations; the limit is ${maxBatchSize}: send fewer per request`, { size, limit: maxBatchSize });
              return reply.code(400).type('application/json').send(errorBody(err));
            },
      handler: fastifyApolloHandler(apollo, { context: (request) => opts.context(request) }),
    });
    const closeRoutes = await opts.routes?.(app);
    return async () => {
      await closeWebSocket?.();
      await apollo.stop();
      await closeRoutes?.();
    };
  });
}

/**
 * The answer to a subscription asked for over a transport we do not serve (HTTP multipart, SSE):
 * subscriptions are served over graphql-ws on the same path.
 */
export function subscriptionTransportError(host: string | undefined): BadRequestError {
  const url = `ws://${host ?? 'localhost'}/graphql`;
  return new BadRequestError(`Subscriptions are served over graphql-ws (the graphql-transport-ws WebSocket protocol) at ${url}; HTTP transports (multipart, server-sent events) are not supported`, {
    reason: 'SUBSCRIPTION_TRANSPORT_UNSUPPORTED',
    url,
  });
}

/** The most of an oversized body read and dropped before answering 413, and for how long. */
const DRAIN_MAX_BYTES = 64 * 1024 * 1024;
const DRAIN_MAX_MS = 5000;

/** Reads what is left of a request body and drops it, up to DRAIN_MAX_BYTES or DRAIN_MAX_MS. */
async function discardBody(raw: IncomingMessage): Promise<void> {
  if (raw.readableEnded || raw.destroyed) return;
  let read = 0;
  await Promise.race([
    new Promise<void>((resolve) => {
      raw.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > DRAIN_MAX_BYTES) resolve();
      });
      raw.once('end', resolve);
      raw.once('error', () => resolve());
      raw.resume();
    }),
    sleep(DRAIN_MAX_MS),
  ]);
}

/** How long closing sockets may take to answer the close frame before they are cut off. */
const CLOSE_GRACE_MS = 1000;

/**
 * Attaches a `ws` server to an HTTP server at `path`, hands it to `use` (graphql-ws's useServer),
 * and returns a close that ends every socket (1001 Going away) and the ws server.
 */
export function attachWebSocketServer(
  server: HttpServer,
  path: string,
  use: (wss: WebSocketServer) => { dispose(): void | Promise<void> },
  limits: { maxPayload?: number; maxPerAddress?: number; addressOf?: (req: IncomingMessage) => string } = {},
): () => Promise<void> {
  const addressOf = limits.addressOf ?? callerAddress();
  // ws would take 100 MiB frames, before any authentication: no more than an HTTP body.
  const maxPayload = limits.maxPayload ?? config().MAX_BODY_BYTES;
  const open = new Map<string, number>();
  const wss = new WebSocketServer({
    server,
    path,
    maxPayload,
    // Sockets per address, refused at the upgrade (HTTP 429) before a socket or any state exists.
    verifyClient: limits.maxPerAddress
      ? (info, done) => {
          const address = addressOf(info.req);
          if ((open.get(address) ?? 0) >= limits.maxPerAddress!) return done(false, 429, `Too many WebSocket connections from ${address}`);
          done(true);
        }
      : undefined,
  });
  if (limits.maxPerAddress) {
    wss.on('connection', (socket, req) => {
      const address = addressOf(req);
      open.set(address, (open.get(address) ?? 0) + 1);
      socket.once('close', () => {
        const n = (open.get(address) ?? 1) - 1;
        if (n > 0) open.set(address, n);
        else open.delete(address);
      });
    });
  }
  const disposable = use(wss);
  let closing: Promise<void> | undefined;
  return () =>
    (closing ??= (async () => {
      const sockets = [...wss.clients];
      await disposable.dispose();
      // dispose() sent each socket its close frame; give them a moment to flush before cutting off
      // the ones whose client does not answer.
      await Promise.race([
        Promise.all(sockets.map((socket) => (socket.readyState === socket.CLOSED ? undefined : new Promise((resolve) => socket.once('close', resolve))))),
        sleep(CLOSE_GRACE_MS),
      ]);
      for (const socket of wss.clients) socket.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    })());
}

/**
 * Starts a service without a GraphQL API of its own (the jobs process): /healthz and /readyz, and
 * the plain HTTP routes `routes` adds (marketplace webhooks); its url is /healthz.
 */
export function startHealthService(opts: ServiceOptions & { routes?: (app: FastifyInstance) => Promise<void> }): Promise<RunningService> {
  return serve(opts, '/healthz', async (app) => {
    if (opts.routes) await app.register(opts.routes);
    return async () => {};
  });
}

/**
 * Request bodies as JSON. Fastify's own parser (secure-json-parse) scans every body with two
 * regular expressions after JSON.parse, refusing keys that would poison a prototype: 2-3 % of a
 * gateway's or subgraph's CPU on the storefront. A body that contains neither `__proto__` nor
 * `constructor` nor any `\u` escape (the only other way to spell them) cannot hold such a key, and
 * needs JSON.parse alone. Every other body, and every body JSON.parse refuses, goes to Fastify's
 * own parser: the same refusals, with the same errors.
 */
function jsonBodies(app: FastifyInstance): void {
  const secure = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    if (text.length === 0 || text.charCodeAt(0) === 0xfeff || text.includes('\\u') || text.includes('__proto__') || text.includes('constructor')) {
      return secure(request, text, done);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return secure(request, text, done);
    }
    done(null, parsed);
  });
}

/**
 * The Fastify server every service runs: request ids, /healthz, /readyz, then whatever `mount` adds;
 * `mount` returns how to drain what it added, run on close before the server closes.
 */
async function serve(
  opts: ServiceOptions,
  path: string,
  mount: (app: FastifyInstance) => Promise<() => Promise<void>>,
): Promise<RunningService> {
  const log = logger();
  const app = Fastify({
    // Fastify's own per-request lines are noise at our volume; it still logs its errors.
    loggerInstance: log.child({}, { level: 'warn' }) as FastifyBaseLogger,
    requestIdHeader: false,
    genReqId: (req) => requestIdFrom(req.headers['x-request-id']),
    bodyLimit: opts.maxBodyBytes ?? config().MAX_BODY_BYTES,
    forceCloseConnections: 'idle',
    trustProxy: trustedHops(opts.trustProxy ?? false) ?? false,
  });
  let shuttingDown = false;
  jsonBodies(app);

  // First: the hooks below and the request itself run inside the request's server span (when tracing is on).
  serverSpans(app, opts.name);
  app.addHook('onRequest', (req, reply, done) => {
    reply.header('x-request-id', req.id);
    requestScope.run({ requestId: req.id }, done);
  });
  // A request still being answered when the service starts closing gets its answer with
  // `Connection: close`: its keep-alive connection would otherwise hold close() until the idle
  // timeout (Fastify closes only the connections idle when close() starts).
  app.addHook('onSend', (_req, reply, _payload, done) => {
    if (shuttingDown) reply.header('connection', 'close');
    done();
  });
  app.addHook('onResponse', (req, reply, done) => {
    log.debug({ server: opts.name, method: req.method, url: req.url, status: reply.statusCode, ms: reply.elapsedTime }, 'request');
    done();
  });

  // Refusals Fastify makes before GraphQL sees the request answer as GraphQL clients expect:
  // { errors: [{ message, extensions: { code } }] }, never Fastify's own body.
  app.setErrorHandler(async (error, request, reply) => {
    const { code, statusCode } = error as { code?: string; statusCode?: number };
    if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      const limit = app.initialConfig.bodyLimit!;
      // Read (and drop) the rest of the body first, within bounds: a client still sending when the
      // answer comes and the socket closes sees EPIPE instead of the 413 (Node's fetch does).
      await discardBody(request.raw);
      const err = new PayloadTooLargeError(`The request body is larger than the limit of ${limit} bytes`, { limitBytes: limit });
      return reply.code(413).type('application/json').send(errorBody(err));
    }
    if (statusCode && statusCode >= 400 && statusCode < 500) {
      const message = code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? `Unsupported content type: send application/json` : `The request body is not valid JSON: ${(error as Error).message}`;
      return reply.code(statusCode).type('application/json').send(errorBody(new BadRequestError(message)));
    }
    throw error; // Fastify's default handler: a 500, logged
  });

  app.get('/healthz', async () => ({ status: 'ok', service: opts.name }));
  const metrics = opts.registry ?? createMetricsRegistry(opts.name);
  opts.metrics?.(metrics);
  // In a cluster worker (GATEWAY_WORKERS), every worker's metrics summed by the cluster's primary.
  const clusterMetrics = clusterMetricsReader(metrics);
  const metricsToken = opts.metricsToken ?? config().METRICS_TOKEN;
  app.get('/metrics', async (req, reply) => {
    const refusal = metricsRefusal(req.headers.authorization, req.socket.remoteAddress, metricsToken);
    if (refusal === 401) return reply.code(401).header('www-authenticate', 'Bearer realm="metrics"').send({ error: 'METRICS_TOKEN required: send "Authorization: Bearer <token>"' });
    if (refusal === 403) return reply.code(403).send({ error: '/metrics answers callers on this host only; set METRICS_TOKEN to scrape it from elsewhere' });
    return reply.type(metrics.contentType).send(await (clusterMetrics ?? (() => metrics.metrics()))());
  });
  app.get('/readyz', async (_req, reply) => {
    if (shuttingDown) return reply.code(503).send({ status: 'shutting-down', service: opts.name });
    const checks: Record<string, string> = {};
    let ok = true;
    let degraded = false;
    const run = (entries: Record<string, ReadinessCheck>, onFailure: () => void) =>
      Promise.all(
        Object.entries(entries).map(async ([name, check]) => {
          try {
            await check();
            checks[name] = 'ok';
          } catch (err) {
            onFailure();
            checks[name] = (err as Error).message;
          }
        }),
      );
    await Promise.all([run(opts.readiness, () => (ok = false)), run(opts.advisories ?? {}, () => (degraded = true))]);
    const status = !ok ? 'not-ready' : degraded ? 'degraded' : 'ready';
    return reply.code(ok ? 200 : 503).send({ status, service: opts.name, checks });
  });

  const drain = await mount(app);

  await app.listen({ host: opts.host, port: opts.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const host = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  const url = `http://${host}:${port}${path}`;
  log.info({ url }, `${opts.name} listening`);

  let closing: Promise<void> | undefined;
  return {
    name: opts.name,
    url,
    port,
    app,
    metrics,
    close() {
      closing ??= (async () => {
        shuttingDown = true;
        await drain();
        await app.close();
        await opts.onClose?.();
      })();
      return closing;
    },
  };
}

/**
 * Wires SIGTERM and SIGINT to a graceful close; a close that takes longer than
 * SHUTDOWN_TIMEOUT_MS ends the process anyway.
 */
export function closeOnSignals(close: () => Promise<void>): void {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    logger().info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger().error('shutdown timed out; exiting');
      process.exit(1);
    }, config().SHUTDOWN_TIMEOUT_MS);
    timer.unref();
    // The spans still buffered go out before the process ends (a no-op when tracing is off).
    close().then(
      () => stopTracing().then(() => process.exit(0)),
      (err) => {
        logger().error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
