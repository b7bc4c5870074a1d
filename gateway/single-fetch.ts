import type { Experimental_DidResolveQueryPlanCallback, GraphQLDataSource } from '@apollo/gateway';
import { GraphQLDataSourceRequestKind } from '@apollo/gateway/dist/datasources/types.js';
import type { FetchNode } from '@apollo/query-planner';
import type { GatewayExecutor, GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import { downstreamError, variablesOf } from './plan-execution.js';
import type { SubgraphProcessOptions } from './subgraph-data-source.js';
import {
  isAbstractType,
  isEnumType,
  isNonNullType,
  Kind,
  parse,
  print,
  stripIgnoredCharacters,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  BREAK,
  getNamedType,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';

/** A query whose plan is one fetch asking its subgraph exactly the client's operation. */
interface Direct {
  fetch: FetchNode;
  service: GraphQLDataSource;
  /** Response keys of the root fields, for an answer that brought no data. */
  rootKeys: string[];
  /** Whether each root field may be null (then an answer without data is each null, else null as a whole). */
  rootNullable: boolean;
}

/**
 * Queries answered straight from one subgraph fetch. `@apollo/gateway` walks every answer against
 * the operation once its fetches are back (result shaping): for the storefront's 20 SKUs by 28
 * locations that walk and its allocations were most of the gateway's own work per request. When a
 * query's plan is a single fetch whose operation is the client's own operation (the same text but
 * for its name: no field added, none left out, no fragment, no abstract type, no enum with values
 * hidden from the API), the subgraph's answer already is the answer: its types are the supergraph's
 * or stricter, so there is nothing to shape.
 *
 * Plans are learnt from `@apollo/gateway` itself (its query-plan callback): a document's first
 * request runs the usual way, and later requests of the same document and schema are answered from
 * the one fetch through the same data source (service token, timeout, sharing, metrics). Errors are
 * what `@apollo/gateway` makes of a subgraph's: the subgraph's message, path and code, and
 * `serviceName`. Anything else, or a fetch that throws, runs the usual way.
 */
export class SingleFetchQueries {
  private readonly plans = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, Map<string, Direct | null>>>();
  /** Per API schema, the enums some of whose supergraph values it hides (@inaccessible). */
  private readonly hiddenEnums = new WeakMap<GraphQLSchema, Set<string>>();
  /** Queries answered straight from their single fetch. */
  direct = 0;

  /** For ApolloGateway's onSchemaLoadOrUpdate: which enums of this API schema hide some supergraph values. */
  readonly onSchema = ({ apiSchema, coreSupergraphSdl }: { apiSchema: GraphQLSchema; coreSupergraphSdl: string }): void => {
    const hidden = new Set<string>();
    if (coreSupergraphSdl.includes('inaccessible')) {
      for (const def of parse(coreSupergraphSdl).definitions) {
        if (def.kind !== Kind.ENUM_TYPE_DEFINITION) continue;
        const shown = apiSchema.getType(def.name.value);
        const values = isEnumType(shown) ? shown.getValues().length : 0;
        if ((def.values?.length ?? 0) !== values) hidden.add(def.name.value);
      }
    }
    this.hiddenEnums.set(apiSchema, hidden);
  };

  /** ApolloGateway's experimental_didResolveQueryPlan: learns whether the request's document may be answered directly. */
  readonly observe: Experimental_DidResolveQueryPlanCallback = ({ queryPlan, serviceMap, requestContext }) => {
    const { schema, document } = requestContext;
    let byDocument = this.plans.get(schema);
    if (!byDocument) this.plans.set(schema, (byDocument = new WeakMap()));
    let byOperation = byDocument.get(document);
    if (!byOperation) byDocument.set(document, (byOperation = new Map()));
    const key = requestContext.operationName ?? '';
    if (byOperation.has(key)) return;
    const node = queryPlan.node;
    const operation = requestContext.operation;
    const service = node?.kind === 'Fetch' ? serviceMap[node.serviceName] : undefined;
    const direct =
      node?.kind === 'Fetch' && service && operation && this.isOwnOperation(schema, document, operation, node)
        ? { fetch: node, service, ...rootShape(schema, operation) }
        : null;
    byOperation.set(key, direct);
  };

  /** The gateway's executor, answering the queries it learnt are one fetch straight from that fetch. */
  wrap(executor: GatewayExecutor): GatewayExecutor {
    return async (requestContext) => {
      const direct = this.plans.get(requestContext.schema)?.get(requestContext.document)?.get(requestContext.operationName ?? '');
      if (!direct) return executor(requestContext);
      let response: Awaited<ReturnType<GraphQLDataSource['process']>>;
      try {
        response = await direct.service.process({
          kind: GraphQLDataSourceRequestKind.INCOMING_OPERATION,
          request: { query: direct.fetch.operation, variables: variablesOf(direct.fetch, requestContext), operationName: direct.fetch.operationName },
          incomingRequestContext: requestContext,
          context: requestContext.context,
          document: direct.fetch.operationDocumentNode,
          pathInIncomingRequest: [],
          // Its data is the response: an answer that is data alone may be sent on unread.
          sentAsIs: true,
        } as SubgraphProcessOptions<GatewayGraphQLRequestContext['context']>);
      } catch {
        return executor(requestContext);
      }
      this.direct++;
      const data = response.data ?? (direct.rootNullable ? Object.fromEntries(direct.rootKeys.map((k) => [k, null])) : null);
      const errors = response.errors?.map((e) => downstreamError(e, direct.fetch.serviceName, e.path));
      return errors?.length ? { data, errors } : { data };
    };
  }

  /** A query of one operation and no fragment, which the fetch asks as it is, with nothing to shape in its answer. */
  private isOwnOperation(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, fetch: FetchNode): boolean {
    if (operation.operation !== 'query' || fetch.operationKind !== 'query' || fetch.requires || fetch.hasDefers) return false;
    if (fetch.inputRewrites?.length || fetch.outputRewrites?.length || fetch.contextRewrites?.length) return false;
    if (document.definitions.length !== 1) return false;
    const renamed: OperationDefinitionNode = { ...operation, name: fetch.operationName ? { kind: Kind.NAME, value: fetch.operationName } : undefined };
    if (stripIgnoredCharacters(print(renamed)) !== fetch.operation) return false;
    // Nothing the walk would change: no abstract type (its __typename), no enum with hidden values.
    const hidden = this.hiddenEnums.get(schema);
    if (!hidden) return false;
    const typeInfo = new TypeInfo(schema);
    let plain = true;
    visit(
      operation,
      visitWithTypeInfo(typeInfo, {
        Field() {
          const type = getNamedType(typeInfo.getType());
          if (!type || isAbstractType(type) || (isEnumType(type) && hidden.has(type.name))) {
            plain = false;
            return BREAK;
          }
          return undefined;
        },
      }),
    );
    return plain;
  }
}

function rootShape(schema: GraphQLSchema, operation: OperationDefinitionNode): { rootKeys: string[]; rootNullable: boolean } {
  const fields = schema.getQueryType()?.getFields() ?? {};
  const roots = operation.selectionSet.selections.flatMap((s) => (s.kind === Kind.FIELD ? [s] : []));
  return {
    rootKeys: roots.map((f) => f.alias?.value ?? f.name.value),
    rootNullable: roots.every((f) => !isNonNullType(fields[f.name.value]?.type)),
  };
}
