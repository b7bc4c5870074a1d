import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import type { StockLevel } from '../domain/stock.js';

/** Quantities of one SKU at one location; every change bumps `version` for compare-and-set. */
@Entity({ name: 'stock_levels' })
@Index('ix_stock_levels_location', ['locationId', 'sku'])
export class StockLevelEntity implements StockLevel {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  sku!: string;

  @PrimaryColumn({ name: 'location_id', type: 'char', length: 36 })
  locationId!: string;

  @Column({ name: 'on_hand', type: 'int' })
  onHand!: number;

  @Column({ type: 'int' })
  reserved!: number;

  @Column({ name: 'safety_stock', type: 'int' })
  safetyStock!: number;

  @Column({ type: 'int' })
  incoming!: number;

  @Column({ type: 'int' })
  damaged!: number;

  @Column({ name: 'quality_control', type: 'int' })
  qualityControl!: number;

  @Column({ type: 'int' })
  version!: number;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;

  /** Not a column: read with the level by stockLevelStore.lock and findWithNextExpiry (see StockLevel). */
  nextExpiry?: Date | null;
}
