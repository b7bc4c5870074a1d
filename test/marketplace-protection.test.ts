import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MarketplaceSimulator } from '../tools/marketplace-simulator/index.js';
import { waitFor } from './events.js';
import { startMarketplaceWorld, type MarketplaceChannel, type MarketplaceWorld } from './marketplace-fixture.js';
import type { OrdersStack } from './orders-fixture.js';

/**
 * #17 protective available-to-sell: a PROTECTIVE channel is shown less of a SKU whose sales reach us
 * late (the units sold but not reported yet, by Little's law) and that sells while our push travels;
 * an OFF channel fed by the same location is shown all of it. What was withheld, and why, is visible
 * per SKU.
 */
let stack: OrdersStack;
let sim: MarketplaceSimulator;
let w: MarketplaceWorld;
let world: Awaited<ReturnType<typeof startMarketplaceWorld>>;
let off: MarketplaceChannel;
let guarded: MarketplaceChannel;
let store: string;

const PROTECTION = `query($c: ID!, $s: [String!]!) { channel(id: $c) {
  marketplaceConnection { protection }
  marketplaceSync { protection(skus: $s) { sku demandPerMinute unreportedUnits pushLagMs withheld lastWithheld } }
} }`;

beforeAll(async () => {
  // A one-minute demand window.
  world = await startMarketplaceWorld({ MARKETPLACE_COALESCE_MS: '100', PROTECT_WINDOW_MS: '60000' });
  ({ stack, sim, w } = world);
  store = await w.location();
  off = await w.marketplaceChannel('EBAY', [store]);
  guarded = await w.marketplaceChannel('EBAY', [store]);
  await w.ok(`mutation($id: ID!, $input: MarketplaceConnectionInput!) { setMarketplaceConnection(channelId: $id, input: $input) { id } }`, {
    id: guarded.channelId,
    input: { accountId: guarded.account, baseUrl: sim.baseUrl('EBAY', guarded.account), secretName: guarded.account, protection: 'PROTECTIVE' },
  });
  await w.replicated([store], [off.channelId, guarded.channelId]);
});

afterAll(() => world?.close());

describe('protective available-to-sell', () => {
  it('shows a protective channel less of a SKU whose till sales come in late, by what it withheld, and an OFF channel all of it', async () => {
    const sku = await w.item();
    await w.receive(sku, store, 200);
    await w.converged(off, [sku]);
    await w.converged(guarded, [sku]);
    // Nothing sold yet: nothing withheld.
    expect(sim.quantity('EBAY', guarded.account, sku)).toBe(200);

    // The till reports 40 units, each sold 30 s before it was reported: as many again are sold and
    // not reported yet (40 units a minute, 30 s late: 20 units).
    const occurredAt = new Date(Date.now() - 30_000).toISOString();
    for (let i = 0; i < 8; i++) {
      await w.ok(`mutation($i: StockMovementInput!) { recordMovement(input: $i) { replayed } }`, { i: { idempotencyKey: randomUUID(), type: 'SALE', sku, locationId: store, quantity: 5, occurredAt } });
    }
    const ats = (await w.ats(off.channelId, [sku])).get(sku)!;
    expect(ats).toBe(160);
    await waitFor('the OFF channel showing all of it', async () => sim.quantity('EBAY', off.account, sku) === ats);
    const report = await waitFor('the protective channel showing less', async () => {
      const data = await w.ok(PROTECTION, { c: guarded.channelId, s: [sku] });
      const p = data.channel.marketplaceSync.protection[0];
      return p.lastWithheld > 0 && sim.quantity('EBAY', guarded.account, sku) === ats - p.lastWithheld ? data : null;
    });
    expect(report.channel.marketplaceConnection.protection).toBe('PROTECTIVE');
    const p = report.channel.marketplaceSync.protection[0];
    // 40 units in the window, each 30 s late: about 20 unreported units; the last push came after
    // most of the sales.
    // (40 units over the window and what passed of its current slot: a little over a minute.)
    expect(p.demandPerMinute).toBeGreaterThanOrEqual(30);
    expect(p.unreportedUnits).toBeGreaterThanOrEqual(15);
    expect(p.pushLagMs).toBeGreaterThanOrEqual(0);
    expect(p.withheld).toBeGreaterThanOrEqual(15);
    expect(p.lastWithheld).toBeGreaterThanOrEqual(10);

    // The OFF channel withholds nothing, whatever the demand.
    const offReport = (await w.ok(PROTECTION, { c: off.channelId, s: [sku] })).channel.marketplaceSync.protection[0];
    expect(offReport.withheld).toBe(0);
    expect(offReport.unreportedUnits).toBeGreaterThanOrEqual(15);
  });

  it('refuses a malformed request for what it withheld', async () => {
    const res = await w.gql(PROTECTION, { c: guarded.channelId, s: [] });
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
