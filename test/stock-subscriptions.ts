import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { gql, uniq } from './client.js';
import { waitFor } from './events.js';
import type { Received } from './subscriptions-helpers.js';

/** The subscription the stockChanged tests open through the gateway, with fields of every subgraph. */
export const STOCK_CHANGED = `subscription($filter: StockChangedFilter!, $since: String) {
  stockChanged(filter: $filter, since: $since) {
    sequence sku change available availableToSell stockStatus
    item { name }
    before { onHand } after { onHand available }
    location { id name address { city } }
    channel { id name }
  }
}`;

/** A store's CreateLocationInput. */
export const storeInput = (name: string) => ({
  code: uniq('SUB-'),
  name,
  type: 'STORE',
  address: { line1: '1 Test Street', city: 'York', postalCode: 'T1 1TT', countryCode: 'GB' },
  timezone: 'Europe/London',
  latitude: 53.96,
  longitude: -1.08,
  capabilities: { ships: false, pickup: true },
});

/** Operations through the gateway at `gatewayUrl()` that the stockChanged tests make events with. */
export function stockOps(gatewayUrl: () => string) {
  async function ok(query: string, variables: Record<string, unknown> = {}) {
    const res = await gql(gatewayUrl(), query, variables);
    expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
    return res.data!;
  }
  const receive = (sku: string, locationId: string, quantity: number) =>
    ok(`mutation($input: ReceiveStockInput!) { receiveStock(input: $input) { stockLevel { onHand } } }`, {
      input: { idempotencyKey: randomUUID(), sku, locationId, quantity },
    });
  return {
    ok,
    receive,
    async createStore(name: string): Promise<string> {
      return (await ok(`mutation($input: CreateLocationInput!) { createLocation(input: $input) { id } }`, { input: storeInput(name) })).createLocation.id;
    },
    async newSku(name: string): Promise<string> {
      const sku = uniq('SUB-SKU-');
      await ok(`mutation($input: CreateInventoryItemInput!) { createInventoryItem(input: $input) { sku } }`, { input: { sku, name } });
      return sku;
    },
    /** Waits until the subscription is live upstream: a probe movement on its SKU comes through. */
    async untilLive(r: Received, sku: string, locationId: string): Promise<void> {
      const before = r.results.length;
      await receive(sku, locationId, 1);
      await waitFor('the probe event', async () => r.results.length > before || r.errors.length > 0);
    },
  };
}
