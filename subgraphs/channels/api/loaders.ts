import DataLoader from 'dataloader';
import type { ChannelEntity, ChannelSourceEntity } from '../data/channel.entity.js';
import type { ChannelService } from '../services/channel.service.js';
import type { DriftLineEntity, MarketplaceConnectionEntity } from '../marketplace/marketplace.entity.js';
import type { MarketplaceService, SyncSummary } from '../marketplace/marketplace.service.js';

/** Built per request: each batch is one IN (...) query (a statement per figure for summaries), answered in key order. */
export function createLoaders(channels: ChannelService, marketplace: MarketplaceService) {
  return {
    channelById: new DataLoader<string, ChannelEntity | null>((ids) => channels.byIds(ids)),
    channelByCode: new DataLoader<string, ChannelEntity | null>((codes) => channels.byCodes(codes)),
    sourcesByChannel: new DataLoader<string, ChannelSourceEntity[]>((ids) => channels.sourcesOf(ids)),
    activeChannelsAt: new DataLoader<string, ChannelEntity[]>((locationIds) => channels.activeChannelsAt(locationIds)),
    connectionByChannel: new DataLoader<string, MarketplaceConnectionEntity | null>((ids) => marketplace.connectionsOf(ids)),
    syncSummaryByChannel: new DataLoader<string, SyncSummary | null>((ids) => marketplace.summaries(ids)),
    driftLinesByRun: new DataLoader<string, DriftLineEntity[]>((ids) => marketplace.driftLinesOf(ids)),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;

/**
 * Awaits a write, then empties the request's caches: the mutations of one operation run one after
 * another, and the fields under a later one must see the earlier writes, not reads cached before them.
 */
export async function afterWrite<T>(loaders: Loaders, write: Promise<T>): Promise<T> {
  const result = await write;
  for (const loader of Object.values(loaders)) loader.clearAll();
  return result;
}
