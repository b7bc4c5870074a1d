import type { Logger } from 'pino';
import type { DemandMeter } from '../../../contracts/demand-meter.js';
import { withheldUnits } from '../../../contracts/protection.js';
import type { ChannelRule } from '../domain/stock.js';

const NONE: ReadonlyMap<string, number> = new Map();

/**
 * Protective available-to-sell for the channels that read inventory live (web storefronts, POS,
 * clienteling): they hear of our stock at once, so what they cannot know is only what sold
 * elsewhere and has not been reported to us yet (a till batch, a marketplace's late orders). Per
 * SKU, protection withholds the fewest units that cover those with the configured confidence, from
 * the demand the jobs process measures (contracts/demand-meter.ts). Marketplace channels are
 * protected by their connection instead, which also covers their push lag.
 */
export class LiveProtection {
  constructor(
    private readonly meter: Pick<DemandMeter, 'demand'>,
    /** PROTECT_CONFIDENCE. */
    private readonly confidence: number,
    private readonly log: Pick<Logger, 'warn'>,
    /** Told when the demand could not be read (Redis unreachable) and nothing was withheld. */
    private readonly onUnmeasured: () => void = () => {},
  ) {}

  /**
   * Units withheld per SKU on the channel now (none unless its rule is PROTECTIVE). Demand that
   * cannot be read withholds nothing: the channel goes on selling what it holds, logged and counted,
   * rather than refusing every buyer while Redis is away.
   */
  async withheld(rule: Pick<ChannelRule, 'channelId' | 'protection'>, skus: readonly string[]): Promise<ReadonlyMap<string, number>> {
    if (rule.protection !== 'PROTECTIVE' || !skus.length) return NONE;
    try {
      const demand = await this.meter.demand([...new Set(skus)]);
      return new Map([...demand].map(([sku, d]) => [sku, withheldUnits({ unitsPerSecond: d.unitsPerSecond, unreported: d.unreported, pushLagMs: 0 }, this.confidence)]));
    } catch (err) {
      this.log.warn({ err, channelId: rule.channelId }, 'demand could not be read: the protective channel is shown its whole available-to-sell');
      this.onUnmeasured();
      return NONE;
    }
  }
}
