import { In, type EntityManager } from 'typeorm';
import { ListingEntity } from './listing.entity.js';

/** SQL for listings. Every method runs on the manager it is given. */
export const listingStore = {
  /**
   * Replaces the SKU's listing; false when it has none. Fails with ER_DUP_ENTRY when another SKU of
   * the channel has its marketplace SKU. (Not an upsert: MySQL's ON DUPLICATE KEY UPDATE would
   * overwrite that other SKU's row.)
   */
  async update(tx: EntityManager, listing: ListingEntity): Promise<boolean> {
    const { channelId, sku, ...fields } = listing;
    const result = await tx.update(ListingEntity, { channelId, sku }, fields);
    return (result.affected ?? 0) > 0;
  },

  /** Fails with ER_DUP_ENTRY when the SKU has a listing already, or another SKU has its marketplace SKU. */
  insert(tx: EntityManager, listing: ListingEntity): Promise<unknown> {
    return tx.insert(ListingEntity, listing);
  },

  /** The SKU of the channel listed as this marketplace SKU, if any. */
  async skuOf(tx: EntityManager, channelId: string, marketplaceSku: string): Promise<string | null> {
    return (await tx.findOne(ListingEntity, { where: { channelId, marketplaceSku } }))?.sku ?? null;
  },

  remove(tx: EntityManager, channelId: string, sku: string): Promise<{ affected?: number | null }> {
    return tx.delete(ListingEntity, { channelId, sku });
  },

  /** Our SKU → the marketplace's, for those of these SKUs listed under a marketplace SKU of their own. */
  async marketplaceSkus(tx: EntityManager, channelId: string, skus: readonly string[]): Promise<Map<string, string>> {
    const listed = await this.find(tx, channelId, skus);
    return new Map(listed.flatMap((l) => (l.marketplaceSku && l.marketplaceSku !== l.sku ? [[l.sku, l.marketplaceSku] as const] : [])));
  },

  find(tx: EntityManager, channelId: string, skus: readonly string[]): Promise<ListingEntity[]> {
    return skus.length ? tx.find(ListingEntity, { where: { channelId, sku: In([...skus]) } }) : Promise.resolve([]);
  },
};
