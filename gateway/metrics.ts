import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { GraphQLFormattedError } from 'graphql';
import { Counter, Histogram, type Metric, type Registry } from 'prom-client';
import { requestScope, type RequestScope } from '../lib/logger.js';
import { SubgraphTransportError } from './subgraph-unavailable.js';

/** Refusals before execution, counted in omnistock_gateway_refusals_total by their error code. */
export const REFUSAL_REASONS = new Set([
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'RATE_LIMITED',
  'QUERY_TOO_COMPLEX',
  'PAYLOAD_TOO_LARGE',
  'BATCH_TOO_LARGE',
  'OPERATION_NOT_TRUSTED',
  'PERSISTED_QUERY_NOT_FOUND',
]);

/** Distinct operation × client pairs (and clients) labelled by name; later ones are counted as `other`. */
export const MAX_LABELLED_PAIRS = 500;
const OTHER = 'other';
const ANONYMOUS = 'anonymous';
/** 1 ms to 10 s. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]{0,99}$/;
const ERROR_CODE = /^[A-Z][A-Z0-9_]{0,59}$/;

/**
 * The label values a caller chooses (operation names, client ids) are bounded: the first
 * MAX_LABELLED_PAIRS pairs keep their names, later ones become `other`, so a hostile caller sending
 * a new operation name per request cannot grow the registry without limit.
 */
export class LabelBudget {
  private readonly seen = new Set<string>();

  constructor(private readonly max: number) {}

  /** The values to label with: as given while the budget lasts (or when already seen), else `other` for each. */
  admit<T extends string[]>(...values: T): T {
    const key = values.join('\u0000');
    if (this.seen.has(key)) return values;
    if (this.seen.size >= this.max) return values.map(() => OTHER) as T;
    this.seen.add(key);
    return values;
  }
}

/** An operation's name as a label: its GraphQL name, `anonymous` without one, `invalid` when it is no GraphQL name. */
export function operationLabel(name: unknown): string {
  if (typeof name !== 'string' || !name) return ANONYMOUS;
  return GRAPHQL_NAME.test(name) ? name : 'invalid';
}

/** The outcome of a response: `ok`, else the code of its first error (INTERNAL_SERVER_ERROR without one). */
export function outcomeOf(errors: readonly Pick<GraphQLFormattedError, 'extensions'>[] | undefined): string {
  const first = errors?.[0];
  if (!first) return 'ok';
  const code = first.extensions?.code;
  if (typeof code !== 'string') return 'INTERNAL_SERVER_ERROR';
  return ERROR_CODE.test(code) ? code : 'OTHER';
}

export interface OperationRecord {
  /** The operation's name (null: anonymous), or `unknown` when refused before it was read. */
  operation: string | null | undefined;
  client: string | null | undefined;
  outcome: string;
  /** Refused before execution (no data): the outcome also counts as a refusal when it is one. */
  beforeExecution: boolean;
  seconds?: number;
}

/**
 * The gateway's metrics: requests, latency and refusals per operation and client (HTTP, batched
 * HTTP and graphql-ws), subgraph fetch latency and errors. Made before the gateway's registry
 * exists (the data sources need them), registered on it by register().
 */
