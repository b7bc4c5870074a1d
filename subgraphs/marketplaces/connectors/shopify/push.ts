import { createHash } from 'node:crypto';
import { z } from 'zod';
import { assertBatch, parseBody, parseValue, partitionUpdates, raiseForStatus, send, type HttpClient } from '../http.js';
import { DEFAULT_PUSH_POLICIES, DEFAULT_READ_POLICIES } from '../policies.js';
import {
  MarketplaceRejectedError,
  MarketplaceThrottledError,
  MarketplaceUnavailableError,
  type Connection,
  type ItemOutcome,
  type MarketplaceAdapter,
  type QuantityUpdate,
} from '../types.js';

/**
 * Shopify GraphQL Admin API, version 2026-04: `inventorySetQuantities` sets the `available` quantity
 * of up to 250 inventory items at the connection's location, with a compare-and-swap per quantity
 * (`changeFromQuantity`, null to skip it) and a mandatory `@idempotent` key. Inventory items are
 * found by SKU once and cached per adapter instance.
 *
 * Cost model (what Shopify and the simulator charge, per request, against one bucket per app and
 * store): a mutation 10 points; a connection 2 + first × (cost of one node), an object 1, a scalar 0.
 */

export const SHOPIFY_API_VERSION = '2026-04';
export const MUTATION_COST = 10;
/** `inventoryItems(first: n) { nodes { id sku } }` */
export const lookupCost = (n: number): number => 2 + n;
/** `inventoryItems(first: n) { nodes { id sku inventoryLevel { quantities { name quantity } } } }` */
export const levelsCost = (n: number): number => 2 + 3 * n;
/** Shopify rejects a connection page larger than this. */
const PAGE = 250;

const settingsSchema = z.object({ locationId: z.string().min(1), apiVersion: z.string().min(1).nullish() });
const credentialsSchema = z.object({ accessToken: z.string().min(1) });

const throttleStatusSchema = z.object({ maximumAvailable: z.number(), currentlyAvailable: z.number(), restoreRate: z.number() });
const envelopeSchema = z.object({
  data: z.unknown().optional(),
  errors: z.array(z.object({ message: z.string(), extensions: z.object({ code: z.string().optional() }).nullish() })).nullish(),
  extensions: z
    .object({ cost: z.object({ requestedQueryCost: z.number(), throttleStatus: throttleStatusSchema }).nullish() })
    .nullish(),
});
const pageInfo = z.object({ hasNextPage: z.boolean(), endCursor: z.string().nullish() });
/** Both queries' answers: the lookup selects no inventoryLevel. */
const itemsSchema = z.object({
  inventoryItems: z.object({
    nodes: z.array(
      z.object({
        id: z.string(),
        sku: z.string().nullish(),
        inventoryLevel: z.object({ quantities: z.array(z.object({ name: z.string(), quantity: z.number().int() })) }).nullish(),
      }),
    ),
    pageInfo,
  }),
});
type ItemNode = z.output<typeof itemsSchema>['inventoryItems']['nodes'][number];
const userErrorSchema = z.object({ field: z.array(z.string()).nullish(), message: z.string(), code: z.string().nullish() });
const setSchema = z.object({
  inventorySetQuantities: z.object({
    inventoryAdjustmentGroup: z.object({ id: z.string() }).nullish(),
    userErrors: z.array(userErrorSchema),
  }),
});
type UserError = z.output<typeof userErrorSchema>;

const LOOKUP = `query Lookup($first: Int!, $query: String!, $after: String) {
  inventoryItems(first: $first, query: $query, after: $after) { nodes { id sku } pageInfo { hasNextPage endCursor } }
}`;
const LEVELS = `query Levels($first: Int!, $query: String!, $after: String, $locationId: ID!) {
  inventoryItems(first: $first, query: $query, after: $after) {
    nodes { id sku inventoryLevel(locationId: $locationId) { quantities(names: ["available"]) { name quantity } } }
    pageInfo { hasNextPage endCursor }
  }
}`;
const SET = `mutation SetAvailable($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id }
    userErrors { field message code }
  }
}`;

const STALE_CODES = new Set(['CHANGE_FROM_QUANTITY_STALE', 'COMPARE_QUANTITY_STALE']);
const RETRYABLE_CODES = new Set(['IDEMPOTENCY_CONCURRENT_REQUEST']);

/** Shopify search syntax: `sku:"A" OR sku:"B"`, quotes and backslashes escaped. */
export function skuSearch(skus: readonly string[]): string {
  return skus.map((s) => `sku:"${s.replace(/[\\"]/g, '\\$&')}"`).join(' OR ');
}

