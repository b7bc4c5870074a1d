/**
 * The contract between the marketplace push worker and one marketplace's API. An adapter speaks the
 * marketplace's real request and response shapes; everything about queues, pacing and sync state
 * lives in the worker. An adapter never retries by itself (except where a marketplace protocol needs
 * a second request to finish one logical call, e.g. polling a Walmart feed): it reports what happened
 * and the worker decides.
 */

export type MarketplaceKind = 'AMAZON' | 'EBAY' | 'WALMART' | 'SHOPIFY';
export const MARKETPLACE_KINDS = ['AMAZON', 'EBAY', 'WALMART', 'SHOPIFY'] as const satisfies readonly MarketplaceKind[];

/**
 * A marketplace's limits as a token bucket: `capacity` units, refilled at `refillPerSecond`. For
 * request-counted APIs a call costs 1 unit; for cost-based APIs (Shopify) it costs its query cost.
 */
export interface RatePolicy {
  capacity: number;
  refillPerSecond: number;
  /** Most items one push call may carry. */
  maxBatch: number;
  /**
   * A batch that is not full is sent once no item came for this long (while items keep coming, it
   * waits up to one refill interval, 1/refillPerSecond).
   */
  lingerMs: number;
}

export interface Connection {
  kind: MarketplaceKind;
  /** Seller / account id at the marketplace (Amazon sellerId, Shopify shop, ...). */
  accountId: string;
  /** e.g. https://sellingpartnerapi-eu.amazon.com; the simulator's is http://host:port/<kind>/<account>. */
  baseUrl: string;
  /** Marketplace-specific, non-secret settings (Amazon marketplaceIds, Shopify locationId, ...). */
  settings: Record<string, unknown>;
  /** Resolved from the connection's secret name at run time; never stored in the database. */
  credentials: Record<string, string>;
}

export interface QuantityUpdate {
  sku: string;
  quantity: number;
  /**
   * What we last pushed for this SKU, when known: Shopify's compare quantity. Null when we never
   * pushed it (the adapter then skips the compare).
   */
  previousQuantity: number | null;
}

export type ItemOutcome =
  | { sku: string; ok: true }
  /** `retryable: false` means retrying the same request cannot succeed (a validation error): dead letter. */
  | { sku: string; ok: false; retryable: boolean; message: string; code?: string };

/** The whole call was throttled (HTTP 429, Shopify THROTTLED): wait `retryAfterMs`, then send it again. */
export class MarketplaceThrottledError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
    this.name = 'MarketplaceThrottledError';
  }
}

/** 5xx, a network error or a timeout: the call may succeed later (retry with backoff). */
export class MarketplaceUnavailableError extends Error {
  /** What kept a usable answer from coming: none in time, no connection, or one we could not read. */
  readonly reason?: 'TIMEOUT' | 'NETWORK' | 'UNREADABLE';
  /** The marketplace's own error code, where it gave one (Shopify INTERNAL_SERVER_ERROR). */
  readonly code?: string;

  /**
   * A push that runs out of tries is grouped by `reason`, `code` and `status`
   * (domain/problem-rules.ts deadLetterCause), never by its message.
   */
  constructor(
    message: string,
    readonly status?: number,
    detail: { reason?: 'TIMEOUT' | 'NETWORK' | 'UNREADABLE'; code?: string } = {},
  ) {
    super(message);
    this.reason = detail.reason;
    this.code = detail.code;
    this.name = 'MarketplaceUnavailableError';
  }
}

/** The marketplace refused the whole call in a way retrying cannot fix (400 malformed, 401/403 credentials). */
export class MarketplaceRejectedError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'MarketplaceRejectedError';
  }
}

