import type { DataSource } from 'typeorm';
import type { BaseContext } from '../../lib/subgraph.js';
import { ItemService } from './item.service.js';
import { createLoaders, type Loaders } from './loaders.js';
import { StockService } from './stock.service.js';

export interface InventoryContext extends BaseContext {
  items: ItemService;
  stock: StockService;
  loaders: Loaders;
}

export function createContext(ds: DataSource) {
  const items = new ItemService(ds);
  const stock = new StockService(ds);
  return (base: BaseContext): InventoryContext => ({ ...base, items, stock, loaders: createLoaders(items, stock) });
}
