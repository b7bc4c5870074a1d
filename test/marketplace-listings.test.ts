import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shownQuantity } from '../subgraphs/marketplaces/domain/listing-rules.js';
import { openQueue } from './queues.js';
import { MarketplaceService } from '../subgraphs/marketplaces/services/marketplace.service.js';
import { marketplaceQueues, pushQueueName } from '../subgraphs/marketplaces/services/queues.js';
import { errorCode, uniq } from './client.js';
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
    // Under ours it was listed until the listing named another: at most a 0 went there.
    expect(sim.quantity('EBAY', ebay.account, sku) ?? 0).toBe(0);
    // Drift repair checks only SKUs whose last push is recorded (none pending): eBay holding 15 comes
    // before the jobs process records it, and a run in between would not look at this SKU.
    await waitFor('the push of 15 recorded', async () => {
      const state = await w.sync(ebay.channelId, [sku]);
      const node = state.skus.edges[0]?.node;
      return state.backlog === 0 && node?.lastPushedQuantity === 15 && !node.pending;
    });
    // Drift repair reads it back under the marketplace SKU too: the drift set on eBay's side is found and corrected.
    sim.setQuantity('EBAY', ebay.account, theirs, 40);
    // A run checks only SKUs not pending at that moment; the next run checks this one again (the
    // schedule asks at its interval, here every 3 s until it is corrected). One CI run in four saw a
    // single run leave it at 40 for 30 s; why was not found.
    let askedAt = 0;
    await waitFor(
      'the drift corrected under the marketplace SKU',
      async () => {
        if (sim.quantity('EBAY', ebay.account, theirs) === 15) return true;
        if (Date.now() - askedAt > 3000) {
          askedAt = Date.now();
          await w.ok(`mutation($c: ID!) { requestDriftRepair(channelId: $c) }`, { c: ebay.channelId });
        }
        return false;
      },
      30_000,
    );
    expect(sim.quantity('EBAY', ebay.account, sku) ?? 0).toBe(0);
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

/**
 * What a channel lists: under the EVERY_SKU catalogue every SKU, each under its listing's marketplace
 * SKU or else ours; under LISTED its listed SKUs only. A marketplace SKU the channel no longer lists
 * is pushed 0 (retired), so the marketplace stops selling stock under a SKU we no longer map.
 */
