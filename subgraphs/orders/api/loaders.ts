import DataLoader from 'dataloader';
import type { Reads } from '../../../lib/read-replicas.js';
import type { OrderEntity, OrderLineEntity, OrderStatusChangeEntity } from '../data/order.entity.js';
import type { OrderService } from '../services/order.service.js';

/** Built per request: each batch is one IN (...) query, answered in key order, where the request's `reads` send it. */
export function createLoaders(orders: OrderService, reads: Reads) {
  return {
    orderById: new DataLoader<string, OrderEntity | null>((ids) => orders.byIds(reads, ids)),
    linesByOrder: new DataLoader<string, OrderLineEntity[]>((ids) => orders.linesOf(reads, ids)),
    historyByOrder: new DataLoader<string, OrderStatusChangeEntity[]>((ids) => orders.historyOf(reads, ids)),
    /** One SUM … GROUP BY sku for every InventoryItem of the request. */
    openQuantityBySku: new DataLoader<string, number>((skus) => orders.openQuantities(reads, skus)),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