export interface MarketplaceAdapter {
  readonly kind: MarketplaceKind;
  /**
   * Units of the rate bucket a push of `items` updates costs (1 for request-counted APIs). Given the
   * batch's `skus`, an adapter whose cost depends on what it has cached (Shopify: the SKU → inventory
   * item lookup) returns the exact cost; without them, the worst case.
   */
  pushCost(items: number, skus?: readonly string[]): number;
  /**
   * Sets the quantities, one call (Walmart: one feed, polled to completion). `idempotencyKey` is
   * the same when the worker retries the same batch.
   * @returns one outcome per update, in any order
   * @throws MarketplaceThrottledError, MarketplaceUnavailableError, MarketplaceRejectedError
   */
  push(updates: QuantityUpdate[], opts: { idempotencyKey: string; signal?: AbortSignal }): Promise<ItemOutcome[]>;
  /** Most SKUs one read call takes. */
  readonly readBatch: number;
  /** Units of the read bucket one read call costs. */
  readCost(items: number): number;
  /**
   * Reads back the marketplace's current quantities (drift repair).
   * @returns quantity per SKU; null for a SKU the marketplace does not list
   * @throws the same errors as push
   */
  read(skus: string[], opts?: { signal?: AbortSignal }): Promise<Map<string, number | null>>;
}

/** One line of a marketplace order, in the marketplace's terms. */
export interface MarketplaceOrderLine {
  /** The marketplace's line id (Amazon OrderItemId, eBay lineItemId, Walmart lineNumber, Shopify line item id). */
  lineId: string;
  /** The SKU the marketplace knows the listing by (mapped to ours through the channel's listings). */
  marketplaceSku: string;
  quantity: number;
}

/** A marketplace order as intake sees it: open (to be reserved) or cancelled (to be released). */
export interface MarketplaceOrder {
  /** The marketplace's order id (Amazon AmazonOrderId, eBay orderId, Walmart purchaseOrderId, Shopify order id). */
  orderId: string;
  status: 'OPEN' | 'CANCELLED';
  /** When the buyer placed it at the marketplace. */
  placedAt: Date;
  /** When it last changed at the marketplace. */
  updatedAt: Date;
  lines: MarketplaceOrderLine[];
}

/** One call's worth of orders changed since a cursor. */
export interface OrderPage {
  orders: MarketplaceOrder[];
  /** Where the next call starts (store it once these orders are recorded). */
  cursor: string;
  /** Whether more pages wait now (call again at once, bucket permitting). */
  more: boolean;
}

export interface OrderCallOptions {
  /** Waits for `cost` units of the account's intake bucket `bucket` (a call name of DEFAULT_INTAKE_POLICIES). */
  take(bucket: string, cost: number): Promise<void>;
  signal?: AbortSignal;
}

/**
 * The order side of a marketplace: the orders that changed since a cursor (polling), and what the
 * marketplace needs to hear once an order is taken (Walmart's acknowledge). Cursors are opaque to
 * the worker; each adapter says in its own what it resumes from. A page may repeat an order already
 * seen (cursors overlap on purpose, so that nothing on a boundary is missed); intake deduplicates.
 */
export interface OrderFeed {
  readonly kind: MarketplaceKind;
  /**
   * Orders changed since `cursor` (null: since `startAt`). Before each call it takes a unit of the
   * named intake bucket (connectors/policies.ts DEFAULT_INTAKE_POLICIES) through `take`.
   * @throws MarketplaceThrottledError, MarketplaceUnavailableError, MarketplaceRejectedError
   */
  fetchOrders(cursor: string | null, opts: OrderCallOptions & { startAt: Date }): Promise<OrderPage>;
  /** Tells the marketplace the order was taken (Walmart acknowledge); a no-op elsewhere. */
  acknowledge(orderId: string, opts: OrderCallOptions): Promise<void>;
  /**
   * Cancels the order at the marketplace as the seller, for being out of stock (the marketplace
   * refunds the buyer); absent where the marketplace has no such call we support (Amazon cancels
   * through a Feeds API document).
   * @throws MarketplaceThrottledError, MarketplaceUnavailableError, MarketplaceRejectedError
   */
  cancel?(order: Pick<MarketplaceOrder, 'orderId' | 'lines'>, opts: OrderCallOptions): Promise<void>;
}
