import { eventKeys } from '../lib/event-stream.js';
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MarketplaceOrderEntity } from '../subgraphs/marketplaces/data/intake.entity.js';
import type { MarketplaceSimulator } from '../tools/marketplace-simulator/index.js';
import { readStream, waitFor } from './events.js';
import { oversellEventSchema } from '../contracts/events.js';
import { createRedis, redisTarget } from '../lib/redis.js';
import { startMarketplaceWorld, type MarketplaceChannel, type MarketplaceWorld } from './marketplace-fixture.js';
import type { OrdersStack } from './orders-fixture.js';

/**
 * #17 order intake, end to end: a buyer orders at a marketplace (the simulator), the jobs process
 * polls the marketplace's order API and places the order through the orders subgraph, so stock is
 * reserved; seen again it changes nothing; a sale we had no stock for is kept as OVERSOLD with its
 * cause; the buyer's cancellation releases the stock.
 */
let stack: OrdersStack;
let sim: MarketplaceSimulator;
let w: MarketplaceWorld;
let world: Awaited<ReturnType<typeof startMarketplaceWorld>>;
let ebay: MarketplaceChannel;
let store: string;

beforeAll(async () => {
  world = await startMarketplaceWorld({ MARKETPLACE_COALESCE_MS: '100', MARKETPLACE_INTAKE_POLL_MS: '300' });
  ({ stack, sim, w } = world);
  store = await w.location();
  ebay = await w.marketplaceChannel('EBAY', [store]);
  await w.replicated([store], [ebay.channelId]);
});

afterAll(() => world?.close());

const INTAKE = `query($c: ID!) { channel(id: $c) { marketplaceSync {
  orders(first: 100) { marketplaceOrderId status orderId lines { marketplaceSku sku quantity } oversoldUnits cause evidence { sku requested available cause lastPushedQuantity intakeDelayMs } message }
  oversold { cause orders units }
} } }`;
const ORDERS = `query($c: ID!) { orders(channelId: $c, first: 100) { edges { node { id status customerReference lines { sku quantity } } } } }`;
const ordersOf = async (channelId: string) => (await w.ok(ORDERS, { c: channelId })).orders.edges.map((e: { node: unknown }) => e.node) as { id: string; status: string; customerReference: string; lines: { sku: string; quantity: number }[] }[];
const intakeRow = (orderId: string) => stack.subgraphs.marketplaces.dataSource.manager.findOne(MarketplaceOrderEntity, { where: { channelId: ebay.channelId, marketplaceOrderId: orderId } });

