import { Column, Entity, PrimaryColumn } from 'typeorm';

export const ITEM_STATUSES = ['ACTIVE', 'DISCONTINUED'] as const;
export type ItemStatus = (typeof ITEM_STATUSES)[number];

@Entity({ name: 'inventory_items' })
export class InventoryItemEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  sku!: string;

  @Column({ type: 'varchar', length: 200 })
  name!: string;

  @Column({ type: 'varchar', length: 2000, nullable: true })
  description!: string | null;

  @Column({ type: 'varchar', length: 14, nullable: true })
  barcode!: string | null;

  @Column({ type: 'varchar', length: 16 })
  status!: ItemStatus;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}
