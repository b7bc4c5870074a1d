import type { DataSource } from 'typeorm';
import { config } from '../../lib/config.js';
import type { BaseContext } from '../../lib/subgraph.js';
import { AvailabilityService } from './availability.service.js';
import { ItemService } from './item.service.js';
import { createLoaders, type Loaders } from './loaders.js';
import { MovementService } from './movement.service.js';
import { ReconciliationService } from './reconciliation.service.js';
import { ReplicaService } from './replica.service.js';
import { ReservationService } from './reservation.service.js';
import { StockService } from './stock.service.js';

export interface InventoryContext extends BaseContext {
  items: ItemService;
  stock: StockService;
  movements: MovementService;
  reservations: ReservationService;
  availability: AvailabilityService;
  reconciliation: ReconciliationService;
  loaders: Loaders;
}

export function createContext(ds: DataSource) {
  const movements = new MovementService(ds);
  const replicas = new ReplicaService(ds);
  const services = {
    items: new ItemService(ds),
    stock: new StockService(ds),
    movements,
    reservations: new ReservationService(ds, replicas),
    availability: new AvailabilityService(ds, replicas, config().LOW_STOCK_THRESHOLD),
    reconciliation: new ReconciliationService(ds, movements),
  };
  return (base: BaseContext): InventoryContext => ({ ...base, ...services, loaders: createLoaders(services) });
}
