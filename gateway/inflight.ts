import type { ApolloGateway } from '@apollo/gateway';
import type { GatewayExecutionResult, GatewayExecutor, GatewayGraphQLRequestContext, GatewayInterface } from '@apollo/server-gateway-interface';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { requestScope } from '../lib/logger.js';

/**
 * Which requests may share one execution: the same key means the same answer. Null: run alone.
 * The gateway's key is the schema, document, operation, variables and the client id (the only
 * caller detail subgraphs see); the caller's credentials and scopes were checked, per request,
 * before execution.
 */
export type SharingKey = (requestContext: GatewayGraphQLRequestContext) => string | null;

/**
 * @apollo/gateway as Apollo Server's gateway, with identical queries in flight at once executed
 * once: on Black Friday thousands of shoppers load the same product page in the same second, and
 * each identical availability query that arrives while one is already being planned and fetched
 * waits for that one's answer (the request coalescing of HTTP caches, and Hive Gateway's inbound
 * deduplication). Every request still goes through Apollo's whole pipeline on its own:
 * authentication, authorization, rate and cost limits, trusted documents, metrics and usage.
 * Mutations, subscriptions and anything the key refuses always run alone, and nothing is kept once
 * answered: this is no cache.
 */
export class SharedExecutionGateway implements GatewayInterface {
  private readonly inflight = new WeakMap<GraphQLSchema, Map<string, { result: Promise<GatewayExecutionResult>; requestId: string | undefined }>>();
  /** Executions answered by joining one in flight. */
  shared = 0;

  constructor(
    private readonly gateway: ApolloGateway,
    private readonly key: SharingKey,
    /** Wraps @apollo/gateway's executor before sharing (the single-fetch queries' direct answers). */
    private readonly wrap: (executor: GatewayExecutor) => GatewayExecutor = (executor) => executor,
  ) {}

  onSchemaLoadOrUpdate(...args: Parameters<GatewayInterface['onSchemaLoadOrUpdate']>): ReturnType<GatewayInterface['onSchemaLoadOrUpdate']> {
    return this.gateway.onSchemaLoadOrUpdate(...args);
  }

  stop(): Promise<void> {
    return this.gateway.stop();
  }

  async load(options: Parameters<GatewayInterface['load']>[0]): Promise<{ executor: GatewayExecutor }> {
    const executor = this.wrap((await this.gateway.load(options)).executor);
    return { executor: (requestContext) => this.execute(executor, requestContext) };
  }

  private execute(executor: GatewayExecutor, requestContext: GatewayGraphQLRequestContext): Promise<GatewayExecutionResult> {
    if (!requestContext.operation) {
      // The operation could not be chosen (several and no operationName, or an unknown one).
      // @apollo/gateway throws GraphQL's own error for it; Apollo Server answers that error, returned
      // as the result, with the standard 400 (OPERATION_RESOLUTION_FAILURE) instead of a 500.
      return executor(requestContext).catch((err: unknown) => {
        if (err instanceof GraphQLError) return { errors: [err] };
        throw err;
      });
    }
    const key = requestContext.operation.operation === 'query' ? this.key(requestContext) : null;
    if (key === null) return executor(requestContext);
    let running = this.inflight.get(requestContext.schema);
    if (!running) this.inflight.set(requestContext.schema, (running = new Map()));
    const pending = running.get(key);
    if (pending) {
      this.shared++;
      const scope = requestScope.getStore();
      if (scope && pending.requestId) scope.sharedWith = pending.requestId;
      // Each request gets its own result object and error list; the data, read only from here on, is shared.
      return pending.result.then((r) => ({ ...r, ...(r.errors ? { errors: [...r.errors] } : {}) }));
    }
    const result = executor(requestContext).finally(() => running.delete(key));
    running.set(key, { result, requestId: requestScope.getStore()?.requestId });
    return result;
  }
}

/** The gateway's sharing key (see SharingKey); null for a document with @defer or @stream, whose parts arrive apart. */
export function gatewaySharingKey(requestContext: GatewayGraphQLRequestContext<{ clientId?: string | null }>): string | null {
  if (/@(defer|stream)\b/.test(requestContext.source)) return null;
  const variables = requestContext.request.variables;
  return [requestContext.queryHash, requestContext.operationName ?? '', requestContext.context.clientId ?? '', variables ? JSON.stringify(variables) : ''].join('\n');
}
