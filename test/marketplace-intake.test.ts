import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MarketplaceOrderEntity } from '../subgraphs/marketplaces/data/intake.entity.js';
import type { MarketplaceSimulator } from '../tools/marketplace-simulator/index.js';
import { waitFor } from './events.js';
import { marketplaceEnv, MarketplaceWorld, secretsDir, startSimulator, type MarketplaceChannel } from './marketplace-fixture.js';
import { startOrdersStack, type OrdersStack } from './orders-fixture.js';

/**
 * #17 order intake, end to end: a buyer orders at a marketplace (the simulator), the jobs process
 * polls the marketplace's order API and places the order through the orders subgraph, so stock is
 * reserved; seen again it changes nothing; a sale we had no stock for is kept as OVERSOLD with its
 * cause; the buyer's cancellation releases the stock.
 */
let stack: OrdersStack;
let sim: MarketplaceSimulator;
let w: MarketplaceWorld;
let secrets: Awaited<ReturnType<typeof secretsDir>>;
let ebay: MarketplaceChannel;
let store: string;

beforeAll(async () => {
  secrets = await secretsDir();
  sim = await startSimulator();
  stack = await startOrdersStack({ ...marketplaceEnv(secrets.dir), MARKETPLACE_COALESCE_MS: '100', MARKETPLACE_INTAKE_POLL_MS: '300' });
  w = new MarketplaceWorld(stack, sim, secrets.dir);
  store = await w.location();
  ebay = await w.marketplaceChannel('EBAY', [store]);
  await w.replicated([store], [ebay.channelId]);
});

afterAll(async () => {
  await stack?.close();
  await sim?.close();
  await secrets?.remove();
});

const ORDERS = `query($c: ID!) { orders(channelId: $c, first: 100) { edges { node { id status customerReference lines { sku quantity } } } } }`;
const ordersOf = async (channelId: string) => (await w.ok(ORDERS, { c: channelId })).orders.edges.map((e: { node: unknown }) => e.node) as { id: string; status: string; customerReference: string; lines: { sku: string; quantity: number }[] }[];
const intakeRow = (orderId: string) => stack.subgraphs.marketplaces.dataSource.manager.findOne(MarketplaceOrderEntity, { where: { channelId: ebay.channelId, marketplaceOrderId: orderId } });

describe('marketplace order intake', () => {
  it('places a marketplace order once, reserving its stock, and releases it when the buyer cancels', async () => {
    const sku = await w.item();
    await w.receive(sku, store, 10);
    await w.converged(ebay, [sku]);
    const { orderId } = sim.placeOrder('EBAY', ebay.account, [{ sku, quantity: 3 }]);

    const placed = await waitFor('the order placed', async () => (await ordersOf(ebay.channelId)).find((o) => o.customerReference === orderId));
    expect(placed).toMatchObject({ status: 'CONFIRMED', lines: [{ sku, quantity: 3 }] });
    expect((await w.ats(ebay.channelId, [sku])).get(sku)).toBe(7);
    expect(await intakeRow(orderId)).toMatchObject({ status: 'PLACED', orderId: placed.id });

    // Later polls see it again (cursors overlap on purpose): still one order.
    await new Promise((r) => setTimeout(r, 1000));
    expect((await ordersOf(ebay.channelId)).filter((o) => o.customerReference === orderId)).toHaveLength(1);

    sim.cancelOrder('EBAY', ebay.account, orderId);
    await waitFor('the order cancelled', async () => (await ordersOf(ebay.channelId)).find((o) => o.customerReference === orderId && o.status === 'CANCELLED'));
    expect((await w.ats(ebay.channelId, [sku])).get(sku)).toBe(10);
    expect(await intakeRow(orderId)).toMatchObject({ status: 'CANCELLED' });
  });

  it('keeps a sale it has no stock for as OVERSOLD, with the cause measured from what was pushed', async () => {
    const sku = await w.item();
    await w.receive(sku, store, 2);
    await w.converged(ebay, [sku]);
    // The marketplace drifted: it shows more than we pushed.
    sim.setQuantity('EBAY', ebay.account, sku, 9);
    const { orderId } = sim.placeOrder('EBAY', ebay.account, [{ sku, quantity: 5 }]);
    const row = await waitFor('the oversell recorded', async () => {
      const r = await intakeRow(orderId);
      return r?.status === 'OVERSOLD' ? r : null;
    });
    expect(row).toMatchObject({ oversoldUnits: 3, cause: 'DRIFT' });
    expect(JSON.parse(row.evidence!)).toEqual([expect.objectContaining({ sku, requested: 5, available: 2, cause: 'DRIFT', lastPushedQuantity: 2 })]);
    // Nothing was reserved: the other channels still have the two units.
    expect((await w.ats(ebay.channelId, [sku])).get(sku)).toBe(2);
  });

  it('records a line no listing maps and an unknown SKU as UNMAPPED, placing nothing', async () => {
    sim.setQuantity('EBAY', ebay.account, 'NOT-OURS-1', 4);
    const { orderId } = sim.placeOrder('EBAY', ebay.account, [{ sku: 'NOT-OURS-1', quantity: 1 }]);
    const row = await waitFor('the order recorded', async () => {
      const r = await intakeRow(orderId);
      return r && r.status !== 'RECEIVED' ? r : null;
    });
    expect(row.status).toBe('UNMAPPED');
    expect((await ordersOf(ebay.channelId)).find((o) => o.customerReference === orderId)).toBeUndefined();
  });
});
