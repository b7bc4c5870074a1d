import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { parseInput } from '../../../lib/errors.js';
import { skuSchema } from '../../../lib/validation.js';
import { marketplaceStore } from '../data/marketplace.store.js';
import { protectedQuantity, withheldUnits } from '../../../contracts/protection.js';
import type { DemandMeter } from '../../../contracts/demand-meter.js';

export interface ProtectedSku {
  sku: string;
  demandPerSecond: number;
  unreported: number;
  pushLagMs: number;
  withheld: number;
}

/**
 * Protective available-to-sell (contracts/protection.ts) with its inputs measured: each SKU's
 * demand and its units sold but not reported yet (DemandMeter), and the lag of the channel's last
 * push of the SKU.
 */
export class ProtectionService {
  constructor(
    private readonly ds: DataSource,
    private readonly meter: DemandMeter,
    /** PROTECT_CONFIDENCE. */
    private readonly confidence: number,
    /** Whether a channel is PROTECTIVE; by default read from its connection row (the jobs process passes the connections it holds). */
    private readonly protectiveOf: (channelId: string) => boolean | Promise<boolean> = (channelId) => this.isProtective(channelId),
  ) {}

  /** What protection withholds of each SKU on the channel now (0 for each while the channel is not PROTECTIVE), and why. */
  async assess(channelId: string, skus: readonly string[]): Promise<ProtectedSku[]> {
    return this.measure(channelId, skus, await this.protectiveOf(channelId));
  }

  private async isProtective(channelId: string): Promise<boolean> {
    const [connection] = await marketplaceStore.connectionsOf(this.ds.manager, [channelId]);
    return connection?.protection === 'PROTECTIVE';
  }

  private async measure(channelId: string, skus: readonly string[], protective: boolean): Promise<ProtectedSku[]> {
    const [demand, states] = await Promise.all([this.meter.demand(skus), marketplaceStore.syncStates(this.ds.manager, channelId, skus)]);
    const lag = new Map(states.map((s) => [s.sku, s.lastLagMs ?? 0]));
    return skus.map((sku) => {
      const exposure = { unitsPerSecond: demand.get(sku)?.unitsPerSecond ?? 0, unreported: demand.get(sku)?.unreported ?? 0, pushLagMs: lag.get(sku) ?? 0 };
      return { sku, demandPerSecond: exposure.unitsPerSecond, unreported: exposure.unreported, pushLagMs: exposure.pushLagMs, withheld: protective ? withheldUnits(exposure, this.confidence) : 0 };
    });
  }

  /** What a channel is shown once protection withheld its part (unchanged while it is not PROTECTIVE); what it withheld is remembered. */
  async apply(channelId: string, shown: ReadonlyMap<string, number>): Promise<Map<string, number>> {
    if (!shown.size || !(await this.protectiveOf(channelId))) return new Map(shown);
    const assessed = await this.measure(channelId, [...shown.keys()], true);
    const withheld = new Map(assessed.map((a) => [a.sku, Math.min(a.withheld, shown.get(a.sku) ?? 0)]));
    await this.meter.setWithheld(channelId, withheld);
    return new Map([...shown].map(([sku, quantity]) => [sku, protectedQuantity(quantity, withheld.get(sku) ?? 0)]));
  }

  /**
   * For the API: per SKU, its demand per minute, its unreported units, the channel's push lag, what protection would
   * withhold now and what it withheld at the SKU's last push.
   * @throws BadUserInputError for no SKUs, more than 100, or a malformed one
   */
  async report(channelId: string, skus: unknown) {
    const wanted = parseInput(z.array(skuSchema).min(1).max(100), skus, 'skus');
    const [assessed, last] = await Promise.all([this.assess(channelId, wanted), this.meter.withheld(channelId, wanted)]);
    return assessed.map((a) => ({ sku: a.sku, demandPerMinute: a.demandPerSecond * 60, unreportedUnits: a.unreported, pushLagMs: Math.round(a.pushLagMs), withheld: a.withheld, lastWithheld: last.get(a.sku) ?? null }));
  }
}
