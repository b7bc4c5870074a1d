import { cancelOrder, shopifyOrders } from './orders.js';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import {
  buildSchema,
  execute,
  getArgumentValues,
  getDirectiveValues,
  getNamedType,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  isLeafType,
  isObjectType,
  Kind as AstKind,
  parse,
  validate,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLDirective,
  type GraphQLObjectType,
  type GraphQLResolveInfo,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { DEFAULT_PUSH_POLICIES } from '../../subgraphs/marketplaces/connectors/policies.js';
import { header, isRecord, type AccountState, type Dialect, type SimState } from './state.js';

/**
 * Shopify GraphQL Admin API (2026-04 semantics) under /shopify/:account/admin/api/:version/graphql.json,
 * executed for real on the small part of the schema an inventory sync needs. Every request is
 * charged its calculated cost against the store's one bucket, refunded down to the actual cost
 * afterwards, and answered with `extensions.cost`; a request the bucket cannot cover gets
 * `errors: [{ extensions: { code: 'THROTTLED' } }]` with HTTP 200, as Shopify does.
 *
 * Cost rules (Shopify's defaults): scalar and enum 0, object 1, connection 2 + first × one node's
 * cost (actual: the nodes returned), mutation 10, a single query at most 1000, input arrays at most 250.
 */

const SDL = /* GraphQL */ `
  directive @idempotent(key: String!) on FIELD

  type Query {
    inventoryItems(first: Int, after: String, query: String): InventoryItemConnection!
    orders(first: Int, after: String, query: String, sortKey: OrderSortKeys): OrderConnection!
  }
  enum OrderSortKeys {
    UPDATED_AT
    CREATED_AT
    ID
  }
  type OrderConnection {
    nodes: [Order!]!
    pageInfo: PageInfo!
  }
  type Order {
    id: ID!
    createdAt: String!
    updatedAt: String!
    cancelledAt: String
    lineItems(first: Int, after: String): LineItemConnection!
  }
  type LineItemConnection {
    nodes: [LineItem!]!
    pageInfo: PageInfo!
  }
  type LineItem {
    id: ID!
    sku: String
    quantity: Int!
  }
  enum OrderCancelReason {
    CUSTOMER
    DECLINED
    FRAUD
    INVENTORY
    STAFF
    OTHER
  }
  type Job {
    id: ID!
  }
  type OrderCancelUserError {
    field: [String!]
    message: String!
    code: String
  }
  type OrderCancelPayload {
    job: Job
    orderCancelUserErrors: [OrderCancelUserError!]!
  }
  type Mutation {
    orderCancel(orderId: ID!, reason: OrderCancelReason!, refund: Boolean!, restock: Boolean!, notifyCustomer: Boolean): OrderCancelPayload
    inventorySetQuantities(input: InventorySetQuantitiesInput!): InventorySetQuantitiesPayload
  }
  type InventoryItemConnection {
    nodes: [InventoryItem!]!
    pageInfo: PageInfo!
  }
  type PageInfo {
    hasNextPage: Boolean!
    endCursor: String
  }
  type InventoryItem {
    id: ID!
    sku: String
    inventoryLevel(locationId: ID!): InventoryLevel
  }
  type InventoryLevel {
    id: ID!
    quantities(names: [String!]!): [InventoryQuantity!]!
  }
  type InventoryQuantity {
    name: String!
    quantity: Int!
  }
  input InventorySetQuantitiesInput {
    name: String!
    reason: String!
    referenceDocumentUri: String
    quantities: [InventoryQuantityInput!]!
  }
  input InventoryQuantityInput {
    inventoryItemId: ID!
    locationId: ID!
    quantity: Int!
    "Required as of 2026-04: the quantity expected now (compare-and-swap), or null to skip the check."
    changeFromQuantity: Int
  }
  type InventorySetQuantitiesPayload {
    inventoryAdjustmentGroup: InventoryAdjustmentGroup
    userErrors: [InventorySetQuantitiesUserError!]!
  }
  type InventoryAdjustmentGroup {
    id: ID!
    reason: String!
    createdAt: String!
  }
  type InventorySetQuantitiesUserError {
    field: [String!]
    message: String!
    code: InventorySetQuantitiesUserErrorCode
  }
  enum InventorySetQuantitiesUserErrorCode {
    CHANGE_FROM_QUANTITY_STALE
    COMPARE_QUANTITY_REQUIRED
    COMPARE_QUANTITY_STALE
    IDEMPOTENCY_CONCURRENT_REQUEST
    IDEMPOTENCY_KEY_PARAMETER_MISMATCH
    INVALID_INVENTORY_ITEM
    INVALID_LOCATION
    INVALID_NAME
    INVALID_QUANTITY_NEGATIVE
    INVALID_QUANTITY_TOO_HIGH
    INVALID_QUANTITY_TOO_LOW
    INVALID_REASON
    INVALID_REFERENCE_DOCUMENT
    ITEM_NOT_STOCKED_AT_LOCATION
    NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR
    NON_MUTABLE_INVENTORY_ITEM
  }
`;

const schema = buildSchema(SDL);
const idempotent = schema.getDirective('idempotent') as GraphQLDirective;

export const MAX_QUERY_COST = 1000;
export const MAX_INPUT_ARRAY = 250;
const MUTATION_COST = 10;
const LOCATION_ID = /^gid:\/\/shopify\/Location\/\d+$/;
const REASONS = new Set([
  'correction', 'cycle_count_available', 'damaged', 'movement_canceled', 'movement_created', 'movement_received',
  'movement_updated', 'other', 'promotion', 'quality_control', 'received', 'reservation_created',
  'reservation_deleted', 'reservation_updated', 'restock', 'safety_stock', 'shrinkage',
]);

type Vars = Record<string, unknown>;
type Fragments = Record<string, FragmentDefinitionNode>;

/**
 * The cost of a selection: requested (from `first`) when `data` is undefined, actual (from what
 * came back) otherwise.
 */
function selectionCost(set: SelectionSetNode, type: GraphQLObjectType, vars: Vars, fragments: Fragments, data: unknown): number {
  let total = 0;
  for (const sel of set.selections) {
    if (sel.kind === AstKind.INLINE_FRAGMENT) {
      const cond = sel.typeCondition ? schema.getType(sel.typeCondition.name.value) : type;
      if (isObjectType(cond)) total += selectionCost(sel.selectionSet, cond, vars, fragments, data);
      continue;
    }
    if (sel.kind === AstKind.FRAGMENT_SPREAD) {
      const frag = fragments[sel.name.value];
      const cond = frag && schema.getType(frag.typeCondition.name.value);
      if (frag && isObjectType(cond)) total += selectionCost(frag.selectionSet, cond, vars, fragments, data);
      continue;
    }
    const def = type.getFields()[sel.name.value];
    const named = def && getNamedType(def.type);
    if (!def || !named || isLeafType(named) || !isObjectType(named) || !sel.selectionSet) continue;
    const child = data === undefined ? undefined : isRecord(data) ? data[sel.alias?.value ?? sel.name.value] : null;
    if (data !== undefined && child == null) continue; // never resolved: not charged
    const args = getArgumentValues(def, sel, vars);
    const nodesSel = sel.selectionSet.selections.find((s) => s.kind === AstKind.FIELD && s.name.value === 'nodes');
    const nodesType = named.getFields().nodes && getNamedType(named.getFields().nodes!.type);
    if (typeof args.first === 'number' && nodesSel?.kind === AstKind.FIELD && nodesSel.selectionSet && isObjectType(nodesType)) {
      // A connection: 2, plus one node's cost per node asked for (or returned).
      const perNode = (node: unknown) => 1 + selectionCost(nodesSel.selectionSet!, nodesType, vars, fragments, node);
      const nodes = isRecord(child) && Array.isArray(child.nodes) ? (child.nodes as unknown[]) : [];
      total += 2 + (data === undefined ? args.first * perNode(undefined) : nodes.reduce((sum: number, n) => sum + perNode(n), 0));
      continue;
    }
    // An object (a plain list counts as one).
    total += 1 + selectionCost(sel.selectionSet, named, vars, fragments, Array.isArray(child) ? (child[0] ?? null) : child);
  }
  return total;
}

function operationCost(op: OperationDefinitionNode, vars: Vars, fragments: Fragments, data?: unknown): number {
  if (op.operation === 'mutation') {
    return op.selectionSet.selections.filter((s) => s.kind === AstKind.FIELD && !s.name.value.startsWith('__')).length * MUTATION_COST;
  }
  return selectionCost(op.selectionSet, schema.getQueryType()!, vars, fragments, data);
}

/** The largest input array anywhere in the operation's arguments. */
function largestInputArray(op: OperationDefinitionNode, vars: Vars): number {
  const root = op.operation === 'mutation' ? schema.getMutationType()! : schema.getQueryType()!;
  const walk = (v: unknown): number =>
    Array.isArray(v) ? Math.max(v.length, ...v.map(walk)) : isRecord(v) ? Math.max(0, ...Object.values(v).map(walk)) : 0;
  let max = 0;
  for (const sel of op.selectionSet.selections) {
    if (sel.kind !== AstKind.FIELD) continue;
    const def = root.getFields()[sel.name.value];
    if (def) max = Math.max(max, walk(getArgumentValues(def, sel, vars)));
  }
  return max;
}

/** `sku:"A" OR sku:'B' OR sku:C` → [A, B, C] (backslash escapes inside quotes). */
export function parseSkuQuery(query: string): string[] {
  const out: string[] = [];
  for (const m of query.matchAll(/sku:(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([^\s()]+))/g)) {
    const raw = m[1] ?? m[2] ?? m[3] ?? '';
    out.push(m[3] !== undefined ? raw : raw.replace(/\\(.)/g, '$1'));
  }
  return [...new Set(out)];
}

function idFor(acct: AccountState, sku: string): string {
  let id = acct.shopify.ids.get(sku);
  if (!id) {
    id = `gid://shopify/InventoryItem/${acct.shopify.nextId++}`;
    acct.shopify.ids.set(sku, id);
    acct.shopify.skus.set(id, sku);
  }
  return id;
}

interface QuantityInput {
  inventoryItemId: string;
  locationId: string;
  quantity: number;
  changeFromQuantity?: number | null;
}
interface SetInput {
  name: string;
  reason: string;
  quantities: QuantityInput[];
}
interface UserError {
  field: string[];
  message: string;
  code: string;
}

function rootValue(state: SimState, acct: AccountState) {
  const level = (sku: string, locationId: string) =>
    LOCATION_ID.test(locationId)
      ? {
          id: `gid://shopify/InventoryLevel/${locationId.split('/').pop()}?inventory_item_id=${idFor(acct, sku).split('/').pop()}`,
          quantities: ({ names }: { names: string[] }) => names.map((name) => ({ name, quantity: acct.quantities.get(sku) ?? 0 })),
        }
      : null;

  return {
    inventoryItems: (args: { first?: number | null; after?: string | null; query?: string | null }) => {
      if (args.first == null) throw new GraphQLError('you must provide one of first or last', { extensions: { code: 'BAD_REQUEST' } });
      if (args.first < 0 || args.first > MAX_INPUT_ARRAY) throw new GraphQLError(`first must be between 0 and ${MAX_INPUT_ARRAY}`, { extensions: { code: 'BAD_REQUEST' } });
      // Any SKU exists (quantity 0) unless marked unlisted.
      const listed = parseSkuQuery(args.query ?? '').filter((s) => !acct.unlisted.has(s));
      const start = args.after ? Number(args.after) : 0;
      const page = listed.slice(start, start + args.first);
      acct.calls.read++;
      return {
        nodes: page.map((sku) => ({ id: idFor(acct, sku), sku, inventoryLevel: ({ locationId }: { locationId: string }) => level(sku, locationId) })),
        pageInfo: { hasNextPage: start + page.length < listed.length, endCursor: page.length ? String(start + page.length) : null },
      };
    },

    orders: (args: { first?: number | null; after?: string | null; query?: string | null }) => {
      if (args.first == null) throw new GraphQLError('you must provide one of first or last', { extensions: { code: 'BAD_REQUEST' } });
      const all = shopifyOrders(acct, args.query);
      const start = args.after ? Number(args.after) : 0;
      const page = all.slice(start, start + args.first);
      acct.calls.read++;
      return { nodes: page, pageInfo: { hasNextPage: start + page.length < all.length, endCursor: page.length ? String(start + page.length) : null } };
    },

    orderCancel: (args: { orderId: string; restock: boolean }) => {
      acct.calls.push++;
      const id = args.orderId.slice(args.orderId.lastIndexOf('/') + 1);
      if (!acct.orders.has(id)) return { job: null, orderCancelUserErrors: [{ field: ['orderId'], message: 'Order does not exist', code: 'NOT_FOUND' }] };
      cancelOrder(state, acct, id, { by: args.restock ? 'BUYER' : 'SELLER' });
      return { job: { id: `gid://shopify/Job/${id}` }, orderCancelUserErrors: [] };
    },

    inventorySetQuantities: (args: { input: SetInput }, _ctx: unknown, info: GraphQLResolveInfo) => {
      const { input } = args;
      acct.calls.push++;
      acct.calls.items += input.quantities.length;
      const key = getDirectiveValues(idempotent, info.fieldNodes[0]!, info.variableValues)?.key;
      if (typeof key !== 'string') {
        throw new GraphQLError('The @idempotent directive is required for inventorySetQuantities', { extensions: { code: 'BAD_REQUEST' } });
      }
      const params = JSON.stringify(input);
      const earlier = acct.shopify.idempotency.get(key);
      if (earlier && earlier.params === params) return earlier.result;
      if (earlier) {
        return {
          inventoryAdjustmentGroup: null,
          userErrors: [{ field: ['input'], message: 'The same idempotency key cannot be used with different operation parameters.', code: 'IDEMPOTENCY_KEY_PARAMETER_MISMATCH' }],
        };
      }
      const userErrors: UserError[] = [];
      if (input.name !== 'available' && input.name !== 'on_hand') {
        userErrors.push({ field: ['input', 'name'], message: "The quantity name must be either 'available' or 'on_hand'.", code: 'INVALID_NAME' });
      }
      if (!REASONS.has(input.reason)) userErrors.push({ field: ['input', 'reason'], message: 'The specified reason is invalid.', code: 'INVALID_REASON' });
      const seen = new Set<string>();
      input.quantities.forEach((q, i) => {
        const at = (...rest: string[]) => ['input', 'quantities', String(i), ...rest];
        const sku = acct.shopify.skus.get(q.inventoryItemId);
        if (!sku || acct.unlisted.has(sku)) {
          userErrors.push({ field: at('inventoryItemId'), message: 'The specified inventory item could not be found.', code: 'INVALID_INVENTORY_ITEM' });
          return;
        }
        if (!LOCATION_ID.test(q.locationId)) {
          userErrors.push({ field: at('locationId'), message: 'The specified location could not be found.', code: 'INVALID_LOCATION' });
          return;
        }
        const pair = `${q.inventoryItemId}|${q.locationId}`;
        if (seen.has(pair)) {
          userErrors.push({ field: at('inventoryItemId'), message: 'The combination of inventoryItemId and locationId must be unique.', code: 'NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR' });
          return;
        }
        seen.add(pair);
        if (!('changeFromQuantity' in q)) {
          userErrors.push({ field: at('changeFromQuantity'), message: 'changeFromQuantity must be given for each quantity (null to skip the check).', code: 'COMPARE_QUANTITY_REQUIRED' });
        } else if (q.changeFromQuantity !== null && q.changeFromQuantity !== (acct.quantities.get(sku) ?? 0)) {
          userErrors.push({ field: at('changeFromQuantity'), message: 'The changeFromQuantity value does not match persisted value.', code: 'CHANGE_FROM_QUANTITY_STALE' });
        }
        if (q.quantity < 0) userErrors.push({ field: at('quantity'), message: "The quantity can't be negative.", code: 'INVALID_QUANTITY_NEGATIVE' });
        if (q.quantity > 1_000_000_000) userErrors.push({ field: at('quantity'), message: "The total quantity can't be higher than 1,000,000,000.", code: 'INVALID_QUANTITY_TOO_HIGH' });
        const rejection = acct.rejected.get(sku);
        if (rejection?.transient) throw new GraphQLError(rejection.message, { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
        if (rejection) userErrors.push({ field: at('inventoryItemId'), message: rejection.message, code: 'NON_MUTABLE_INVENTORY_ITEM' });
      });
      // All or nothing: one user error and no quantity changes.
      if (userErrors.length) return { inventoryAdjustmentGroup: null, userErrors };
      for (const q of input.quantities) state.apply(acct, acct.shopify.skus.get(q.inventoryItemId)!, q.quantity);
      const result = {
        inventoryAdjustmentGroup: { id: `gid://shopify/InventoryAdjustmentGroup/${randomUUID()}`, reason: input.reason, createdAt: new Date().toISOString() },
        userErrors: [],
      };
      acct.shopify.idempotency.set(key, { params, result });
      return result;
    },
  };
}

function shopifyDialect(state: SimState, requestedQueryCost: number): Dialect {
  const status = (reply: FastifyReply, code: number, errors: unknown) => reply.code(code).send({ errors });
  return {
    token: (req) => header(req, 'X-Shopify-Access-Token'),
    unauthorized: (reply) => status(reply, 401, '[API] Invalid API key or access token (unrecognized login or wrong password)'),
    error: (reply, code) =>
      status(reply, code, code === 400 ? { query: ['Required parameter missing or invalid'] } : code === 403 ? 'Forbidden' : code === 404 ? 'Not Found' : 'Internal Server Error'),
    // An injected throttle: report a bucket that is short by exactly `waitMs` of restore.
    throttled: (reply, { waitMs }) => {
      const { capacity, refillPerSecond } = state.policy('SHOPIFY', 'push');
      const currentlyAvailable = Math.max(0, requestedQueryCost - (refillPerSecond * waitMs) / 1000);
      return reply.send(throttledBody(requestedQueryCost, { maximumAvailable: capacity, currentlyAvailable, restoreRate: refillPerSecond }));
    },
  };
}

function throttledBody(requestedQueryCost: number, throttleStatus: { maximumAvailable: number; currentlyAvailable: number; restoreRate: number }) {
  return {
    errors: [{ message: 'Throttled', extensions: { code: 'THROTTLED', documentation: 'https://shopify.dev/api/usage/rate-limits' } }],
    extensions: { cost: { requestedQueryCost, actualQueryCost: null, throttleStatus } },
  };
}

interface Route {
  Params: { account: string; version: string };
  Body: unknown;
}

export function shopifyRoutes(state: SimState) {
  return async (app: FastifyInstance): Promise<void> => {
    app.post<Route>('/admin/api/:version/graphql.json', async (req, reply) => {
      const acct = state.account('SHOPIFY', req.params.account);
      const at = state.arrival(req);

      // Understand the request first: its class decides which faults apply, its cost what a throttle reports.
      let problem: { status: number; errors: unknown } | undefined;
      let document: DocumentNode | undefined;
      let op: OperationDefinitionNode | null | undefined;
      let vars: Vars = {};
      const body = req.body;
      if (!isRecord(body) || typeof body.query !== 'string') problem = { status: 400, errors: { query: ['Required parameter missing or invalid'] } };
      else {
        try {
          document = parse(body.query);
          const invalid = validate(schema, document);
          op = getOperationAST(document, typeof body.operationName === 'string' ? body.operationName : undefined);
          if (invalid.length) problem = { status: 200, errors: invalid.map((e) => e.toJSON()) };
          else if (!op) problem = { status: 200, errors: [{ message: 'No operation to execute', extensions: { code: 'BAD_REQUEST' } }] };
          else {
            const coerced = getVariableValues(schema, op.variableDefinitions ?? [], isRecord(body.variables) ? body.variables : {});
            if (coerced.errors) problem = { status: 200, errors: coerced.errors.map((e) => e.toJSON()) };
            else vars = coerced.coerced;
          }
        } catch (err) {
          problem = { status: 200, errors: [{ message: err instanceof Error ? err.message : String(err), extensions: { code: 'BAD_REQUEST' } }] };
        }
      }
      const fragments: Fragments = Object.fromEntries(
        (document?.definitions ?? []).filter((d): d is FragmentDefinitionNode => d.kind === AstKind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
      );
      const endpoint = op?.operation === 'mutation' ? 'push' : 'read';
      let requested = 0;
      if (!problem && op) {
        try {
          requested = operationCost(op, vars, fragments);
        } catch (err) {
          problem = { status: 200, errors: [{ message: err instanceof Error ? err.message : String(err), extensions: { code: 'BAD_REQUEST' } }] };
        }
      }
      const dialect = shopifyDialect(state, requested);
      if (!(await state.guard(req, reply, dialect, acct, endpoint))) return reply;
      if (problem || !op || !document) return reply.code(problem?.status ?? 400).send({ errors: problem?.errors });

      const largest = largestInputArray(op, vars);
      if (largest > MAX_INPUT_ARRAY || largest > DEFAULT_PUSH_POLICIES.SHOPIFY.maxBatch) {
        state.violation(acct, endpoint, 'batch', `input array of ${largest}, at most ${MAX_INPUT_ARRAY}`);
        return {
          errors: [{ message: `The input array size of ${largest} is greater than the maximum allowed of ${MAX_INPUT_ARRAY}.`, extensions: { code: 'MAX_INPUT_SIZE_EXCEEDED' } }],
        };
      }
      if (requested > MAX_QUERY_COST) {
        state.violation(acct, endpoint, 'cost', `query cost ${requested}, at most ${MAX_QUERY_COST}`);
        return {
          errors: [
            {
              message: `Query cost is ${requested}, which exceeds the single query max cost limit (${MAX_QUERY_COST}).`,
              extensions: { code: 'MAX_COST_EXCEEDED', cost: requested, maxCost: MAX_QUERY_COST },
            },
          ],
        };
      }
      const bucket = state.bucket(acct, endpoint, at);
      const throttleStatus = () => ({ maximumAvailable: bucket.capacity, currentlyAvailable: bucket.available(performance.now()), restoreRate: bucket.refillPerSecond });
      const admitted = state.admit(acct, endpoint, requested, at);
      if (!admitted.ok) return throttledBody(requested, throttleStatus());

      const result = await execute({ schema, document, rootValue: rootValue(state, acct), variableValues: vars, operationName: op.name?.value });
      const actual = result.data ? operationCost(op, vars, fragments, result.data) : 0;
      bucket.refund(requested - actual);
      return {
        ...(result.errors ? { errors: result.errors.map((e) => e.toJSON()) } : {}),
        data: result.data ?? null,
        extensions: { cost: { requestedQueryCost: requested, actualQueryCost: actual, throttleStatus: throttleStatus() } },
      };
    });
  };
}
