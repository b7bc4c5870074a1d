import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import type { Protection } from '../../../contracts/protection.js';
import { bigintAsNumber } from '../../../lib/db.js';

export const CHANNEL_TYPES = ['WEB_STOREFRONT', 'MARKETPLACE', 'POS', 'CLIENTELING', 'B2B_EDI'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];
export const MARKETPLACE_KINDS = ['AMAZON', 'EBAY', 'WALMART', 'SHOPIFY'] as const;
export type MarketplaceKind = (typeof MARKETPLACE_KINDS)[number];
export const CHANNEL_STATUSES = ['ACTIVE', 'PAUSED', 'ARCHIVED'] as const;
export type ChannelStatus = (typeof CHANNEL_STATUSES)[number];
export const BUFFER_KINDS = ['UNITS', 'PERCENT'] as const;
export type BufferKind = (typeof BUFFER_KINDS)[number];

@Entity({ name: 'channels' })
export class ChannelEntity {
  @PrimaryColumn({ type: 'char', length: 36 })
  id!: string;

  @Index('ux_channels_code', { unique: true })
  @Column({ type: 'varchar', length: 64 })
  code!: string;

  @Column({ type: 'varchar', length: 200 })
  name!: string;

  @Column({ type: 'varchar', length: 32 })
  type!: ChannelType;

  @Column({ type: 'varchar', length: 32, nullable: true })
  marketplace!: MarketplaceKind | null;

  @Column({ type: 'varchar', length: 16 })
  status!: ChannelStatus;

  @Column({ type: 'int' })
  priority!: number;

  @Column({ name: 'buffer_kind', type: 'varchar', length: 16, nullable: true })
  bufferKind!: BufferKind | null;

  @Column({ name: 'buffer_value', type: 'int', nullable: true })
  bufferValue!: number | null;

  @Column({ type: 'int', nullable: true })
  cap!: number | null;

  @Column({ name: 'allow_split_shipments', type: 'boolean' })
  allowSplitShipments!: boolean;

  /** PROTECTIVE: inventory withholds, per SKU, the units likely sold elsewhere but not reported yet. */
  @Column({ type: 'varchar', length: 16 })
  protection!: Protection;

  /** Bumped by every write; orders the snapshots the channel emits. */
  @Column({ type: 'bigint', transformer: bigintAsNumber })
  version!: number;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}

/** A location feeding a channel. */
@Entity({ name: 'channel_sources' })
@Index('ix_channel_sources_location', ['locationId'])
export class ChannelSourceEntity {
  @PrimaryColumn({ name: 'channel_id', type: 'char', length: 36 })
  channelId!: string;

  @PrimaryColumn({ name: 'location_id', type: 'char', length: 36 })
  locationId!: string;

  @Column({ type: 'int' })
  priority!: number;

  /** Only hydrated by queries that join it (the channels of a location). */
  @ManyToOne(() => ChannelEntity)
  @JoinColumn({ name: 'channel_id' })
  channel?: ChannelEntity;
}
