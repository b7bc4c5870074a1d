import DataLoader from 'dataloader';
import type { Connection } from '../../lib/pagination.js';
import type { InventoryItemEntity } from './item.entity.js';
import type { ItemService } from './item.service.js';
import type { StockLevelEntity } from './stock-level.entity.js';
import type { StockTotals } from './stock-level.store.js';
import { argsKey, type LocationStockKey, type StockService } from './stock.service.js';

/** Built per request: each batch is one IN (...) query, answered in key order. */
export function createLoaders(items: ItemService, stock: StockService) {
  return {
    itemBySku: new DataLoader<string, InventoryItemEntity | null>((skus) => items.bySkus(skus)),
    stockLevelsBySku: new DataLoader<string, StockLevelEntity[]>((skus) => stock.levelsBySkus(skus)),
    stockTotalsBySku: new DataLoader<string, StockTotals>((skus) => stock.totalsBySkus(skus)),
    /** One query per distinct arguments across every Location of the request. */
    stockAtLocation: new DataLoader<LocationStockKey, Connection<StockLevelEntity>, string>(
      (keys) => stock.pagesAtLocations(keys),
      { cacheKeyFn: (key) => `${key.locationId}:${argsKey(key.args)}` },
    ),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
