import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { IntakeStatus, OversellCause, OversellResolution } from '../domain/intake-rules.js';

/** A marketplace order intake took in: what became of it, and for an oversell its measured cause. */
@Entity({ name: 'marketplace_orders' })
export class MarketplaceOrderEntity {
  @PrimaryColumn({ name: 'channel_id', type: 'char', length: 36 })
  channelId!: string;

  @PrimaryColumn({ name: 'marketplace_order_id', type: 'varchar', length: 64 })
  marketplaceOrderId!: string;

  @Column({ type: 'varchar', length: 16 })
  status!: IntakeStatus;

  /** OPEN or CANCELLED at the marketplace. */
  @Column({ name: 'marketplace_status', type: 'varchar', length: 16 })
  marketplaceStatus!: 'OPEN' | 'CANCELLED';

  /** The Omnistock order placed for it. */
  @Column({ name: 'order_id', type: 'char', length: 36, nullable: true })
  orderId!: string | null;

  /** JSON: [{ lineId, marketplaceSku, sku (null: unmapped), quantity }]. */
  @Column({ type: 'text' })
  lines!: string;

  @Column({ name: 'placed_at', type: 'datetime', precision: 3 })
  placedAt!: Date;

  @Column({ name: 'marketplace_updated_at', type: 'datetime', precision: 3 })
  marketplaceUpdatedAt!: Date;

  @Column({ name: 'received_at', type: 'datetime', precision: 3 })
  receivedAt!: Date;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;

  @Column({ name: 'oversold_units', type: 'int', nullable: true })
  oversoldUnits!: number | null;

  @Column({ type: 'varchar', length: 32, nullable: true })
  cause!: OversellCause | null;

  /** JSON: per short line, what our records said when the order was placed (domain/intake-rules.ts OversellEvidence). */
  @Column({ type: 'text', nullable: true })
  evidence!: string | null;

  @Column({ type: 'varchar', length: 1000, nullable: true })
  message!: string | null;

  /** What was done about an oversell under the channel's policy (null: recorded only). */
  @Column({ type: 'varchar', length: 32, nullable: true })
  resolution!: OversellResolution | null;

  /** BACKORDER: placements stock refused so far (the next one goes under a key of its own: backorderKey). */
  @Column({ name: 'backorder_attempts', type: 'int', default: 0 })
  backorderAttempts!: number;
}

@Entity({ name: 'marketplace_intake_cursors' })
export class IntakeCursorEntity {
  @PrimaryColumn({ name: 'channel_id', type: 'char', length: 36 })
  channelId!: string;

  @Column({ name: 'cursor_value', type: 'varchar', length: 2000 })
  cursor!: string;

  @Column({ name: 'polled_at', type: 'datetime', precision: 3 })
  polledAt!: Date;
}
