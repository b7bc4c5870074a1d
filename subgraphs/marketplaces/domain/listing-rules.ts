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

/**
 * What a connection's channel is pushed. EVERY_SKU (the default): every SKU, under its listing's
 * `marketplaceSku` where a listing names one, else under ours (the marketplace knows most SKUs by
 * ours; a listing maps the exceptions). LISTED: its listed SKUs only (each under its listing's
 * marketplace SKU, or ours); any other is not pushed, by changes, resyncs or drift repair alike, and
 * what it was pushed of them is retired when the connection is set to LISTED.
 */
export const CATALOGUES = ['EVERY_SKU', 'LISTED'] as const;
export type Catalogue = (typeof CATALOGUES)[number];

/** The marketplace SKU the channel's stock of `sku` is pushed under, or null when the channel does not list the SKU (Catalogue). */
export function listedAs(sku: string, listing: { marketplaceSku: string | null } | null | undefined, catalogue: Catalogue): string | null {
  if (listing) return listing.marketplaceSku ?? sku;
  return catalogue === 'LISTED' ? null : sku;
}

/**
 * The marketplace SKU a change of what the channel lists (`listedAs` before and after) leaves holding
 * the last quantity we pushed there, or null: the one the SKU was listed under, when it is no longer
 * listed under it. It is retired: pushed 0, so the marketplace stops selling stock under a SKU whose
 * orders nothing maps any more.
 */
export function retiredMarketplaceSku(before: string | null, after: string | null): string | null {
  return before !== null && before !== after ? before : null;
}
