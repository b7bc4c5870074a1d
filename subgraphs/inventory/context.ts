import type { DataSource } from 'typeorm';
import { config } from '../../lib/config.js';
import { logger } from '../../lib/logger.js';
import { createRedis } from '../../lib/redis.js';
import type { BaseContext, SubgraphRuntime } from '../../lib/subgraph.js';
import { AvailabilityService } from './availability.service.js';
import { ItemService } from './item.service.js';
import { createLoaders, type Loaders } from './loaders.js';
import { MovementService } from './movement.service.js';
import { ReconciliationService } from './reconciliation.service.js';
import { ReplicaService } from './replica.service.js';
import { ReservationService } from './reservation.service.js';
import { StockService } from './stock.service.js';
import { StockFeed } from './stock-feed.js';
import { StockSubscriptionService } from './stock-subscription.service.js';

export interface InventoryContext extends BaseContext {
  items: ItemService;
  stock: StockService;
  movements: MovementService;
  reservations: ReservationService;
  availability: AvailabilityService;
  reconciliation: ReconciliationService;
  stockSubscriptions: StockSubscriptionService;
  loaders: Loaders;
}

export function createContext(ds: DataSource, runtime: SubgraphRuntime) {
  const cfg = runtime.cfg;
  const movements = new MovementService(ds);
  const replicas = new ReplicaService(ds);
  const availability = new AvailabilityService(ds, replicas, config().LOW_STOCK_THRESHOLD);
  // One pub/sub connection per process, shared by every subscription of this replica.
  const feed = new StockFeed({
    subscriber: createRedis(cfg.REDIS_URL),
    reader: createRedis(cfg.REDIS_URL),
    keyPrefix: cfg.REDIS_KEY_PREFIX,
    retentionMs: cfg.OUTBOX_RETENTION_MS,
    log: logger().child({ component: 'stock-feed' }),
  });
  runtime.onClose(() => feed.close());
  const services = {
    items: new ItemService(ds),
    stock: new StockService(ds),
    movements,
    reservations: new ReservationService(ds, replicas),
    availability,
    reconciliation: new ReconciliationService(ds, movements),
    stockSubscriptions: new StockSubscriptionService(feed, replicas, availability),
  };
  return (base: BaseContext): InventoryContext => ({ ...base, ...services, loaders: createLoaders(services) });
}
