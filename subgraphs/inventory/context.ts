import type { DataSource } from 'typeorm';
import { config } from '../../lib/config.js';
import type { BaseContext } from '../../lib/subgraph.js';
import { AvailabilityService } from './availability.service.js';
import { ItemService } from './item.service.js';
import { createLoaders, type Loaders } from './loaders.js';
import { MovementService } from './movement.service.js';
import { ReservationService } from './reservation.service.js';
import { StockService } from './stock.service.js';

export interface InventoryContext extends BaseContext {
  items: ItemService;
  stock: StockService;
  movements: MovementService;
  reservations: ReservationService;
  availability: AvailabilityService;
  loaders: Loaders;
}

export function createContext(ds: DataSource) {
  const services = {
    items: new ItemService(ds),
    stock: new StockService(ds),
    movements: new MovementService(ds),
    reservations: new ReservationService(ds),
    availability: new AvailabilityService(ds, config().LOW_STOCK_THRESHOLD),
  };
  return (base: BaseContext): InventoryContext => ({ ...base, ...services, loaders: createLoaders(services) });
}
