import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shownQuantity } from '../subgraphs/marketplaces/domain/listing-rules.js';
import { errorCode } from './client.js';
import { waitFor } from './events.js';
import { startMarketplaceWorld, SYNC, type MarketplaceChannel, type MarketplaceWorld } from './marketplace-fixture.js';
import type { MarketplaceSimulator } from '../tools/marketplace-simulator/index.js';

/**
 * #17 listings: per (channel, SKU) the marketplace's references and the rule of what the channel is
 * shown. A rule set through the gateway reaches the marketplace at once; pushes, resyncs and drift
 * repair all agree on what the channel is shown.
 */
let sim: MarketplaceSimulator;
let w: MarketplaceWorld;
let world: Awaited<ReturnType<typeof startMarketplaceWorld>>;
let ebay: MarketplaceChannel;
let store: string;

const SET = `mutation($c: ID!, $i: MarketplaceListingInput!) { setMarketplaceListing(channelId: $c, input: $i) { sku marketplaceSku listingId maxShown share showZeroBelow } }`;
const REMOVE = `mutation($c: ID!, $s: String!) { removeMarketplaceListing(channelId: $c, sku: $s) }`;
const LISTINGS = `query($c: ID!, $s: [String!]!) { channel(id: $c) { marketplaceSync { listings(skus: $s) { sku marketplaceSku maxShown share showZeroBelow } } } }`;

beforeAll(async () => {
  world = await startMarketplaceWorld({ MARKETPLACE_COALESCE_MS: '200' });
  ({ sim, w } = world);
  store = await w.location();
  ebay = await w.marketplaceChannel('EBAY', [store]);
  await w.replicated([store], [ebay.channelId]);
});

afterAll(() => world?.close());

/** Waits until eBay shows `quantity` of the SKU. */
const shows = (sku: string, quantity: number) =>
  waitFor(`eBay showing ${quantity} of ${sku}`, async () => sim.quantity('EBAY', ebay.account, sku) === quantity, 30_000);

describe('marketplace listings', () => {
  it('shows a channel what its listing allows: a maximum, a share, zero below a threshold, all again once removed', async () => {
    const sku = await w.item();
    await w.receive(sku, store, 40);
    await w.converged(ebay, [sku]);
    const ats = (await w.ats(ebay.channelId, [sku])).get(sku)!;
    const rules = [
      { maxShown: 10, share: null, showZeroBelow: null },
      { maxShown: null, share: 0.5, showZeroBelow: null },
      { maxShown: null, share: null, showZeroBelow: ats + 1 },
    ];
    for (const rule of rules) {
      const set = await w.ok(SET, { c: ebay.channelId, i: { sku, ...rule } });
      expect(set.setMarketplaceListing).toMatchObject({ sku, ...rule });
      await shows(sku, shownQuantity(ats, rule));
    }
    expect((await w.ok(LISTINGS, { c: ebay.channelId, s: [sku] })).channel.marketplaceSync.listings).toEqual([{ sku, marketplaceSku: null, ...rules[2] }]);
    expect((await w.ok(REMOVE, { c: ebay.channelId, s: sku })).removeMarketplaceListing).toBe(true);
    await shows(sku, ats);
  });

  it('keeps applying the rule as stock moves, and drift repair finds no drift in what the rule withholds', async () => {
    const sku = await w.item();
    await w.receive(sku, store, 30);
    await w.ok(SET, { c: ebay.channelId, i: { sku, maxShown: 5 } });
    await shows(sku, 5);
    await w.receive(sku, store, 30);
    await w.ok(`mutation($c: ID!) { requestDriftRepair(channelId: $c) }`, { c: ebay.channelId });
    const run = await waitFor('a drift run', async () => {
      const data = await w.ok(SYNC, { id: ebay.channelId, skus: [sku] });
      return data.channel.marketplaceSync.driftRuns.edges[0]?.node ?? null;
    });
    expect(run.lines.filter((l: { sku: string }) => l.sku === sku)).toEqual([]);
    expect(sim.quantity('EBAY', ebay.account, sku)).toBe(5);
  });

  it('pushes and reads back a SKU under the marketplace SKU its listing names', async () => {
    const sku = await w.item();
    const theirs = `EBAY-LISTED-${sku}`;
    await w.ok(SET, { c: ebay.channelId, i: { sku, marketplaceSku: theirs } });
    await w.receive(sku, store, 12);
    await waitFor('eBay showing 12 under its own SKU', async () => sim.quantity('EBAY', ebay.account, theirs) === 12, 30_000);
    await w.receive(sku, store, 3);
    await waitFor('eBay showing 15 under its own SKU', async () => sim.quantity('EBAY', ebay.account, theirs) === 15, 30_000);
    expect(sim.quantity('EBAY', ebay.account, sku)).toBeUndefined();
    // Drift repair reads it back under the marketplace SKU too: the drift set on eBay's side is found and corrected.
    sim.setQuantity('EBAY', ebay.account, theirs, 40);
    await w.ok(`mutation($c: ID!) { requestDriftRepair(channelId: $c) }`, { c: ebay.channelId });
    await waitFor('the drift corrected under the marketplace SKU', async () => sim.quantity('EBAY', ebay.account, theirs) === 15, 30_000);
    expect(sim.quantity('EBAY', ebay.account, sku)).toBeUndefined();
  });

  it('refuses bad rules and a marketplace SKU another SKU has, writing nothing', async () => {
    const [a, b] = [await w.item(), await w.item()];
    await w.ok(SET, { c: ebay.channelId, i: { sku: a, marketplaceSku: 'EBAY-SHARED-1' } });
    const taken = await w.gql(SET, { c: ebay.channelId, i: { sku: b, marketplaceSku: 'EBAY-SHARED-1', maxShown: 3 } });
    expect(errorCode(taken)).toBe('CONFLICT');
    for (const bad of [{ share: 0 }, { share: 2 }, { maxShown: -1 }, { showZeroBelow: 1.5 }]) {
      expect(errorCode(await w.gql(SET, { c: ebay.channelId, i: { sku: b, ...bad } }))).toBe('BAD_USER_INPUT');
    }
    const unconnected = await w.channel([store]);
    expect(errorCode(await w.gql(SET, { c: unconnected, i: { sku: b, maxShown: 1 } }))).toBe('NOT_FOUND');
    expect((await w.ok(LISTINGS, { c: ebay.channelId, s: [b] })).channel.marketplaceSync.listings).toEqual([]);
  });

  it('under a race for one marketplace SKU, lists it for one SKU only and leaves the winner intact', async () => {
    const skus = [await w.item(), await w.item(), await w.item(), await w.item()];
    const answers = await Promise.all(skus.flatMap((sku) => [1, 2].map(() => w.gql(SET, { c: ebay.channelId, i: { sku, marketplaceSku: 'EBAY-RACED-1', maxShown: 7 } }))));
    const winners = new Set(answers.filter((r) => !r.errors).map((r) => r.data!.setMarketplaceListing.sku));
    expect(winners.size).toBe(1);
    for (const r of answers.filter((r) => r.errors)) expect(errorCode(r)).toBe('CONFLICT');
    const listed = (await w.ok(LISTINGS, { c: ebay.channelId, s: skus })).channel.marketplaceSync.listings;
    expect(listed).toEqual([{ sku: [...winners][0], marketplaceSku: 'EBAY-RACED-1', maxShown: 7, share: null, showZeroBelow: null }]);
  });
});
