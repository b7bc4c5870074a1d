import { randomUUID } from 'node:crypto';
import type { SupergraphSdlHook } from '@apollo/gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compose, readSupergraphConfig } from '../contracts/composition.js';
import { startGateway } from '../gateway/gateway.js';
import { SUBGRAPH_NAMES } from '../lib/config.js';
import { gql, uniq } from './client.js';
import { waitFor } from './events.js';
import { startStack, type Stack } from './stack.js';
import { collect, wsClient, wsUrl} from './subscriptions-helpers.js';

let stack: Stack;
let gateway: Awaited<ReturnType<typeof startGateway>>;
let update: (sdl: string) => void = () => {};
const ids = { loc: '', sku: '' };

async function ok(query: string, variables: Record<string, unknown> = {}) {
  const res = await gql(stack.gatewayUrl, query, variables);
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data!;
}
const receive = () =>
  ok(`mutation($input: ReceiveStockInput!) { receiveStock(input: $input) { stockLevel { onHand } } }`, {
    input: { idempotencyKey: randomUUID(), sku: ids.sku, locationId: ids.loc, quantity: 1 },
  });

beforeAll(async () => {
  stack = await startStack({ jobs: true });
  const composed = compose(await readSupergraphConfig('supergraph.yaml'));
  if (!composed.ok) throw new Error(JSON.stringify(composed.errors));
  // A gateway whose supergraph the test replaces, as the registry's hot reload will.
  const hook: SupergraphSdlHook = async ({ update: u }) => {
    update = u;
    return { supergraphSdl: composed.supergraphSdl };
  };
  gateway = await startGateway({
    supergraphSdl: hook,
    urlOverrides: Object.fromEntries(SUBGRAPH_NAMES.map((n) => [n, stack.subgraphs[n].url])),
    subscriptionUrls: { inventory: wsUrl(stack.subgraphs.inventory.url) },
    host: '127.0.0.1',
    port: 0,
  });
  ids.loc = (
    await ok(`mutation($input: CreateLocationInput!) { createLocation(input: $input) { id } }`, {
      input: {
        code: uniq('RLD-'),
        name: 'Reload Store',
        type: 'STORE',
        address: { line1: '1 Test Street', city: 'Derby', postalCode: 'T1 1TT', countryCode: 'GB' },
        timezone: 'Europe/London',
        capabilities: { ships: false, pickup: true },
      },
    })
  ).createLocation.id;
  await waitFor('the location in the replica', async () => {
    const [row] = await stack.subgraphs.inventory.dataSource.query('SELECT COUNT(*) AS n FROM replica_locations WHERE location_id = ?', [ids.loc]);
    return Number(row.n) === 1;
  });
  ids.sku = uniq('RLD-SKU-');
  await ok(`mutation($input: CreateInventoryItemInput!) { createInventoryItem(input: $input) { sku } }`, { input: { sku: ids.sku, name: 'Reload mug' } });
});

afterAll(async () => {
  await gateway?.close();
  await stack?.close();
});

describe('subscriptions when the supergraph changes', () => {
  it('re-plans subscriptions the new supergraph still supports and ends the others with a clear reason', async () => {
    const client = wsClient(wsUrl(gateway.url));
    const filter = { skus: [ids.sku] };
    const kept = collect(client, `subscription($f: StockChangedFilter!) { stockChanged(filter: $f) { sequence after { onHand } location { name } } }`, { f: filter });
    const doomed = collect(client, `subscription($f: StockChangedFilter!) { stockChanged(filter: $f) { sequence availableToSell } }`, { f: filter });
    try {
      await waitFor('both live', async () => {
        await receive();
        await new Promise((r) => setTimeout(r, 50));
        return kept.results.length > 0 && doomed.results.length > 0;
      });

      // The new supergraph no longer has StockChange.availableToSell.
      const subgraphs = await readSupergraphConfig('supergraph.yaml');
      const inventory = subgraphs.find((s) => s.name === 'inventory')!;
      const sdl = inventory.sdl.replace(/\n\s*"The channel's available-to-sell of this SKU after the change, when the filter named a channel\."\n\s*availableToSell: Int\n/, '\n');
      expect(sdl).not.toBe(inventory.sdl);
      const next = compose(subgraphs.map((s) => (s === inventory ? { ...s, sdl } : s)));
      if (!next.ok) throw new Error(JSON.stringify(next.errors));
      update(next.supergraphSdl);

      await waitFor('the unsupported subscription ended', async () => doomed.completed);
      const last = doomed.results.at(-1)!;
      expect(last.errors?.[0]?.extensions?.code).toBe('SUBSCRIPTION_SCHEMA_CHANGED');
      expect(last.errors?.[0]?.message).toMatch(/availableToSell/);

      const before = kept.results.length;
      const { receiveStock } = await receive();
      await waitFor('the kept subscription still delivering', async () => kept.results.length > before);
      expect(kept.results.at(-1)!.data!.stockChanged).toMatchObject({ after: { onHand: receiveStock.stockLevel.onHand }, location: { name: 'Reload Store' } });
      expect(kept.completed).toBe(false);
    } finally {
      kept.stop();
      doomed.stop();
      await client.dispose();
    }
  });
});
