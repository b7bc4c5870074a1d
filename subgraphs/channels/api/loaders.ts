import DataLoader from 'dataloader';
import type { Reads } from '../../../lib/read-replicas.js';
import type { ChannelEntity, ChannelSourceEntity } from '../data/channel.entity.js';
import type { ChannelService } from '../services/channel.service.js';

/** Built per request: each batch is one IN (...) query (a statement per figure for summaries), answered in key order. */
export function createLoaders(channels: ChannelService, reads: Reads) {
  return {
    channelById: new DataLoader<string, ChannelEntity | null>((ids) => channels.byIds(reads, ids)),
    channelByCode: new DataLoader<string, ChannelEntity | null>((codes) => channels.byCodes(reads, codes)),
    sourcesByChannel: new DataLoader<string, ChannelSourceEntity[]>((ids) => channels.sourcesOf(reads, ids)),
    activeChannelsAt: new DataLoader<string, ChannelEntity[]>((locationIds) => channels.activeChannelsAt(reads, locationIds)),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
