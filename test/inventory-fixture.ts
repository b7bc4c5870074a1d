import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { expect } from 'vitest';
import type { ChannelSnapshot } from '../contracts/events.js';
import type { Config } from '../lib/config.js';
import { startSubgraph, type RunningSubgraph } from '../lib/subgraph.js';
import { inventorySubgraph } from '../subgraphs/inventory/index.js';
import { ReplicaService } from '../subgraphs/inventory/services/replica.service.js';
import { gql, uniq } from './client.js';

/**
 * Sets up what the stock engine needs in the inventory subgraph alone: items, levels, and the
 * replicas of locations and channel rules that the channels and locations subgraphs' events would
 * deliver (written through the same ReplicaService the replication consumer uses).
 */
export class InventoryFixture {
  private readonly replica: ReplicaService;

  constructor(
    readonly url: string,
    readonly ds: DataSource,
    private readonly subgraph?: RunningSubgraph,
  ) {
    this.replica = new ReplicaService(ds);
  }

  /** The inventory subgraph alone on a free port (the test databases), with a fixture over it. */
  static async start(cfg?: Config): Promise<InventoryFixture> {
    const sg = await startSubgraph(inventorySubgraph, { port: 0, ...(cfg ? { cfg } : {}) });
    return new InventoryFixture(sg.url, sg.dataSource, sg);
  }

  async close(): Promise<void> {
    await this.subgraph?.close();
  }

  async location(opts: { status?: 'ACTIVE' | 'OFFLINE' | 'CLOSED'; pickup?: boolean; id?: string; version?: number; code?: string } = {}): Promise<string> {
    const id = opts.id ?? randomUUID();
    await this.replica.apply('location', { id, ...(opts.code ? { code: opts.code } : {}), status: opts.status ?? 'ACTIVE', ships: true, pickup: opts.pickup ?? true, version: opts.version ?? 1 });
    return id;
  }

  async channel(sources: string[], rule: Partial<Omit<ChannelSnapshot, 'id' | 'sources'>> = {}): Promise<string> {
    const id = randomUUID();
    await this.replica.apply('channel', {
      id,
      status: 'ACTIVE',
      buffer: null,
      cap: null,
      allowSplitShipments: true,
      version: 1,
      ...rule,
      sources: sources.map((locationId, i) => ({ locationId, priority: i + 1 })),
    });
    return id;
  }

  /** Sets aside `units` of a SKU for a channel, as the channels subgraph's `set-aside` event would (version: the next one by default). */
  async setAside(channelId: string, sku: string, units: number, version = ++this.setAsideVersion): Promise<void> {
    await this.replica.apply('set-aside', { channelId, sku, units, version });
  }

  private setAsideVersion = 0;

  async item(): Promise<string> {
    const sku = uniq('ST-');
    const res = await gql(this.url, `mutation($i: CreateInventoryItemInput!) { createInventoryItem(input: $i) { sku } }`, { i: { sku, name: 'Stock test item' } });
    expect(res.errors).toBeUndefined();
    return sku;
  }

  /** Records a movement through the API and returns the payload, failing the test on errors. */
  async move(input: Record<string, unknown>) {
    const res = await gql(this.url, MOVE, { input: { idempotencyKey: randomUUID(), ...input } });
    expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
    return res.data!.recordMovement;
  }

  async receive(sku: string, locationId: string, quantity: number) {
    return this.move({ type: 'RECEIPT', sku, locationId, quantity });
  }

  async safetyStock(sku: string, locationId: string, safetyStock: number) {
    const res = await gql(this.url, `mutation($i: SetSafetyStockInput!) { setSafetyStock(input: $i) { safetyStock } }`, {
      i: { sku, locationId, safetyStock },
    });
    expect(res.errors).toBeUndefined();
  }

  /** The raw row, counters as stored. */
  async level(sku: string, locationId: string): Promise<{ on_hand: number; reserved: number; safety_stock: number; incoming: number; damaged: number; version: number }> {
    const [row] = await this.ds.query(
      'SELECT on_hand, reserved, safety_stock, incoming, damaged, version FROM stock_levels WHERE sku = ? AND location_id = ?',
      [sku, locationId],
    );
    return row;
  }

  async count(sql: string, params: unknown[]): Promise<number> {
    const [row] = await this.ds.query(sql, params);
    return Number(row.n);
  }
}

export const MOVE = `mutation($input: StockMovementInput!) { recordMovement(input: $input) {
  replayed
  movement { id sequence type reason quantity onHandBefore onHandAfter damagedChange incomingChange versionAfter transfer { id status quantity receivedQuantity } }
  stockLevel { onHand reserved safetyStock available incoming damaged version }
} }`;

export const RESERVE = `mutation($input: ReserveStockInput!) { reserveStock(input: $input) {
  __typename
  ... on Reservation { id status replayed expiresAt lines { sku location { id } quantity openQuantity committedQuantity } }
  ... on InsufficientStock { lines { sku locationId requested available } }
} }`;

export const COMMIT = `mutation($input: CommitReservationInput!) { commitReservation(input: $input) {
  id status replayed lines { sku location { id } quantity committedQuantity releasedQuantity openQuantity }
} }`;

export const RELEASE = `mutation($id: ID!) { releaseReservation(id: $id) { id status lines { releasedQuantity openQuantity } } }`;

export const AVAILABILITY = `query($c: ID!, $skus: [String!]!) { availability(channelId: $c, skus: $skus) {
  sku availableToSell status locations { location { id } available pickup }
} }`;
