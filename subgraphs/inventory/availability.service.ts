import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { manyByKey } from '../../lib/batch.js';
import { NotFoundError, parseInput } from '../../lib/errors.js';
import { idSchema, skuSchema } from '../../lib/validation.js';
import { availableToSell } from './allocation.js';
import { itemStore } from './item.store.js';
import { availableOf } from './level-math.js';
import type { ReplicaService } from './replica.service.js';
import { stockLevelStore } from './stock-level.store.js';

const argsSchema = z.object({ channelId: idSchema, skus: z.array(skuSchema).min(1).max(100) });

export type StockStatus = 'IN_STOCK' | 'LOW_STOCK' | 'OUT_OF_STOCK';

export interface ChannelAvailability {
  sku: string;
  channelId: string;
  availableToSell: number;
  status: StockStatus;
  locations: { locationId: string; available: number; pickup: boolean }[];
}

export function stockStatus(ats: number, lowThreshold: number): StockStatus {
  if (ats <= 0) return 'OUT_OF_STOCK';
  return ats <= lowThreshold ? 'LOW_STOCK' : 'IN_STOCK';
}

/** What a channel may sell now: the storefront's number. */
export class AvailabilityService {
  constructor(
    private readonly ds: DataSource,
    private readonly replicas: ReplicaService,
    private readonly lowStockThreshold: number,
  ) {}

  /**
   * Per SKU, in the order given (null for unknown SKUs): the channel's available-to-sell over its
   * active sources, and the per-location breakdown. Three statements whatever the number of SKUs.
   * @throws BadUserInputError for a malformed channel id or SKU list
   * @throws NotFoundError for an unknown channel
   */
  async forChannel(channelId: string, skus: string[]): Promise<(ChannelAvailability | null)[]> {
    const v = parseInput(argsSchema, { channelId, skus });
    const rule = await this.replicas.channelRule(v.channelId);
    if (!rule) throw new NotFoundError('Channel', v.channelId);
    const sources = rule.sources.filter((s) => s.status === 'ACTIVE');
    const [items, levels] = await Promise.all([
      itemStore.findBySkus(this.ds.manager, v.skus),
      stockLevelStore.findAt(this.ds.manager, v.skus, sources.map((s) => s.locationId), new Date()),
    ]);
    const known = new Set(items.map((i) => i.sku));
    const levelsBySku = manyByKey(v.skus, levels, (l) => l.sku);
    return v.skus.map((sku, i) => {
      if (!known.has(sku)) return null;
      const byLocation = new Map(levelsBySku[i]!.map((l) => [l.locationId, availableOf(l)]));
      const locations = sources.map((s) => ({ locationId: s.locationId, available: byLocation.get(s.locationId) ?? 0, pickup: s.pickup }));
      const sum = locations.reduce((acc, l) => acc + l.available, 0);
      const ats = rule.status === 'ACTIVE' ? availableToSell(sum, rule) : 0;
      return { sku, channelId: v.channelId, availableToSell: ats, status: stockStatus(ats, this.lowStockThreshold), locations };
    });
  }
}
