import { In, type EntityManager } from 'typeorm';
import { ListingEntity, RetiredSkuEntity } from './listing.entity.js';

/** Our SKUs' shape (lib/validation.ts skuSchema): only such a marketplace SKU can be one of ours. */
const OUR_SKU = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** SQL for listings and retired marketplace SKUs. Every method runs on the manager it is given. */
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

  find(tx: EntityManager, channelId: string, skus: readonly string[]): Promise<ListingEntity[]> {
    return skus.length ? tx.find(ListingEntity, { where: { channelId, sku: In([...skus]) } }) : Promise.resolve([]);
  },

  /** The channel's listed SKUs after `afterSku`, in order. */
  async skuPage(tx: EntityManager, channelId: string, limit: number, afterSku: string | null): Promise<string[]> {
    const rows: { sku: string }[] = await tx.query(
      `SELECT sku FROM marketplace_listings WHERE channel_id = ? ${afterSku === null ? '' : 'AND sku > ?'} ORDER BY sku LIMIT ?`,
      afterSku === null ? [channelId, limit] : [channelId, afterSku, limit],
    );
    return rows.map((r) => r.sku);
  },

  /** The listings naming one of these marketplace SKUs: as their marketplace SKU, or as their SKU without one. */
  async naming(tx: EntityManager, channelId: string, marketplaceSkus: readonly string[]): Promise<ListingEntity[]> {
    if (!marketplaceSkus.length) return [];
    const ours = marketplaceSkus.filter((s) => OUR_SKU.test(s));
    return tx
      .createQueryBuilder(ListingEntity, 'l')
      .where('l.channel_id = :channelId', { channelId })
      .andWhere(ours.length ? '(l.marketplace_sku IN (:...theirs) OR (l.marketplace_sku IS NULL AND l.sku IN (:...ours)))' : 'l.marketplace_sku IN (:...theirs)', {
        theirs: [...marketplaceSkus],
        ours,
      })
      .getMany();
  },

  /** Records marketplace SKUs as retired (again: a newer `retiredAt` replaces the older one). */
  retire(tx: EntityManager, rows: readonly RetiredSkuEntity[]): Promise<unknown> {
    if (!rows.length) return Promise.resolve();
    return tx.query(
      `INSERT INTO marketplace_retired_skus (channel_id, marketplace_sku, sku, retired_at)
       VALUES ${rows.map(() => '(?, ?, ?, ?)').join(',')}
       ON DUPLICATE KEY UPDATE sku = VALUES(sku), retired_at = VALUES(retired_at)`,
      rows.flatMap((r) => [r.channelId, r.marketplaceSku, r.sku, r.retiredAt]),
    );
  },

  /**
   * Retires, under our own SKU, every SKU the channel was pushed (a quantity above 0 last recorded)
   * that it has no listing for: what a channel that lists its listings only was told of the others
   * while it listed every SKU under ours.
   */
  retireUnlisted(tx: EntityManager, channelId: string, at: Date): Promise<unknown> {
    return tx.query(
      `INSERT INTO marketplace_retired_skus (channel_id, marketplace_sku, sku, retired_at)
       SELECT s.channel_id, s.sku, s.sku, ? FROM marketplace_sync_state s
       WHERE s.channel_id = ? AND s.last_pushed_quantity > 0
         AND NOT EXISTS (SELECT 1 FROM marketplace_listings l WHERE l.channel_id = s.channel_id AND l.sku = s.sku)
       ON DUPLICATE KEY UPDATE sku = VALUES(sku), retired_at = VALUES(retired_at)`,
      [at, channelId],
    );
  },

  /** A marketplace SKU listed again is no longer retired. */
  unretire(tx: EntityManager, channelId: string, marketplaceSku: string): Promise<unknown> {
    return tx.delete(RetiredSkuEntity, { channelId, marketplaceSku });
  },

  retiredOf(tx: EntityManager, channelId: string, marketplaceSkus: readonly string[]): Promise<RetiredSkuEntity[]> {
    if (!marketplaceSkus.length) return Promise.resolve([]);
    return tx.find(RetiredSkuEntity, { where: { channelId, marketplaceSku: In([...marketplaceSkus]) } });
  },

  /** The channel's retired marketplace SKUs after `after`, in order. */
  retiredPage(tx: EntityManager, channelId: string, limit: number, after: string | null): Promise<RetiredSkuEntity[]> {
    const qb = tx.createQueryBuilder(RetiredSkuEntity, 'r').where('r.channel_id = :channelId', { channelId });
    if (after !== null) qb.andWhere('r.marketplace_sku > :after', { after });
    return qb.orderBy('r.marketplace_sku', 'ASC').limit(limit).getMany();
  },

  /** Forgets retired marketplace SKUs pushed 0, each only if not retired again since (`retiredAt` unchanged). */
  async forgetRetired(tx: EntityManager, channelId: string, rows: readonly Pick<RetiredSkuEntity, 'marketplaceSku' | 'retiredAt'>[]): Promise<void> {
    for (const r of rows) {
      await tx.query('DELETE FROM marketplace_retired_skus WHERE channel_id = ? AND marketplace_sku = ? AND retired_at = ?', [channelId, r.marketplaceSku, r.retiredAt]);
    }
  },
};
