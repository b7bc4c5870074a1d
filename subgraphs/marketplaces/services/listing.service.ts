import type { DataSource, EntityManager } from 'typeorm';
import { isDuplicateKey, writeTransaction } from '../../../lib/db.js';
import { ConflictError, NotFoundError, parseInput } from '../../../lib/errors.js';
import { idSchema, skuSchema } from '../../../lib/validation.js';
import { z } from 'zod';
import { ListingEntity, RetiredSkuEntity } from '../data/listing.entity.js';
import { listingStore } from '../data/listing.store.js';
import { marketplaceStore } from '../data/marketplace.store.js';
import { intakeStore } from '../data/intake.store.js';
import { remapUnmapped, type IntakeLine } from '../domain/intake-rules.js';
import { listedAs, listingInputSchema, retiredMarketplaceSku, shownQuantity, type Catalogue, type ListingInput } from '../domain/listing-rules.js';
import type { MarketplaceService, ResolvedConnection } from './marketplace.service.js';
import type { MarketplaceQueues } from './queues.js';
import type { CallMeta, InventoryClient } from '../../../contracts/inventory-client.js';
import type { ProtectionService } from './protection.service.js';
import { subjectOf } from '../domain/problem-rules.js';
import { problemSignals } from './problem-signals.js';

/**
 * What marketplace sync reads of inventory, as each channel is shown it: available-to-sell with its
 * listings' rules applied, and the SKUs it lists (domain/listing-rules.ts listedAs), so pushes,
 * resyncs and drift repair agree.
 */
export interface ShownStock {
  availableToSell: InventoryClient['availableToSell'];
  /** The SKUs the channel lists, `pageSize` at a time: its listings' SKUs when it has any, else every SKU inventory knows. */
  listedSkus(channelId: string, pageSize: number, meta: () => CallMeta): AsyncIterable<string[]>;
}

/** The connection a push is queued for. */
export type PushTarget = Pick<ResolvedConnection, 'channelId' | 'kind' | 'accountId' | 'channelPriority'>;

/** Most SKUs one listings read names. */
export const LISTINGS_PER_READ = 100;
/** Retired marketplace SKUs queued per round of a resync or drift-repair run. */
const RETIRED_PAGE = 1000;

const skusSchema = z.array(skuSchema).min(1).max(LISTINGS_PER_READ);

/** What a listing change left to push: the marketplace SKUs it retired, and whether the channel now lists other SKUs than before. */
interface ListingChange {
  /** Whether the channel lists the SKU now (it is then pushed at once). */
  listed: boolean;
  retired: RetiredSkuEntity[];
}

/**
 * Listings: per (channel, SKU) the marketplace's references and the rule of what the channel is
 * shown, and which SKUs the channel lists at all (domain/listing-rules.ts listedAs: every SKU under
 * ours while it has no listing, its listed SKUs only once it has some). A change of rule is pushed at
 * once (the SKU is queued urgent, forced), since what the marketplace shows may now be more than the
 * rule allows. A marketplace SKU the channel no longer lists is retired: recorded in the transaction
 * of the change, pushed 0, then forgotten.
 */
export class ListingService {
  constructor(
    private readonly ds: DataSource,
    private readonly marketplace: MarketplaceService,
    private readonly queues: MarketplaceQueues,
    /** Protective available-to-sell, in the jobs process (pushes, resyncs, drift repair). */
    private readonly protection: ProtectionService | null = null,
  ) {}

  /**
   * Sets (or replaces) the listing of a SKU on a connected marketplace channel. The marketplace SKU
   * it no longer names (or our SKU, for a listing naming one for the first time) is pushed 0.
   * @throws BadUserInputError for invalid input
   * @throws NotFoundError for a channel without a marketplace connection
   * @throws ConflictError when another SKU of the channel has that marketplace SKU
   */
  async set(channelId: string, input: ListingInput): Promise<ListingEntity> {
    const id = parseInput(idSchema, channelId, 'channelId');
    const v = parseInput(listingInputSchema, input);
    const connection = await this.connection(id);
    const listing = Object.assign(new ListingEntity(), {
      channelId: id,
      sku: v.sku,
      marketplaceSku: v.marketplaceSku ?? null,
      listingId: v.listingId ?? null,
      maxShown: v.maxShown ?? null,
      share: v.share ?? null,
      showZeroBelow: v.showZeroBelow ?? null,
      updatedAt: new Date(),
    });
    const change = await writeTransaction(this.ds, async (tx) => {
      const { catalogue, old } = await this.lockListing(tx, id, v.sku);
      await this.write(tx, listing, !!old);
      await this.mapped(tx, listing);
      return this.relisted(tx, v.sku, catalogue, old, listing, listing.updatedAt);
    });
    await this.pushed(connection, v.sku, change);
    return listing;
  }

