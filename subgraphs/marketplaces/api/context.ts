import type { DataSource } from 'typeorm';
import type { BaseContext, SubgraphRuntime } from '../../../lib/subgraph.js';
import { MarketplaceService } from '../services/marketplace.service.js';
import { ListingService } from '../services/listing.service.js';
import { IntakeReads } from '../services/intake.service.js';
import { marketplaceQueues } from '../services/queues.js';
import { createLoaders, type Loaders } from './loaders.js';

export interface MarketplacesContext extends BaseContext {
  marketplace: MarketplaceService;
  listings: ListingService;
  intake: IntakeReads;
  loaders: Loaders;
}

export function createContext(ds: DataSource, runtime: SubgraphRuntime) {
  const queues = marketplaceQueues(runtime.cfg);
  runtime.onClose(() => queues.close());
  const marketplace = new MarketplaceService(ds, queues, { allowedHosts: runtime.cfg.MARKETPLACE_ALLOWED_HOSTS });
  const listings = new ListingService(ds, marketplace, queues);
  const intake = new IntakeReads(ds);
  return (base: BaseContext): MarketplacesContext => ({ ...base, marketplace, listings, intake, loaders: createLoaders(marketplace) });
}
