import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { expect } from 'vitest';
import { gql, uniq, type GraphQLResponse } from './client.js';
import { waitForReplicas } from './events.js';
import { startStack, type Stack } from './stack.js';

export interface OrdersStack extends Stack {
  inventory: DataSource;
  orders: DataSource;
}

/** startStack({ jobs: true }) with the two databases the order tests read; `env` adds variables (pool size, sweeper timing, time to live). */
export async function startOrdersStack(env: Record<string, string> = {}): Promise<OrdersStack> {
  const stack = await startStack({ jobs: true, env });
  return { ...stack, inventory: stack.subgraphs.inventory.dataSource, orders: stack.subgraphs.orders.dataSource };
}

export const ORDER_FIELDS = `id status customerReference reservationId channel { id }
  fulfilment { method destinationRegion pickupLocation { id } }
  lines { lineNumber sku quantity fulfilledQuantity cancelledQuantity returnedQuantity }
  rejection { reason message lines { sku locationId requested available } }
  history { status actor reason at }`;

export const PLACE = `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { ${ORDER_FIELDS} } }`;
export const FULFIL = `mutation($input: FulfillOrderInput!) { fulfillOrder(input: $input) { ${ORDER_FIELDS} } }`;
export const CANCEL = `mutation($input: CancelOrderInput!) { cancelOrder(input: $input) { ${ORDER_FIELDS} } }`;
export const RETURN = `mutation($input: ReturnOrderLinesInput!) { returnOrderLines(input: $input) { ${ORDER_FIELDS} } }`;
export const ORDER = `query($id: ID!) { order(id: $id) { ${ORDER_FIELDS} } }`;

export interface Quantities {
  onHand: number;
  reserved: number;
  available: number;
  damaged: number;
}

/** Sets up channels, locations, items and stock through the gateway, and reads what the tests check. */
export class OrdersWorld {
  constructor(readonly stack: OrdersStack) {}

  gql(query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<GraphQLResponse> {
    return gql(this.stack.gatewayUrl, query, variables, headers);
  }

  async ok(query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<Record<string, any>> {
    const res = await this.gql(query, variables, headers);
    expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
    return res.data!;
  }

  async location(opts: { pickup?: boolean; name?: string } = {}): Promise<string> {
    const data = await this.ok(`mutation($input: CreateLocationInput!) { createLocation(input: $input) { id } }`, {
      input: {
        code: uniq('OL-'),
        name: opts.name ?? 'Orders test store',
        type: 'STORE',
        address: { line1: '1 Test Street', city: 'Leeds', postalCode: 'LS1 1AA', countryCode: 'GB' },
        timezone: 'Europe/London',
        latitude: 53.8,
        longitude: -1.55,
        capabilities: { ships: true, pickup: opts.pickup ?? true },
      },
    });
    return data.createLocation.id;
  }

  async channel(sources: string[], rule: { allowSplitShipments?: boolean } = {}): Promise<string> {
    const data = await this.ok(`mutation($input: CreateChannelInput!) { createChannel(input: $input) { id } }`, {
      input: {
        code: uniq('OCH-'),
        name: 'Orders test web',
        type: 'WEB_STOREFRONT',
        allocationRule: { sources: sources.map((locationId, i) => ({ locationId, priority: i + 1 })), ...rule },
      },
    });
    return data.createChannel.id;
  }

  /** Inventory learns of locations and channels from their events (relay and replication consumer). */
  async replicated(locations: string[], channels: string[]): Promise<void> {
    await waitForReplicas(this.stack.inventory, locations, channels);
  }

  async item(name = 'Orders test item'): Promise<string> {
    const sku = uniq('ORD-');
    await this.ok(`mutation($input: CreateInventoryItemInput!) { createInventoryItem(input: $input) { sku } }`, { input: { sku, name } });
    return sku;
  }

  async receive(sku: string, locationId: string, quantity: number): Promise<void> {
    await this.ok(`mutation($input: ReceiveStockInput!) { receiveStock(input: $input) { replayed } }`, {
      input: { idempotencyKey: randomUUID(), sku, locationId, quantity },
    });
  }

  /** A level's quantities as clients see them, through the gateway. */
  async level(sku: string, locationId: string): Promise<Quantities> {
    const data = await this.ok(`query($s: String!, $l: ID!) { stockLevel(sku: $s, locationId: $l) { onHand reserved available damaged } }`, {
      s: sku,
      l: locationId,
    });
    return data.stockLevel ?? { onHand: 0, reserved: 0, available: 0, damaged: 0 };
  }

  async count(ds: DataSource, sql: string, params: unknown[]): Promise<number> {
    const [row] = await ds.query(sql, params);
    return Number(row.n);
  }

  /** Reservations inventory holds for a SKU (open lines), and the units in them. */
  async heldFor(sku: string): Promise<number> {
    const [row] = await this.stack.inventory.query(
      `SELECT COALESCE(SUM(l.quantity - l.committed_quantity - l.released_quantity), 0) AS n
         FROM reservation_lines l JOIN reservations r ON r.id = l.reservation_id
        WHERE l.sku = ? AND l.open = 1 AND (r.expires_at IS NULL OR r.expires_at > ?)`,
      [sku, new Date()],
    );
    return Number(row.n);
  }
}
