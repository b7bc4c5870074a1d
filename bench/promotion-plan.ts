import { unsafeUniformIntDistribution, xoroshiro128plus, type RandomGenerator } from 'pure-rand';
import type { MarketplaceKind } from '../subgraphs/marketplaces/connectors/types.js';

/**
 * The promotion the `promotion` benchmark plays, decided before it starts from a seed: each SKU's
 * scarce stock and every buyer (when, on which channel, which SKU, how many). The same plan is
 * played against every strategy, so they face the same demand. No I/O.
 */

export type Seller = MarketplaceKind | 'WEB' | 'POS';
export const MARKETPLACES: MarketplaceKind[] = ['AMAZON', 'EBAY', 'WALMART', 'SHOPIFY'];
export const SELLERS: Seller[] = [...MARKETPLACES, 'WEB', 'POS'];

/** Share of buyers per channel. */
export const DEFAULT_SHARES: Record<Seller, number> = { AMAZON: 0.3, EBAY: 0.15, WALMART: 0.1, SHOPIFY: 0.1, WEB: 0.2, POS: 0.15 };

export interface PlanOptions {
  skus: number;
  /** Simulated length of the promotion. */
  minutes: number;
  /** Mean units on hand per SKU at the start. */
  meanStock: number;
  /** Expected units asked for over the promotion, per unit of stock. */
  demandOverStock: number;
  /** The burst: from and to (fractions of the promotion) and how many times the base rate. */
  burst: { from: number; to: number; factor: number };
  shares: Record<Seller, number>;
  seed: number;
}

export interface Buyer {
  /** Simulated milliseconds from the start. */
  atMs: number;
  seller: Seller;
  sku: number;
  quantity: number;
}

export interface Plan {
  stock: number[];
  buyers: Buyer[];
}

/** Popularity falls with rank as 1/rank^0.8 (a long tail), ranks shuffled over the SKUs. */
const ZIPF = 0.8;
const TWO_UNITS = 0.15;

function uniform(rng: RandomGenerator): number {
  return unsafeUniformIntDistribution(0, 2 ** 30 - 1, rng) / 2 ** 30;
}

/** Index drawn from cumulative weights. */
function pick(cumulative: number[], u: number): number {
  const target = u * cumulative[cumulative.length - 1]!;
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid]! <= target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const cumulate = (weights: number[]) => {
  let sum = 0;
  return weights.map((w) => (sum += w));
};

export function planPromotion(o: PlanOptions): Plan {
  const rng = xoroshiro128plus(o.seed);
  const ranks = Array.from({ length: o.skus }, (_, i) => i + 1);
  for (let i = ranks.length - 1; i > 0; i--) {
    const j = Math.floor(uniform(rng) * (i + 1));
    [ranks[i], ranks[j]] = [ranks[j]!, ranks[i]!];
  }
  const weights = ranks.map((r) => 1 / r ** ZIPF);
  const weightSum = weights.reduce((a, b) => a + b, 0);
  const units = o.demandOverStock * o.meanStock * o.skus;
  // Stock follows each SKU's expected demand loosely (a buyer stocks what sells): its share of the
  // total stock, times 0.5 to 1.5.
  const stock = weights.map((w) => Math.max(1, Math.round(((units * w) / weightSum / o.demandOverStock) * (0.5 + uniform(rng)))));

  const meanQuantity = 1 + TWO_UNITS;
  const buyersExpected = units / meanQuantity;
  const durationMs = o.minutes * 60_000;
  const burstShare = (o.burst.to - o.burst.from) * (o.burst.factor - 1);
  const baseRate = buyersExpected / (durationMs * (1 + burstShare));
  const peakRate = baseRate * o.burst.factor;
  const skuCumulative = cumulate(weights);
  const sellerCumulative = cumulate(SELLERS.map((s) => o.shares[s]));
  const buyers: Buyer[] = [];
  // A Poisson process whose rate steps up in the burst: arrivals at the peak rate, thinned outside it.
  for (let t = -Math.log(1 - uniform(rng)) / peakRate; t < durationMs; t += -Math.log(1 - uniform(rng)) / peakRate) {
    const inBurst = t >= o.burst.from * durationMs && t < o.burst.to * durationMs;
    const keep = uniform(rng) < (inBurst ? 1 : 1 / o.burst.factor);
    const seller = SELLERS[pick(sellerCumulative, uniform(rng))]!;
    const sku = pick(skuCumulative, uniform(rng));
    const quantity = uniform(rng) < TWO_UNITS ? 2 : 1;
    if (keep) buyers.push({ atMs: Math.round(t), seller, sku, quantity });
  }
  return { stock, buyers };
}

/**
 * What was really on the shelf, whatever any system believed: a unit sold anywhere is gone at once.
 * A sale beyond it is oversold; a buyer turned away while it held enough is a lost sale.
 */
export class Shelf {
  private readonly left: number[];

  constructor(stock: readonly number[]) {
    this.left = [...stock];
  }

  holds(sku: number, quantity: number): boolean {
    return this.left[sku]! >= quantity;
  }

  /** A sale a channel accepted: the units it takes, and the units it sold that were not there. */
  sell(sku: number, quantity: number): { oversold: number } {
    const taken = Math.min(quantity, Math.max(0, this.left[sku]!));
    this.left[sku] = this.left[sku]! - taken;
    return { oversold: quantity - taken };
  }
}

/** Per channel: units sold, units oversold, units of buyers turned away while the stock was there, and buyers turned away when it was not. */
export interface Tally {
  sold: number;
  oversold: number;
  lost: number;
  soldOut: number;
}

export const emptyTally = (): Tally => ({ sold: 0, oversold: 0, lost: 0, soldOut: 0 });

export function addTally(a: Tally, b: Tally): Tally {
  return { sold: a.sold + b.sold, oversold: a.oversold + b.oversold, lost: a.lost + b.lost, soldOut: a.soldOut + b.soldOut };
}

/**
 * When a sale reached every other channel: the first time each other marketplace applied a
 * quantity of its SKU after we recorded the sale (none needed when none came: the quantity it shows
 * did not depend on the sale), and at once for channels that read us live (the web storefront).
 * `applied` holds each marketplace's applied times of this SKU, ascending.
 */
export function reachedEveryChannelAt(recordedAt: number, origin: Seller, applied: ReadonlyMap<MarketplaceKind, readonly number[]>): number {
  let reached = recordedAt;
  for (const [kind, times] of applied) {
    if (kind === origin) continue;
    const first = times.find((t) => t >= recordedAt);
    if (first !== undefined && first > reached) reached = first;
  }
  return reached;
}
