import { createRequire } from 'node:module';
import { assert, ERRORS, errorCodeDef, operationFromDocument, type FieldSelection, type Operation, type Schema, type Selection } from '@apollo/federation-internals';
import type { ServiceMap } from '@apollo/gateway';
import type { OperationContext } from '@apollo/gateway/dist/operationContext.js';
import { GraphQLDataSourceRequestKind } from '@apollo/gateway/dist/datasources/types.js';
import { evaluateCondition, type FetchNode, type PlanNode, type QueryPlan, type QueryPlanSelectionNode, type ResponsePath } from '@apollo/query-planner';
import type { GatewayExecutionResult, GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import { executeSync, GraphQLError, Kind, OperationTypeNode, visit, type FieldNode, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';

/** @apollo/gateway's `executeQueryPlan` (its executeQueryPlan module's export, which ApolloGateway calls through). */
export type ExecuteQueryPlan = (
  queryPlan: QueryPlan,
  serviceMap: ServiceMap,
  requestContext: GatewayGraphQLRequestContext,
  operationContext: OperationContext,
  supergraphSchema: GraphQLSchema,
  apiSchema: Schema,
  telemetryConfig?: unknown,
) => Promise<GatewayExecutionResult>;

type Rewrites = FetchNode['inputRewrites'];
type Data = Record<string, unknown>;

// The federation packages are pinned to one exact version (package.json): these are its modules.
const require = createRequire(import.meta.url);
const planModule = require('@apollo/gateway/dist/executeQueryPlan.js') as { executeQueryPlan: ExecuteQueryPlan & { compiled?: CompiledPlanExecution }; generateHydratedPaths: (parent: ResponsePath, path: ResponsePath, data: Data | null, result: ResponsePath[]) => void };
const shapingModule = require('@apollo/gateway/dist/resultShaping.js') as {
  computeResponse: (args: { operation: Operation; variables: Data | undefined; input: Data; introspectionHandling: (selection: Selection) => unknown }) => { data: Data | null | undefined; errors: GraphQLError[] };
};
const { applyRewrites, isObjectOfType } = require('@apollo/gateway/dist/dataRewrites.js') as {
  applyRewrites: (schema: GraphQLSchema, rewrites: Rewrites, value: unknown) => void;
  isObjectOfType: (schema: GraphQLSchema, obj: Data, typeCondition: string) => boolean;
};
const { deepMerge } = require('@apollo/gateway/dist/utilities/deepMerge.js') as { deepMerge: (target: unknown, source: unknown) => unknown };

const hasOwn = Object.prototype.hasOwnProperty;

/** One execution: what its fetches need, the errors they met, and its operation (built only when something asks). */
interface Execution {
  requestContext: GatewayGraphQLRequestContext;
  serviceMap: ServiceMap;
  supergraphSchema: GraphQLSchema;
  errors: GraphQLError[];
  operation(): Operation;
}

/**
 * `@apollo/gateway`'s query-plan execution (`executeQueryPlan`), without its per-request overheads:
 * for a three-hop query (20 requests at once, 1 to 50 stock levels a location) it was about a seventh
 * of the gateway's busy time, most of it in finding the entities at a plan path (a copy of the rest
 * of the path per step and per list element), building representations (an object and a merge per
 * inline fragment) and building the operation again from the document for every request.
 *
 * The same plan walk and the same rules: entities at a flatten path (`@` a list level), a fetch's
 * variables, representations of each entity its typename allows (input rewrites applied), `_entities`
 * answers checked and merged into their entities (output rewrites applied), a subgraph's errors at
 * their path in the response, then the result shaping (gateway/result-shaping.ts, installed in the
 * same module). It keeps the original for what it does not do: an execution whose traces are
 * captured (Apollo usage reporting, its FTV1 protobuf trees), and one while this process exports
 * OpenTelemetry spans (the original's `gateway.execute`/`gateway.fetch` spans).
 */
export class CompiledPlanExecution {
  constructor(
    /** @apollo/gateway's own. */
    readonly original: ExecuteQueryPlan,
    /** Whether this process exports OpenTelemetry spans: executions then go to the original, which makes them. */
    private readonly traced: () => boolean,
  ) {}

  /** @apollo/gateway's own executeQueryPlan, installed here or not. */
  static original(): ExecuteQueryPlan {
    return planModule.executeQueryPlan.compiled?.original ?? planModule.executeQueryPlan;
  }

  /** Installs it in @apollo/gateway (idempotent): every ApolloGateway of this process executes its plans with it. */
  static install(traced: () => boolean): void {
    if (typeof planModule.executeQueryPlan !== 'function' || typeof shapingModule.computeResponse !== 'function' || typeof applyRewrites !== 'function' || typeof deepMerge !== 'function') {
      throw new Error('@apollo/gateway is not the version gateway/plan-execution.ts was written for (its executeQueryPlan, resultShaping, dataRewrites or deepMerge module changed)');
    }
    if (planModule.executeQueryPlan.compiled) return;
    const execution = new CompiledPlanExecution(planModule.executeQueryPlan, traced);
    planModule.executeQueryPlan = Object.assign(((...args: Parameters<ExecuteQueryPlan>) => execution.execute(...args)) as ExecuteQueryPlan, { compiled: execution });
  }

  async execute(...args: Parameters<ExecuteQueryPlan>): Promise<GatewayExecutionResult> {
    const [queryPlan, serviceMap, requestContext, operationContext, supergraphSchema, apiSchema] = args;
    if (requestContext.metrics?.captureTraces || queryPlan.node?.kind === 'Subscription' || this.traced()) return this.original(...args);
    let operation: Operation | undefined;
    const execution: Execution = {
      requestContext,
      serviceMap,
      supergraphSchema,
      errors: [],
      operation: () =>
        (operation ??= operationFromDocument(apiSchema, { kind: Kind.DOCUMENT, definitions: [operationContext.operation, ...Object.values(operationContext.fragments)] }, { validate: false })),
    };
    const data: Data = Object.create(null);
    if (queryPlan.node) await executeNode(execution, queryPlan.node, { path: [], data, fullResult: data });
    const errors = execution.errors;
    try {
      const variables = requestContext.request.variables;
      const shaped = shapingModule.computeResponse({
        // Read only to compile the operation's shaping, once per document (result-shaping.ts), or by the original shaping.
        get operation() {
          return execution.operation();
        },
        variables,
        input: data,
        introspectionHandling: (selection) => introspect(operationContext, selection, variables),
      });
      if (errors.length === 0 && shaped.errors.length > 0) return { extensions: { valueCompletion: shaped.errors }, data: shaped.data };
      return errors.length === 0 ? { data: shaped.data } : { errors, data: shaped.data };
    } catch (error) {
      if (error instanceof GraphQLError) return { errors: [error] };
      if (error instanceof Error) return { errors: [new GraphQLError(error.message, { originalError: error })] };
      (requestContext.logger ?? console).error(`Unexpected error during query plan execution: ${String(error)}`);
      return { errors: [new GraphQLError('Unexpected error during query plan execution')] };
    }
  }
}

/** Where a plan node runs: the response path so far, the value(s) there, and the whole response. */
interface Cursor {
  path: ResponsePath;
  data: unknown;
  fullResult: Data;
}

async function executeNode(execution: Execution, node: PlanNode, cursor: Cursor): Promise<void> {
  switch (node.kind) {
    case 'Sequence':
      for (const child of node.nodes) await executeNode(execution, child, cursor);
      return;
    case 'Parallel':
      await Promise.all(node.nodes.map((child) => executeNode(execution, child, cursor)));
      return;
    case 'Flatten': {
      const data = valuesAt(cursor.data, node.path);
      if (data) await executeNode(execution, node.node, { path: cursor.path.concat(node.path), data, fullResult: cursor.fullResult });
      return;
    }
    case 'Fetch':
      try {
        await executeFetch(execution, node, cursor);
      } catch (err) {
        execution.errors.push(err as GraphQLError);
      }
      return;
    case 'Condition': {
      const branch = evaluateCondition(node, execution.operation().variableDefinitions, execution.requestContext.request.variables) ? node.ifClause : node.elseClause;
      if (branch) await executeNode(execution, branch, cursor);
      return;
    }
    case 'Defer':
      assert(false, '@defer support is not available in the gateway');
  }
}

/**
 * The value at `path` from `value`: each `@` a list whose elements' values are gathered into one
 * list (a list value at the end is spread into it too), as @apollo/gateway's `flattenResultsAtPath`.
 */
export function valuesAt(value: unknown, path: ResponsePath): unknown {
  let at = value;
  for (let i = 0; i < path.length; i++) {
    if (at === undefined || at === null) return at;
    const step = path[i];
    if (step === '@') {
      const gathered: unknown[] = [];
      for (const element of at as unknown[]) gather(element, path, i + 1, gathered);
      return gathered;
    }
    at = member(at, step);
  }
  return at;
}

/** Adds the value(s) at `path[i..]` from `value` to `into`, as one element of a list being flattened. */
function gather(value: unknown, path: ResponsePath, i: number, into: unknown[]): void {
  let at = value;
  for (; i < path.length; i++) {
    if (at === undefined || at === null) break;
    const step = path[i];
    if (step === '@') {
      for (const element of at as unknown[]) gather(element, path, i + 1, into);
      return;
    }
    at = member(at, step);
  }
  if (Array.isArray(at)) for (const element of at) into.push(element);
  else into.push(at);
}

/** The field `step` of the object `at` (undefined when it has none), as a plan path steps into it. */
function member(at: unknown, step: ResponsePath[number]): unknown {
  assert(typeof step === 'string', () => `Unexpected ${typeof step} found in path`);
  assert(!Array.isArray(at), () => `Unexpected array in result for path element ${step}`);
  return hasOwn.call(at, step) ? (at as Data)[step] : undefined;
}

async function executeFetch(execution: Execution, fetch: FetchNode, cursor: Cursor): Promise<void> {
  const service = execution.serviceMap[fetch.serviceName];
  if (!service) throw new Error(`Couldn't find service with name "${fetch.serviceName}"`);
  const entities: Data[] = [];
  if (Array.isArray(cursor.data)) {
    for (const entity of cursor.data) if (entity !== null && entity !== undefined) entities.push(entity as Data);
  } else {
    entities.push(cursor.data as Data);
  }
  if (entities.length === 0) return;
  const variables = variablesOf(fetch, execution.requestContext);
  const schema = execution.supergraphSchema;
  if (!fetch.requires) {
    const received = await send(execution, service, fetch, cursor, variables);
    if (received) applyRewrites(schema, fetch.outputRewrites, received);
    for (const entity of entities) deepMerge(entity, received);
    return;
  }
  const representations: Data[] = [];
  const representationToEntity: number[] = [];
  for (let i = 0; i < entities.length; i++) {
    const representation = select(schema, entities[i]!, fetch.requires);
    if (representation && representation.__typename) {
      applyRewrites(schema, fetch.inputRewrites, representation);
      representations.push(representation);
      representationToEntity.push(i);
    }
  }
  if (representations.length === 0) return;
  if ('representations' in variables) throw new Error('Variables cannot contain key "representations"');
  variables.representations = representations;
  const received = await send(execution, service, fetch, cursor, variables);
  if (!received) return;
  const answered = received._entities;
  if (!Array.isArray(answered)) throw new Error('Expected "data._entities" in response to be an array');
  if (answered.length !== representations.length) throw new Error(`Expected "data._entities" to contain ${representations.length} elements`);
  for (let i = 0; i < answered.length; i++) {
    const entity = answered[i] as Data | null;
    const existing = entities[representationToEntity[i]!]!;
    if (entity && !entity.__typename) entity.__typename = existing.__typename;
    applyRewrites(schema, fetch.outputRewrites, entity);
    deepMerge(existing, entity);
  }
}

/** Sends a fetch; its errors join the execution's, at their paths in the response. @returns the answer's data */
async function send(execution: Execution, service: ServiceMap[string], fetch: FetchNode, cursor: Cursor, variables: Data): Promise<Data | null | undefined> {
  const { requestContext } = execution;
  const response = await service.process({
    kind: GraphQLDataSourceRequestKind.INCOMING_OPERATION,
    request: { query: fetch.operation, variables, operationName: fetch.operationName },
    incomingRequestContext: requestContext,
    context: requestContext.context,
    document: fetch.operationDocumentNode,
    pathInIncomingRequest: cursor.path,
  });
  if (response.errors) {
    const pathOf = errorPaths(fetch, cursor);
    for (const error of response.errors) execution.errors.push(downstreamError(error, fetch.serviceName, pathOf(error.path)));
    if (!response.extensions?.ftv1) {
      const paths = response.errors.map((error) => ({ subgraph: fetch.serviceName, path: error.path }));
      const metrics = requestContext.metrics as { nonFtv1ErrorPaths?: typeof paths };
      if (metrics.nonFtv1ErrorPaths) metrics.nonFtv1ErrorPaths.push(...paths);
      else metrics.nonFtv1ErrorPaths = paths;
    }
  }
  return response.data as Data | null | undefined;
}

/** A subgraph error's path in the response: an `_entities` index becomes its entity's path (worked out once, when an error needs it). */
function errorPaths(fetch: FetchNode, cursor: Cursor): (path: GraphQLFormattedError['path']) => ResponsePath | undefined {
  let hydrated: ResponsePath[] | undefined;
  return (path) => {
    if (fetch.requires && typeof path?.[1] === 'number') {
      if (!hydrated) planModule.generateHydratedPaths([], cursor.path, cursor.fullResult, (hydrated = []));
      return [...(hydrated[path[1]] ?? []), ...path.slice(2)];
    }
    return path ? [...cursor.path, ...path] : undefined;
  };
}

/**
 * The fields of `source` a fetch's `requires` selects (its representation), or null when one is
 * missing; an inline fragment applies when the object is of its type, and one missing a field adds
 * nothing. @apollo/gateway's `executeSelectionSet`, without an object and a merge per fragment.
 */
function select(schema: GraphQLSchema, source: Data | null, selections: readonly QueryPlanSelectionNode[]): Data | null {
  if (source === null) return null;
  let result: Data | null = null;
  for (const selection of selections) {
    if (selection.kind === Kind.FIELD) {
      const name = selection.alias ?? selection.name;
      const value = hasOwn.call(source, name) ? source[name] : undefined;
      if (value === undefined) return null;
      const inner = selection.selections;
      result ??= Object.create(null) as Data;
      if (Array.isArray(value)) result[name] = inner ? value.map((element) => select(schema, element as Data | null, inner)) : value;
      else result[name] = inner ? select(schema, value as Data | null, inner) : value;
    } else if (selection.typeCondition && isObjectOfType(schema, source, selection.typeCondition)) {
      const fragment = select(schema, source, selection.selections);
      // The first fragment's fields are the representation; later ones merge into it.
      if (result === null) result = fragment;
      else deepMerge(result, fragment);
    }
  }
  return result ?? (Object.create(null) as Data);
}

/** The variables a fetch uses, of those the request gives, as @apollo/gateway passes them. */
export function variablesOf(fetch: FetchNode, requestContext: GatewayGraphQLRequestContext): Data {
  const provided = requestContext.request.variables;
  const variables: Data = Object.create(null);
  for (const name of fetch.variableUsages ?? []) {
    if (provided && hasOwn.call(provided, name) && provided[name] !== undefined) variables[name] = provided[name];
  }
  return variables;
}

/** A subgraph's error as @apollo/gateway reports it: its message, the path given, its code (DOWNSTREAM_SERVICE_ERROR when it has none), and the subgraph's name. */
export function downstreamError(original: GraphQLFormattedError, serviceName: string, path: GraphQLFormattedError['path']): GraphQLError {
  const message = original.message || `Error while fetching subquery from service "${serviceName}"`;
  const options = { originalError: original as unknown as Error, path, extensions: { ...original.extensions, serviceName } };
  const known = errorCodeDef(original);
  if (!known && original.extensions?.code) return new GraphQLError(message, options);
  return (known ?? ERRORS.DOWNSTREAM_SERVICE_ERROR).err(message, options);
}

/** An introspection field of the operation (`__schema`, `__type`), answered from the API schema as @apollo/gateway does. */
function introspect(operationContext: OperationContext, selection: Selection, variables: Data | undefined): unknown {
  // Introspection fields are fields (result-shaping.ts hands only those here).
  const field: FieldNode = (selection as FieldSelection).expandFragments().toSelectionNode();
  const used = new Set<string>();
  visit(field, { Variable: ({ name }) => void used.add(name.value) });
  const definitions = (operationContext.operation.variableDefinitions ?? []).filter((d) => used.has(d.variable.name.value));
  const { data, errors } = executeSync({
    schema: operationContext.schema,
    document: { kind: Kind.DOCUMENT, definitions: [{ kind: Kind.OPERATION_DEFINITION, operation: OperationTypeNode.QUERY, variableDefinitions: definitions, selectionSet: { kind: Kind.SELECTION_SET, selections: [field] } }] },
    rootValue: {},
    variableValues: variables,
  });
  assert(!errors?.length && data, () => `Introspection query for ${JSON.stringify(field)} should not have failed but got ${JSON.stringify(errors)}`);
  const key = field.alias?.value ?? field.name.value;
  return hasOwn.call(data, key) ? data![key] : undefined;
}
