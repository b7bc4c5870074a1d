import { mountSalesImport } from './sales-import.js';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloGateway, type SupergraphSdlHook } from '@apollo/gateway';
import { Counter, Gauge, type Registry } from 'prom-client';
import { config, introspectionMode, SUBGRAPH_NAMES, type IntrospectionMode, type TrustProxy } from '../lib/config.js';
import { formatError } from '../lib/errors.js';
import { tracingEnabled } from '../lib/tracing.js';
import { logger, requestScope } from '../lib/logger.js';
import { callerAddress, clientIdFrom, isLoopback, startHttpService, type HttpServiceOptions, type RunningService } from '../lib/server.js';
import { CompiledPlanExecution } from './plan-execution.js';
import { CompiledResultShaping } from './result-shaping.js';
import { SingleFetchQueries } from './single-fetch.js';
import { SubscriptionHub } from './subscriptions/hub.js';
import { SubscriptionPlanner } from './subscriptions/planner-adapter.js';
import { admitAll, serveGatewayWebSocket, type ConnectionAuth, type ConnectionAuthenticator, type OperationUsage } from './subscriptions/server.js';
import { UpstreamPool } from './subscriptions/upstream.js';
import { AuthGuard, AuthLockouts, type GatewayAuth } from './auth/index.js';
import { isIdentity } from './auth/authenticator.js';
import { ContractGate } from './auth/contract-gate.js';
import type { Caller } from '../contracts/identity.js';
import { servableSupergraph, servableSupergraphHook, type ContractSchemas } from '../contracts/supergraph.js';
import { GatewayLimits, limitSettings, RateLimiter, rateKey, type LimitSettings } from './limits/limits.js';
import { createRedis, redisTarget } from '../lib/redis.js';
import { SERVICE_KEYS_PATH, serviceAuth, type ServiceAuth } from '../lib/service-token.js';
import type { TrustedDocuments } from './trusted-documents.js';
import { GatewayMetrics } from './metrics.js';
import { mountOps, opsSettings, type OpsSettings } from './ops/index.js';
import { SubgraphDataSource } from './subgraph-data-source.js';
import { stringifyResult, SubgraphTransport } from './subgraph-transport.js';
import { gatewaySharingKey, SharedExecutionGateway } from './inflight.js';

export interface GatewayContext {
  requestId: string;
  /**
   * The client: the identity's when authenticated; null for an anonymous caller (its x-client-id
   * chooses nothing); under AUTH_MODE=off, the x-client-id it names itself with.
   */
  clientId: string | null;
  /** Who is calling; null when AUTH_MODE=off. */
  caller: Caller | null;
  /** The caller's address (X-Forwarded-For under TRUST_PROXY): the rate-limit budget of anonymous requests. */
  remoteAddress?: string | null;
  /** A batched HTTP request: its operations were counted against the rate limit at once. */
  rateCharged?: boolean;
}