describe('marketplace order intake', () => {
  it('places a marketplace order once, reserving its stock, and releases it when the buyer cancels', async () => {
    const sku = await w.item();
    await w.receive(sku, store, 10);
    await w.converged(ebay, [sku]);
    const { orderId } = sim.placeOrder('EBAY', ebay.account, [{ sku, quantity: 3 }]);

    // Orders records it PENDING, then CONFIRMED once inventory reserved it.
    const placed = await waitFor('the order placed', async () => (await ordersOf(ebay.channelId)).find((o) => o.customerReference === orderId && o.status === 'CONFIRMED'));
    await waitFor('intake marking it placed', async () => (await intakeRow(orderId))?.status === 'PLACED');
    expect(placed).toMatchObject({ status: 'CONFIRMED', lines: [{ sku, quantity: 3 }] });
    expect((await w.ats(ebay.channelId, [sku])).get(sku)).toBe(7);
    expect(await intakeRow(orderId)).toMatchObject({ status: 'PLACED', orderId: placed.id });

    // Later polls see it again (cursors overlap on purpose): still one order.
    await new Promise((r) => setTimeout(r, 1000));
    expect((await ordersOf(ebay.channelId)).filter((o) => o.customerReference === orderId)).toHaveLength(1);

    sim.cancelOrder('EBAY', ebay.account, orderId);
    await waitFor('the order cancelled', async () => (await ordersOf(ebay.channelId)).find((o) => o.customerReference === orderId && o.status === 'CANCELLED'));
    // Orders records the cancellation, then inventory releases the units.
    await waitFor('the units released', async () => (await w.ats(ebay.channelId, [sku])).get(sku) === 10);
    await waitFor('intake marking it cancelled', async () => (await intakeRow(orderId))?.status === 'CANCELLED');
  });

  it('tells the marketplace our available-to-sell again after it sold, though a cap kept ours unchanged (it had counted the sale down on its own)', async () => {
    const { channel: capped, sku } = await w.cappedEbaySku(store, 5, 20);
    const { orderId } = sim.placeOrder('EBAY', capped.account, [{ sku, quantity: 2 }]);
    // The marketplace shows 3 after its sale; ours is still the cap (18 left), and it is told so.
    expect(sim.quantity('EBAY', capped.account, sku)).toBe(3);
    await waitFor('the order placed', async () => (await ordersOf(capped.channelId)).some((o) => o.customerReference === orderId && o.status === 'CONFIRMED'), 60_000);
    expect((await w.ats(capped.channelId, [sku])).get(sku)).toBe(5);
    await waitFor('eBay showing the cap again', async () => sim.quantity('EBAY', capped.account, sku) === 5, 60_000);
  }, 240_000); // a new channel's first sync, then intake and a push: on a loaded machine each can take tens of seconds

  it("releases a Walmart order's stock when the buyer cancels it there (polled by last modification)", async () => {
    const walmart = await w.marketplaceChannel('WALMART', [store]);
    await w.replicated([store], [walmart.channelId]);
    const sku = await w.item();
    await w.receive(sku, store, 6);
    await w.converged(walmart, [sku]);
    const { orderId } = sim.placeOrder('WALMART', walmart.account, [{ sku, quantity: 4 }]);
    await waitFor('the order placed', async () => (await ordersOf(walmart.channelId)).find((o) => o.customerReference === orderId && o.status === 'CONFIRMED'));
    expect((await w.ats(walmart.channelId, [sku])).get(sku)).toBe(2);
    // A later order moves the poll's cursor past the first one's creation.
    await new Promise((r) => setTimeout(r, 20));
    const later = sim.placeOrder('WALMART', walmart.account, [{ sku, quantity: 1 }]);
    await waitFor('the later order placed', async () => (await ordersOf(walmart.channelId)).find((o) => o.customerReference === later.orderId && o.status === 'CONFIRMED'));
    sim.cancelOrder('WALMART', walmart.account, orderId);
    await waitFor('the units released', async () => (await w.ats(walmart.channelId, [sku])).get(sku) === 5);
  });

  it('keeps a sale it has no stock for as OVERSOLD, with the cause measured from what was pushed', async () => {
    const sku = await w.item();
    await w.receive(sku, store, 2);
    // The push is on record (the marketplace answered it), so the order comes after it.
    await w.pushRecorded(ebay, sku);
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
    // Through the gateway: the order with its evidence, and the channel's oversold units by cause.
    const sync = (await w.ok(INTAKE, { c: ebay.channelId })).channel.marketplaceSync;
    expect(sync.orders.find((o: { marketplaceOrderId: string }) => o.marketplaceOrderId === orderId)).toMatchObject({
      status: 'OVERSOLD',
      oversoldUnits: 3,
      cause: 'DRIFT',
      lines: [{ marketplaceSku: sku, sku, quantity: 5 }],
      evidence: [{ sku, requested: 5, available: 2, cause: 'DRIFT', lastPushedQuantity: 2, intakeDelayMs: expect.any(Number) }],
    });
    expect(sync.oversold).toEqual([{ cause: 'DRIFT', orders: 1, units: 3 }]);
    // As an event on the oversell stream, written with the record.
    const redis = createRedis(redisTarget(stack.cfg));
    try {
      const events = await waitFor('the oversell event', async () => {
        const entries = (await readStream(redis, eventKeys.stream(stack.cfg.REDIS_KEY_PREFIX, 'oversell'))).filter((e) => oversellEventSchema.parse(e.payload).marketplaceOrderId === orderId);
        return entries.length ? entries : null;
      });
      expect(events).toHaveLength(1);
      expect(oversellEventSchema.parse(events[0]!.payload)).toMatchObject({ channelId: ebay.channelId, units: 3, cause: 'DRIFT', lines: [{ sku, requested: 5, available: 2, cause: 'DRIFT' }] });
    } finally {
      await redis.quit();
    }
    // And in the jobs process's metrics.
    const metrics = await (await fetch(stack.jobs!.url.replace(/\/healthz$/, '/metrics'))).text();
    expect(metrics).toContain(`omnistock_marketplace_oversold_units_total{channel="${ebay.channelId}",cause="DRIFT",service="jobs"} 3`);
  });

  it("cancels an oversold order at the marketplace under the channel's CANCEL policy", async () => {
    const strict = await w.marketplaceChannel('EBAY', [store]);
    await w.ok(`mutation($id: ID!, $input: MarketplaceConnectionInput!) { setMarketplaceConnection(channelId: $id, input: $input) { marketplaceConnection { oversellPolicy } } }`, {
      id: strict.channelId,
      input: { accountId: strict.account, baseUrl: sim.baseUrl('EBAY', strict.account), secretName: strict.account, oversellPolicy: 'CANCEL' },
    });
    await w.replicated([store], [strict.channelId]);
    const sku = await w.item();
    await w.receive(sku, store, 1);
    await w.pushRecorded(strict, sku);
    sim.setQuantity('EBAY', strict.account, sku, 4);
    const { orderId } = sim.placeOrder('EBAY', strict.account, [{ sku, quantity: 3 }]);
    const row = await waitFor('the oversell cancelled at eBay', async () => {
      const r = await stack.subgraphs.marketplaces.dataSource.manager.findOne(MarketplaceOrderEntity, { where: { channelId: strict.channelId, marketplaceOrderId: orderId } });
      return r?.resolution ? r : null;
    });
    expect(row).toMatchObject({ resolution: 'CANCELLED_AT_MARKETPLACE', oversoldUnits: 2, cause: 'DRIFT' });
    expect(sim.order('EBAY', strict.account, orderId)).toMatchObject({ status: 'CANCELLED', cancelledBy: 'SELLER' });
  });

  it('keeps an oversold order open under the BACKORDER policy and places it once stock comes in, only once', async () => {
    const patient = await w.marketplaceChannel('EBAY', [store]);
    await w.ok(`mutation($id: ID!, $input: MarketplaceConnectionInput!) { setMarketplaceConnection(channelId: $id, input: $input) { marketplaceConnection { oversellPolicy } } }`, {
      id: patient.channelId,
      input: { accountId: patient.account, baseUrl: sim.baseUrl('EBAY', patient.account), secretName: patient.account, oversellPolicy: 'BACKORDER' },
    });
    await w.replicated([store], [patient.channelId]);
    const sku = await w.item();
    await w.receive(sku, store, 2);
    await w.pushRecorded(patient, sku);
    sim.setQuantity('EBAY', patient.account, sku, 9);
    const { orderId } = sim.placeOrder('EBAY', patient.account, [{ sku, quantity: 5 }]);
    const find = () => stack.subgraphs.marketplaces.dataSource.manager.findOne(MarketplaceOrderEntity, { where: { channelId: patient.channelId, marketplaceOrderId: orderId } });
    const waiting = await waitFor('the oversell backordered', async () => {
      const r = await find();
      return r?.resolution === 'BACKORDERED' ? r : null;
    });
    expect(waiting).toMatchObject({ status: 'OVERSOLD', oversoldUnits: 3 });
    // Polls keep trying (every 300 ms): refused while stock is short, each under a key of its own, and nothing is held.
    await waitFor('a few refused tries', async () => ((await find())?.backorderAttempts ?? 0) >= 2);
    expect((await w.ats(patient.channelId, [sku])).get(sku)).toBe(2);

    await w.receive(sku, store, 10);
    const filled = await waitFor('the backorder filled', async () => {
      const r = await find();
      return r?.status === 'PLACED' ? r : null;
    });
    expect(filled).toMatchObject({ resolution: 'BACKORDER_FILLED' });
    const confirmed = (await ordersOf(patient.channelId)).filter((o) => o.customerReference === orderId && o.status === 'CONFIRMED');
    expect(confirmed).toHaveLength(1);
    expect(confirmed[0]!.id).toBe(filled.orderId);
    // Later polls do not place it again: 12 on hand, 5 held.
    await new Promise((r) => setTimeout(r, 1000));
    expect((await ordersOf(patient.channelId)).filter((o) => o.customerReference === orderId && o.status === 'CONFIRMED')).toHaveLength(1);
    expect((await w.ats(patient.channelId, [sku])).get(sku)).toBe(7);
  });

  it("places a marketplace order past the channel's buffer: the buffer holds units back from live buyers for such late sales", async () => {
    const buffered = await w.marketplaceChannel('EBAY', [store]);
    await w.ok(`mutation($id: ID!, $input: AllocationRuleInput!) { setAllocationRule(channelId: $id, input: $input) { id } }`, {
      id: buffered.channelId,
      input: { sources: [{ locationId: store, priority: 1 }], buffer: { kind: 'UNITS', value: 3 } },
    });
    await w.replicated([store], [buffered.channelId]);
    const sku = await w.item();
    await w.receive(sku, store, 4);
    // The rule reaches inventory moments later: then eBay is shown 4 less the buffer of 3.
    await waitFor('the buffer applied', async () => (await w.ats(buffered.channelId, [sku])).get(sku) === 1);
    // Sold there before our last change arrived: 3 units, which the shelf holds.
    sim.setQuantity('EBAY', buffered.account, sku, 3);
    const { orderId } = sim.placeOrder('EBAY', buffered.account, [{ sku, quantity: 3 }]);
    const find = () => stack.subgraphs.marketplaces.dataSource.manager.findOne(MarketplaceOrderEntity, { where: { channelId: buffered.channelId, marketplaceOrderId: orderId } });
    const row = await waitFor('the order taken in', async () => {
      const r = await find();
      return r && r.status !== 'RECEIVED' ? r : null;
    });
    expect(row.status).toBe('PLACED');
    expect(row.oversoldUnits ?? 0).toBe(0);
    expect(await w.level(sku, store)).toMatchObject({ onHand: 4, reserved: 3 });
    // A live buyer on the same channel is still held to the rule: 1 unit left, all of it buffer.
    expect((await w.ats(buffered.channelId, [sku])).get(sku)).toBe(0);
  });

  it('places an oversold order from a location beyond the channel\'s sources under the REALLOCATE policy', async () => {
    const dc = await w.location({ name: 'A warehouse the channel does not sell from', pickup: false });
    const wide = await w.marketplaceChannel('EBAY', [store]);
    await w.ok(`mutation($id: ID!, $input: MarketplaceConnectionInput!) { setMarketplaceConnection(channelId: $id, input: $input) { marketplaceConnection { oversellPolicy } } }`, {
      id: wide.channelId,
      input: { accountId: wide.account, baseUrl: sim.baseUrl('EBAY', wide.account), secretName: wide.account, oversellPolicy: 'REALLOCATE' },
    });
    await w.replicated([store, dc], [wide.channelId]);
    const sku = await w.item();
    await w.receive(sku, store, 1);
    await w.receive(sku, dc, 5);
    await w.pushRecorded(wide, sku);
    sim.setQuantity('EBAY', wide.account, sku, 4);
    const { orderId } = sim.placeOrder('EBAY', wide.account, [{ sku, quantity: 3 }]);
    const find = () => stack.subgraphs.marketplaces.dataSource.manager.findOne(MarketplaceOrderEntity, { where: { channelId: wide.channelId, marketplaceOrderId: orderId } });
    const row = await waitFor('the order reallocated', async () => {
      const r = await find();
      return r?.status === 'PLACED' ? r : null;
    });
    // The oversell is on record (the channel's sources held 1 of 3), and so is what was done about it.
    expect(row).toMatchObject({ resolution: 'REALLOCATED', oversoldUnits: 2, cause: 'DRIFT' });
    const placed = (await ordersOf(wide.channelId)).filter((o) => o.customerReference === orderId && o.status === 'CONFIRMED');
    expect(placed.map((o) => o.id)).toEqual([row.orderId]);
    // From the channel's own source first, the rest from the warehouse.
    expect(await w.level(sku, store)).toMatchObject({ onHand: 1, reserved: 1 });
    expect(await w.level(sku, dc)).toMatchObject({ onHand: 5, reserved: 2 });
  });

  it("waits out the marketplace's Retry-After before polling its orders again", async () => {
    const paced = await w.marketplaceChannel('EBAY', [store]);
    await w.replicated([store], [paced.channelId]);
    await waitFor('the first polls', async () => sim.calls('EBAY', paced.account).read >= 2);
    // The next getOrders is answered 429 with Retry-After: 4 s. Polls come every 300 ms otherwise.
    sim.inject('EBAY', paced.account, { type: 'throttle', count: 1, retryAfterMs: 4000, endpoint: 'intake:getOrders' });
    await waitFor('the throttled poll', async () => sim.calls('EBAY', paced.account).throttled === 1);
    const atThrottle = sim.calls('EBAY', paced.account).read;
    await new Promise((r) => setTimeout(r, 2000));
    expect(sim.calls('EBAY', paced.account).read).toBe(atThrottle);
    // Once the wait is over, orders come in again.
    const sku = await w.item();
    await w.receive(sku, store, 5);
    await w.converged(paced, [sku]);
    const { orderId } = sim.placeOrder('EBAY', paced.account, [{ sku, quantity: 1 }]);
    await waitFor('the order placed after the pause', async () => (await ordersOf(paced.channelId)).find((o) => o.customerReference === orderId && o.status === 'CONFIRMED'));
    expect(sim.violations('EBAY', paced.account)).toBe(0);
  });

  it('records a line no listing maps and an unknown SKU as UNMAPPED, placing nothing until a listing maps it', async () => {
    sim.setQuantity('EBAY', ebay.account, 'NOT-OURS-1', 4);
    const { orderId } = sim.placeOrder('EBAY', ebay.account, [{ sku: 'NOT-OURS-1', quantity: 1 }]);
    const row = await waitFor('the order recorded', async () => {
      const r = await intakeRow(orderId);
      return r && r.status !== 'RECEIVED' ? r : null;
    });
    expect(row.status).toBe('UNMAPPED');
    expect((await ordersOf(ebay.channelId)).find((o) => o.customerReference === orderId)).toBeUndefined();

    // A listing maps the marketplace SKU to one of ours: the order is placed from that SKU's stock.
    const sku = await w.item();
    await w.receive(sku, store, 6);
    await w.ok(`mutation($c: ID!, $i: MarketplaceListingInput!) { setMarketplaceListing(channelId: $c, input: $i) { sku } }`, { c: ebay.channelId, i: { sku, marketplaceSku: 'NOT-OURS-1' } });
    const placed = await waitFor('the order placed once mapped', async () => (await ordersOf(ebay.channelId)).find((o) => o.customerReference === orderId && o.status === 'CONFIRMED'), 60_000);
    expect(placed.lines).toEqual([{ sku, quantity: 1 }]);
    await waitFor('intake marking it placed', async () => (await intakeRow(orderId))?.status === 'PLACED');
    expect(JSON.parse((await intakeRow(orderId))!.lines)).toMatchObject([{ marketplaceSku: 'NOT-OURS-1', sku, quantity: 1 }]);
    expect((await w.ats(ebay.channelId, [sku])).get(sku)).toBe(5);
  }, 120_000);
});

