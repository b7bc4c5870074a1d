import DataLoader from 'dataloader';
import type { DriftLineEntity, MarketplaceConnectionEntity } from '../data/marketplace.entity.js';
import type { MarketplaceService, SyncSummary } from '../services/marketplace.service.js';

/** Built per request: each batch is one IN (...) query (a statement per figure for summaries), answered in key order. */
export function createLoaders(marketplace: MarketplaceService) {
  return {
    connectionByChannel: new DataLoader<string, MarketplaceConnectionEntity | null>((ids) => marketplace.connectionsOf(ids)),
    syncSummaryByChannel: new DataLoader<string, SyncSummary | null>((ids) => marketplace.summaries(ids)),
    driftLinesByRun: new DataLoader<string, DriftLineEntity[]>((ids) => marketplace.driftLinesOf(ids)),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
