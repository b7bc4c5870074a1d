import type { DataSource } from 'typeorm';
import { isDuplicateKey } from '../../../lib/db.js';
import { ConflictError, NotFoundError, parseInput } from '../../../lib/errors.js';
import { idSchema, skuSchema } from '../../../lib/validation.js';
import { z } from 'zod';
import { ListingEntity } from '../data/listing.entity.js';
import { listingStore } from '../data/listing.store.js';
import { listedAdapter, listingInputSchema, shownQuantity, type ListingInput } from '../domain/listing-rules.js';
import type { MarketplaceAdapter } from '../connectors/types.js';
import type { MarketplaceService } from './marketplace.service.js';
import type { MarketplaceQueues } from './queues.js';
import type { InventoryClient } from '../../../contracts/inventory-client.js';
import type { ProtectionService } from './protection.service.js';

/**
 * What marketplace sync reads of inventory: the SKUs, and each channel's available-to-sell as the
 * channel is shown it (its listings' rules applied), so pushes, resyncs and drift repair agree.
 */
export type ShownStock = Pick<InventoryClient, 'availableToSell' | 'skuPage'>;

/** Most SKUs one listings read names. */
export const LISTINGS_PER_READ = 100;

const skusSchema = z.array(skuSchema).min(1).max(LISTINGS_PER_READ);

/**
 * Listings: per (channel, SKU) the marketplace's references and the rule of what the channel is
 * shown. A change of rule is pushed at once (the SKU is queued urgent, forced), since what the
 * marketplace shows may now be more than the rule allows.
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
   * Sets (or replaces) the listing of a SKU on a connected marketplace channel.
   * @throws BadUserInputError for invalid input
   * @throws NotFoundError for a channel without a marketplace connection
   * @throws ConflictError when another SKU of the channel has that marketplace SKU
   */
  async set(channelId: string, input: ListingInput): Promise<ListingEntity> {
    const id = parseInput(idSchema, channelId, 'channelId');
    const v = parseInput(listingInputSchema, input);
    const connection = (await this.marketplace.resolvedConnections()).find((c) => c.channelId === id);
    if (!connection) throw new NotFoundError('MarketplaceConnection', id);
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
    await this.write(listing);
    await this.push(connection, v.sku);
    return listing;
  }

  /** Update, else insert (a concurrent first set of the same SKU makes the insert a duplicate: then update). */
  private async write(listing: ListingEntity): Promise<void> {
    const tx = this.ds.manager;
    for (let attempt = 0; ; attempt++) {
      try {
        if (!(await listingStore.update(tx, listing))) await listingStore.insert(tx, listing);
        return;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        const holder = listing.marketplaceSku && (await listingStore.skuOf(tx, listing.channelId, listing.marketplaceSku));
        if (holder && holder !== listing.sku) {
          throw new ConflictError(`SKU ${holder} of this channel is listed as ${listing.marketplaceSku} already`, { marketplaceSku: listing.marketplaceSku, sku: holder });
        }
        if (attempt > 0) throw err;
      }
    }
  }

  /**
   * Removes a SKU's listing: the channel is shown all of its available-to-sell again.
   * @returns whether there was one
   */
  async remove(channelId: string, sku: string): Promise<boolean> {
    const id = parseInput(idSchema, channelId, 'channelId');
    const s = parseInput(skuSchema, sku, 'sku');
    const { affected } = await listingStore.remove(this.ds.manager, id, s);
    const connection = (await this.marketplace.resolvedConnections()).find((c) => c.channelId === id);
    if (affected && connection) await this.push(connection, s);
    return !!affected;
  }

  /** The listings of these SKUs on the channel (those without one are absent). */
  async of(channelId: string, skus: readonly string[]): Promise<ListingEntity[]> {
    return listingStore.find(this.ds.manager, channelId, parseInput(skusSchema, skus, 'skus'));
  }

  /** The channel's adapter pushing and reading back each SKU under its listing's marketplace SKU. */
  listedAdapter(channelId: string, adapter: MarketplaceAdapter): MarketplaceAdapter {
    return listedAdapter(adapter, (skus) => listingStore.marketplaceSkus(this.ds.manager, channelId, skus));
  }

  /** Inventory's reads with the listings' rules applied to available-to-sell. */
  shownStock(inventory: InventoryClient): ShownStock {
    return {
      availableToSell: async (channelId, skus, meta) => this.shown(channelId, await inventory.availableToSell(channelId, skus, meta)),
      skuPage: (first, after, meta) => inventory.skuPage(first, after, meta),
    };
  }

  /** What the channel is shown of each SKU's available-to-sell under its listing's rule, less what protection withholds. */
  async shown(channelId: string, available: ReadonlyMap<string, number>): Promise<Map<string, number>> {
    const rules = new Map((await listingStore.find(this.ds.manager, channelId, [...available.keys()])).map((l) => [l.sku, l]));
    const shown = new Map([...available].map(([sku, quantity]) => [sku, shownQuantity(quantity, rules.get(sku))]));
    return this.protection ? this.protection.apply(channelId, shown) : shown;
  }

  private push(connection: Awaited<ReturnType<MarketplaceService['resolvedConnections']>>[number], sku: string): Promise<void> {
    return this.queues.enqueuePushes(connection.kind, connection.accountId, [
      { channelId: connection.channelId, sku, seq: '', force: true, urgent: true, channelPriority: connection.channelPriority },
    ]);
  }
}
