import DataLoader from 'dataloader';
import type { Reads } from '../../../lib/read-replicas.js';
import type { Connection } from '../../../lib/pagination.js';
import type { InventoryItemEntity } from '../data/item.entity.js';
import type { ItemService } from '../services/item.service.js';
import type { DriftLineEntity, ReconciliationRunEntity } from '../data/reconciliation.entity.js';
import type { ReconciliationService } from '../services/reconciliation.service.js';
import type { ReplicaService } from '../services/replica.service.js';
import type { ReservationService, ReservationView } from '../services/reservation.service.js';
import type { StockMovementEntity } from '../data/stock-movement.entity.js';
import type { StockLevelEntity } from '../data/stock-level.entity.js';
import type { StockTotals } from '../data/stock-level.store.js';
import { argsKey, type LocationStockKey, type StockService } from '../services/stock.service.js';
import type { TransferEntity } from '../data/transfer.entity.js';

/** Built per request: each batch is one IN (...) query, answered in key order; item and stock reads where the request's `reads` send them. */
export function createLoaders(
  s: { items: ItemService; stock: StockService; reservations: ReservationService; reconciliation: ReconciliationService; replicas: ReplicaService },
  reads: Reads,
) {
  const locationName = new DataLoader<string, string | null>((ids) => s.replicas.locationNames(ids));
  return {
    itemBySku: new DataLoader<string, InventoryItemEntity | null>((skus) => s.items.bySkus(reads, skus)),
    stockLevelsBySku: new DataLoader<string, StockLevelEntity[]>((skus) => s.stock.levelsBySkus(reads, skus)),
    stockTotalsBySku: new DataLoader<string, StockTotals>((skus) => s.stock.totalsBySkus(reads, skus)),
    /** One query per distinct arguments across every Location of the request. */
    stockAtLocation: new DataLoader<LocationStockKey, Connection<StockLevelEntity>, string>(
      (keys) => s.stock.pagesAtLocations(reads, keys),
      { cacheKeyFn: (key) => `${key.locationId}:${argsKey(key.args)}` },
    ),
    reservationById: new DataLoader<string, ReservationView | null>((ids) => s.reservations.byIds(ids)),
    transferById: new DataLoader<string, TransferEntity | null>((ids) => s.stock.transfersByIds(reads, ids)),
    movementById: new DataLoader<string, StockMovementEntity | null>((ids) => s.stock.movementsByIds(reads, ids)),
    reconciliationRunById: new DataLoader<string, ReconciliationRunEntity | null>((ids) => s.reconciliation.byIds(ids)),
    driftsByRunId: new DataLoader<string, DriftLineEntity[]>((ids) => s.reconciliation.driftsOf(ids)),
    /**
     * The names inventory provides where the schema says so (`@provides(fields: "name")`), from its
     * replica: at once when it keeps them all (no promise for the executor to wait on), else in one batch.
     */
    locationNames: (ids: readonly string[]): (string | null)[] | Promise<(string | null | Error)[]> => s.replicas.cachedLocationNames(ids) ?? locationName.loadMany(ids),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
