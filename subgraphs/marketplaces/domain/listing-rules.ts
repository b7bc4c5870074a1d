import { z } from 'zod';
import { skuSchema } from '../../../lib/validation.js';

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
