import type { DataSource } from 'typeorm';
import type { BaseContext } from '../../lib/subgraph.js';
import { createLoaders, type Loaders } from './loaders.js';
import { OrderService } from './order.service.js';

export interface OrdersContext extends BaseContext {
  orders: OrderService;
  loaders: Loaders;
}

export function createContext(ds: DataSource) {
  const orders = new OrderService(ds);
  return (base: BaseContext): OrdersContext => ({ ...base, orders, loaders: createLoaders(orders) });
}