export interface GatewayOptions {
  /** The supergraph, or a hook that supplies it and may replace it later (hot reload). */
  supergraphSdl: string | SupergraphSdlHook;
  /** Routing URLs that replace the supergraph's own, by subgraph name (tests, containers). */
  urlOverrides?: Partial<Record<string, string>>;
  host: string;
  port: number;
  /** graphql-ws URLs of the subgraphs that serve subscriptions, by subgraph name. */
  subscriptionUrls?: Partial<Record<string, string>>;
  /** Subscription limits and upstream settings; the configuration's when omitted. */
  subscriptions?: Partial<SubscriptionSettings>;
  /** Authentication and field-level authorization; `off` (everyone may do everything) when omitted. */
  auth?: GatewayAuth;
  /** Admits (or refuses) a WebSocket connection from its connection_init payload; by default, `auth`'s credentials check. */
  authenticate?: ConnectionAuthenticator;
  /** More Apollo Server plugins (the registry's supergraph version header and usage recording). */
  plugins?: ApolloServerPlugin<GatewayContext>[];
  /** Records the fields each client's graphql-ws subscriptions use (the registry's usage recorder; Apollo's plugins never see them). */
  usage?: OperationUsage;
  /** More routes on the gateway's HTTP server (the registry API). */
  routes?: HttpServiceOptions<GatewayContext>['routes'];
  /** Rate, cost and depth limits; the configuration's when omitted. */
  limits?: Partial<LimitSettings>;
  /** Trusted documents from the registry: resolves document ids and refuses unregistered operations of ENFORCE clients. */
  trustedDocuments?: TrustedDocuments;
  /** Bound of one subgraph fetch; SUBGRAPH_TIMEOUT_MS when omitted. */
  subgraphTimeoutMs?: number;
  /** Identical queries (and subgraph fetches of queries) in flight at once run once; GATEWAY_SHARE_INFLIGHT when omitted. */
  shareInflight?: boolean;
  /** Single-fetch queries answered straight from their fetch; GATEWAY_DIRECT_FETCH when omitted. */
  directFetch?: boolean;
  /** How long concurrent queries' entity fetches wait to merge; GATEWAY_BATCH_WINDOW_MS when omitted. */
  batchWindowMs?: number;
  /** Most operations of a batched HTTP request (MAX_BATCH_SIZE when omitted). */
  maxBatchSize?: number;
  /** Who may introspect (INTROSPECTION's mode when omitted). */
  introspection?: IntrospectionMode;
  /** The contracts' API schemas of the served supergraph (the registry's); without them a caller on a contract is refused. */
  contracts?: ContractSchemas;
  /** The ops page's Redis, key prefix and refresh interval; the configuration's when omitted. */
  ops?: Partial<OpsSettings>;
  /** Largest request body (HTTP) and WebSocket frame; MAX_BODY_BYTES when omitted. */
  maxBodyBytes?: number;
  /** The bearer token /metrics asks for; METRICS_TOKEN when omitted. */
  metricsToken?: string;
  /** Failed authentications per caller address and minute (0: not counted); AUTH_FAILURES_PER_MINUTE when omitted. */
  authFailuresPerMinute?: number;
  /** Whose X-Forwarded-For names the caller's address; TRUST_PROXY when omitted. */
  trustProxy?: TrustProxy;
}

export interface SubscriptionSettings {
  queueSize: number;
  maxPerConnection: number;
  maxPerNode: number;
  keepAliveMs: number;
  retryMaxMs: number;
  clientKeepAliveMs: number;
  /** Open WebSocket connections per client address. */
  connectionsPerAddress: number;
  /** How often an open socket's credentials are checked again (with authentication). */
  authRecheckMs: number;
}

function subscriptionDefaults(): SubscriptionSettings {
  const cfg = config();
  return {
    queueSize: cfg.SUBSCRIPTION_QUEUE_SIZE,
    maxPerConnection: cfg.SUBSCRIPTIONS_PER_CONNECTION,
    maxPerNode: cfg.SUBSCRIPTIONS_PER_NODE,
    keepAliveMs: cfg.SUBSCRIPTION_KEEPALIVE_MS,
    retryMaxMs: cfg.SUBSCRIPTION_RETRY_MAX_MS,
    clientKeepAliveMs: cfg.SUBSCRIPTION_CLIENT_KEEPALIVE_MS,
    connectionsPerAddress: cfg.WS_CONNECTIONS_PER_ADDRESS,
    authRecheckMs: cfg.WS_AUTH_RECHECK_MS,
  };
}

function createGateway(
  opts: Pick<GatewayOptions, 'supergraphSdl' | 'urlOverrides'> & { shareInflight: boolean; batchWindowMs: number },
  metrics: GatewayMetrics,
  transport: SubgraphTransport,
  tokens: ServiceAuth | null,
  direct: SingleFetchQueries | null,
): ApolloGateway {
  // Unless this is set, @apollo/gateway exports usage metrics to Apollo and probes the AWS, GCP and
  // Azure metadata endpoints (169.254.169.254) from every gateway: ours talk only to their subgraphs.
  process.env.APOLLO_TELEMETRY_DISABLED = 'true';
  return new ApolloGateway({
    // Our own gateway enforces @authenticated/@requiresScopes (gateway/auth), so it may serve supergraphs linking them.
    supergraphSdl: typeof opts.supergraphSdl === 'string' ? servableSupergraph(opts.supergraphSdl) : servableSupergraphHook(opts.supergraphSdl),
    ...(direct ? { experimental_didResolveQueryPlan: direct.observe } : {}),
    buildService: ({ name, url }) => {
      const target = opts.urlOverrides?.[name] ?? url;
      if (!target) throw new Error(`the supergraph names no routing URL for subgraph ${name}`);
      const own = (SUBGRAPH_NAMES as readonly string[]).includes(name);
      return new SubgraphDataSource<GatewayContext>(name, target, transport, metrics, opts.shareInflight, opts.batchWindowMs, tokens?.signer('gateway') ?? null, own);
    },
  });
}

