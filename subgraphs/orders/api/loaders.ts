import DataLoader from 'dataloader';
import type { OrderEntity, OrderLineEntity, OrderStatusChangeEntity } from '../data/order.entity.js';
import type { OrderService } from '../services/order.service.js';

/** Built per request: each batch is one IN (...) query, answered in key order. */
export function createLoaders(orders: OrderService) {
  return {
    orderById: new DataLoader<string, OrderEntity | null>((ids) => orders.byIds(ids)),
    linesByOrder: new DataLoader<string, OrderLineEntity[]>((ids) => orders.linesOf(ids)),
    historyByOrder: new DataLoader<string, OrderStatusChangeEntity[]>((ids) => orders.historyOf(ids)),
    /** One SUM … GROUP BY sku for every InventoryItem of the request. */
    openQuantityBySku: new DataLoader<string, number>((skus) => orders.openQuantities(skus)),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
