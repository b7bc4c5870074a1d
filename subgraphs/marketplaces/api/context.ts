import type { DataSource } from 'typeorm';
import type { BaseContext, SubgraphRuntime } from '../../../lib/subgraph.js';
import { MarketplaceService } from '../services/marketplace.service.js';
import { ListingService } from '../services/listing.service.js';
import { IntakeReads } from '../services/intake.service.js';
import { DemandMeter } from '../../../contracts/demand-meter.js';
import { ProtectionService } from '../services/protection.service.js';
import { closeRedis, createRedis, redisTarget } from '../../../lib/redis.js';
import { marketplaceQueues } from '../services/queues.js';
import { createLoaders, type Loaders } from './loaders.js';

export interface MarketplacesContext extends BaseContext {
  marketplace: MarketplaceService;
  listings: ListingService;
  intake: IntakeReads;
  protection: ProtectionService;
  loaders: Loaders;
}

export function createContext(ds: DataSource, runtime: SubgraphRuntime) {
  const queues = marketplaceQueues(runtime.cfg);
  runtime.onClose(() => queues.close());
  const marketplace = new MarketplaceService(ds, queues, { allowedHosts: runtime.cfg.MARKETPLACE_ALLOWED_HOSTS });
  const listings = new ListingService(ds, marketplace, queues);
  const intake = new IntakeReads(ds);
  const redis = createRedis(redisTarget(runtime.cfg));
  runtime.onClose(async () => {
    await closeRedis(redis);
  });
  const protection = new ProtectionService(ds, new DemandMeter(redis, runtime.cfg.REDIS_KEY_PREFIX, runtime.cfg.PROTECT_WINDOW_MS), runtime.cfg.PROTECT_CONFIDENCE);
  return (base: BaseContext): MarketplacesContext => ({ ...base, marketplace, listings, intake, protection, loaders: createLoaders(marketplace) });
}