  /**
   * Removes a SKU's listing: under the EVERY_SKU catalogue the SKU is pushed under ours again, under
   * LISTED it is no longer pushed; the marketplace SKU it leaves is pushed 0.
   * @returns whether there was one
   */
  async remove(channelId: string, sku: string): Promise<boolean> {
    const id = parseInput(idSchema, channelId, 'channelId');
    const s = parseInput(skuSchema, sku, 'sku');
    const connection = (await this.marketplace.resolvedConnections()).find((c) => c.channelId === id);
    const change = await writeTransaction(this.ds, async (tx) => {
      // A channel disconnected since keeps its listings: they may still be removed.
      const { catalogue, old } = await this.lockListing(tx, id, s, false);
      if (!old) return null;
      await listingStore.remove(tx, id, s);
      return this.relisted(tx, s, catalogue, old, null, new Date());
    });
    if (change && connection) await this.pushed(connection, s, change);
    return !!change;
  }

  /** The listings of these SKUs on the channel (those without one are absent). */
  async of(channelId: string, skus: readonly string[]): Promise<ListingEntity[]> {
    return listingStore.find(this.ds.manager, channelId, parseInput(skusSchema, skus, 'skus'));
  }

  /** @throws NotFoundError for a channel without a marketplace connection */
  private async connection(channelId: string): Promise<ResolvedConnection> {
    const connection = (await this.marketplace.resolvedConnections()).find((c) => c.channelId === channelId);
    if (!connection) throw new NotFoundError('MarketplaceConnection', channelId);
    return connection;
  }

  /** Serialises the channel's listing writers on its connection row, then reads the SKU's listing and the channel's catalogue. */
  private async lockListing(tx: EntityManager, channelId: string, sku: string, connected = true): Promise<{ catalogue: Catalogue; old: ListingEntity | null }> {
    const catalogue = await marketplaceStore.lockConnection(tx, channelId);
    if (!catalogue && connected) throw new NotFoundError('MarketplaceConnection', channelId);
    const [old] = await listingStore.find(tx, channelId, [sku]);
    return { catalogue: catalogue ?? 'EVERY_SKU', old: old ?? null };
  }

  /**
   * The marketplace SKU the listing names now maps to one of ours (order intake maps a line through
   * it): an UNMAPPED_LISTING problem raised for it ends, and the orders recorded UNMAPPED for it have
   * their lines mapped, RECEIVED again once every line is (order intake's next poll places them).
   */
  private async mapped(tx: EntityManager, listing: ListingEntity): Promise<void> {
    const as = listing.marketplaceSku ?? listing.sku;
    for (const row of await intakeStore.unmappedNaming(tx, listing.channelId, as)) {
      const { lines, status } = remapUnmapped(JSON.parse(row.lines) as IntakeLine[], row.marketplaceStatus, as, listing.sku);
      await intakeStore.transition(tx, row.channelId, row.marketplaceOrderId, ['UNMAPPED'], {
        lines: JSON.stringify(lines),
        status,
        ...(status === 'UNMAPPED' ? {} : { message: null }),
        updatedAt: listing.updatedAt,
      });
    }
    await problemSignals.clear(tx, ['UNMAPPED_LISTING'], [subjectOf(listing.channelId, as)], () => ({
      sku: listing.sku,
      explanation: `Marketplace SKU ${as} now maps to ${listing.sku}`,
      evidence: [{ type: 'LISTING', id: `${listing.channelId}:${listing.sku}` }],
    }), listing.updatedAt);
  }

