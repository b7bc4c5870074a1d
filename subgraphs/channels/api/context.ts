import type { DataSource } from 'typeorm';
import type { Config } from '../../../lib/config.js';
import type { BaseContext, SubgraphRuntime } from '../../../lib/subgraph.js';
import { ChannelService } from '../services/channel.service.js';
import { createLoaders, type Loaders } from './loaders.js';
import { MarketplaceService } from '../marketplace/marketplace.service.js';
import { MarketplaceQueues } from '../marketplace/queues.js';

export interface ChannelsContext extends BaseContext {
  channels: ChannelService;
  marketplace: MarketplaceService;
  loaders: Loaders;
}

export function marketplaceQueues(cfg: Config): MarketplaceQueues {
  return new MarketplaceQueues({
    redisUrl: cfg.REDIS_URL,
    prefix: cfg.REDIS_KEY_PREFIX,
    attempts: cfg.MARKETPLACE_PUSH_ATTEMPTS,
    backoffMs: cfg.MARKETPLACE_BACKOFF_MS,
    coalesceMs: cfg.MARKETPLACE_COALESCE_MS,
  });
}

export function createContext(ds: DataSource, runtime: SubgraphRuntime) {
  const channels = new ChannelService(ds);
  const queues = marketplaceQueues(runtime.cfg);
  runtime.onClose(() => queues.close());
  const marketplace = new MarketplaceService(ds, queues);
  return (base: BaseContext): ChannelsContext => ({ ...base, channels, marketplace, loaders: createLoaders(channels, marketplace) });
}
