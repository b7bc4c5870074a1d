import { z } from 'zod';
import { skuSchema } from '../../../lib/validation.js';
import type { MarketplaceAdapter } from '../connectors/types.js';

/**
 * A marketplace listing: how one of our SKUs appears on one marketplace channel. The marketplace's
 * own SKU or listing id is what its orders name (an order line maps to our SKU through it, never by
 * guessing); the rules shape what the channel is shown of its available-to-sell.
 */
export interface ListingRule {
  /** Never show more than this. */
  maxShown: number | null;
  /** Show this share of the available-to-sell (0 < share ≤ 1), rounded down. */
  share: number | null;
  /** Show zero while the available-to-sell is below this: the last units stay for other channels. */
  showZeroBelow: number | null;
}

const count = z.number().int().min(0).max(1_000_000_000);
const marketplaceRef = z.string().trim().min(1).max(128);

export const listingInputSchema = z.object({
  sku: skuSchema,
  marketplaceSku: marketplaceRef.nullish(),
  listingId: marketplaceRef.nullish(),
  maxShown: count.nullish(),
  share: z.number().gt(0).max(1).nullish(),
  showZeroBelow: count.nullish(),
});
export type ListingInput = z.input<typeof listingInputSchema>;

/** What a channel is shown of `available` under its listing's rule (none: all of it). */
export function shownQuantity(available: number, rule: ListingRule | null | undefined): number {
  if (!rule) return available;
  if (rule.showZeroBelow !== null && available < rule.showZeroBelow) return 0;
  const shared = rule.share !== null ? Math.floor(available * rule.share) : available;
  return Math.max(0, rule.maxShown !== null ? Math.min(shared, rule.maxShown) : shared);
}

/**
 * The adapter speaking the marketplace's SKUs: a SKU listed under a `marketplaceSku` of its own is
 * pushed and read back under it, and its outcomes come back under ours. `marketplaceSkus` names the
 * listed ones among the SKUs given (the others keep our SKU). No I/O of its own.
 */
export function listedAdapter(adapter: MarketplaceAdapter, marketplaceSkus: (skus: readonly string[]) => Promise<ReadonlyMap<string, string>>): MarketplaceAdapter {
  const maps = async (skus: readonly string[]) => {
    const theirs = await marketplaceSkus(skus);
    const ours = new Map([...theirs].map(([our, their]) => [their, our]));
    return { out: (sku: string) => theirs.get(sku) ?? sku, back: (sku: string) => ours.get(sku) ?? sku, listed: theirs.size > 0 };
  };
  return {
    kind: adapter.kind,
    readBatch: adapter.readBatch,
    readCost: (items) => adapter.readCost(items),
    // Without the lookup (a cost is known at once), the cost is given for our SKUs: at worst the adapter's worst case.
    pushCost: (items, skus) => adapter.pushCost(items, skus),
    async push(updates, opts) {
      const m = await maps(updates.map((u) => u.sku));
      if (!m.listed) return adapter.push(updates, opts);
      const outcomes = await adapter.push(updates.map((u) => ({ ...u, sku: m.out(u.sku) })), opts);
      return outcomes.map((o) => ({ ...o, sku: m.back(o.sku) }));
    },
    async read(skus, opts) {
      const m = await maps(skus);
      if (!m.listed) return adapter.read(skus, opts);
      const read = await adapter.read(skus.map(m.out), opts);
      return new Map([...read].map(([sku, quantity]) => [m.back(sku), quantity]));
    },
  };
}
