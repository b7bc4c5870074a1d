import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloGateway, RemoteGraphQLDataSource, type SupergraphSdlHook } from '@apollo/gateway';
import type { Fetcher } from '@apollo/utils.fetcher';
import { Counter, Gauge, type Registry } from 'prom-client';
import { config } from '../lib/config.js';
import { formatError } from '../lib/errors.js';
import { logger } from '../lib/logger.js';
import { clientIdFrom, startHttpService, type HttpServiceOptions, type RunningService } from '../lib/server.js';
import { SubscriptionHub } from './subscriptions/hub.js';
import { SubscriptionPlanner } from './subscriptions/planner-adapter.js';
import { admitAll, serveGatewayWebSocket, type ConnectionAuthenticator } from './subscriptions/server.js';
import { UpstreamPool } from './subscriptions/upstream.js';

export interface GatewayContext {
  requestId: string;
  clientId: string | null;
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
  /** Admits (or refuses) a WebSocket connection from its connection_init payload. */
  authenticate?: ConnectionAuthenticator;
  /** More Apollo Server plugins (the registry's supergraph version header and usage recording). */
  plugins?: ApolloServerPlugin<GatewayContext>[];
  /** More routes on the gateway's HTTP server (the registry API). */
  routes?: HttpServiceOptions<GatewayContext>['routes'];
}

export interface SubscriptionSettings {
  queueSize: number;
  maxPerConnection: number;
  maxPerNode: number;
  keepAliveMs: number;
  retryMaxMs: number;
  clientKeepAliveMs: number;
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
  };
}

/** Forwards the request id (one id ties the logs of all hops together) and the client id to every subgraph fetch. */
class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  override willSendRequest({
    request,
    context,
  }: Parameters<NonNullable<RemoteGraphQLDataSource<GatewayContext>['willSendRequest']>>[0]): void {
    if (context.requestId) request.http?.headers.set('x-request-id', context.requestId);
    if (context.clientId) request.http?.headers.set('x-client-id', context.clientId);
  }
}

export function createGateway(opts: Pick<GatewayOptions, 'supergraphSdl' | 'urlOverrides'>): ApolloGateway {
  // Unless this is set, @apollo/gateway exports usage metrics to Apollo and probes the AWS, GCP and
  // Azure metadata endpoints (169.254.169.254) from every gateway: ours talk only to their subgraphs.
  process.env.APOLLO_TELEMETRY_DISABLED = 'true';
  return new ApolloGateway({
    supergraphSdl: opts.supergraphSdl,
    buildService: ({ name, url }) =>
      new SubgraphDataSource({
        url: opts.urlOverrides?.[name] ?? url,
        // Node's fetch (undici) keeps connections to subgraphs alive and pooled.
        fetcher: fetch as unknown as Fetcher,
      }),
  });
}

function subscriptionMetrics(registry: Registry, hub: SubscriptionHub): void {
  const registers = [registry];
  new Gauge({ name: 'omnistock_subscriptions_active', help: 'Subscribers on this gateway', registers, collect() { this.set(hub.subscribers); } });
  new Gauge({ name: 'omnistock_subscription_groups', help: 'Upstream subscriptions shared by subscribers with one document, variables and scope', registers, collect() { this.set(hub.groupCount); } });
  new Counter({ name: 'omnistock_subscription_rest_executions_total', help: 'Entity-fetch executions of subscription plans (one per sharing group and event)', registers, collect() { this.reset(); this.inc(hub.restExecutions); } });
}

/**
 * Serves the supergraph at /graphql (HTTP, and graphql-ws for subscriptions, queries and mutations)
 * with health endpoints and graceful shutdown.
 */
export async function startGateway(opts: GatewayOptions): Promise<RunningService & { gateway: ApolloGateway; subscriptions: SubscriptionHub }> {
  const gateway = createGateway(opts);
  const settings = { ...subscriptionDefaults(), ...opts.subscriptions };
  const log = logger().child({ component: 'subscriptions' });
  const upstreamSettings = { keepAliveMs: settings.keepAliveMs, retryMaxMs: settings.retryMaxMs, log };
  const hub = new SubscriptionHub(new SubscriptionPlanner(gateway), new UpstreamPool(upstreamSettings), {
    ...upstreamSettings,
    queueSize: settings.queueSize,
    maxSubscriptions: settings.maxPerNode,
    subscriptionUrls: opts.subscriptionUrls ?? {},
  }, log);
  let apollo: ApolloServer<GatewayContext> | undefined;
  const service = await startHttpService<GatewayContext>({
    name: 'gateway',
    host: opts.host,
    port: opts.port,
    apollo: (plugins) =>
      (apollo = new ApolloServer<GatewayContext>({
        gateway,
        plugins: [...plugins, ...(opts.plugins ?? [])],
        formatError,
        includeStacktraceInErrorResponses: false,
        // closeOnSignals owns SIGTERM/SIGINT: a second handler would stop Apollo before Fastify drains.
        stopOnTerminationSignals: false,
        introspection: true,
      })),
    context: async (request) => ({ requestId: request.id, clientId: clientIdFrom(request.headers['x-client-id']) }),
    webSocket: (server, path) => {
      const closeSockets = serveGatewayWebSocket(server, path, {
        hub,
        apollo: apollo!,
        authenticate: opts.authenticate ?? admitAll,
        maxPerConnection: settings.maxPerConnection,
        clientKeepAliveMs: settings.clientKeepAliveMs,
      });
      return async () => {
        await hub.close();
        await closeSockets();
      };
    },
    readiness: {
      supergraph: async () => {
        if (!gateway.schema) throw new Error('no supergraph loaded');
      },
    },
    metrics: (registry) => subscriptionMetrics(registry, hub),
    routes: opts.routes,
  });
  return { ...service, gateway, subscriptions: hub };
}
