import type { FastifyReply, FastifyRequest } from 'fastify';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DEFAULT_INTAKE_POLICIES,
  DEFAULT_PUSH_POLICIES,
  DEFAULT_READ_POLICIES,
  SHOPIFY_STANDARD_BUCKET,
  WALMART_FEED_STATUS_POLICY,
  scalePolicy,
} from '../../subgraphs/marketplaces/connectors/policies.js';
import type { MarketplaceKind, RatePolicy } from '../../subgraphs/marketplaces/connectors/types.js';
import { TokenBucket } from './buckets.js';
import type { QueuedMessage } from './sqs.js';

/**
 * What the simulator knows and counts, shared by the four marketplaces' routes: accounts (created on
 * first use, like SKUs), their quantities and call counts, rate buckets, injected faults and
 * violations.
 */

export type Kind = MarketplaceKind;
/** Marketplace kinds are accepted in either case (URLs use lower case). */
export type KindName = Kind | Lowercase<Kind>;
/** `intake:<call>`: an order API call, paced by DEFAULT_INTAKE_POLICIES[kind][call]. */
export type EndpointClass = 'push' | 'read' | 'feedStatus' | `intake:${string}`;

export type Fault =
  /** The next `count` calls of `endpoint` (default push) get the marketplace's throttled answer (not a violation: the client did nothing wrong). */
  | { type: 'throttle'; count: number; retryAfterMs: number; endpoint?: EndpointClass }
  /** The next `count` calls of any kind get this status in the marketplace's error shape. */
  | { type: 'error'; status: 400 | 401 | 403 | 404 | 500 | 502 | 503; count: number }
  /** The next `count` calls (every call when absent) are answered `ms` later. */
  | { type: 'latency'; ms: number; count?: number }
  /** Every call has its connection reset until the faults are cleared. */
  | { type: 'outage' };

export interface CallCounts {
  /** Accepted push calls (Walmart: feeds, Shopify: mutations). */
  push: number;
  /** Accepted read calls (Shopify: queries, including SKU lookups). */
  read: number;
  /** Items carried by accepted push calls. */
  items: number;
  /** Throttled answers, injected or earned. */
  throttled: number;
  /** Walmart feed status calls. */
  polls: number;
  /** Bucket units charged (Shopify: requested query cost, before refunds). */
  cost: number;
}

export interface Violation {
  kind: Kind;
  account: string;
  endpoint: EndpointClass;
  reason: 'rate' | 'batch' | 'cost';
  detail: string;
}

export interface SkuRejection {
  message: string;
  /** The marketplace's transient per-item failure (Walmart SYSTEM_ERROR, eBay 500, Amazon/Shopify a 503 call) instead of a validation error. */
  transient: boolean;
}

export interface WalmartFeed {
  id: string;
  items: { sku: string; amount: number }[];
  status: 'RECEIVED' | 'INPROGRESS' | 'PROCESSED' | 'ERROR';
  submittedAt: number;
  results?: WalmartItemResult[];
}

export interface WalmartItemResult {
  sku: string;
  ingestionStatus: 'SUCCESS' | 'DATA_ERROR' | 'SYSTEM_ERROR' | 'TIMEOUT_ERROR';
  error?: { type: string; code: string; description: string };
}

export interface AccountState {
  kind: Kind;
  account: string;
  token: string;
  /** The marketplace's current quantity per SKU (what was pushed, or set on its side). */
  quantities: Map<string, number>;
  /** Every quantity the marketplace accepted, per SKU, in order. */
  history: Map<string, number[]>;
  /** When each of those was applied (epoch ms), per SKU, in order. */
  appliedAt: Map<string, number[]>;
  rejected: Map<string, SkuRejection>;
  unlisted: Set<string>;
  buckets: Map<string, TokenBucket>;
  calls: CallCounts;
  feeds: Map<string, WalmartFeed>;
  shopify: { ids: Map<string, string>; skus: Map<string, string>; nextId: number; idempotency: Map<string, { params: string; result: unknown }> };
  /** Orders buyers placed at the marketplace, by order id (tools/marketplace-simulator/orders.ts). */
  orders: Map<string, SimOrder>;
  /** Shopify: where its order webhooks go, signed with `secret`. */
  webhook: { address: string; secret: string } | null;
  /** Amazon: the account's SQS queue of ORDER_CHANGE notifications (sqs.ts). */
  notifications: QueuedMessage[];
}

