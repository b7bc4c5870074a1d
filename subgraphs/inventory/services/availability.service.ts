import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { manyByKey } from '../../../lib/batch.js';
import { isDatabaseUnavailable } from '../../../lib/db.js';
import { DatabaseUnavailableError, NotFoundError, parseInput } from '../../../lib/errors.js';
import { idSchema, skuSchema } from '../../../lib/validation.js';
import { availableToSell } from '../domain/allocation.js';
import type { AvailabilitySnapshots } from '../data/availability-snapshot.js';
import { itemStore } from '../data/item.store.js';
import { availableOf } from '../domain/level-math.js';
import type { LiveProtection } from './protection.service.js';
import type { ReplicaService } from './replica.service.js';
import { stockLevelStore } from '../data/stock-level.store.js';

const argsSchema = z.object({ channelId: idSchema, skus: z.array(skuSchema).min(1).max(100) });

export type StockStatus = 'IN_STOCK' | 'LOW_STOCK' | 'OUT_OF_STOCK';

export interface ChannelAvailability {
  sku: string;
  channelId: string;
  availableToSell: number;
  status: StockStatus;
  locations: { locationId: string; available: number; pickup: boolean }[];
  /** True when MySQL was unreachable and this is the last figure computed, from the snapshot. */
  stale: boolean;
  /** When the figure was computed from MySQL. */
  asOf: Date;
  /** Whole seconds since asOf when stale; null when fresh. */
  staleForSeconds: number | null;
}

/**
 * One entry of an availability answer: the figure, null for an unknown SKU, or (MySQL unreachable)
 * the error of a SKU with no snapshot, which GraphQL reports at that entry's path.
 */
export type AvailabilityEntry = ChannelAvailability | null | DatabaseUnavailableError;

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
    private readonly snapshots: AvailabilitySnapshots,
    /** What a PROTECTIVE channel withholds per SKU; absent: nothing (a channel read without protection). */
    private readonly protection: Pick<LiveProtection, 'withheld'> | null,
    /** Counts entries answered from snapshots (`served`) or left without one (`missing`) while MySQL is unreachable. */
    private readonly countStale: (outcome: 'served' | 'missing', entries: number) => void = () => {},
  ) {}

  /**
   * Per SKU, in the order given (null for unknown SKUs): the channel's available-to-sell over its
   * active sources (less what protection withholds on a PROTECTIVE channel and what other channels
   * set aside), and the per-location breakdown. Three statements whatever the number of SKUs.
   * Each answer is kept as the (channel, SKU)'s snapshot; while MySQL is unreachable the snapshots
   * answer instead, marked stale, and a SKU without one is a DatabaseUnavailableError entry.
   * @throws BadUserInputError for a malformed channel id or SKU list
   * @throws NotFoundError for an unknown channel
   * @throws DatabaseUnavailableError when MySQL is unreachable and no SKU asked for has a snapshot
   */
  async forChannel(channelId: string, skus: string[]): Promise<AvailabilityEntry[]> {
    const v = parseInput(argsSchema, { channelId, skus });
    try {
      return await this.fromDatabase(v.channelId, v.skus);
    } catch (err) {
      if (!isDatabaseUnavailable(err)) throw err;
      return this.fromSnapshots(v.channelId, v.skus);
    }
  }

  private async fromDatabase(channelId: string, skus: string[]): Promise<(ChannelAvailability | null)[]> {
    // Taken before reading: the figure is at least as new as this.
    const asOf = new Date();
    const rule = await this.replicas.channelRule(channelId);
    if (!rule) throw new NotFoundError('Channel', channelId);
    const sources = rule.sources.filter((s) => s.status === 'ACTIVE');
    const [items, levels, withheld, held] = await Promise.all([
      itemStore.findBySkus(this.ds.manager, skus),
      stockLevelStore.findAt(this.ds.manager, skus, sources.map((s) => s.locationId), new Date()),
      this.protection?.withheld(rule, skus),
      this.replicas.heldForOthers(channelId, skus),
    ]);
    const known = new Set(items.map((i) => i.sku));
    const levelsBySku = manyByKey(skus, levels, (l) => l.sku);
    const answers = skus.map((sku, i): ChannelAvailability | null => {
      if (!known.has(sku)) return null;
      const byLocation = new Map(levelsBySku[i]!.map((l) => [l.locationId, availableOf(l)]));
      const locations = sources.map((s) => ({ locationId: s.locationId, available: byLocation.get(s.locationId) ?? 0, pickup: s.pickup }));
      const sum = locations.reduce((acc, l) => acc + l.available, 0);
      const ats = rule.status === 'ACTIVE' ? availableToSell(sum, rule, (withheld?.get(sku) ?? 0) + (held.get(sku) ?? 0)) : 0;
      return {
        sku,
        channelId: channelId,
        availableToSell: ats,
        status: stockStatus(ats, this.lowStockThreshold),
        locations,
        stale: false,
        asOf,
        staleForSeconds: null,
      };
    });
    this.snapshots.save(channelId, answers.flatMap((a) => (a ? [{ sku: a.sku, figure: a }] : [])), asOf);
    return answers;
  }

  private async fromSnapshots(channelId: string, skus: string[]): Promise<AvailabilityEntry[]> {
    let kept;
    try {
      kept = await this.snapshots.load(channelId, skus);
    } catch {
      this.countStale('missing', skus.length);
      throw new DatabaseUnavailableError('The database is unreachable and no availability snapshot could be read. Retry shortly.');
    }
    const served = kept.filter((s) => s !== null).length;
    this.countStale('missing', skus.length - served);
    if (!served) {
      throw new DatabaseUnavailableError('The database is unreachable and no availability is known for these SKUs yet. Retry shortly.');
    }
    this.countStale('served', served);
    const now = Date.now();
    return skus.map((sku, i) => {
      const s = kept[i];
      if (!s) return new DatabaseUnavailableError(`The database is unreachable and no availability is known for ${sku} yet. Retry shortly.`, { sku });
      return { sku, channelId, ...s, stale: true, staleForSeconds: Math.max(0, Math.floor((now - s.asOf.getTime()) / 1000)) };
    });
  }
}
