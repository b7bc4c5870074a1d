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

  @Column({ type: 'decimal', precision: 5, scale: 4, nullable: true, transformer: { to: (v: number | null) => v, from: (v: string | null) => (v === null ? null : Number(v)) } })
  share!: number | null;

  @Column({ name: 'show_zero_below', type: 'int', nullable: true })
  showZeroBelow!: number | null;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}
