import type { GatewayExecutor, GatewayInterface } from '@apollo/server-gateway-interface';
import { getOperationAST, GraphQLError, type DocumentNode, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { getVariableValues } from 'graphql/execution/values.js';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';

/**
 * A subgraph's executor compiled per operation by graphql-jit: each document's operation becomes a
 * JavaScript function once, so a request walks its answer (a storefront's 20 SKUs by 28 locations)
 * without graphql-js's per-field lookups, argument checks and promise tests. Plugged into Apollo
 * Server through its gateway interface (the only place it takes another executor); parsing,
 * validation, plugins and error formatting stay Apollo Server's.
 *
 * What it keeps as graphql-js does it: variables are coerced by graphql-js first, so a bad one is
 * refused with the same error (BAD_USER_INPUT, HTTP 400); graphql-jit's errors are turned into
 * graphql-js GraphQLErrors carrying the resolver's error, which the error formatter maps to its code.
 */
export function jitExecutor(schema: GraphQLSchema): GatewayInterface {
  // Apollo Server parses each distinct query text once: the same text brings the same document.
  const compiled = new WeakMap<DocumentNode, Map<string, CompiledQuery>>();
  const executor: GatewayExecutor = async (rc) => {
    const operation = getOperationAST(rc.document, rc.operationName);
    const inputs = rc.request.variables ?? {};
    if (operation?.variableDefinitions?.length) {
      const coerced = getVariableValues(schema, operation.variableDefinitions, inputs, { maxErrors: 50 });
      if (coerced.errors) return { errors: coerced.errors };
    }
    let byOperation = compiled.get(rc.document);
    if (!byOperation) compiled.set(rc.document, (byOperation = new Map()));
    const key = rc.operationName ?? '';
    let query = byOperation.get(key);
    if (!query) {
      const result = compileQuery(schema, rc.document, rc.operationName ?? undefined);
      if (!isCompiledQuery(result)) return result as ExecutionResult;
      query = result;
      byOperation.set(key, query);
    }
    const result = (await query.query(undefined, rc.context, inputs)) as ExecutionResult;
    return result.errors ? { ...result, errors: result.errors.map(asGraphQLError) } : result;
  };
  return {
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: '' });
      return () => {};
    },
    load: async () => ({ executor }),
    stop: async () => {},
  };
}

/** graphql-jit's error (not a graphql-js GraphQLError, and with no extensions unless its cause had some) as graphql-js's. */
function asGraphQLError(e: GraphQLError): GraphQLError {
  const error = new GraphQLError(e.message, { path: e.path, originalError: e.originalError ?? undefined, extensions: e.extensions ?? undefined });
  return Object.assign(error, { locations: e.locations });
}