/**
 * The client a request speaks for: an authenticated identity's; none for an anonymous caller under
 * AUTH_MODE=enforce (an x-client-id it sends chooses no rate bucket, cost limit, trusted-document
 * policy or actor); under AUTH_MODE=off, the x-client-id it names itself with (nothing is guarded).
 */
function clientOf(guard: AuthGuard, caller: Caller | null, named: string | null): string | null {
  if (isIdentity(caller)) return caller.clientId;
  return guard.enforced ? null : named;
}

/** connection_init → the caller; subscribers share upstream subscriptions only with callers of the same scopes. */
function guardAuthenticator(guard: AuthGuard): ConnectionAuthenticator {
  return async (params, address) => {
    const result = await guard.callerFromParams(params, address);
    if (!result.ok) return result;
    const caller = result.caller;
    const header = admitAll(params) as Extract<ConnectionAuth, { ok: true }>;
    return {
      ok: true,
      scope: caller ? `scopes:${[...caller.scopes].sort().join(' ')}` : header.scope,
      clientId: clientOf(guard, caller, header.clientId),
      caller,
    };
  };
}

function subscriptionMetrics(registry: Registry, hub: SubscriptionHub): void {
  const registers = [registry];
  new Gauge({ name: 'omnistock_subscriptions_active', help: 'Subscribers on this gateway', registers, collect() { this.set(hub.subscribers); } });
  new Gauge({ name: 'omnistock_subscription_groups', help: 'Upstream subscriptions shared by subscribers with one document, variables and scope', registers, collect() { this.set(hub.groupCount); } });
  new Counter({ name: 'omnistock_subscription_rest_executions_total', help: 'Entity-fetch executions of subscription plans (one per sharing group and event)', registers, collect() { this.reset(); this.inc(hub.restExecutions); } });
  new Counter({ name: 'omnistock_subscription_deliveries_total', help: 'Subscription events sent to clients (one per subscriber and event)', registers, collect() { this.reset(); this.inc(hub.deliveries); } });
}

function sharingMetrics(registry: Registry, executions: SharedExecutionGateway, transport: SubgraphTransport, direct: SingleFetchQueries | null): void {
  const registers = [registry];
  new Counter({ name: 'omnistock_gateway_direct_fetches_total', help: 'Queries answered straight from their single subgraph fetch (GATEWAY_DIRECT_FETCH)', registers, collect() { this.reset(); this.inc(direct?.direct ?? 0); } });
  new Counter({ name: 'omnistock_gateway_shared_executions_total', help: 'Queries answered by an identical query already executing (GATEWAY_SHARE_INFLIGHT)', registers, collect() { this.reset(); this.inc(executions.shared); } });
  new Counter({ name: 'omnistock_gateway_shared_subgraph_fetches_total', help: 'Subgraph fetches answered by an identical fetch already in flight (GATEWAY_SHARE_INFLIGHT)', registers, collect() { this.reset(); this.inc(transport.shared); } });
}

/**
 * Serves the supergraph at /graphql (HTTP, and graphql-ws for subscriptions, queries and mutations)
 * with health endpoints and graceful shutdown.
 */
