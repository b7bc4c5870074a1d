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
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
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
