import { Counter } from 'prom-client';
import type { DataSource } from 'typeorm';
import { logger } from '../../../lib/logger.js';
import { closeRedis, createRedis, redisTarget } from '../../../lib/redis.js';
import type { BaseContext, SubgraphRuntime } from '../../../lib/subgraph.js';
import { DemandMeter } from '../../../contracts/demand-meter.js';
import { AvailabilitySnapshots } from '../data/availability-snapshot.js';
import { LiveProtection } from '../services/protection.service.js';
import { AvailabilityReadModel } from '../services/availability-read-model.js';
import { AvailabilityService } from '../services/availability.service.js';
import { ItemService } from '../services/item.service.js';
import { createLoaders, type Loaders } from './loaders.js';
import { MovementService } from '../services/movement.service.js';
import { ReconciliationService } from '../services/reconciliation.service.js';
import { ReplicaService } from '../services/replica.service.js';
import { ReservationService } from '../services/reservation.service.js';
import type { ReservationRequester } from '../domain/reservation-rules.js';
import { StockService } from '../services/stock.service.js';
import { StockFeed } from '../feeds/stock-feed.js';
import { StockSubscriptionService } from '../services/stock-subscription.service.js';

export interface InventoryContext extends BaseContext {
  items: ItemService;
  stock: StockService;
  movements: MovementService;
  reservations: ReservationService;
  availability: AvailabilityService;
  reconciliation: ReconciliationService;
  stockSubscriptions: StockSubscriptionService;
  replicas: ReplicaService;
  loaders: Loaders;
}

/** Who asks to change a reservation, from the request's service token; null when services check none (SERVICE_AUTH=off). */
export function requesterOf(ctx: InventoryContext): ReservationRequester | null {
  if (!ctx.caller) return null;
  return { clientId: ctx.caller.clientId, service: ctx.caller.issuer === 'gateway' ? null : ctx.caller.issuer, admin: ctx.caller.scopes.includes('admin') };
}

export function createContext(ds: DataSource, runtime: SubgraphRuntime) {
  const cfg = runtime.cfg;
  const movements = new MovementService(ds);
  const replicas = new ReplicaService(ds);
  // Its own connection, failing a command after one retry: snapshots must never hold a request up.
  const snapshotRedis = createRedis(redisTarget(cfg), { maxRetriesPerRequest: 1 });
  runtime.onClose(() => closeRedis(snapshotRedis));
  const snapshots = new AvailabilitySnapshots(snapshotRedis, cfg.REDIS_KEY_PREFIX, cfg.AVAILABILITY_SNAPSHOT_TTL_S, logger().child({ component: 'availability-snapshots' }));
  const staleAvailability = new Counter({
    name: 'omnistock_availability_stale_entries_total',
    help: 'availability entries while MySQL was unreachable: served from the Redis snapshot (served) or left null for want of one (missing)',
    labelNames: ['outcome'] as const,
    registers: [runtime.metrics],
  });
  const unmeasured = new Counter({
    name: 'omnistock_protection_unmeasured_total',
    help: 'Reads and reservations of a PROTECTIVE channel that withheld nothing because demand could not be read from Redis',
    registers: [runtime.metrics],
  });
  // The snapshots' connection: a read of demand fails fast rather than holding a buyer up.
  const protection = new LiveProtection(
    new DemandMeter(snapshotRedis, cfg.REDIS_KEY_PREFIX, cfg.PROTECT_WINDOW_MS),
    cfg.PROTECT_CONFIDENCE,
    logger().child({ component: 'protection' }),
    () => unmeasured.inc(),
  );
  let readModel: AvailabilityReadModel | null = null;
  if (cfg.AVAILABILITY_READ_MODEL === 'on') {
    const model = new AvailabilityReadModel(ds, {
      // Its own connection: XREAD BLOCK holds it.
      redis: createRedis(redisTarget(cfg)),
      reader: snapshotRedis,
      keyPrefix: cfg.REDIS_KEY_PREFIX,
      maxLagMs: cfg.AVAILABILITY_READ_MODEL_MAX_LAG_MS,
      maxSkus: cfg.AVAILABILITY_READ_MODEL_MAX_SKUS,
      maxFigures: cfg.AVAILABILITY_READ_MODEL_MAX_FIGURES,
      readYourWritesTimeoutMs: cfg.AVAILABILITY_READ_YOUR_WRITES_TIMEOUT_MS,
      lowStockThreshold: cfg.LOW_STOCK_THRESHOLD,
      protection,
      log: logger().child({ component: 'availability-read-model' }),
      metrics: runtime.metrics,
    });
    model.start();
    runtime.onClose(() => model.stop());
    readModel = model;
  }
  const availability = new AvailabilityService(
    ds,
    replicas,
    cfg.LOW_STOCK_THRESHOLD,
    snapshots,
    protection,
    (outcome, n) => {
      if (n > 0) staleAvailability.inc({ outcome }, n);
    },
    readModel,
  );
  // One pub/sub connection per process, shared by every subscription of this replica.
  const feed = new StockFeed({
    subscriber: createRedis(redisTarget(cfg)),
    reader: createRedis(redisTarget(cfg)),
    keyPrefix: cfg.REDIS_KEY_PREFIX,
    retentionMs: cfg.OUTBOX_RETENTION_MS,
    log: logger().child({ component: 'stock-feed' }),
  });
  runtime.onClose(() => feed.close());
  const reservationsRefused = new Counter({
    name: 'omnistock_reservations_refused_total',
    help: 'Reservations refused, by reason (INSUFFICIENT_STOCK, CHANNEL_INACTIVE); orders reserve through inventory, so theirs are included',
    labelNames: ['reason'] as const,
    registers: [runtime.metrics],
  });
  const services = {
    items: new ItemService(ds),
    stock: new StockService(),
    movements,
    reservations: new ReservationService(ds, replicas, (reason) => reservationsRefused.inc({ reason }), protection),
    availability,
    reconciliation: new ReconciliationService(ds, movements),
    stockSubscriptions: new StockSubscriptionService(feed, replicas, availability),
    replicas,
  };
  return (base: BaseContext): InventoryContext => ({ ...base, ...services, loaders: createLoaders(services, base.reads) });
}
