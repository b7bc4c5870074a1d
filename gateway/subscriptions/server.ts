import { createHash } from 'node:crypto';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { ApolloServer } from '@apollo/server';
import { GraphQLError, getOperationAST, parse, validate, type DocumentNode, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { formatError } from '../../lib/errors.js';
import { logger, requestScope } from '../../lib/logger.js';
import { attachWebSocketServer, clientIdFrom } from '../../lib/server.js';
import type { SubscriptionHub } from './hub.js';
import type { AuthGuard } from '../auth/guard.js';
import { rateKey, type GatewayLimits } from '../limits/limits.js';
import type { Caller } from '../../contracts/identity.js';
import { outcomeOf, type GatewayMetrics } from '../metrics.js';
import type { OperationRequest, TrustedDocuments } from '../trusted-documents.js';

/** Who a connection is, from its connection_init payload; the scope decides which subscribers may share. */
export type ConnectionAuth = { ok: true; scope: string; clientId: string | null; caller?: Caller | null } | { ok: false; reason: string };

/**
 * The hook authentication will fill: it gets the connection_init payload (the same credentials as
 * HTTP headers, e.g. `authorization`, `x-client-id`). Until authentication exists every connection
 * is admitted with one public scope.
 */
export type ConnectionAuthenticator = (params: Readonly<Record<string, unknown>>, address?: string | null) => ConnectionAuth | Promise<ConnectionAuth>;

export const admitAll: ConnectionAuthenticator = (params) => ({
  ok: true,
  scope: 'public',
  clientId: clientIdFrom(typeof params['x-client-id'] === 'string' ? params['x-client-id'] : undefined),
});

interface ConnectionState {
  auth: Extract<ConnectionAuth, { ok: true }>;
  /** The connection_init payload: its credentials are checked again while the socket is open. */
  params: Readonly<Record<string, unknown>>;
  subscriptions: number;
  remoteAddress: string | null;
  recheck?: NodeJS.Timeout;
}

type Extra = { state?: ConnectionState } & Record<PropertyKey, unknown>;

export interface GatewayWsOptions {
  hub: SubscriptionHub;
  apollo: ApolloServer<{ requestId: string; clientId: string | null; caller: Caller | null; remoteAddress?: string | null }>;
  authenticate: ConnectionAuthenticator;
  /** Refuses operations the connection's caller may not run (AUTH_MODE=enforce). */
  guard?: AuthGuard;
  /** Rate, cost and depth limits of subscriptions (queries and mutations meet them in Apollo's pipeline). */
  limits?: GatewayLimits;
  /** Resolves document ids (`documentId`, `extensions.persistedQuery`) and refuses operations an ENFORCE client has not registered. */
  trustedDocuments?: TrustedDocuments;
  /** Counts each operation (queries and mutations in Apollo's pipeline; here refusals and subscriptions). */
  metrics?: GatewayMetrics;
  /** Records the fields each client's subscriptions use, once each starts (queries and mutations are recorded in Apollo's pipeline). */
  usage?: OperationUsage;
  maxPerConnection: number;
  /** Ping interval; a client that has not answered by the next ping is disconnected. */
  clientKeepAliveMs: number;
  /** Largest frame a client may send (MAX_BODY_BYTES); larger closes the socket (1009). */
  maxPayload: number;
  /** Open sockets per client address; more are refused at the upgrade (HTTP 429). */
  maxPerAddress: number;
  /** The caller's address of an upgrade request (its socket's peer, or X-Forwarded-For under TRUST_PROXY). */
  addressOf: (req: IncomingMessage) => string;
  /**
   * With authentication: how often an open socket's credentials are checked again, so a revoked
   * key or an expired token loses its socket (4403) even while it only listens. Every new
   * operation checks them too.
   */
  recheckMs?: number;
}

/**
 * Where the operations clients run are counted for the registry's checks (its usage recorder):
 * the document as validated against `schema`, and `queryHash`, the sha256 of its text as Apollo
 * Server computes it, so one document is one operation whichever transport ran it.
 */
export interface OperationUsage {
  record(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, queryHash: string, clientId: string | null): void;
}

/** How long a socket may stay open without its connection_init. */
const CONNECTION_INIT_TIMEOUT_MS = 3000;

interface OperationContext {
  schema: GraphQLSchema;
  document: DocumentNode;
  /** The text the document was parsed from (a trusted document's, for one sent by id). */
  text: string;
  variables: Record<string, unknown>;
  operationName: string | null;
  state: ConnectionState;
  operationId: string;
}

/**
 * graphql-ws on the gateway's port and /graphql path: subscriptions through the hub, queries and
 * mutations through the same Apollo pipeline as HTTP.
 */
export function serveGatewayWebSocket(server: HttpServer, path: string, opts: GatewayWsOptions): () => Promise<void> {
  return attachWebSocketServer(server, path, (wss) =>
    useServer<Record<string, unknown>, Extra>(
      {
        connectionInitWaitTimeout: CONNECTION_INIT_TIMEOUT_MS,
        onConnect: async (ctx) => {
          const address = opts.addressOf(ctx.extra.request);
          const auth = await opts.authenticate(ctx.connectionParams ?? {}, address);
          if (!auth.ok) {
            ctx.extra.socket.close(CloseCode.Forbidden, `Unauthenticated: ${auth.reason}`.slice(0, 120));
            return false;
          }
          const params = ctx.connectionParams ?? {};
          const state: ConnectionState = { auth, params, subscriptions: 0, remoteAddress: address };
          ctx.extra.state = state;
          if (opts.recheckMs) {
            state.recheck = setInterval(() => void liveAuth(state, ctx.extra.socket), opts.recheckMs);
            state.recheck.unref();
          }
          return true;
        },
        onClose: (ctx) => clearInterval(ctx.extra.state?.recheck),
        onSubscribe: countRefusals(opts.metrics, async (ctx, id, payload) => {
          const state = ctx.extra.state!;
          // Each operation on the credential as it is now: a key revoked since connection_init is refused and loses the socket.
          const live = await liveAuth(state, ctx.extra.socket);
          if (!live) return [new GraphQLError('The credentials of this connection are no longer valid', { extensions: { code: 'UNAUTHENTICATED' } })];
          // First, before parsing: an unknown id or an untrusted operation is refused as on HTTP.
          const trusted = opts.trustedDocuments?.check(payload as OperationRequest, state.auth.clientId);
          if (trusted && !trusted.ok) return [trusted.error];
          let document: DocumentNode;
          const text = trusted?.query ?? payload.query;
          try {
            document = parse(text, { maxTokens: opts.limits?.settings.maxTokens });
          } catch (err) {
            return [withCode(err as GraphQLError, 'GRAPHQL_PARSE_FAILED')];
          }
          const schema = opts.hub.planner.schema;
          if (!schema) return [new GraphQLError('The gateway has no supergraph loaded yet')];
          const errors = validate(schema, document);
          if (errors.length) return errors.map((e) => withCode(e, 'GRAPHQL_VALIDATION_FAILED'));
          const operation = getOperationAST(document, payload.operationName);
          if (!operation) return [withCode(new GraphQLError('Unknown or ambiguous operation name'), 'BAD_USER_INPUT')];
          // Before the hub plans or opens anything upstream: a refused subscription reaches no subgraph.
          const refusal = opts.guard?.refusal(schema, document, payload.operationName, state.auth.caller ?? null);
          if (refusal) return [refusal];
          if (operation.operation === 'subscription' && opts.limits) {
            const limited = await opts.limits.refusal(schema, document, payload.operationName, payload.variables ?? undefined, rateKey({ clientId: state.auth.clientId, remoteAddress: state.remoteAddress }));
            if (limited) return [limited];
          }
          if (operation.operation === 'subscription' && state.subscriptions >= opts.maxPerConnection) {
            return [
              new GraphQLError(`This connection already has its maximum of ${opts.maxPerConnection} subscriptions; complete one first or open another connection`, {
                extensions: { code: 'SUBSCRIPTION_LIMIT', limit: 'connection', max: opts.maxPerConnection },
              }),
            ];
          }
          // The slot is taken here: graphql-ws handles a connection's subscribe messages concurrently.
          if (operation.operation === 'subscription') state.subscriptions++;
          const contextValue: OperationContext = {
            schema,
            document,
            text,
            variables: payload.variables ?? {},
            operationName: payload.operationName ?? null,
            state,
            operationId: id,
          };
          return { schema, document, variableValues: payload.variables, operationName: payload.operationName, contextValue };
        }),
        execute: async (args) => {
          const op = args.contextValue as OperationContext;
          const requestId = `ws-${op.operationId}`;
          // Log lines of the operation name its id, client and (once resolved) operation, as for HTTP.
          const response = await requestScope.run({ requestId, client: op.state.auth.clientId }, () =>
            // The text, not the parsed document: Apollo Server's document cache then gives the document an
            // HTTP request of the same text gets, and with it what is learnt per document (a one-fetch
            // query answered by its fetch, cost and authorization checked once).
            opts.apollo.executeOperation(
              { query: op.text, variables: op.variables, operationName: op.operationName ?? undefined },
              { contextValue: { requestId, clientId: op.state.auth.clientId, caller: op.state.auth.caller ?? null, remoteAddress: op.state.remoteAddress } },
            ),
          );
          if (response.body.kind !== 'single') return { errors: [new GraphQLError('Incremental delivery is not supported over WebSocket')] };
          // Already formatted by Apollo's pipeline.
          return response.body.singleResult as ExecutionResult;
        },
        subscribe: (args) => {
          const op = args.contextValue as OperationContext;
          const result = opts.hub.subscribe({
            document: op.document,
            operationName: op.operationName,
            variables: op.variables,
            scope: op.state.auth.scope,
            clientId: op.state.auth.clientId,
            caller: op.state.auth.caller ?? null,
            onEnd: () => void op.state.subscriptions--,
          });
          const record = (outcome: string) =>
            opts.metrics?.record({ operation: op.operationName, client: op.state.auth.clientId, outcome, beforeExecution: true });
          if (Array.isArray(result)) {
            op.state.subscriptions--;
            record(outcomeOf(result));
            return { errors: result };
          }
          record('ok');
          try {
            opts.usage?.record(op.schema, op.document, op.operationName, createHash('sha256').update(op.text).digest('hex'), op.state.auth.clientId);
          } catch (err) {
            logger().warn({ err }, 'usage not recorded');
          }
          return result as AsyncIterableIterator<ExecutionResult>;
        },
        onNext: (_ctx, _id, _payload, _args, result) => formatResult(result),
        onError: (_ctx, _id, _payload, errors) => errors.map(format),
      },
      wss,
      opts.clientKeepAliveMs,
    ),
    { maxPayload: opts.maxPayload, maxPerAddress: opts.maxPerAddress, addressOf: opts.addressOf },
  );

  /** Checks the connection's credentials again; closes the socket (4403) and answers false when they no longer hold. */
  async function liveAuth(state: ConnectionState, socket: { close(code: number, reason: string): void }): Promise<boolean> {
    if (!opts.recheckMs) return true;
    const auth = await opts.authenticate(state.params, state.remoteAddress);
    if (auth.ok) return true;
    clearInterval(state.recheck);
    socket.close(CloseCode.Forbidden, `Unauthenticated: ${auth.reason}`.slice(0, 120));
    return false;
  }
}

type OnSubscribe = NonNullable<Parameters<typeof useServer<Record<string, unknown>, Extra>>[0]['onSubscribe']>;

/** Counts the operations onSubscribe refuses (parse, validation, auth, limits): they reach neither Apollo nor the hub. */
function countRefusals(metrics: GatewayMetrics | undefined, onSubscribe: OnSubscribe): OnSubscribe {
  if (!metrics) return onSubscribe;
  return async (ctx, id, payload) => {
    const result = await onSubscribe(ctx, id, payload);
    if (Array.isArray(result)) {
      metrics.record({ operation: payload.operationName, client: ctx.extra.state?.auth.clientId, outcome: outcomeOf(result), beforeExecution: true });
    }
    return result;
  };
}

/** The bridge's own error codes: public (they tell the client what to do), beside those formatError knows. */
const SUBSCRIPTION_CODES = new Set(['SUBSCRIPTION_LIMIT', 'SUBSCRIPTION_SCHEMA_CHANGED']);

function format(error: GraphQLError) {
  const code = error.extensions?.code;
  return typeof code === 'string' && SUBSCRIPTION_CODES.has(code) ? error.toJSON() : formatError(error.toJSON(), error);
}

function withCode(error: GraphQLError, code: string): GraphQLError {
  return new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, extensions: { ...error.extensions, code } });
}

function formatResult(result: ExecutionResult): ExecutionResult | void {
  if (!result.errors?.length) return;
  return {
    ...result,
    errors: result.errors.map((e) => {
      const formatted = e instanceof GraphQLError ? format(e) : formatError(e as never, e);
      return new GraphQLError(formatted.message, { path: formatted.path, extensions: formatted.extensions });
    }),
  };
}