/** The index of the quantity a user error's `field` (["input", "quantities", "3", ...]) points at. */
function quantityIndex(field: readonly string[] | null | undefined): number | undefined {
  const at = field?.indexOf('quantities') ?? -1;
  const index = at >= 0 ? Number(field?.[at + 1]) : NaN;
  return Number.isInteger(index) ? index : undefined;
}

interface Entry {
  sku: string;
  inventoryItemId: string;
  quantity: number;
  changeFromQuantity: number | null;
}

interface SetResult {
  /** Shopify applies a set as a whole: with any user error, nothing was changed. */
  applied: boolean;
  byIndex: Map<number, UserError[]>;
  /** Errors not tied to one quantity (the reason, the name): they sink every item. */
  general: UserError[];
}

/**
 * @throws ZodError when the connection lacks settings.locationId or credentials.accessToken
 */
/**
 * One Admin GraphQL call: `data`, or the contract's errors (THROTTLED waits until the bucket holds
 * the cost asked for). `onThrottleStatus` hears the bucket's state from every answer that carries it.
 * @throws MarketplaceThrottledError, MarketplaceUnavailableError, MarketplaceRejectedError
 */
export async function shopifyGraphql(
  http: HttpClient,
  url: string,
  accessToken: string,
  query: string,
  variables: Record<string, unknown>,
  what: string,
  signal: AbortSignal | undefined,
  onThrottleStatus: (status: z.output<typeof throttleStatusSchema>) => void = () => {},
): Promise<unknown> {
  const res = await send(http, url, { method: 'POST', headers: { 'X-Shopify-Access-Token': accessToken }, json: { query, variables }, signal }, what);
  raiseForStatus(res, what, 1000);
  const body = parseBody(envelopeSchema, res, what);
  const cost = body.extensions?.cost;
  if (cost) onThrottleStatus(cost.throttleStatus);
  const errors = body.errors ?? [];
  if (errors.length === 0) return body.data;
  const codes = errors.map((e) => e.extensions?.code);
  const message = `${what}: ${errors.map((e) => e.message).join('; ')}`;
  if (codes.includes('THROTTLED')) {
    // The bucket refills at restoreRate: wait until it holds the cost this request asked for.
    const missing = cost ? cost.requestedQueryCost - cost.throttleStatus.currentlyAvailable : 0;
    const waitMs = cost && missing > 0 ? Math.ceil((missing * 1000) / cost.throttleStatus.restoreRate) : 1000;
    throw new MarketplaceThrottledError(message, waitMs);
  }
  if (codes.includes('INTERNAL_SERVER_ERROR')) throw new MarketplaceUnavailableError(message, res.status, { code: 'INTERNAL_SERVER_ERROR' });
  throw new MarketplaceRejectedError(message, res.status, codes.find((c) => c !== undefined));
}

export function createShopifyAdapter(connection: Connection, http: HttpClient): MarketplaceAdapter {
  return new ShopifyAdapter(connection, http);
}

const failure = (sku: string, errors: UserError[], retryable?: boolean): ItemOutcome => ({
  sku,
  ok: false,
  retryable: retryable ?? errors.every((e) => RETRYABLE_CODES.has(e.code ?? '')),
  message: errors.map((e) => e.message).join('; '),
  code: errors[0]?.code ?? undefined,
});

const retryLater = (entries: Entry[], message: string, code?: string): ItemOutcome[] => entries.map((e) => ({ sku: e.sku, ok: false, retryable: true, message, code }));

class ShopifyAdapter implements MarketplaceAdapter {
  readonly kind = 'SHOPIFY' as const;
  readonly readBatch = DEFAULT_READ_POLICIES.SHOPIFY.maxBatch;
  private readonly settings: z.output<typeof settingsSchema>;
  private readonly accessToken: string;
  private readonly url: string;
  /** SKU → inventory item id, found once. */
  private readonly ids = new Map<string, string>();
  private bucket: { available: number; maximum: number; restoreRate: number; at: number } | undefined;

  constructor(
    connection: Connection,
    private readonly http: HttpClient,
  ) {
    this.settings = settingsSchema.parse(connection.settings);
    this.accessToken = credentialsSchema.parse(connection.credentials).accessToken;
    this.url = `${connection.baseUrl}/admin/api/${this.settings.apiVersion ?? SHOPIFY_API_VERSION}/graphql.json`;
  }

  // The lookup is only needed for SKUs not cached yet; without the SKUs, assume none is.
  pushCost(items: number, skus?: readonly string[]): number {
    const uncached = skus ? new Set(skus.filter((s) => !this.ids.has(s))).size : items;
    return MUTATION_COST + (uncached > 0 ? lookupCost(uncached) : 0);
  }