export async function startGateway(opts: GatewayOptions): Promise<RunningService & { gateway: ApolloGateway; subscriptions: SubscriptionHub }> {
  if (opts.auth?.mode !== 'enforce' && !isLoopback(opts.host)) {
    throw new Error(
      `AUTH_MODE=off lets every caller call every field, mutations included: the gateway then listens on loopback only, not on ${opts.host} (set HOST=127.0.0.1, or AUTH_MODE=enforce)`,
    );
  }
  const gatewayMetrics = new GatewayMetrics();
  const shareInflight = opts.shareInflight ?? config().GATEWAY_SHARE_INFLIGHT;
  const transport = new SubgraphTransport({ timeoutMs: opts.subgraphTimeoutMs ?? config().SUBGRAPH_TIMEOUT_MS });
  // Every subgraph fetch carries a token the gateway signs (SERVICE_AUTH): subgraphs answer no one else.
  const tokens = serviceAuth(config());
  const direct = (opts.directFetch ?? config().GATEWAY_DIRECT_FETCH) ? new SingleFetchQueries() : null;
  const gateway = createGateway({ ...opts, shareInflight, batchWindowMs: opts.batchWindowMs ?? config().GATEWAY_BATCH_WINDOW_MS }, gatewayMetrics, transport, tokens, direct);
  if (direct) gateway.onSchemaLoadOrUpdate(direct.onSchema);
  const shaping = CompiledResultShaping.install();
  CompiledPlanExecution.install(tracingEnabled);
  const executions = new SharedExecutionGateway(gateway, shareInflight ? gatewaySharingKey : () => null, (executor) => {
    const shaped = shaping.wrap(executor);
    return direct ? direct.wrap(shaped) : shaped;
  });
  const settings = { ...subscriptionDefaults(), ...opts.subscriptions };
  const log = logger().child({ component: 'subscriptions' });
  const upstreamSettings = { keepAliveMs: settings.keepAliveMs, retryMaxMs: settings.retryMaxMs, log };
  const hub = new SubscriptionHub(new SubscriptionPlanner(gateway), new UpstreamPool(upstreamSettings, tokens?.signer('gateway') ?? null), {
    ...upstreamSettings,
    queueSize: settings.queueSize,
    maxSubscriptions: settings.maxPerNode,
    subscriptionUrls: opts.subscriptionUrls ?? {},
  }, log);
  const limitOpts = { ...limitSettings(config()), ...opts.limits };
  const authFailures = opts.authFailuresPerMinute ?? config().AUTH_FAILURES_PER_MINUTE;
  const trustProxy = opts.trustProxy ?? config().TRUST_PROXY;
  const rateRedis = limitOpts.perMinute > 0 || authFailures > 0 || Object.values(limitOpts.perClient).some((n) => n > 0)
    ? createRedis(redisTarget(config()), { maxRetriesPerRequest: 1 })
    : null;
  // Failures are counted one by one (no lease): each may be the one that locks its address out.
  const lockouts = rateRedis && authFailures > 0
    ? new AuthLockouts(
        new RateLimiter(rateRedis, { ...limitOpts, perMinute: authFailures, perClient: {}, leaseMs: 0 }, logger().child({ component: 'auth' })),
        rateRedis,
        redisTarget(config()),
        limitOpts.keyPrefix,
        logger().child({ component: 'auth' }),
      )
    : null;
  const guard = new AuthGuard(opts.auth ?? { mode: 'off' }, logger().child({ component: 'auth' }), opts.introspection ?? introspectionMode(config()), lockouts, new ContractGate(opts.contracts));
  const limits = new GatewayLimits(limitOpts, rateRedis ? new RateLimiter(rateRedis, limitOpts, logger().child({ component: 'limits' })) : null, rateRedis);
  // Registered before the gateway loads, so the first supergraph's policy is in place before any request.
  gateway.onSchemaLoadOrUpdate(({ coreSupergraphSdl }) => guard.updateSupergraph(coreSupergraphSdl));
  if (guard.enforced) {
    logger().info({ authMode: 'enforce' }, 'authentication enforced: API keys and JWTs, @authenticated/@requiresScopes checked at the gateway');
  } else {
    // A warning where it matters; development and test stacks start with it on purpose.
    const level = config().NODE_ENV === 'production' ? 'warn' : 'info';
    logger()[level]({ authMode: 'off' }, 'AUTH_MODE=off: every request may run every operation; production must set AUTH_MODE=enforce');
  }
  let apollo: ApolloServer<GatewayContext> | undefined;
  /** The service's metrics registry, which the ops page reads refusals from once the service runs. */
  let metricsRegistry: Registry | undefined;
  const service = await startHttpService<GatewayContext>({
    name: 'gateway',
    host: opts.host,
    port: opts.port,
    maxBodyBytes: opts.maxBodyBytes,
    metricsToken: opts.metricsToken,
    trustProxy,
    apollo: (plugins) =>
      (apollo = new ApolloServer<GatewayContext>({
        gateway: executions,
        plugins: [...plugins, gatewayMetrics.plugin<GatewayContext>(), guard.plugin<GatewayContext>(), limits.plugin<GatewayContext>(), ...(opts.plugins ?? [])],
        formatError,
        stringifyResult,
        // The parser stops past MAX_QUERY_TOKENS: a huge document costs no validation or planning.
        parseOptions: { maxTokens: limitOpts.maxTokens },
        includeStacktraceInErrorResponses: false,
        // closeOnSignals owns SIGTERM/SIGINT: a second handler would stop Apollo before Fastify drains.
        stopOnTerminationSignals: false,
        // Who may introspect is decided per caller by the guard (INTROSPECTION), so Apollo's own switch stays on.
        introspection: true,
        // Each operation of a batch gets its own plugins' checks (auth, introspection, cost); MAX_BATCH_SIZE is checked before.
        allowBatchedHttpRequests: true,
      })),
    context: async (request) => {
      const caller = await guard.callerFromHeaders(request.headers, request.ip);
      const clientId = clientOf(guard, caller, clientIdFrom(request.headers['x-client-id']));
      // From here on the request's log lines name its client (and its operation once resolved: GatewayMetrics.plugin).
      const scope = requestScope.getStore();
      if (scope) scope.client = clientId;
      // Before anything else runs on it: an operation an ENFORCE client has not registered is refused unparsed.
      const untrusted = opts.trustedDocuments?.admitHttp(request, clientId);
      if (untrusted) throw untrusted;
      // A batch counts as its operations against the rate limit, all or none, before any of them runs.
      const rateCharged = Array.isArray(request.body);
      if (rateCharged) {
        const refusal = await limits.rateRefusal(rateKey({ clientId, remoteAddress: request.ip }), (request.body as unknown[]).length);
        if (refusal) throw refusal;
      }
      return {
        requestId: request.id,
        clientId,
        caller,
        remoteAddress: request.ip,
        rateCharged,
      };
    },
    webSocket: (server, path) => {
      const closeSockets = serveGatewayWebSocket(server, path, {
        hub,
        apollo: apollo!,
        authenticate: opts.authenticate ?? guardAuthenticator(guard),
        guard,
        limits,
        trustedDocuments: opts.trustedDocuments,
        metrics: gatewayMetrics,
        usage: opts.usage,
        maxPerConnection: settings.maxPerConnection,
        clientKeepAliveMs: settings.clientKeepAliveMs,
        maxPayload: opts.maxBodyBytes ?? config().MAX_BODY_BYTES,
        maxPerAddress: settings.connectionsPerAddress,
        addressOf: callerAddress(trustProxy),
        recheckMs: guard.enforced ? settings.authRecheckMs : undefined,
      });
      return async () => {
        // Sockets first, with 1001 Going away: a client told so reconnects and resumes with `since`.
        // Ending the hub's subscriptions first would send each one `complete`, which means "over".
        await closeSockets();
        await hub.close();
      };
    },
    maxBatchSize: opts.maxBatchSize ?? config().MAX_BATCH_SIZE,
    readiness: {
      supergraph: async () => {
        if (!gateway.schema) throw new Error('no supergraph loaded');
      },
    },
    metrics: (registry) => {
      subscriptionMetrics(registry, hub);
      gatewayMetrics.register(registry);
      sharingMetrics(registry, executions, transport, direct);
    },
    // The ops page beside the caller's routes (the registry API).
    routes: async (app) => {
      gatewayMetrics.countRefusedRequests(app);
      opts.trustedDocuments?.mount(app);
      // The public halves of the service token keys: a partner's subgraph checks the gateway's tokens with them.
      if (tokens) app.get(SERVICE_KEYS_PATH, async (_request, reply) => reply.header('cache-control', 'public, max-age=300').send(tokens.keys.publicKeys));
      mountSalesImport(app, { maxBytes: config().SALES_IMPORT_MAX_BYTES });
      const closeOps = mountOps(app, { settings: { ...opsSettings(config()), ...opts.ops }, guard, apollo: () => apollo!, metrics: () => metricsRegistry });
      const closeRoutes = await opts.routes?.(app);
      return async () => {
        await closeOps();
        await closeRoutes?.();
      };
    },
  });
  metricsRegistry = service.metrics;
  // Until it has heard the lockouts' channel long enough, every check asks Redis.
  lockouts?.listen();
  let closing: Promise<void> | undefined;
  return {
    ...service,
    gateway,
    subscriptions: hub,
    /** Idempotent: a second call (a test's clean-up after a shutdown it triggered) waits for the first. */
    close() {
      closing ??= (async () => {
        await service.close();
        await lockouts?.close();
        await limits.close();
        await transport.close();
      })();
      return closing;
    },
  };
}