  /** @throws ConflictError when another SKU of the channel is listed as the listing's marketplace SKU (as its own, or as its SKU) */
  private async write(tx: EntityManager, listing: ListingEntity, exists: boolean): Promise<void> {
    // The unique index sees marketplace SKUs only: a listing naming none is listed as its SKU, which no other may name either.
    const as = listing.marketplaceSku ?? listing.sku;
    const other = (await listingStore.naming(tx, listing.channelId, [as])).find((l) => l.sku !== listing.sku);
    if (other) throw new ConflictError(`SKU ${other.sku} of this channel is listed as ${as} already`, { marketplaceSku: as, sku: other.sku });
    try {
      // Writers of the channel are serialised: the SKU's row is as read.
      if (exists) await listingStore.update(tx, listing);
      else await listingStore.insert(tx, listing);
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const holder = listing.marketplaceSku && (await listingStore.skuOf(tx, listing.channelId, listing.marketplaceSku));
      throw new ConflictError(`SKU ${holder ?? '(another)'} of this channel is listed as ${listing.marketplaceSku} already`, { marketplaceSku: listing.marketplaceSku, sku: holder || null });
    }
  }

  /**
   * Records what a change of the SKU's listing retires, in its transaction: the marketplace SKU it
   * was listed under when that changed (its new one was told nothing yet; a SKU no longer listed
   * waits for no push).
   */
  private async relisted(tx: EntityManager, sku: string, catalogue: Catalogue, before: ListingEntity | null, after: ListingEntity | null, at: Date): Promise<ListingChange> {
    const channelId = (after ?? before)!.channelId;
    const was = listedAs(sku, before, catalogue);
    const is = listedAs(sku, after, catalogue);
    const retiredSku = retiredMarketplaceSku(was, is);
    const retired = retiredSku === null ? [] : [Object.assign(new RetiredSkuEntity(), { channelId, marketplaceSku: retiredSku, sku, retiredAt: at })];
    if (is !== null) await listingStore.unretire(tx, channelId, is);
    if (retired.length) {
      await listingStore.retire(tx, retired);
      await marketplaceStore.forgetPushed(tx, channelId, [sku]);
    }
    if (is === null) await marketplaceStore.forgetUnlisted(tx, channelId, [sku]);
    return { listed: is !== null, retired };
  }

  /** A LISTED channel: what it was pushed of SKUs it does not list is retired, and they wait for no push. */
  private async retireUnlisted(tx: EntityManager, channelId: string, at: Date): Promise<void> {
    await listingStore.retireUnlisted(tx, channelId, at);
    await marketplaceStore.forgetUnlisted(tx, channelId);
  }

  /** After a listing change: the SKU pushed at once, and its retired marketplace SKU pushed 0. */
  private async pushed(connection: ResolvedConnection, sku: string, change: ListingChange): Promise<void> {
    if (change.listed) {
      await this.queues.forcePushes(connection, [sku]);
    }
    await this.pushRetired(connection, change.retired);
  }

  // The push path's reads and writes (jobs process).

  /**
   * Of these SKUs, those the channel lists, each with the marketplace SKU it is pushed under
   * (domain/listing-rules.ts listedAs); `known`: the channel's catalogue as its connection was last
   * read (the push path holds it), else read here.
   */
  async listedAs(channelId: string, skus: readonly string[], known?: Catalogue): Promise<Map<string, string>> {
    if (!skus.length) return new Map();
    const tx = this.ds.manager;
    const [listings, catalogue] = await Promise.all([listingStore.find(tx, channelId, skus), known ?? marketplaceStore.catalogueOf(tx, channelId)]);
    const bySku = new Map(listings.map((l) => [l.sku, l]));
    return new Map(skus.flatMap((sku) => {
      const as = listedAs(sku, bySku.get(sku), catalogue);
      return as === null ? [] : [[sku, as] as const];
    }));
  }

  /**
   * Our SKU each of these marketplace SKUs lists now, for those it is listed under: a retired one
   * listed again is to show that SKU, not 0. Under EVERY_SKU, one no listing names is our own SKU
   * (when inventory knows it).
   */
  async holdersOf(channelId: string, marketplaceSkus: readonly string[]): Promise<Map<string, string>> {
    if (!marketplaceSkus.length) return new Map();
    const tx = this.ds.manager;
    const [naming, catalogue] = await Promise.all([listingStore.naming(tx, channelId, marketplaceSkus), marketplaceStore.catalogueOf(tx, channelId)]);
    const named = new Map(naming.map((l) => [l.marketplaceSku ?? l.sku, l.sku]));
    if (catalogue === 'LISTED') return named;
    // Under EVERY_SKU a marketplace SKU no listing names is ours, unless a listing moved that SKU elsewhere.
    const moved = new Set((await listingStore.find(tx, channelId, marketplaceSkus.filter((m) => !named.has(m)))).map((l) => l.sku));
    return new Map(marketplaceSkus.flatMap((m) => (named.has(m) ? [[m, named.get(m)!] as const] : moved.has(m) ? [] : [[m, m] as const])));
  }

