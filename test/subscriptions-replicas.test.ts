import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compose, readSupergraphConfig } from '../contracts/composition.js';
import { startGateway } from '../gateway/gateway.js';
import { SUBGRAPH_NAMES } from '../lib/config.js';
import { startSubgraph, type RunningSubgraph } from '../lib/subgraph.js';
import { SUBGRAPHS } from '../subgraphs/index.js';
import { gql, uniq } from './client.js';
import { waitFor } from './events.js';
import { startStack, type Stack } from './stack.js';
import { collect, wsClient, wsUrl } from './subscriptions-helpers.js';

/** Two gateways, each routed to its own inventory replica, over one set of databases and one Redis prefix. */
let stack: Stack;
let inventory2: RunningSubgraph;
/** Inventory replica 1 after its restart; the stack does not know to close it. */
let restarted: RunningSubgraph | undefined;
let gateway2: Awaited<ReturnType<typeof startGateway>>;
const ids = { loc: '', sku: '' };

const SUBSCRIPTION = `subscription($f: StockChangedFilter!) { stockChanged(filter: $f) { sequence after { onHand } location { name } } }`;

async function ok(url: string, query: string, variables: Record<string, unknown>) {
  const res = await gql(url, query, variables);
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data!;
}
const receive = (url: string, quantity: number) =>
  ok(url, `mutation($input: ReceiveStockInput!) { receiveStock(input: $input) { stockLevel { onHand } } }`, {
    input: { idempotencyKey: randomUUID(), sku: ids.sku, locationId: ids.loc, quantity },
  });

beforeAll(async () => {
  stack = await startStack({ jobs: true });
  inventory2 = await startSubgraph(SUBGRAPHS.inventory, { port: 0, cfg: stack.cfg });
  const composed = compose(await readSupergraphConfig('supergraph.yaml'));
  if (!composed.ok) throw new Error(JSON.stringify(composed.errors));
  gateway2 = await startGateway({
    supergraphSdl: composed.supergraphSdl,
    urlOverrides: { ...Object.fromEntries(SUBGRAPH_NAMES.map((n) => [n, stack.subgraphs[n].url])), inventory: inventory2.url },
    subscriptionUrls: { inventory: wsUrl(inventory2.url) },
    host: '127.0.0.1',
    port: 0,
  });
  ids.loc = (
    await ok(stack.gatewayUrl, `mutation($input: CreateLocationInput!) { createLocation(input: $input) { id } }`, {
      input: {
        code: uniq('REP-'),
        name: 'Replica Store',
        type: 'STORE',
        address: { line1: '1 Test Street', city: 'Hull', postalCode: 'T1 1TT', countryCode: 'GB' },
        timezone: 'Europe/London',
        latitude: 53.74,
        longitude: -0.33,
        capabilities: { ships: false, pickup: true },
      },
    })
  ).createLocation.id;
  // Inventory stocks only locations it has heard of through the replication stream.
  await waitFor('the location in the replica', async () => {
    const [row] = await stack.subgraphs.inventory.dataSource.query('SELECT COUNT(*) AS n FROM replica_locations WHERE location_id = ?', [ids.loc]);
    return Number(row.n) === 1;
  });
  ids.sku = uniq('REP-SKU-');
  await ok(stack.gatewayUrl, `mutation($input: CreateInventoryItemInput!) { createInventoryItem(input: $input) { sku } }`, { input: { sku: ids.sku, name: 'Replica hat' } });
});

afterAll(async () => {
  await gateway2?.close();
  await inventory2?.close();
  await stack?.close();
  await restarted?.close();
});

describe('subscriptions across gateways and inventory replicas', () => {
  it('delivers a change written through one gateway and replica to subscribers of the other, and survives an inventory restart without a lost event', async () => {
    const client1 = wsClient(wsUrl(stack.gatewayUrl));
    const client2 = wsClient(wsUrl(gateway2.url));
    const on1 = collect(client1, SUBSCRIPTION, { f: { skus: [ids.sku] } });
    const on2 = collect(client2, SUBSCRIPTION, { f: { skus: [ids.sku] } });
    try {
      // Probes until both are live upstream.
      let total = 0;
      await waitFor('both subscribers live', async () => {
        await receive(stack.gatewayUrl, 1);
        total++;
        await new Promise((r) => setTimeout(r, 50));
        return on1.results.length > 0 && on2.results.length > 0;
      });
      await waitFor('the probes everywhere', async () => on1.results.length === total && on2.results.length === total);
      // Written through gateway 2 and replica 2; seen by gateway 1's subscriber (replica 1) too.
      await receive(gateway2.url, 10);
      total += 10;
      await waitFor('the change on both gateways', async () => on1.results.at(-1)?.data?.stockChanged.after.onHand === total && on2.results.at(-1)?.data?.stockChanged.after.onHand === total);
      expect(on1.results.at(-1)!.data!.stockChanged.location.name).toBe('Replica Store');

      // Inventory replica 1 (gateway 1's upstream) goes away; changes keep coming through replica 2.
      const port = stack.subgraphs.inventory.port;
      await stack.subgraphs.inventory.close();
      for (const q of [2, 3, 4]) {
        await receive(gateway2.url, q);
        total += q;
      }
      restarted = await startSubgraph(SUBGRAPHS.inventory, { port, cfg: stack.cfg });
      await receive(gateway2.url, 5);
      total += 5;
      await waitFor('gateway 1 caught up', async () => on1.results.at(-1)?.data?.stockChanged.after.onHand === total, 30_000);
      await waitFor('gateway 2 caught up', async () => on2.results.at(-1)?.data?.stockChanged.after.onHand === total);
      for (const r of [on1, on2]) {
        expect(r.errors).toEqual([]);
        const onHands = r.results.map((x) => x.data!.stockChanged.after.onHand);
        // Every level the stock passed through, once each, in order.
        expect(onHands.slice(-5)).toEqual([total - 14, total - 12, total - 9, total - 5, total]);
        expect(new Set(onHands).size).toBe(onHands.length);
        expect([...onHands].sort((a, b) => a - b)).toEqual(onHands);
      }
    } finally {
      on1.stop();
      on2.stop();
      await Promise.all([client1.dispose(), client2.dispose()]);
      if (restarted) {
        // The stack drops the databases through its inventory's connection: hand it the live one.
        stack.subgraphs.inventory = restarted;
      }
    }
  });
});