  readCost(items: number): number {
    return levelsCost(items);
  }

  async push(updates: QuantityUpdate[], { idempotencyKey, signal }: { idempotencyKey: string; signal?: AbortSignal }): Promise<ItemOutcome[]> {
    assertBatch(updates.length, DEFAULT_PUSH_POLICIES.SHOPIFY.maxBatch, 'Shopify inventorySetQuantities');
    const { valid, invalid } = partitionUpdates(updates);
    const outcomes: ItemOutcome[] = [...invalid];
    if (valid.length === 0) return outcomes;
    await this.resolveIds(valid.map((u) => u.sku), signal);

    const entries: Entry[] = [];
    for (const u of valid) {
      const inventoryItemId = this.ids.get(u.sku);
      if (inventoryItemId) entries.push({ sku: u.sku, inventoryItemId, quantity: u.quantity, changeFromQuantity: u.previousQuantity });
      else outcomes.push({ sku: u.sku, ok: false, retryable: false, code: 'NOT_FOUND', message: 'no Shopify inventory item has this SKU' });
    }
    if (entries.length === 0) return outcomes;

    const first = await this.setQuantities(entries, idempotencyKey, signal);
    if (first.general.length) return [...outcomes, ...entries.map((e) => failure(e.sku, first.general, false))];
    const stale: Entry[] = [];
    const again: Entry[] = [];
    entries.forEach((e, i) => {
      const errors = first.byIndex.get(i);
      if (!errors) {
        if (first.applied) outcomes.push({ sku: e.sku, ok: true });
        else again.push(e); // held back by another item's error
      } else if (errors.every((err) => STALE_CODES.has(err.code ?? ''))) stale.push(e);
      else outcomes.push(failure(e.sku, errors));
    });
    if (stale.length === 0 && again.length === 0) return outcomes;
    return [...outcomes, ...(await this.sendAgain(again, stale, idempotencyKey, signal))];
  }

  async read(skus: string[], opts?: { signal?: AbortSignal }): Promise<Map<string, number | null>> {
    assertBatch(skus.length, this.readBatch, 'Shopify inventory read');
    return skus.length ? this.readLevels(skus, opts?.signal) : new Map();
  }

  /** Points Shopify has for us now, from its last throttleStatus (unknown before the first call: assume room). */
  private available(): number {
    const b = this.bucket;
    return b ? Math.min(b.maximum, b.available + ((performance.now() - b.at) / 1000) * b.restoreRate) : Infinity;
  }

  private async graphql(query: string, variables: Record<string, unknown>, what: string, signal: AbortSignal | undefined): Promise<unknown> {
    return shopifyGraphql(this.http, this.url, this.accessToken, query, variables, what, signal, (t) => {
      this.bucket = { available: t.currentlyAvailable, maximum: t.maximumAvailable, restoreRate: t.restoreRate, at: performance.now() };
    });
  }

