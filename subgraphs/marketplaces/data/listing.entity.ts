import { decimalAsNumber } from '../../../lib/db.js';
import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { ListingRule } from '../domain/listing-rules.js';

/** One SKU on one marketplace channel: the marketplace's references to it and the rule of what it is shown. */
@Entity({ name: 'marketplace_listings' })
export class ListingEntity implements ListingRule {
  @PrimaryColumn({ name: 'channel_id', type: 'char', length: 36 })
  channelId!: string;

  @PrimaryColumn({ type: 'varchar', length: 64 })
  sku!: string;

  /** The marketplace's SKU (Amazon seller SKU, eBay SKU, ...), unique per channel; null: the same as ours. */
  @Column({ name: 'marketplace_sku', type: 'varchar', length: 128, nullable: true })
  marketplaceSku!: string | null;

  /** The marketplace's listing or item id (ASIN, eBay item id, Walmart item id, Shopify variant gid). */
  @Column({ name: 'listing_id', type: 'varchar', length: 128, nullable: true })
  listingId!: string | null;

  @Column({ name: 'max_shown', type: 'int', nullable: true })
  maxShown!: number | null;

  @Column({ type: 'decimal', precision: 5, scale: 4, nullable: true, transformer: decimalAsNumber })
  share!: number | null;

  @Column({ name: 'show_zero_below', type: 'int', nullable: true })
  showZeroBelow!: number | null;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}

/**
 * A marketplace SKU the channel no longer lists (its listing named another, or went), still holding
 * the last quantity we pushed there: pushed 0, then forgotten. Written in the transaction that
 * changes the listing, so a crash or a Redis that loses the queued push loses nothing: resyncs and
 * drift repair push what is left here.
 */
@Entity({ name: 'marketplace_retired_skus' })
export class RetiredSkuEntity {
  @PrimaryColumn({ name: 'channel_id', type: 'char', length: 36 })
  channelId!: string;

  @PrimaryColumn({ name: 'marketplace_sku', type: 'varchar', length: 128 })
  marketplaceSku!: string;

  /** Our SKU it was listed for. */
  @Column({ type: 'varchar', length: 64 })
  sku!: string;

  /** When it was (last) retired: forgetting it after its push is conditional on this, so a newer retirement is not lost. */
  @Column({ name: 'retired_at', type: 'datetime', precision: 3 })
  retiredAt!: Date;
}
