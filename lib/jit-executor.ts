import type { GatewayExecutor, GatewayInterface } from '@apollo/server-gateway-interface';
import { getOperationAST, GraphQLError, type DocumentNode, type ExecutionResult, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { getVariableValues } from 'graphql/execution/values.js';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';

/**
 * An answer's `data` already written as JSON, sent as it is (the subgraph's `stringifyResult`):
 * what a PreparedAnswers puts together from answers it keeps, as UTF-8 pieces joined only once,
 * into the response's bytes. Anything else that serializes it (a plugin, a log line) gets the same
 * value through toJSON.
 */
export class SerializedData {
  /** @param chunks the data's JSON, in pieces that are its text when joined as they are */
  constructor(readonly chunks: readonly Buffer[]) {}

  toJSON(): unknown {
    return JSON.parse(Buffer.concat(this.chunks).toString());
  }
}

const DATA_OPEN = Buffer.from('{"data":');
const DATA_CLOSE = Buffer.from('}\n');

/**
 * JSON.stringify of an Apollo Server result, with SerializedData written as it is: as the UTF-8
 * bytes of the response body, not as a string. A string of a storefront's 40 KB would be copied
 * three times more (joined, put behind the HTTP head, encoded again for the socket), most of the
 * subgraph's garbage per request. Apollo Server only hands the value on: its Fastify integration
 * returns it for Fastify to send, which sends a Buffer as it is, and a batch's answers are joined
 * in a template string, where a Buffer reads as its UTF-8 text (lib/jit-executor.test.ts).
 */
export function stringifyResult(result: { data?: unknown; errors?: unknown; extensions?: unknown }): string {
  if (result.data instanceof SerializedData && result.errors === undefined && result.extensions === undefined) {
    return Buffer.concat([DATA_OPEN, ...result.data.chunks, DATA_CLOSE]) as unknown as string;
  }
  return jsonBody(result);
}

/**
 * A response body as JSON, as its UTF-8 bytes (typed as the string Apollo Server's
 * `stringifyResult` returns, see above). Encoded once here, where a string would be measured by
 * Fastify and by Node's HTTP response each (`Buffer.byteLength`, a scan of the whole text every
 * time: 5 % of the gateway's CPU on a three-hop answer) and encoded again for the socket.
 */
export function jsonBody(value: unknown): string {
  return Buffer.from(`${JSON.stringify(value)}\n`) as unknown as string;
}

/** Runs an operation through its compiled query with the variables as sent (`inputs`) and the root value given (the root fields' first argument). */
export type ExecuteOperation<C> = (rootValue: unknown, inputs: Record<string, unknown>, context: C) => Promise<ExecutionResult>;

/**
 * How a PreparedAnswers answers one operation, given its variables coerced (`values`) and as sent
 * (`inputs`, for ExecuteOperation): data as JSON text, or a result as execution makes it.
 */
export type PreparedAnswer<C> = (values: Record<string, unknown>, inputs: Record<string, unknown>, context: C) => Promise<SerializedData | ExecutionResult>;

/**
 * A subgraph's quicker way to answer some operations, tried instead of running the compiled query:
 * `prepare` sees each (document, operation) once, after its variables have been coerced and with
 * the scopes checked, and returns how to answer it (it may still run the compiled query, given as
 * `execute`), or null to leave it to the compiled query.
 */
export interface PreparedAnswers<C> {
  prepare(schema: GraphQLSchema, operation: OperationDefinitionNode, execute: ExecuteOperation<C>): PreparedAnswer<C> | null;
}

interface Compiled<C> {
  query: CompiledQuery;
  answer: PreparedAnswer<C> | null;
}

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
 * `answers` may answer some operations another way (PreparedAnswers).
 */
export function jitExecutor<C>(schema: GraphQLSchema, answers?: PreparedAnswers<C> | null): GatewayInterface {
  // Apollo Server parses each distinct query text once: the same text brings the same document.
  const compiled = new WeakMap<DocumentNode, Map<string, Compiled<C>>>();
  const executor: GatewayExecutor = async (rc) => {
    const operation = getOperationAST(rc.document, rc.operationName);
    const inputs = rc.request.variables ?? {};
    // graphql-jit coerces the inputs itself; a prepared answer is given them coerced.
    let values: Record<string, unknown> = {};
    if (operation?.variableDefinitions?.length) {
      const coerced = getVariableValues(schema, operation.variableDefinitions, inputs, { maxErrors: 50 });
      if (coerced.errors) return { errors: coerced.errors };
      values = coerced.coerced;
    }
    let byOperation = compiled.get(rc.document);
    if (!byOperation) compiled.set(rc.document, (byOperation = new Map()));
    const key = rc.operationName ?? '';
    let entry = byOperation.get(key);
    if (!entry) {
      const query = compileQuery(schema, rc.document, rc.operationName ?? undefined);
      if (!isCompiledQuery(query)) return query as ExecutionResult;
      const execute: ExecuteOperation<C> = async (root, variables, context) => formatErrors((await query.query(root, context, variables)) as ExecutionResult);
      entry = { query, answer: (operation && answers?.prepare(schema, operation, execute)) || null };
      byOperation.set(key, entry);
    }
    if (entry.answer) {
      const answer = await entry.answer(values, inputs, rc.context as C);
      return answer instanceof SerializedData ? { data: answer as unknown as Record<string, unknown> } : answer;
    }
    return formatErrors((await entry.query.query(undefined, rc.context, inputs)) as ExecutionResult);
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

function formatErrors(result: ExecutionResult): ExecutionResult {
  return result.errors ? { ...result, errors: result.errors.map(asGraphQLError) } : result;
}

/** graphql-jit's error (not a graphql-js GraphQLError, and with no extensions unless its cause had some) as graphql-js's. */
function asGraphQLError(e: GraphQLError): GraphQLError {
  const error = new GraphQLError(e.message, { path: e.path, originalError: e.originalError ?? undefined, extensions: e.extensions ?? undefined });
  return Object.assign(error, { locations: e.locations });
}
