import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { jitExecutor, stringifyResult, type PreparedAnswers } from './jit-executor.js';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import {
  createSourceEventStream,
  execute,
  GraphQLError,
  parse,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { ServiceGuard } from './service-guard.js';
import { SERVICE_TOKEN_HEADER, type ServiceClaims } from './service-token.js';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { config, databaseName, subgraphPort, type Config, type SubgraphName } from './config.js';
import { openDatabase, type DataSourceSpec } from './db.js';
import { eventKeys } from './event-stream.js';
import { nudgeRelayOnCommit } from './outbox.js';
import { createRedis, redisTarget, type RedisClient } from './redis.js';
import { createReadRouter, primaryReads, type ReadRouter, type Reads } from './read-replicas.js';
import { formatError, refusalError } from './errors.js';
import { logger, requestScope, setServiceName } from './logger.js';
import { createMetricsRegistry } from './metrics.js';
import { startTracing, tracingSettings } from './tracing.js';
import { attachWebSocketServer, clientIdFrom, closeOnSignals, isLoopback, startHttpService, subscriptionTransportError, type RunningService } from './server.js';
import { ANSWER_KIND_HEADER, DATA_ONLY } from './subgraph-answers.js';

/** What every subgraph request context carries before the subgraph adds its services and loaders. */
export interface BaseContext {
  requestId: string;
  log: Logger;
  /** The calling client application, recorded as the actor of what it writes; null when unnamed. */
  clientId: string | null;
  /** What the request's service token says (who signed it, for which client, with which scopes); null under SERVICE_AUTH=off. */
  caller: ServiceClaims | null;
  /**
   * Where this request's read-only queries run: a read replica that includes what this caller wrote
   * (lib/read-replicas.ts), else the primary; always the primary without MYSQL_REPLICA_URLS.
   */
  reads: Reads;
  /**
   * Subscriptions only: the last event sequence the subscriber (the gateway, re-opening a
   * subscription after losing its connection) already has; a resumable subscription replays
   * what came after it. Sent as `extensions.since` of the graphql-ws subscribe message.
   */
  resumeFrom?: string;
}

/** What a subgraph's process-wide parts (built once in createContext) may need beyond the database. */
export interface SubgraphRuntime {
  cfg: Config;
  /** Registers a release to run when the subgraph closes (after its servers stopped). */
  onClose(release: () => Promise<void>): void;
  /** The subgraph's Prometheus registry, served at its /metrics: its services register their metrics here. */
  metrics: Registry;
}

/**
 * Key of the metadata a subscription event may carry beside its root field: it becomes the
 * result's `extensions` on the wire. `sequence` is the event's position in its stream (the gateway
 * resumes from the last one it received), `key` names the state it updates (consumers that fall
 * behind keep only the latest event per key).
 */
export const EVENT_META = Symbol('omnistock.eventMeta');
export interface EventMeta {
  sequence: string;
  key: string;
}

export interface SubgraphDefinition<C extends BaseContext> {
  name: SubgraphName;
  typeDefs: DocumentNode;
  resolvers: GraphQLResolverMap<C>;
  entities: DataSourceSpec['entities'];
  migrations: DataSourceSpec['migrations'];
  /** Called once per process: operations the subgraph answers another way than by running them (lib/jit-executor.ts); null: none. */
  answers?(runtime: SubgraphRuntime): PreparedAnswers<C> | null;
  /** Called once per process; returns the per-request context builder (services plus fresh DataLoaders). */
  createContext(ds: DataSource, runtime: SubgraphRuntime): (base: BaseContext) => C;
}

export interface RunningSubgraph extends RunningService {
  dataSource: DataSource;
}

/** Reads a subgraph's SDL file that sits next to the calling module. */
export function loadTypeDefs(moduleUrl: string, file = 'schema.graphql'): DocumentNode {
  return parse(readFileSync(new URL(file, moduleUrl), 'utf8'));
}

/**
 * Opens a subgraph's own database, creating it and applying its migrations when needed. With
 * `nudges` (a Redis client), each commit that appended outbox rows tells the database's relay so on
 * it (eventKeys.nudge), and the relay publishes them without waiting for its next poll.
 */
export async function openSubgraphDatabase(
  cfg: Config,
  def: Pick<SubgraphDefinition<BaseContext>, 'name' | 'entities' | 'migrations'>,
  nudges?: RedisClient,
): Promise<DataSource> {
  const ds = await openDatabase(cfg, { database: databaseName(cfg, def.name), entities: def.entities, migrations: def.migrations });
  if (nudges) {
    const channel = eventKeys.nudge(cfg.REDIS_KEY_PREFIX, def.name);
    // Only latency is at stake: a nudge that fails is not retried (the relay polls anyway).
    nudgeRelayOnCommit(ds, () => void nudges.publish(channel, '').catch(() => {}));
  }
  return ds;
}

/** A Redis client for outbox nudges: a command that cannot be sent at once fails rather than waits. */
export const nudgeClient = (cfg: Config): RedisClient => createRedis(redisTarget(cfg), { enableOfflineQueue: false, maxRetriesPerRequest: 0 });

/** Opens the subgraph's database (migrating it) and serves its schema. */
export async function startSubgraph<C extends BaseContext>(
  def: SubgraphDefinition<C>,
  options: { cfg?: Config; port?: number; host?: string } = {},
): Promise<RunningSubgraph> {
  const cfg = options.cfg ?? config();
  const nudges = nudgeClient(cfg);
  let ds: DataSource;
  try {
    ds = await openSubgraphDatabase(cfg, def, nudges);
  } catch (err) {
    nudges.disconnect();
    throw err;
  }
  const schema = buildSubgraphSchema({ typeDefs: def.typeDefs, resolvers: def.resolvers as GraphQLResolverMap<unknown> });
  const releases: (() => Promise<void>)[] = [];
  const metrics = createMetricsRegistry(def.name);
  const replicaReads = createReadRouter(cfg, ds, { database: databaseName(cfg, def.name), entities: def.entities }, metrics);
  const onPrimary = primaryReads(ds);
  const readsFor = (clientId: string | null): Reads => (replicaReads ? replicaReads.router.forCaller(clientId) : onPrimary);
  const runtime: SubgraphRuntime = { cfg, onClose: (release) => void releases.push(release), metrics };
  const makeOwnContext = def.createContext(ds, runtime);
  const answers = def.answers?.(runtime);
  const makeContext = (base: Omit<BaseContext, 'reads'>): C => makeOwnContext({ ...base, reads: readsFor(base.clientId) });
  // A subscription event announces a change just committed: its fields are read where the change is, on the primary.
  const makeEventContext = (base: Omit<BaseContext, 'reads'>): C => {
    const context = makeContext(base);
    context.reads.pinToPrimary();
    return context;
  };
  const guard = ServiceGuard.forSubgraph(cfg, def.name, def.typeDefs);
  const host = options.host ?? cfg.HOST;
  if (!guard.enforced && !isLoopback(host)) {
    throw new Error(`SERVICE_AUTH=off lets anyone who reaches ${def.name} call it: it then listens on loopback only, not on ${host} (set HOST=127.0.0.1, or SERVICE_AUTH=enforce)`);
  }
  const service = await startHttpService<C>({
    name: def.name,
    host,
    port: options.port ?? subgraphPort(cfg, def.name),
    apollo: (plugins) =>
      new ApolloServer<C>({
        gateway: jitExecutor(schema, answers),
        stringifyResult,
        // No cache hints in our schemas: the default cache-control plugin would only wrap every resolver (a few % of a large list).
        plugins: [
          ...plugins,
          guard.plugin<C>(),
          ApolloServerPluginInlineTraceDisabled(),
          ApolloServerPluginCacheControlDisabled(),
          operationInLogs(),
          subscriptionsOverWebSocketOnly(),
          ...(replicaReads ? [recordWrites<C>(replicaReads.router)] : []),
          // Last: nothing adds to the answer after it.
          answerKind<C>(),
        ],
        formatError,
        includeStacktraceInErrorResponses: false,
        // closeOnSignals owns SIGTERM/SIGINT: a second handler would stop Apollo before Fastify drains.
        stopOnTerminationSignals: false,
        introspection: true,
      }),
    context: async (request) => {
      // Before anything runs: no valid service token, 401.
      const caller = await guard.caller(request.headers[SERVICE_TOKEN_HEADER]);
      const clientId = caller ? caller.clientId : clientIdFrom(request.headers['x-client-id']);
      // The gateway forwards its request id and client: this request's log lines name both.
      const scope = requestScope.getStore();
      if (scope) scope.client = clientId;
      return makeContext({ requestId: request.id, log: request.log as unknown as Logger, clientId, caller });
    },
    readiness: { mysql: () => ds.query('SELECT 1') },
    registry: metrics,
    webSocket: schema.getSubscriptionType() ? (server, path) => serveSubscriptions(server, path, schema, makeEventContext, guard) : undefined,
    onClose: async () => {
      for (const release of releases) await release();
      await replicaReads?.close();
      await ds.destroy();
      nudges.disconnect();
    },
  });
  return { ...service, dataSource: ds };
}

/** Says in a header whether the answer is data alone (lib/subgraph-answers.ts), for the gateway. */
function answerKind<C extends BaseContext>(): ApolloServerPlugin<C> {
  return {
    requestDidStart: async () => ({
      willSendResponse: async ({ response }) => {
        if (response.body.kind !== 'single') return;
        const { data, errors, extensions } = response.body.singleResult;
        if (errors === undefined && extensions === undefined && typeof data === 'object' && data !== null) response.http.headers.set(ANSWER_KIND_HEADER, DATA_ONLY);
      },
    }),
  };
}

/**
 * Names the resolved operation in the request's log lines. The gateway names the operations it
 * sends `<client operation>__<subgraph>__<n>`, so a subgraph's lines name the client's operation too.
 */
function operationInLogs<C extends BaseContext>(): ApolloServerPlugin<C> {
  return {
    requestDidStart: async () => ({
      didResolveOperation: async ({ operationName }) => {
        const scope = requestScope.getStore();
        if (scope) scope.operation = operationName ?? 'anonymous';
      },
    }),
  };
}

/**
 * With read replicas: a mutation's own reads (its payload's fields) run on the primary; once it has
 * run (its transactions committed), its caller's next reads must include it: recorded before the
 * response leaves, so a read the caller sends after it sees it.
 */
function recordWrites<C extends BaseContext>(router: ReadRouter): ApolloServerPlugin<C> {
  return {
    requestDidStart: async () => ({
      didResolveOperation: async ({ operation, contextValue }) => {
        if (operation?.operation === 'mutation') contextValue.reads.pinToPrimary();
      },
      willSendResponse: async ({ operation, contextValue }) => {
        if (operation?.operation === 'mutation') await router.recordWrite(contextValue.clientId);
      },
    }),
  };
}

/** A subscription sent over HTTP is answered with the transport to use (graphql-ws), before it runs as a query would. */
function subscriptionsOverWebSocketOnly<C extends BaseContext>(): ApolloServerPlugin<C> {
  return {
    requestDidStart: async () => ({
      didResolveOperation: async ({ operation, request }) => {
        if (operation?.operation !== 'subscription') return;
        throw refusalError(subscriptionTransportError(request.http?.headers.get('host')));
      },
    }),
  };
}

/** Process entry of a subgraph: names the logs, starts, and closes gracefully on SIGTERM/SIGINT. */
export async function runSubgraph<C extends BaseContext>(def: SubgraphDefinition<C>): Promise<void> {
  setServiceName(def.name);
  try {
    startTracing(tracingSettings(config(def.name), def.name));
    const running = await startSubgraph(def);
    closeOnSignals(() => running.close());
  } catch (err) {
    logger().fatal({ err }, `${def.name} failed to start`);
    process.exit(1);
  }
}

/**
 * graphql-ws on the subgraph's HTTP port and path, for a schema with a Subscription type. The
 * connection_init must carry a service token (the gateway's), and each subscribe message one in its
 * extensions naming the caller, checked as an HTTP request's. Each event is executed with a fresh
 * context (fresh DataLoaders: an event must not see what an earlier one cached), and an event's
 * EVENT_META travels as the result's extensions.
 */
function serveSubscriptions<C extends BaseContext>(
  server: Parameters<typeof attachWebSocketServer>[0],
  path: string,
  schema: GraphQLSchema,
  makeContext: (base: Omit<BaseContext, 'reads'>) => C,
  guard: ServiceGuard,
): () => Promise<void> {
  const tokenOf = (params: Readonly<Record<string, unknown>> | null | undefined) => params?.[SERVICE_TOKEN_HEADER];
  return attachWebSocketServer(server, path, (wss) =>
    useServer<Record<string, unknown>>(
      {
        schema,
        // false: graphql-ws closes the socket with 4403 Forbidden.
        onConnect: async (ctx) => guard.caller(tokenOf(ctx.connectionParams)).then(
          () => true,
          () => false,
        ),
        onSubscribe: async (_ctx, _id, payload) => {
          let caller: ServiceClaims | null;
          let document: DocumentNode;
          try {
            caller = await guard.caller(tokenOf(payload.extensions));
            document = parse(payload.query);
          } catch (err) {
            // A document that does not parse is graphql-ws's to report, as it would without a guard.
            if (err instanceof GraphQLError && err.extensions['code'] === 'UNAUTHENTICATED') return [formatted(err)];
            return undefined;
          }
          const refusal = guard.refusal(schema, document, payload.operationName, caller);
          return refusal ? [formatted(refusal)] : undefined;
        },
        context: async (ctx, id, payload) => {
          const since = payload.extensions?.since;
          const requestId = `ws-${randomUUID()}`;
          // Checked by onSubscribe: a cached look-up.
          const caller = await guard.caller(tokenOf(payload.extensions));
          const named = typeof ctx.connectionParams?.['x-client-id'] === 'string' ? ctx.connectionParams['x-client-id'] : undefined;
          return makeContext({
            requestId,
            log: logger().child({ reqId: requestId, subscription: id }),
            clientId: caller ? caller.clientId : clientIdFrom(named),
            caller,
            ...(typeof since === 'string' ? { resumeFrom: since } : {}),
          });
        },
        subscribe: (args) => subscribeWithMeta(args, (base) => makeContext(base)),
        onNext: (_ctx, _id, _payload, _args, result) => formatResult(result),
      },
      wss,
    ),
  );
}

function formatResult(result: ExecutionResult): ExecutionResult | void {
  if (!result.errors?.length) return;
  return { ...result, errors: result.errors.map(formatted) };
}

/** An error as an HTTP response would carry it (its code and details, no stack or HTTP status). */
function formatted(error: GraphQLError): GraphQLError {
  const f = formatError(error.toJSON(), error);
  return new GraphQLError(f.message, { path: f.path, extensions: f.extensions });
}

async function subscribeWithMeta<C extends BaseContext>(
  args: ExecutionArgs,
  makeContext: (base: Omit<BaseContext, 'reads'>) => C,
): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const source = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in source)) return source as ExecutionResult;
  const base = args.contextValue as C;
  const iterator = (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  // A hand-written iterator rather than an async generator: graphql-ws calls return() while next()
  // may be waiting for an event, and a generator would defer that return until the next event.
  const results: AsyncIterableIterator<ExecutionResult> = {
    async next() {
      const step = await iterator.next();
      if (step.done) return step;
      const event = step.value as Record<string | symbol, unknown>;
      const result = await execute({ ...args, rootValue: event, contextValue: makeContext(base) });
      const meta = event[EVENT_META] as EventMeta | undefined;
      return { done: false, value: meta ? { ...result, extensions: { ...result.extensions, ...meta } } : result };
    },
    async return() {
      await iterator.return?.();
      return { done: true, value: undefined };
    },
    async throw(err: unknown) {
      await iterator.return?.();
      throw err;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  return results;
}
