import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { Transfer, TransferStatus } from '../domain/stock.js';

export type { TransferStatus };

/** Stock on its way between two locations: out of the source's on-hand, in the destination's incoming. */
@Entity({ name: 'transfers' })
export class TransferEntity implements Transfer {
  @PrimaryColumn({ type: 'char', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 64 })
  sku!: string;

  @Column({ name: 'from_location_id', type: 'char', length: 36 })
  fromLocationId!: string;

  @Column({ name: 'to_location_id', type: 'char', length: 36 })
  toLocationId!: string;

  @Column({ type: 'int' })
  quantity!: number;

  @Column({ name: 'received_quantity', type: 'int' })
  receivedQuantity!: number;

  @Column({ type: 'varchar', length: 16 })
  status!: TransferStatus;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}
