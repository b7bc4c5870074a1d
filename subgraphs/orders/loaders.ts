import DataLoader from 'dataloader';
import type { OrderEntity, OrderLineEntity } from './order.entity.js';
import type { OrderService } from './order.service.js';

/** Built per request: each batch is one IN (...) query, answered in key order. */
export function createLoaders(orders: OrderService) {
  return {
    orderById: new DataLoader<string, OrderEntity | null>((ids) => orders.byIds(ids)),
    linesByOrder: new DataLoader<string, OrderLineEntity[]>((ids) => orders.linesOf(ids)),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
