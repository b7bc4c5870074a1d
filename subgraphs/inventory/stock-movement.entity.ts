import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

export const MOVEMENT_TYPES = ['RECEIPT'] as const;
export type MovementType = (typeof MOVEMENT_TYPES)[number];

/** One line of the append-only stock ledger; `quantity` is the signed change of on-hand. */
@Entity({ name: 'stock_movements' })
@Index('ix_stock_movements_level', ['sku', 'locationId', 'createdAt'])
export class StockMovementEntity {
  @PrimaryColumn({ type: 'char', length: 36 })
  id!: string;

  @Index('ux_stock_movements_idempotency_key', { unique: true })
  @Column({ name: 'idempotency_key', type: 'varchar', length: 128 })
  idempotencyKey!: string;

  @Column({ type: 'varchar', length: 64 })
  sku!: string;

  @Column({ name: 'location_id', type: 'char', length: 36 })
  locationId!: string;

  @Column({ type: 'varchar', length: 32 })
  type!: MovementType;

  @Column({ type: 'int' })
  quantity!: number;

  @Column({ type: 'varchar', length: 500, nullable: true })
  reference!: string | null;

  @Column({ name: 'on_hand_before', type: 'int' })
  onHandBefore!: number;

  @Column({ name: 'on_hand_after', type: 'int' })
  onHandAfter!: number;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;
}