describe('listings that change or go away', () => {
  const CONNECT = `mutation($id: ID!, $input: MarketplaceConnectionInput!) { setMarketplaceConnection(channelId: $id, input: $input) { id } }`;
  /** A fresh eBay channel fed by the store (no listings yet: under EVERY_SKU, every SKU is pushed under ours). */
  const channel = async (opts: { secret?: boolean; catalogue?: 'EVERY_SKU' | 'LISTED' } = {}) => {
    const c = await w.marketplaceChannel('EBAY', [store], undefined, opts);
    await w.replicated([store], [c.channelId]);
    return c;
  };
  /** Redis loses the account's queued pushes. */
  const lose = async (c: MarketplaceChannel) => {
    const queue = openQueue(world.stack.cfg, pushQueueName('EBAY', c.account));
    await queue.obliterate({ force: true });
    await queue.close();
  };
  const on = (c: MarketplaceChannel, marketplaceSku: string) => sim.quantity('EBAY', c.account, marketplaceSku);
  const holds = (c: MarketplaceChannel, want: Record<string, number>) =>
    waitFor(`eBay holding ${JSON.stringify(want)}`, async () => Object.entries(want).every(([sku, q]) => on(c, sku) === q), 30_000);

  it('pushes 0 to the marketplace SKU a changed listing no longer names, and the quantity under the new one', async () => {
    const c = await channel();
    const sku = await w.item();
    const [old, renamed] = [`EBAY-OLD-${sku}`, `EBAY-NEW-${sku}`];
    await w.ok(SET, { c: c.channelId, i: { sku, marketplaceSku: old } });
    await w.receive(sku, store, 9);
    await holds(c, { [old]: 9 });
    await w.ok(SET, { c: c.channelId, i: { sku, marketplaceSku: renamed } });
    await holds(c, { [old]: 0, [renamed]: 9 });
    await w.receive(sku, store, 2);
    await holds(c, { [renamed]: 11 });
    expect(on(c, old)).toBe(0);
    // Listed under ours until its listing named another (pushed 0 then, if it was at all).
    expect(on(c, sku) ?? 0).toBe(0);
  });

  it('pushes 0 to the marketplace SKU of a removed listing, and under LISTED no longer pushes the SKU', async () => {
    const c = await channel({ catalogue: 'LISTED' });
    const [kept, removed] = [await w.item(), await w.item()];
    await w.ok(SET, { c: c.channelId, i: { sku: kept, marketplaceSku: `K-${kept}` } });
    await w.ok(SET, { c: c.channelId, i: { sku: removed, marketplaceSku: `R-${removed}` } });
    await w.receive(kept, store, 5);
    await w.receive(removed, store, 5);
    await holds(c, { [`K-${kept}`]: 5, [`R-${removed}`]: 5 });
    expect((await w.ok(REMOVE, { c: c.channelId, s: removed })).removeMarketplaceListing).toBe(true);
    await holds(c, { [`R-${removed}`]: 0 });
    // The channel lists its listed SKUs only: the removed SKU is not listed there, so its changes are not pushed.
    await w.receive(removed, store, 3);
    await w.receive(kept, store, 1);
    await holds(c, { [`K-${kept}`]: 6 });
    expect(on(c, removed)).toBeUndefined();
    expect(on(c, `R-${removed}`)).toBe(0);
    expect((await w.sync(c.channelId, [removed])).skus.edges[0]?.node.pending ?? false).toBe(false);
  });

  /** A fresh channel holding 4 of two SKUs under ours, then `a` listed as `A-<a>`. */
  const aListedAndAnOther = async () => {
    const c = await channel();
    const [a, b] = [await w.item(), await w.item()];
    await w.receive(a, store, 4);
    await w.receive(b, store, 4);
    await w.converged(c, [a, b]);
    await w.ok(SET, { c: c.channelId, i: { sku: a, marketplaceSku: `A-${a}` } });
    return { c, a, b };
  };

  it('under EVERY_SKU maps the listed SKUs and keeps pushing the others under ours; a removed listing falls back to ours', async () => {
    const { c, a, b } = await aListedAndAnOther();
    await holds(c, { [`A-${a}`]: 4, [a]: 0, [b]: 4 });
    await w.receive(b, store, 2);
    await holds(c, { [b]: 6 });
    await w.ok(REMOVE, { c: c.channelId, s: a });
    await holds(c, { [`A-${a}`]: 0, [a]: 4 });
  });

  it("takes the SKUs a channel does not list off the marketplace when its connection is set to LISTED, and lists every SKU again under EVERY_SKU", async () => {
    const { c, a, b } = await aListedAndAnOther();
    const connect = (catalogue: string) => w.ok(CONNECT, { id: c.channelId, input: { accountId: c.account, baseUrl: sim.baseUrl('EBAY', c.account), secretName: c.account, catalogue } });
    await connect('LISTED');
    await holds(c, { [`A-${a}`]: 4, [a]: 0, [b]: 0 });
    await w.receive(b, store, 2);
    await connect('EVERY_SKU');
    await holds(c, { [`A-${a}`]: 4, [a]: 0, [b]: 6 });
  });

  it('a resync of a LISTED channel pushes its listed SKUs only', async () => {
    // No secret: nothing is pushed, and Redis then loses the queued pushes; the resync has it all to do.
    const c = await channel({ secret: false, catalogue: 'LISTED' });
    const [listed, unlisted] = [await w.item(), await w.item()];
    await w.ok(SET, { c: c.channelId, i: { sku: listed, marketplaceSku: `L-${listed}` } });
    await w.receive(listed, store, 7);
    await w.receive(unlisted, store, 8);
    await lose(c);
    await w.writeSecret(c);
    // Setting the connection again queues a resync of the channel.
    await w.ok(CONNECT, { id: c.channelId, input: { accountId: c.account, baseUrl: sim.baseUrl('EBAY', c.account), secretName: c.account, catalogue: 'LISTED' } });
    await holds(c, { [`L-${listed}`]: 7 });
    await waitFor('the resync pushed', async () => (await w.sync(c.channelId)).backlog === 0, 30_000);
    // Besides the listed SKU, only 0s: to our SKU `listed` was pushed under before its listing named another.
    expect([...sim.quantities('EBAY', c.account)].filter(([, q]) => q !== 0)).toEqual([[`L-${listed}`, 7]]);
    expect(on(c, unlisted)).toBeUndefined();
  });

  it('sends every SKU to the account a connection moves to, though the old one was told the same quantities', async () => {
    const c = await channel();
    const sku = await w.item();
    await w.receive(sku, store, 6);
    await holds(c, { [sku]: 6 });
    const moved = uniq('ebay-moved-').toLowerCase();
    await w.writeSecret({ kind: 'EBAY', account: moved, code: c.code });
    await w.ok(CONNECT, { id: c.channelId, input: { accountId: moved, baseUrl: sim.baseUrl('EBAY', moved), secretName: moved } });
    await waitFor('the new account holding the SKU', async () => sim.quantity('EBAY', moved, sku) === 6, 30_000);
  });

  it('records what a push told an account only while the channel is still connected to it (a push settling after a move would make the resync skip the new account)', async () => {
    const c = await channel();
    const queues = marketplaceQueues(world.stack.cfg);
    const service = new MarketplaceService(world.stack.subgraphs.marketplaces.dataSource, queues, { allowedHosts: [] });
    try {
      const current = (await service.resolvedConnections()).find((r) => r.channelId === c.channelId)!;
      const sku = uniq('SETTLED-');
      const mark = { sku, quantity: 4, seq: '', pendingSince: null, lagMs: null };
      const told = async () => (await service.syncStatesOf(c.channelId, [sku])).get(sku)?.lastPushedQuantity ?? null;
      for (const stale of [{ ...current, accountId: uniq('old-account-') }, { ...current, baseUrl: `${current.baseUrl}/old` }]) {
        await service.markPushed(stale, [mark], { sent: true });
        await service.markPushed(stale, [mark], { sent: false });
        expect(await told()).toBeNull();
      }
      await service.markPushed(current, [mark], { sent: true });
      expect(await told()).toBe(4);
    } finally {
      await queues.close();
    }
  });

  it('keeps a retired marketplace SKU in MySQL until it is pushed 0, even when the queue lost its job', async () => {
    const c = await channel({ secret: false });
    const sku = await w.item();
    const [old, renamed] = [`EBAY-OLD-${sku}`, `EBAY-NEW-${sku}`];
    await w.ok(SET, { c: c.channelId, i: { sku, marketplaceSku: old } });
    sim.setQuantity('EBAY', c.account, old, 7);
    // No secret: the connection's pushes wait in its queue, which Redis then loses.
    await w.ok(SET, { c: c.channelId, i: { sku, marketplaceSku: renamed } });
    await lose(c);
    await w.writeSecret(c);
    await w.ok(`mutation($c: ID!) { requestDriftRepair(channelId: $c) }`, { c: c.channelId });
    await holds(c, { [old]: 0 });
  });
});