  /** Pages through `inventoryItems` for the SKUs; several items may share a SKU (the first one wins). */
  private async *itemsBySku(
    query: string,
    skus: readonly string[],
    extra: Record<string, unknown>,
    what: string,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<ItemNode> {
    const wanted = new Set(skus);
    let after: string | null | undefined = null;
    do {
      const variables: Record<string, unknown> = { first: Math.min(PAGE, skus.length), query: skuSearch(skus), after, ...extra };
      const page = parseValue(itemsSchema, await this.graphql(query, variables, what, signal), what, 'GraphQL data').inventoryItems;
      for (const node of page.nodes) {
        // Search matches loosely; only exact SKUs count.
        if (node.sku != null && wanted.has(node.sku)) yield node;
      }
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : undefined;
    } while (after);
  }

  private async resolveIds(skus: readonly string[], signal: AbortSignal | undefined): Promise<void> {
    const missing = [...new Set(skus)].filter((s) => !this.ids.has(s));
    if (missing.length === 0) return;
    for await (const node of this.itemsBySku(LOOKUP, missing, {}, 'Shopify inventory item lookup', signal)) {
      if (node.sku != null && !this.ids.has(node.sku)) this.ids.set(node.sku, node.id);
    }
  }

  private async readLevels(skus: readonly string[], signal: AbortSignal | undefined): Promise<Map<string, number | null>> {
    const out = new Map<string, number | null>(skus.map((s) => [s, null]));
    const seen = new Set<string>();
    const nodes = this.itemsBySku(LEVELS, skus, { locationId: this.settings.locationId }, 'Shopify inventory levels', signal);
    for await (const node of nodes) {
      if (node.sku == null || seen.has(node.sku)) continue;
      seen.add(node.sku);
      if (!this.ids.has(node.sku)) this.ids.set(node.sku, node.id);
      // No inventory level: the item is not stocked at our location, so Shopify sells none from it.
      const level = node.inventoryLevel?.quantities.find((q) => q.name === 'available');
      out.set(node.sku, level ? level.quantity : null);
    }
    return out;
  }

  /**
   * Shopify refuses a key reused with other parameters (IDEMPOTENCY_KEY_PARAMETER_MISMATCH), and a
   * retried batch may carry newer quantities or compare values than its first try: the key is the
   * worker's key plus a digest of exactly what is sent, so only an identical retry is de-duplicated.
   */
  private async setQuantities(entries: Entry[], idempotencyKey: string, signal: AbortSignal | undefined): Promise<SetResult> {
    const digest = createHash('sha256')
      .update(JSON.stringify(entries.map((e) => [e.inventoryItemId, e.quantity, e.changeFromQuantity])))
      .digest('hex');
    const key = `${idempotencyKey}:${digest.slice(0, 16)}`;
    const input = {
      name: 'available',
      reason: 'correction',
      quantities: entries.map((e) => ({
        inventoryItemId: e.inventoryItemId,
        locationId: this.settings.locationId,
        quantity: e.quantity,
        changeFromQuantity: e.changeFromQuantity,
      })),
    };
    const what = 'Shopify inventorySetQuantities';
    const payload = parseValue(setSchema, await this.graphql(SET, { input, key }, what, signal), what, 'GraphQL data').inventorySetQuantities;
    const byIndex = new Map<number, UserError[]>();
    const general: UserError[] = [];
    for (const e of payload.userErrors) {
      const i = quantityIndex(e.field);
      if (i === undefined || i >= entries.length) general.push(e);
      else byIndex.set(i, [...(byIndex.get(i) ?? []), e]);
    }
    return { applied: payload.inventoryAdjustmentGroup != null, byIndex, general };
  }

  /**
   * The second (and last) try inside one push: items another item's error held back, and items whose
   * compare quantity was stale. We are the source of truth for available-to-sell, so a stale compare
   * means Shopify moved (an order it took before our decrement arrived, a manual edit) and our figure
   * should still win; we re-read the current quantity and compare against that, which keeps the
   * compare-and-swap against anything racing us in between. It spends points pushCost could not
   * announce, so it only goes out when Shopify's last throttleStatus shows room for it; otherwise the
   * items come back retryable.
   */
  private async sendAgain(again: Entry[], stale: Entry[], key: string, signal: AbortSignal | undefined): Promise<ItemOutcome[]> {
    const need = MUTATION_COST + (stale.length ? levelsCost(stale.length) : 0);
    if (this.available() < need) {
      return [
        ...retryLater(stale, 'Shopify quantity changed since our last push; no rate budget left to re-read it in this push', 'CHANGE_FROM_QUANTITY_STALE'),
        ...retryLater(again, 'not applied: another quantity in the same call failed'),
      ];
    }
    const outcomes: ItemOutcome[] = [];
    const entries = [...again];
    try {
      const current = stale.length ? await this.readLevels(stale.map((e) => e.sku), signal) : new Map<string, number | null>();
      for (const e of stale) {
        const now = current.get(e.sku);
        if (now == null) outcomes.push({ sku: e.sku, ok: false, retryable: false, code: 'ITEM_NOT_STOCKED_AT_LOCATION', message: 'the item is no longer stocked at the location' });
        else entries.push({ ...e, changeFromQuantity: now });
      }
      if (entries.length === 0) return outcomes;
      const second = await this.setQuantities(entries, key, signal);
      if (second.general.length) return [...outcomes, ...entries.map((e) => failure(e.sku, second.general, false))];
      entries.forEach((e, i) => {
        const errors = second.byIndex.get(i);
        if (!errors && second.applied) outcomes.push({ sku: e.sku, ok: true });
        else if (!errors) outcomes.push(...retryLater([e], 'not applied: another quantity in the same call failed'));
        else outcomes.push(failure(e.sku, errors, errors.every((err) => STALE_CODES.has(err.code ?? '') || RETRYABLE_CODES.has(err.code ?? ''))));
      });
      return outcomes;
    } catch (err) {
      if (!(err instanceof MarketplaceThrottledError || err instanceof MarketplaceUnavailableError)) throw err;
      const done = new Set(outcomes.map((o) => o.sku));
      return [...outcomes, ...retryLater([...again, ...stale].filter((e) => !done.has(e.sku)), err.message)];
    }
  }
}