describe('Shopify order webhooks', () => {
  let shopify: MarketplaceChannel;
  let webhookUrl: string;
  const SECRET = 'shopify-app-client-secret';
  const sign = (body: string, secret = SECRET) => createHmac('sha256', secret).update(body).digest('base64');
  const post = (body: string, signature: string | undefined, topic = 'orders/create') =>
    fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'x-shopify-topic': topic, ...(signature ? { 'x-shopify-hmac-sha256': signature } : {}) }, body });
  const order = (id: number, sku: string, quantity: number, cancelled = false) =>
    JSON.stringify({ id, created_at: new Date().toISOString(), updated_at: new Date().toISOString(), cancelled_at: cancelled ? new Date().toISOString() : null, line_items: [{ id: id * 10, sku, quantity }] });

  beforeAll(async () => {
    shopify = await w.marketplaceChannel('SHOPIFY', [store]);
    await w.writeSecret(shopify, { webhookSecret: SECRET });
    await w.replicated([store], [shopify.channelId]);
    webhookUrl = `${stack.jobs!.url.replace(/\/healthz$/, '')}/webhooks/shopify/${shopify.channelId}`;
    // The jobs process reads its connections every MARKETPLACE_REFRESH_MS: wait until it knows this one.
    const probe = order(1, 'X', 1);
    await waitFor('the jobs process knowing the Shopify connection', async () => (await post(probe, sign(probe), 'app/uninstalled')).status === 200);
  });

  it('refuses a webhook whose signature does not verify, and writes nothing', async () => {
    const sku = await w.item();
    const body = order(7_000_000_001, sku, 1);
    for (const signature of [undefined, sign(body, 'another-secret'), sign(`${body} `), 'not base64!']) {
      expect((await post(body, signature)).status).toBe(401);
    }
    // A channel that is no Shopify connection answers the same.
    const elsewhere = webhookUrl.replace(shopify.channelId, ebay.channelId);
    expect((await fetch(elsewhere, { method: 'POST', headers: { 'x-shopify-topic': 'orders/create', 'x-shopify-hmac-sha256': sign(body) }, body })).status).toBe(401);
    expect(await stack.subgraphs.marketplaces.dataSource.manager.findOne(MarketplaceOrderEntity, { where: { channelId: shopify.channelId, marketplaceOrderId: '7000000001' } })).toBeNull();
  });

  it('places a signed order at once, and releases it on a signed cancellation', async () => {
    const sku = await w.item();
    await w.receive(sku, store, 6);
    const body = order(7_000_000_002, sku, 2);
    const res = await post(body, sign(body));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ marketplaceOrderId: '7000000002', status: 'PLACED' });
    await waitFor('the units reserved', async () => (await w.ats(shopify.channelId, [sku])).get(sku) === 4);
    const cancelled = order(7_000_000_002, sku, 2, true);
    expect(await (await post(cancelled, sign(cancelled), 'orders/cancelled')).json()).toEqual({ marketplaceOrderId: '7000000002', status: 'CANCELLED' });
    await waitFor('the units released', async () => (await w.ats(shopify.channelId, [sku])).get(sku) === 6);
  });

  it('cancels an order it placed before a crash kept it from being marked, when the cancellation comes first', async () => {
    const sku = await w.item();
    await w.receive(sku, store, 6);
    const placedBody = order(7_000_000_003, sku, 2);
    expect(await (await post(placedBody, sign(placedBody))).json()).toMatchObject({ status: 'PLACED' });
    await waitFor('the units reserved', async () => (await w.ats(shopify.channelId, [sku])).get(sku) === 4);
    // The crash: orders placed it (stock reserved), intake never marked it. The buyer's cancellation
    // then arrives before any retry: the order must be found under its key and cancelled.
    await stack.subgraphs.marketplaces.dataSource.manager.update(MarketplaceOrderEntity, { channelId: shopify.channelId, marketplaceOrderId: '7000000003' }, { status: 'RECEIVED', orderId: null });
    const cancelled = order(7_000_000_003, sku, 2, true);
    expect(await (await post(cancelled, sign(cancelled), 'orders/cancelled')).json()).toEqual({ marketplaceOrderId: '7000000003', status: 'CANCELLED' });
    await waitFor('the units released', async () => (await w.ats(shopify.channelId, [sku])).get(sku) === 6);
    expect((await ordersOf(shopify.channelId)).filter((o) => o.customerReference === '7000000003').map((o) => o.status)).toEqual(['CANCELLED']);
  });

  it('takes in what the store sends by itself (the simulator signs it like Shopify)', async () => {
    const sku = await w.item();
    await w.receive(sku, store, 5);
    await w.converged(shopify, [sku]);
    sim.setWebhook(shopify.account, webhookUrl, SECRET);
    const { orderId } = sim.placeOrder('SHOPIFY', shopify.account, [{ sku, quantity: 1 }]);
    await waitFor('the order placed', async () => (await ordersOf(shopify.channelId)).find((o) => o.customerReference === orderId && o.status === 'CONFIRMED'));
  });
});
