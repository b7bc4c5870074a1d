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
import type { RedisClient } from '../../lib/redis.js';
import type { Logger } from 'pino';
import type { Config } from '../../lib/config.js';
import { QueryTooComplexError, RateLimitedError, refusalError } from '../../lib/errors.js';

// Its ESM build imports graphql's .mjs files, a second copy of graphql-js beside the CommonJS one
// Apollo uses ("Cannot use GraphQLObjectType from another module or realm"): load the CommonJS build.
const { getComplexity, simpleEstimator } = createRequire(import.meta.url)('graphql-query-complexity') as typeof import('graphql-query-complexity');

export interface LimitSettings {
  /** Requests per client and minute, shared by every gateway on the same Redis; 0 = off. */
  perMinute: number;
  /** Per-client overrides of perMinute (0 = unlimited for that client). */
  perClient: Record<string, number>;
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
  /** Redis key prefix (REDIS_KEY_PREFIX). */
  keyPrefix: string;
  windowMs: number;
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
  };
}

/**
 * GCRA (the generic cell rate algorithm), one atomic step on the Redis clock: each request moves the
 * client's theoretical arrival time (TAT) on by one emission interval (window / limit); a request is
 * refused when that would put the TAT more than a window ahead of now. So at most `limit` requests
 * pass in any sliding window (no doubling across a fixed window's boundary), an idle client has its
 * whole budget as a burst, and one key per client holds all the state.
 * KEYS[1] the client's TAT; ARGV[1] emission interval (ms), ARGV[2] window (ms), ARGV[3] requests taken
 * (0: only whether one more would be allowed, taking nothing).
 * Returns {allowed (1/0), ms until the requests would be allowed}.
 * Times are doubles of milliseconds since 1970 (a resolution of about 0.25 µs today), fine for any limit
 * up to millions per minute; the expiry is at least 1 ms.
 */
const GCRA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval, window, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or 0), now)
local next = tat + interval * math.max(n, 1)
if next - now > window then return {0, math.ceil(next - window - now)} end
if n > 0 then redis.call('SET', KEYS[1], next, 'PX', math.max(1, math.ceil(next - now))) end
return {1, 0}`;

export type RateDecision = { ok: true } | { ok: false; limit: number; retryAfterMs: number; retryAfterSeconds: number };

type GcraRedis = RedisClient & { omnistockGcra(key: string, intervalMs: string, windowMs: string, n: string): Promise<[number, number]> };

/**
 * The same GCRA in this process's memory: the budget a replica enforces alone while Redis cannot be
 * reached, so a Redis outage neither takes the API down nor lifts its limits (each replica then
 * allows up to the limit by itself). Entries whose time has passed are dropped as the map grows.
 */
export class LocalGcra {
  private readonly tats = new Map<string, number>();

  constructor(private readonly maxKeys = 100_000) {}

  take(key: string, intervalMs: number, windowMs: number, n: number, now = Date.now()): [allowed: number, waitMs: number] {
    const tat = Math.max(this.tats.get(key) ?? 0, now);
    const next = tat + intervalMs * Math.max(n, 1);
    if (next - now > windowMs) return [0, Math.ceil(next - windowMs - now)];
    if (n > 0) {
      if (this.tats.size >= this.maxKeys) for (const [k, t] of this.tats) if (t <= now) this.tats.delete(k);
      // Still full of live budgets (a flood of distinct keys): refuse rather than forget one.
      if (this.tats.size >= this.maxKeys && !this.tats.has(key)) return [0, windowMs];
      this.tats.set(key, next);
    }
    return [1, 0];
  }
}

/** Requests per client and sliding minute, counted in Redis (so every gateway replica shares one budget). */
export class RateLimiter {
  /** Counts while Redis is unreachable: limits fail closed to a per-replica budget. */
  private readonly local = new LocalGcra();
  private redisDown = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly settings: LimitSettings,
    private readonly log: Logger,
  ) {
    // EVALSHA, loading the script once (ioredis falls back to EVAL after a SCRIPT FLUSH): not the script's text with every request.
    if (!('omnistockGcra' in redis)) redis.defineCommand('omnistockGcra', { numberOfKeys: 1, lua: GCRA });
  }

  limitOf(client: string): number {
    return perClientSetting(client, this.settings.perClient, this.settings.perMinute);
  }

  /** Takes `n` requests (a batch counts each of its operations) from the client's budget, or none when they do not all fit; `n` = 0 only asks whether one more would. */
  async take(client: string, n = 1): Promise<RateDecision> {
    const limit = this.limitOf(client);
    if (limit <= 0) return { ok: true };
    const { windowMs } = this.settings;
    const key = `${this.settings.keyPrefix}:ratelimit:${client}`;
    let allowed: number;
    let waitMs: number;
    try {
      [allowed, waitMs] = await (this.redis as unknown as GcraRedis).omnistockGcra(key, String(windowMs / limit), String(windowMs), String(n));
      if (this.redisDown) this.log.info('rate limits counted in Redis again');
      this.redisDown = false;
    } catch (err) {
      // Fail closed, not down: this replica counts alone until Redis answers again.
      if (!this.redisDown) this.log.warn({ err: (err as Error).message }, 'Redis unavailable: rate limits counted by this replica alone');
      this.redisDown = true;
      [allowed, waitMs] = this.local.take(key, windowMs / limit, windowMs, n);
    }
    if (allowed === 1) return { ok: true };
    return { ok: false, limit, retryAfterMs: waitMs, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
  }
}

/** A client's override of a limit (RATE_LIMITS, MAX_QUERY_COSTS) when it has one, else the default; `client` is a rateKey. */
function perClientSetting(client: string, overrides: Record<string, number>, fallback: number): number {
  const id = client.startsWith('client:') ? client.slice('client:'.length) : undefined;
  return (id !== undefined ? overrides[id] : undefined) ?? fallback;
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
    await this.redis?.quit().catch(() => {});
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
