import { serviceAuth } from '../../../lib/service-token.js';
import type { DataSource } from 'typeorm';
import { config, ordersInventoryUrl, type Config } from '../../../lib/config.js';
import type { BaseContext } from '../../../lib/subgraph.js';
import { InventoryClient } from '../../../contracts/inventory-client.js';
import { createLoaders, type Loaders } from './loaders.js';
import { OrderRecovery } from '../services/order-recovery.service.js';
import { OrderService, type Caller, type OrderSettings } from '../services/order.service.js';
import { OrderWorkflow } from '../services/order-workflow.js';

export interface OrdersContext extends BaseContext {
  orders: OrderService;
  loaders: Loaders;
}

/** The order service on a database, talking to inventory as the configuration says (the subgraph and the jobs process both build it so). */
export function createOrderService(ds: DataSource, cfg: Config): OrderService {
  return new OrderService(ds, inventoryClientOf(cfg), orderSettingsOf(cfg));
}

/** Crash recovery on a database, for the order sweeper, with the same inventory and settings as the service. */
export function createOrderRecovery(ds: DataSource, cfg: Config): OrderRecovery {
  const settings = orderSettingsOf(cfg);
  return new OrderRecovery(ds, new OrderWorkflow(ds, inventoryClientOf(cfg), settings), settings);
}

/**
 * What orders may do in inventory: reserve, hold, commit and release (orders:write), read
 * reservations, record returns, and reserve for sales already made (orders:intake: only for orders
 * placed through placeSoldOrder, which itself needs that scope).
 */
const ORDERS_SCOPES = ['orders:write', 'orders:intake', 'inventory:read', 'inventory:write'];

const inventoryClientOf = (cfg: Config) => {
  const tokens = serviceAuth(cfg);
  return new InventoryClient({
    url: ordersInventoryUrl(cfg),
    timeoutMs: cfg.ORDERS_INVENTORY_TIMEOUT_MS,
    identity: tokens && { signer: tokens.signer('orders'), scopes: ORDERS_SCOPES },
  });
};
const orderSettingsOf = (cfg: Config): OrderSettings => ({
  reservationTtlSeconds: cfg.ORDER_RESERVATION_TTL_SECONDS,
  pendingGraceMs: cfg.ORDER_PENDING_GRACE_MS,
  stuckAfterMs: cfg.ORDER_STUCK_AFTER_MS,
});

/** The request's caller, as the service records it and forwards it to inventory. */
export function callerOf(ctx: OrdersContext): Caller {
  return { requestId: ctx.requestId, actor: ctx.clientId };
}

/** `runtime.cfg` is the configuration the subgraph was started with (tests start it with their own). */
export function createContext(ds: DataSource, runtime?: { cfg: Config }) {
  const orders = createOrderService(ds, runtime?.cfg ?? config());
  return (base: BaseContext): OrdersContext => ({ ...base, orders, loaders: createLoaders(orders, base.reads) });
}
