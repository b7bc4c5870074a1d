import { z } from 'zod';
import { NotFoundError, parseInput } from '../../../lib/errors.js';
import type { StockChanged } from '../../../contracts/events.js';
import { EVENT_META, type EventMeta } from '../../../lib/subgraph.js';
import { idSchema, skuSchema } from '../../../lib/validation.js';
import type { AvailabilityService, StockStatus } from './availability.service.js';
import type { ReplicaService } from './replica.service.js';
import { compareStreamIds, type FeedEvent, type StockFeed } from '../feeds/stock-feed.js';

const filterSchema = z.object({
  skus: z.array(skuSchema).min(1).max(100).nullish(),
  locationIds: z.array(idSchema).min(1).max(100).nullish(),
  channelId: idSchema.nullish(),
  minChange: z.number().int().min(1).nullish(),
});
export type StockChangedFilter = z.input<typeof filterSchema>;

/** What the stockChanged field resolves to (the StockChange type). */
export interface StockChangeView extends StockChanged {
  sequence: string;
  available: number;
  channelId: string | null;
  availableToSell: number | null;
  stockStatus: StockStatus | null;
}

export type StockChangedEvent = { stockChanged: StockChangeView; [EVENT_META]: EventMeta };

/** The stockChanged subscription: the feed, filtered, each event completed with the channel's available-to-sell. */
export class StockSubscriptionService {
  constructor(
    private readonly feed: StockFeed,
    private readonly replicas: ReplicaService,
    private readonly availability: AvailabilityService,
  ) {}

  /**
   * Stock changes matching the filter, after the later of `since` and `resumeFrom`.
   * @throws BadUserInputError for a malformed filter or since
   * @throws SinceExpiredError for a since older than the event retention
   * @throws NotFoundError for an unknown channel
   */
  async subscribe(filter: unknown, since: string | null, resumeFrom: string | null): Promise<AsyncIterableIterator<StockChangedEvent>> {
    const f = parseInput(filterSchema, filter ?? {}, 'filter');
    if (f.channelId && !(await this.replicas.channelRule(f.channelId))) throw new NotFoundError('Channel', f.channelId);
    const skus = f.skus ? new Set(f.skus) : null;
    const locations = f.locationIds ? new Set(f.locationIds) : null;
    const channelId = f.channelId ?? null;
    const start = since && resumeFrom ? (compareStreamIds(since, resumeFrom) >= 0 ? since : resumeFrom) : (since ?? resumeFrom);
    // The gateway resuming may name a position in time past the last change (it lost the subgraph before any event).
    const events = await this.feed.open(start, { resuming: start !== null && start === resumeFrom });

    const matches = async (e: FeedEvent): Promise<boolean> => {
      const p = e.payload;
      if (skus && !skus.has(p.sku)) return false;
      if (locations && !locations.has(p.locationId)) return false;
      if (f.minChange && Math.abs(p.after.available - p.before.available) < f.minChange) return false;
      if (channelId) {
        const rule = await this.replicas.channelRule(channelId);
        if (!rule?.sources.some((s) => s.locationId === p.locationId)) return false;
      }
      return true;
    };
    const view = async (e: FeedEvent): Promise<StockChangedEvent> => {
      const p = e.payload;
      let ats: { availableToSell: number; status: StockStatus } | null = null;
      if (channelId) {
        // At least as new as this change: the read model answers once it has applied it.
        const [entry] = await this.availability.forChannel(channelId, [p.sku], { afterSequence: e.streamId });
        // A SKU with no snapshot while MySQL is away: the event still goes out, without the channel's figure.
        ats = entry instanceof Error ? null : (entry ?? null);
      }
      return {
        stockChanged: {
          ...p,
          sequence: e.streamId,
          available: p.after.available,
          channelId,
          availableToSell: ats?.availableToSell ?? null,
          stockStatus: ats?.status ?? null,
        },
        [EVENT_META]: { sequence: e.streamId, key: e.key },
      };
    };
    const iterator: AsyncIterableIterator<StockChangedEvent> = {
      async next() {
        for (;;) {
          const step = await events.next();
          if (step.done) return step;
          if (await matches(step.value)) return { done: false, value: await view(step.value) };
        }
      },
      return: async () => {
        await events.return();
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
    return iterator;
  }
}