export class GatewayMetrics {
  readonly requests = new Counter({
    name: 'omnistock_gateway_requests_total',
    help: 'GraphQL operations by operation name, client and outcome (ok, or the first error code)',
    labelNames: ['operation', 'client', 'outcome'] as const,
    registers: [],
  });
  readonly duration = new Histogram({
    name: 'omnistock_gateway_request_duration_seconds',
    help: 'Time from receiving a GraphQL operation to its response, by operation and client',
    labelNames: ['operation', 'client'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [],
  });
  readonly refusals = new Counter({
    name: 'omnistock_gateway_refusals_total',
    help: 'Operations refused before execution, by reason (the error code) and client',
    labelNames: ['reason', 'client'] as const,
    registers: [],
  });
  readonly fetchDuration = new Histogram({
    name: 'omnistock_gateway_subgraph_fetch_duration_seconds',
    help: 'Duration of the gateway fetches to each subgraph (root and _entities fetches)',
    labelNames: ['subgraph'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [],
  });
  readonly fetchErrors = new Counter({
    name: 'omnistock_gateway_subgraph_fetch_errors_total',
    help: 'Failed subgraph fetches: kind network (no answer), http_<status> (non-2xx) or graphql (errors in the answer)',
    labelNames: ['subgraph', 'kind'] as const,
    registers: [],
  });
  private readonly pairs = new LabelBudget(MAX_LABELLED_PAIRS);
  private readonly clients = new LabelBudget(MAX_LABELLED_PAIRS);
  /** Requests whose operations Apollo's pipeline counted; the rest of /graphql's error responses are counted from the HTTP response. */
  private readonly countedByApollo = new WeakSet<RequestScope>();

  register(registry: Registry): void {
    const metrics: Metric[] = [this.requests, this.duration, this.refusals, this.fetchDuration, this.fetchErrors];
    for (const metric of metrics) registry.registerMetric(metric);
  }

  record(r: OperationRecord): void {
    const client = r.client || ANONYMOUS;
    const [operation, pairClient] = this.pairs.admit(r.operation === 'unknown' ? 'unknown' : operationLabel(r.operation), client);
    this.requests.inc({ operation, client: pairClient, outcome: r.outcome });
    if (r.seconds !== undefined) this.duration.observe({ operation, client: pairClient }, r.seconds);
    if (r.beforeExecution && REFUSAL_REASONS.has(r.outcome)) this.refusals.inc({ reason: r.outcome, client: this.clients.admit(client)[0] });
  }

  /** Counts every operation that goes through Apollo's pipeline (HTTP, each operation of a batch, graphql-ws queries and mutations). */
  plugin<C extends BaseContext & { clientId: string | null }>(): ApolloServerPlugin<C> {
    return {
      requestDidStart: async ({ contextValue }) => {
        const started = process.hrtime.bigint();
        const scope = requestScope.getStore();
        if (scope) this.countedByApollo.add(scope);
        return {
          didResolveOperation: async ({ operationName }) => {
            if (scope) scope.operation = operationLabel(operationName);
          },
          willSendResponse: async ({ response, request, operationName }) => {
            const body = response.body;
            const result = body.kind === 'single' ? body.singleResult : body.initialResult;
            this.record({
              operation: operationName ?? request.operationName,
              client: contextValue.clientId,
              outcome: outcomeOf(result.errors),
              beforeExecution: !('data' in result) || result.data === undefined,
              seconds: Number(process.hrtime.bigint() - started) / 1e9,
            });
          },
        };
      },
    };
  }

  /**
   * Counts /graphql's error responses that never reached Apollo's pipeline (a body over the size
   * limit, credentials refused while the context was built, refusals of other Fastify hooks), with
   * the response's first error code, else PAYLOAD_TOO_LARGE for a 413, else `http_<status>`.
   */
  countRefusedRequests(app: FastifyInstance, path = '/graphql'): void {
    app.addHook('onSend', async (req, reply, payload) => {
      if (reply.statusCode < 400 || req.routeOptions.url !== path) return payload;
      const scope = requestScope.getStore();
      if (scope && this.countedByApollo.has(scope)) return payload;
      this.record({
        operation: operationNameOf(req),
        client: scope?.client,
        outcome: refusedOutcome(reply.statusCode, payload),
        beforeExecution: true,
      });
      return payload;
    });
  }
}

function operationNameOf(req: FastifyRequest): string {
  const body = req.body as { operationName?: unknown } | undefined;
  return body && typeof body === 'object' && !Array.isArray(body) && typeof body.operationName === 'string' ? body.operationName : 'unknown';
}

function refusedOutcome(status: number, payload: unknown): string {
  const text = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : null;
  if (text) {
    try {
      const body = JSON.parse(text) as { errors?: GraphQLFormattedError[] };
      if (Array.isArray(body.errors) && body.errors.length) {
        const outcome = outcomeOf(body.errors);
        if (outcome !== 'INTERNAL_SERVER_ERROR' || status >= 500) return outcome;
      }
    } catch {
      // Not JSON (Apollo answers some malformed requests in plain text): the status tells.
    }
  }
  return status === 413 ? 'PAYLOAD_TOO_LARGE' : `http_${status}`;
}

/** http_<status> when the subgraph answered with a status that failed the fetch, else network. */
export function fetchFailureKind(err: unknown): string {
  return err instanceof SubgraphTransportError && err.status !== undefined ? `http_${err.status}` : 'network';
}