  /** The retired marketplace SKUs among these that still wait for their 0. */
  async retiredOf(channelId: string, marketplaceSkus: readonly string[]): Promise<RetiredSkuEntity[]> {
    return listingStore.retiredOf(this.ds.manager, channelId, marketplaceSkus);
  }

  /** Retires marketplace SKUs (a push landed under one the SKU's listing no longer names) and queues their 0. */
  async retire(connection: PushTarget, rows: readonly { marketplaceSku: string; sku: string }[]): Promise<void> {
    if (!rows.length) return;
    const at = new Date();
    const retired = rows.map((r) => Object.assign(new RetiredSkuEntity(), { channelId: connection.channelId, ...r, retiredAt: at }));
    await listingStore.retire(this.ds.manager, retired);
    await this.pushRetired(connection, retired);
  }

  /** Forgets retired marketplace SKUs once pushed 0 (unless retired again meanwhile). */
  forgetRetired(channelId: string, rows: readonly Pick<RetiredSkuEntity, 'marketplaceSku' | 'retiredAt'>[]): Promise<void> {
    return listingStore.forgetRetired(this.ds.manager, channelId, rows);
  }

  /**
   * Makes the channel's push state agree with what it lists, and queues a 0 for every marketplace
   * SKU it retired: resyncs and drift repair run it, so a retirement whose push a crash or Redis lost
   * still goes out. Under LISTED, what was pushed of SKUs it does not list is retired.
   * @returns how many retired marketplace SKUs were queued
   */
  async reconcileRetired(connection: PushTarget): Promise<number> {
    const { channelId } = connection;
    if ((await marketplaceStore.catalogueOf(this.ds.manager, channelId)) === 'LISTED') {
      await writeTransaction(this.ds, (tx) => this.retireUnlisted(tx, channelId, new Date()));
    }
    let queued = 0;
    for (let after: string | null = null; ; ) {
      const page = await listingStore.retiredPage(this.ds.manager, channelId, RETIRED_PAGE, after);
      await this.pushRetired(connection, page);
      queued += page.length;
      if (page.length < RETIRED_PAGE) return queued;
      after = page.at(-1)!.marketplaceSku;
    }
  }

  private pushRetired(connection: PushTarget, rows: readonly Pick<RetiredSkuEntity, 'marketplaceSku' | 'sku'>[]): Promise<void> {
    return this.queues.enqueuePushes(
      connection.kind,
      connection.accountId,
      rows.map((r) => ({ channelId: connection.channelId, sku: r.sku, marketplaceSku: r.marketplaceSku, seq: '', force: true, urgent: true, channelPriority: connection.channelPriority })),
    );
  }

  /** Inventory's reads with the listings' rules applied to available-to-sell, and the SKUs each channel lists. */
  shownStock(inventory: InventoryClient): ShownStock {
    const ds = this.ds;
    return {
      availableToSell: async (channelId, skus, meta) => this.shown(channelId, await inventory.availableToSell(channelId, skus, meta)),
      async *listedSkus(channelId, pageSize, meta) {
        // Decided once per walk: setting the connection (its catalogue) queues a resync of its own.
        if ((await marketplaceStore.catalogueOf(ds.manager, channelId)) === 'LISTED') {
          for (let after: string | null = null; ; ) {
            const skus = await listingStore.skuPage(ds.manager, channelId, pageSize, after);
            if (skus.length) yield skus;
            if (skus.length < pageSize) return;
            after = skus.at(-1)!;
          }
        }
        for (let after: string | null = null; ; ) {
          const page: { skus: string[]; next: string | null } = await inventory.skuPage(pageSize, after, meta());
          if (page.skus.length) yield page.skus;
          if (!page.next) return;
          after = page.next;
        }
      },
    };
  }

  /** What the channel is shown of each SKU's available-to-sell under its listing's rule, less what protection withholds. */
  async shown(channelId: string, available: ReadonlyMap<string, number>): Promise<Map<string, number>> {
    const rules = new Map((await listingStore.find(this.ds.manager, channelId, [...available.keys()])).map((l) => [l.sku, l]));
    const shown = new Map([...available].map(([sku, quantity]) => [sku, shownQuantity(quantity, rules.get(sku))]));
    return this.protection ? this.protection.apply(channelId, shown) : shown;
  }
}
