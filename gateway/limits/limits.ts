import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import {
  GraphQLError,
  getNullableType,
  getOperationAST,
  getVariableValues,
  GraphQLList,
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import { createRequire } from 'node:module';
import type { ComplexityEstimator } from 'graphql-query-complexity';
import { closeRedis, type RedisClient } from '../../lib/redis.js';
import type { Config } from '../../lib/config.js';
import { QueryTooComplexError, RateLimitedError, refusalError } from '../../lib/errors.js';
import { perClientSetting, type RateLimiter, type RateSettings } from './rate-limiter.js';

export { LocalGcra, RateLimiter, refused, type RateDecision } from './rate-limiter.js';

// Its ESM build imports graphql's .mjs files, a second copy of graphql-js beside the CommonJS one
// Apollo uses ("Cannot use GraphQLObjectType from another module or realm"): load the CommonJS build.
const { getComplexity, simpleEstimator } = createRequire(import.meta.url)('graphql-query-complexity') as typeof import('graphql-query-complexity');

export interface LimitSettings extends RateSettings {
  /** Largest accepted estimated cost of an operation; 0 = off. */
  maxCost: number;
  /** Per-client overrides of maxCost (0 = unlimited for that client). */
  maxCostPerClient: Record<string, number>;
  /** Largest accepted selection depth of an operation; 0 = off. */
  maxDepth: number;
  /** Most field selections once fragments are expanded; measured before the cost, and never off. */
  maxFields: number;
  /** Most tokens the parser reads of an operation (graphql-js `maxTokens`). */
  maxTokens: number;
}

export function limitSettings(cfg: Config): LimitSettings {
  return {
    perMinute: cfg.RATE_LIMIT_PER_MINUTE,
    perClient: cfg.RATE_LIMITS,
    maxCost: cfg.MAX_QUERY_COST,
    maxCostPerClient: cfg.MAX_QUERY_COSTS,
    maxDepth: cfg.MAX_QUERY_DEPTH,
    maxFields: cfg.MAX_QUERY_FIELDS,
    maxTokens: cfg.MAX_QUERY_TOKENS,
    keyPrefix: cfg.REDIS_KEY_PREFIX,
    windowMs: 60_000,
    leaseMs: cfg.RATE_LIMIT_LEASE_MS,
  };
}

export interface QueryMeasure {
  /** Null when the operation is too large to be estimated (more than `maxFields` selections). */
  cost: number | null;
  depth: number;
  /** Field selections with fragments expanded, counted up to the limit and one past it. */
  fields: number;
}

const LIST_SIZE_ARGS = ['first', 'last', 'limit'];

/** Size of the list a field returns, from its arguments: `first`/`last`/`limit`, else the longest array argument (`skus`, `ids`, …). */
function listSize(args: Record<string, unknown>): number | undefined {
  for (const name of LIST_SIZE_ARGS) {
    const v = args[name];
    if (typeof v === 'number' && v >= 0) return v;
  }
  let size: number | undefined;
  const visit = (value: unknown, level: number) => {
    if (Array.isArray(value)) size = Math.max(size ?? 0, value.length);
    else if (value && typeof value === 'object' && level < 2) for (const v of Object.values(value)) visit(v, level + 1);
  };
  for (const v of Object.values(args)) visit(v, 0);
  return size;
}

/** simpleEstimator's cost (1 per field plus its children) multiplied by the list size the arguments ask for. */
export const listSizeEstimator: ComplexityEstimator = ({ field, args, childComplexity }) => {
  const isList = getNullableType(field.type) instanceof GraphQLList;
  const n = LIST_SIZE_ARGS.some((a) => typeof args[a] === 'number') || isList ? listSize(args) : undefined;
  if (n === undefined) return undefined;
  return Math.max(1, n) * (1 + childComplexity);
};

/**
 * Deepest field nesting and number of field selections of the operation, fragments expanded
 * (introspection counts too). Each fragment is measured once, so a document spreading fragments
 * inside fragments costs its own size to measure, not the size of its expansion; the count stops
 * one past `cap`. Validation has refused fragment cycles before this runs.
 */
export function querySize(document: DocumentNode, operationName: string | null | undefined, cap = Number.MAX_SAFE_INTEGER): { depth: number; fields: number } {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const ops = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  const op = operationName ? ops.find((o) => o.kind === Kind.OPERATION_DEFINITION && o.name?.value === operationName) : ops[0];
  if (!op || op.kind !== Kind.OPERATION_DEFINITION) return { depth: 0, fields: 0 };
  const measured = new Map<string, { depth: number; fields: number }>();
  const sizeOf = (set: SelectionSetNode, visiting: Set<string>): { depth: number; fields: number } => {
    let depth = 0;
    let fields = 0;
    for (const s of set.selections) {
      let inner: { depth: number; fields: number } | undefined;
      if (s.kind === Kind.FIELD) {
        const below = s.selectionSet ? sizeOf(s.selectionSet, visiting) : { depth: 0, fields: 0 };
        inner = { depth: below.depth + 1, fields: below.fields + 1 };
      } else if (s.kind === Kind.INLINE_FRAGMENT) {
        inner = sizeOf(s.selectionSet, visiting);
      } else {
        const name = s.name.value;
        const f = fragments.get(name);
        if (f && !visiting.has(name)) {
          inner = measured.get(name);
          if (!inner) measured.set(name, (inner = sizeOf(f.selectionSet, new Set([...visiting, name]))));
        }
      }
      if (!inner) continue;
      depth = Math.max(depth, inner.depth);
      fields = Math.min(cap + 1, fields + inner.fields);
    }
    return { depth, fields };
  };
  return sizeOf(op.selectionSet, new Set());
}

const CACHE_PER_DOCUMENT = 100;

/**
 * What of the variables a measure depends on: numbers (a `first`), booleans (`@include(if:)`) and
 * how long lists are (`skus`), not the strings in them; so a storefront asking for another 20 SKUs
 * per request reuses the measure. Objects are followed as deep as listSize looks.
 */
export function measureKey(value: unknown, level = 0): string {
  if (Array.isArray(value)) return `[${value.length}]`;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (typeof value !== 'object' || value === undefined) return '';
  if (level > 4) return '{}';
  let key = '{';
  for (const [name, v] of Object.entries(value)) key += `${name}:${measureKey(v, level + 1)},`;
  return `${key}}`;
}

/**
 * Rate, cost and depth limits at the gateway, for HTTP (an Apollo plugin) and graphql-ws (refusal()):
 * checked once the operation is resolved, before any subgraph is called.
 */
export class GatewayLimits {
  private readonly measures = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, Map<string, QueryMeasure>>>();

  constructor(
    readonly settings: LimitSettings,
    private readonly rate: RateLimiter | null,
    private readonly redis: RedisClient | null,
  ) {}

  /** Cost and depth of an operation, computed once per (schema, document, operation, measureKey of the variables). */
  measure(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown> = {}): QueryMeasure {
    let bySchema = this.measures.get(schema);
    if (!bySchema) this.measures.set(schema, (bySchema = new WeakMap()));
    let byDocument = bySchema.get(document);
    if (!byDocument) bySchema.set(document, (byDocument = new Map()));
    const key = `${operationName ?? ''}\n${measureKey(variables)}`;
    const cached = byDocument.get(key);
    if (cached) return cached;
    const size = querySize(document, operationName, this.settings.maxFields);
    // Too large to estimate: refused on its size, before the estimator walks its expansion.
    const cost =
      size.fields > this.settings.maxFields
        ? null
        : getComplexity({
            schema,
            query: document,
            variables,
            operationName: operationName ?? undefined,
            estimators: [listSizeEstimator, simpleEstimator({ defaultComplexity: 1 })],
          });
    const measure = { cost, ...size };
    if (byDocument.size >= CACHE_PER_DOCUMENT) byDocument.delete(byDocument.keys().next().value!);
    byDocument.set(key, measure);
    return measure;
  }

  /** QUERY_TOO_COMPLEX when the operation is too costly (for this client) or too deep, else null. */
  complexity(
    schema: GraphQLSchema,
    document: DocumentNode,
    operationName: string | null | undefined,
    variables: Record<string, unknown> | undefined,
    client: string,
  ): GraphQLError | null {
    const { maxDepth, maxFields } = this.settings;
    const maxCost = perClientSetting(client, this.settings.maxCostPerClient, this.settings.maxCost);
    // No operation to run (several unnamed, or an unknown name): Apollo refuses it (OPERATION_RESOLUTION_FAILURE) before anything runs.
    const operation = getOperationAST(document, operationName);
    if (!operation) return null;
    let m: QueryMeasure;
    try {
      m = this.measure(schema, document, operationName, variables);
    } catch (err) {
      // Variables that do not fit the operation: graphql-js refuses them before anything runs.
      if (getVariableValues(schema, operation.variableDefinitions ?? [], variables ?? {}).errors) return null;
      // Anything else that cannot be measured is refused: a limit that fails open is no limit.
      return refusalError(new QueryTooComplexError(`The operation could not be measured against the limits (${(err as Error).message})`, { reason: 'UNMEASURABLE' }));
    }
    if (m.fields > maxFields) {
      return refusalError(
        new QueryTooComplexError(`The operation selects more than ${maxFields} fields once its fragments are expanded; ask for fewer`, { reason: 'FIELDS', maxFields }),
      );
    }
    if (maxDepth > 0 && m.depth > maxDepth) {
      return refusalError(
        new QueryTooComplexError(`The operation is nested ${m.depth} levels deep; the limit is ${maxDepth}`, { reason: 'DEPTH', depth: m.depth, maxDepth, cost: m.cost, maxCost }),
      );
    }
    if (maxCost > 0 && m.cost !== null && m.cost > maxCost) {
      return refusalError(
        new QueryTooComplexError(`The operation's estimated cost is ${m.cost}; the limit is ${maxCost}: ask for fewer items or fields`, {
          reason: 'COST',
          cost: m.cost,
          maxCost,
          depth: m.depth,
          maxDepth,
        }),
      );
    }
    return null;
  }

  /** RATE_LIMITED (HTTP 429 with Retry-After) when the client has used its budget of this window, else null; `n`: a batch's operations. */
  async rateRefusal(client: string, n = 1): Promise<GraphQLError | null> {
    if (!this.rate) return null;
    const decision = await this.rate.take(client, n);
    if (decision.ok) return null;
    const err = new RateLimitedError(`Client ${client} is over its limit of ${decision.limit} requests per minute; retry in ${decision.retryAfterSeconds} s`, {
      limit: decision.limit,
      retryAfterSeconds: decision.retryAfterSeconds,
    });
    return refusalError(err);
  }

  /** Both checks, complexity first (a refused query does not use the budget); for graphql-ws. */
  async refusal(
    schema: GraphQLSchema,
    document: DocumentNode,
    operationName: string | null | undefined,
    variables: Record<string, unknown> | undefined,
    client: string,
  ): Promise<GraphQLError | null> {
    return this.complexity(schema, document, operationName, variables, client) ?? (await this.rateRefusal(client));
  }

  plugin<C extends BaseContext & LimitContext>(): ApolloServerPlugin<C> {
    return {
      requestDidStart: async () => ({
        didResolveOperation: async ({ schema, document, operationName, request, contextValue }) => {
          // A batch took its operations from the budget at once, when its context was built.
          const refusal = contextValue.rateCharged
            ? this.complexity(schema, document, operationName, request.variables, rateKey(contextValue))
            : await this.refusal(schema, document, operationName, request.variables, rateKey(contextValue));
          if (refusal) throw refusal;
        },
      }),
    };
  }

  async close(): Promise<void> {
    if (this.redis) await closeRedis(this.redis);
  }
}

export interface LimitContext {
  clientId: string | null;
  remoteAddress?: string | null;
  /** Set on the operations of a batched HTTP request: the whole batch was counted against the rate limit up front. */
  rateCharged?: boolean;
}

/** Whose budget a request uses: its client (an identity's; under AUTH_MODE=off its x-client-id), else the caller's address. */
export function rateKey(ctx: LimitContext): string {
  if (ctx.clientId) return `client:${ctx.clientId}`;
  return `ip:${ctx.remoteAddress ?? 'unknown'}`;
}
