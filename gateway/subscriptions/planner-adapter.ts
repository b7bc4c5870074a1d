/**
 * The one place that touches @apollo/gateway and @apollo/query-planner internals (pinned, with
 * @apollo/federation-internals, to one exact version in package.json): the gateway refuses to
 * execute subscriptions, but its planner plans them as a `primary` fetch to the subgraph owning
 * the root field and a `rest` of entity fetches, and its executor runs the `rest` once the primary
 * result is known. gateway/subscriptions/planner-adapter.test.ts pins the behaviour relied on here.
 */
import { executeQueryPlan, buildOperationContext, type ApolloGateway, type GraphQLDataSource } from '@apollo/gateway';
import { operationFromDocument, type Schema } from '@apollo/federation-internals';
import type { FetchNode, PlanNode, QueryPlan, QueryPlanner } from '@apollo/query-planner';
import type { GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import { GraphQLError, print, type DocumentNode, type ExecutionResult, type GraphQLSchema } from 'graphql';

/** What the gateway keeps privately and we read (see the file comment). */
interface GatewayInternals {
  schema?: GraphQLSchema;
  apiSchema?: Schema;
  supergraphSchema?: GraphQLSchema;
  queryPlanner?: QueryPlanner;
  serviceMap: Record<string, { url?: string; dataSource: GraphQLDataSource }>;
}

/** The fetch that opens the subscription upstream. */
export interface PrimaryFetch {
  serviceName: string;
  /** The subscription document to send to that subgraph. */
  operation: string;
  operationName: string | undefined;
  /** The client's variables it uses. */
  variableUsages: string[];
}

export interface SubscriptionPlan {
  /** The API schema it was planned against. */
  schema: GraphQLSchema;
  primary: PrimaryFetch;
  /** Entity fetches per event beyond the primary subgraph's own result: their subgraphs. */
  restServices: string[];
  /** Runs the `rest` on one primary result (the subgraph's `next` payload) and shapes the client's result. */
  execute(primary: ExecutionResult, variables: Record<string, unknown>, context: Record<string, unknown>): Promise<ExecutionResult>;
}

export class SubscriptionPlanner {
  private readonly plans = new WeakMap<GraphQLSchema, Map<string, SubscriptionPlan>>();

  constructor(private readonly gateway: ApolloGateway) {}

  private get internals(): GatewayInternals {
    return this.gateway as unknown as GatewayInternals;
  }

  /** The API schema clients validate against; undefined before the first supergraph loaded. */
  get schema(): GraphQLSchema | undefined {
    return this.internals.schema;
  }

  /** Calls `listener` whenever the gateway loads a supergraph (including the first). */
  onSchemaChange(listener: () => void): () => void {
    return this.gateway.onSchemaLoadOrUpdate(() => listener());
  }

  /**
   * Plans a validated subscription document against the current supergraph, cached per schema and
   * document.
   * @throws GraphQLError when there is no supergraph yet or the plan is not a subscription plan
   */
  plan(document: DocumentNode, operationName?: string | null): SubscriptionPlan {
    const { schema, apiSchema, supergraphSchema, queryPlanner } = this.internals;
    if (!schema || !apiSchema || !supergraphSchema || !queryPlanner) throw new GraphQLError('The gateway has no supergraph loaded yet');
    const key = `${operationName ?? ''}\n${print(document)}`;
    let bySchema = this.plans.get(schema);
    if (!bySchema) this.plans.set(schema, (bySchema = new Map()));
    const cached = bySchema.get(key);
    if (cached) return cached;

    const operation = operationFromDocument(apiSchema, document, { operationName: operationName ?? undefined });
    const queryPlan = queryPlanner.buildQueryPlan(operation);
    const node = queryPlan.node;
    if (node?.kind !== 'Subscription') throw new GraphQLError('Not a subscription operation');
    const operationContext = buildOperationContext({ schema, operationDocument: document, operationName: operationName ?? undefined });
    const primary = node.primary;
    // The executor runs primary then rest; the primary fetch is answered with the event in hand.
    const planToRun: QueryPlan = { kind: 'QueryPlan', node: node.rest ? { kind: 'Sequence', nodes: [primary, node.rest] } : primary };
    const source = print(document);
    const internals = this.internals;

    const plan: SubscriptionPlan = {
      schema,
      primary: {
        serviceName: primary.serviceName,
        operation: primary.operation,
        operationName: primary.operationName,
        variableUsages: primary.variableUsages ?? [],
      },
      restServices: [...new Set(fetchesOf(node.rest).map((f) => f.serviceName))],
      async execute(primaryResult, variables, context) {
        const serviceMap: Record<string, GraphQLDataSource> = {};
        for (const [name, { dataSource }] of Object.entries(internals.serviceMap)) serviceMap[name] = dataSource;
        const upstream = serviceMap[primary.serviceName];
        serviceMap[primary.serviceName] = {
          process: (request) =>
            request.request.query === primary.operation || !upstream
              ? Promise.resolve({ data: primaryResult.data ?? null, errors: primaryResult.errors as never })
              : upstream.process(request),
        };
        const requestContext = {
          request: { query: source, variables, operationName: operationName ?? undefined },
          logger: console,
          schema,
          context,
          document,
          source,
          operationName: operationName ?? null,
          operation: operationContext.operation,
          metrics: {},
        } as unknown as GatewayGraphQLRequestContext;
        return executeQueryPlan(planToRun, serviceMap, requestContext, operationContext, supergraphSchema, apiSchema);
      },
    };
    bySchema.set(key, plan);
    return plan;
  }
}

function fetchesOf(node: PlanNode | undefined): FetchNode[] {
  if (!node) return [];
  switch (node.kind) {
    case 'Fetch':
      return [node];
    case 'Flatten':
      return fetchesOf(node.node);
    case 'Sequence':
    case 'Parallel':
      return node.nodes.flatMap(fetchesOf);
    case 'Condition':
      return [...fetchesOf(node.ifClause), ...fetchesOf(node.elseClause)];
    case 'Defer':
      return [...fetchesOf(node.primary.node), ...node.deferred.flatMap((d) => fetchesOf(d.node))];
  }
}