export interface SimOrder {
  id: string;
  status: 'OPEN' | 'CANCELLED';
  /** Who cancelled it. */
  cancelledBy?: 'BUYER' | 'SELLER';
  placedAt: number;
  updatedAt: number;
  /** When the marketplace's order API starts showing its latest change (Amazon: about two minutes later). */
  visibleAt: number;
  lines: { lineId: string; sku: string; quantity: number }[];
}

/** How one marketplace says "who are you", "something broke" and "slow down". */
export interface Dialect {
  token(req: FastifyRequest): string | undefined;
  unauthorized(reply: FastifyReply): FastifyReply;
  error(reply: FastifyReply, status: number): FastifyReply;
  /** `waitMs` until a retry can succeed; `rate` the limit per second that applies. */
  throttled(reply: FastifyReply, info: { waitMs: number; rate: number }): FastifyReply;
}

/** Clock granularity between a client's bucket and ours; not network jitter, not more. */
export const TOLERANCE_MS = 5;

export function kindOf(name: string): Kind {
  const kind = name.toUpperCase();
  if (kind === 'AMAZON' || kind === 'EBAY' || kind === 'WALMART' || kind === 'SHOPIFY') return kind;
  throw new RangeError(`unknown marketplace kind ${name}`);
}

export function isQuantity(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

export function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

interface ActiveFault {
  kind: Kind;
  account: string;
  fault: Fault;
  remaining: number;
}

export class SimState {
  private readonly accounts = new Map<string, AccountState>();
  private faults: ActiveFault[] = [];
  readonly violationLog: Violation[] = [];
  private readonly arrivals = new WeakMap<object, number>();
  /** Walmart feeds waiting to be processed, so reset and close can cancel them. */
  readonly timers = new Set<NodeJS.Timeout>();

  constructor(readonly opts: { rateScale: number; walmartFeedProcessingMs: number; amazonVisibilityMs: number; amazonNotificationMs: number }) {}

  account(kind: Kind, account: string): AccountState {
    const key = `${kind}/${account}`;
    let a = this.accounts.get(key);
    if (!a) {
      a = {
        kind,
        account,
        token: tokenFor(kind, account),
        quantities: new Map(),
        history: new Map(),
        appliedAt: new Map(),
        rejected: new Map(),
        unlisted: new Set(),
        buckets: new Map(),
        calls: { push: 0, read: 0, items: 0, throttled: 0, polls: 0, cost: 0 },
        feeds: new Map(),
        shopify: { ids: new Map(), skus: new Map(), nextId: 1, idempotency: new Map() },
        orders: new Map(),
        webhook: null,
        notifications: [],
      };
      this.accounts.set(key, a);
    }
    return a;
  }

  allAccounts(): AccountState[] {
    return [...this.accounts.values()];
  }

  /** Records a quantity the marketplace accepted. */
  apply(acct: AccountState, sku: string, quantity: number): void {
    acct.quantities.set(sku, quantity);
    const h = acct.history.get(sku);
    if (h) h.push(quantity);
    else acct.history.set(sku, [quantity]);
    const at = acct.appliedAt.get(sku);
    if (at) at.push(Date.now());
    else acct.appliedAt.set(sku, [Date.now()]);
  }

  markArrival(req: FastifyRequest): void {
    this.arrivals.set(req.raw, performance.now());
  }

  /** When the request reached us: buckets are judged at arrival, not after body parsing. */
  arrival(req: FastifyRequest): number {
    return this.arrivals.get(req.raw) ?? performance.now();
  }

  /** The limit the simulator enforces for an endpoint class, scaled like the client's. */
  policy(kind: Kind, endpoint: EndpointClass): Pick<RatePolicy, 'capacity' | 'refillPerSecond'> {
    const base: Pick<RatePolicy, 'capacity' | 'refillPerSecond'> =
      kind === 'SHOPIFY'
        ? SHOPIFY_STANDARD_BUCKET
        : endpoint.startsWith('intake:')
          ? (DEFAULT_INTAKE_POLICIES[kind] as Record<string, Pick<RatePolicy, 'capacity' | 'refillPerSecond'>>)[endpoint.slice('intake:'.length)]!
          : endpoint === 'feedStatus'
          ? WALMART_FEED_STATUS_POLICY
          : endpoint === 'push'
            ? DEFAULT_PUSH_POLICIES[kind]
            : DEFAULT_READ_POLICIES[kind];
    return scalePolicy({ ...base, maxBatch: 1, lingerMs: 0 }, this.opts.rateScale);
  }

  bucket(acct: AccountState, endpoint: EndpointClass, at: number): TokenBucket {
    // Shopify charges every query and mutation to one bucket per app and store.
    const key = acct.kind === 'SHOPIFY' ? 'all' : endpoint;
    let b = acct.buckets.get(key);
    if (!b) {
      const p = this.policy(acct.kind, endpoint);
      b = new TokenBucket(p.capacity, p.refillPerSecond, at);
      acct.buckets.set(key, b);
    }
    return b;
  }

  /** Charges `cost` at arrival time `at`; an empty bucket is a violation and a throttled answer. */
  admit(acct: AccountState, endpoint: EndpointClass, cost: number, at: number): { ok: true } | { ok: false; waitMs: number; rate: number } {
    const b = this.bucket(acct, endpoint, at);
    if (b.take(cost, at, TOLERANCE_MS)) {
      acct.calls.cost += cost;
      return { ok: true };
    }
    const waitMs = b.waitMs(cost, at);
    this.violation(acct, endpoint, 'rate', `needed ${cost}, had ${b.available(at).toFixed(3)} of ${b.capacity}`);
    acct.calls.throttled++;
    return { ok: false, waitMs, rate: b.refillPerSecond };
  }

  violation(acct: AccountState, endpoint: EndpointClass, reason: Violation['reason'], detail: string): void {
    this.violationLog.push({ kind: acct.kind, account: acct.account, endpoint, reason, detail });
  }

  violations(kind?: Kind, account?: string): number {
    return this.violationLog.filter((v) => (!kind || v.kind === kind) && (!account || v.account === account)).length;
  }

  inject(kind: Kind, account: string, fault: Fault): void {
    const remaining = fault.type === 'throttle' || fault.type === 'error' ? fault.count : fault.type === 'latency' ? (fault.count ?? Infinity) : Infinity;
    this.faults.push({ kind, account, fault, remaining });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /**
   * Injected faults, then credentials, like a gateway in front of the marketplace would. Returns
   * false when the request has been answered (or its connection reset).
   */
  async guard(req: FastifyRequest, reply: FastifyReply, dialect: Dialect, acct: AccountState, endpoint: EndpointClass): Promise<boolean> {
    const matching = () => this.faults.filter((f) => f.kind === acct.kind && (f.account === '*' || f.account === acct.account) && f.remaining > 0);
    for (const f of matching()) {
      if (f.fault.type !== 'latency') continue;
      f.remaining--;
      await sleep(f.fault.ms);
    }
    const active = matching();
    if (active.some((f) => f.fault.type === 'outage')) {
      reply.hijack();
      req.raw.socket.destroy();
      return false;
    }
    const error = active.find((f) => f.fault.type === 'error');
    if (error?.fault.type === 'error') {
      error.remaining--;
      dialect.error(reply, error.fault.status);
      return false;
    }
    const throttle = active.find((f) => f.fault.type === 'throttle' && (f.fault.endpoint ?? 'push') === endpoint);
    if (throttle?.fault.type === 'throttle') {
      throttle.remaining--;
      acct.calls.throttled++;
      dialect.throttled(reply, { waitMs: throttle.fault.retryAfterMs, rate: 1000 / throttle.fault.retryAfterMs });
      return false;
    }
    if (dialect.token(req) !== acct.token) {
      dialect.unauthorized(reply);
      return false;
    }
    return true;
  }

  reset(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.accounts.clear();
    this.faults = [];
    this.violationLog.length = 0;
  }
}

/** The access token the simulator expects for an account (hand it to the adapter's connection). */
export function tokenFor(kind: Kind, account: string): string {
  return `sim-${kind.toLowerCase()}-${account}-token`;
}

/** The body of a request whose JSON did not parse: each marketplace answers it in its own error shape. */
export const INVALID_JSON = Symbol('invalid JSON');

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
