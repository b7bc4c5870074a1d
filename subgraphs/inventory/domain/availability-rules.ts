import { availableToSell } from './allocation.js';
import type { ChannelRule } from './stock.js';

export type StockStatus = 'IN_STOCK' | 'LOW_STOCK' | 'OUT_OF_STOCK';

export function stockStatus(ats: number, lowThreshold: number): StockStatus {
  if (ats <= 0) return 'OUT_OF_STOCK';
  return ats <= lowThreshold ? 'LOW_STOCK' : 'IN_STOCK';
}

/** What a channel may sell of one SKU, with the breakdown per source location. */
export interface AvailabilityFigure {
  availableToSell: number;
  status: StockStatus;
  /** Per source location, in the channel's priority order. */
  locations: { locationId: string; available: number; pickup: boolean }[];
}

/**
 * A channel's figure for one SKU, the same whoever computes it (MySQL's answer or the read model's):
 * the available of each ACTIVE source (`availableAt`, 0 where the SKU has no level), summed, less
 * what is withheld (protection and other channels' set-asides) and the buffer, capped; nothing on a
 * channel that is not ACTIVE.
 */
export function channelFigure(rule: ChannelRule, availableAt: (locationId: string) => number, withheld: number, lowThreshold: number): AvailabilityFigure {
  const locations = rule.sources.filter((s) => s.status === 'ACTIVE').map((s) => ({ locationId: s.locationId, available: availableAt(s.locationId), pickup: s.pickup }));
  let sum = 0;
  for (const l of locations) sum += l.available;
  const ats = rule.status === 'ACTIVE' ? availableToSell(sum, rule, withheld) : 0;
  return { availableToSell: ats, status: stockStatus(ats, lowThreshold), locations };
}
