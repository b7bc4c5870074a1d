import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

export const ORDER_STATUSES = ['PENDING', 'CONFIRMED', 'REJECTED', 'PARTIALLY_FULFILLED', 'FULFILLED', 'CANCELLED'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];
export const FULFILMENT_METHODS = ['SHIP', 'PICKUP'] as const;
export type FulfilmentMethod = (typeof FULFILMENT_METHODS)[number];

@Entity({ name: 'orders' })
@Index('ix_orders_channel_created', ['channelId', 'createdAt'])
@Index('ix_orders_status_created', ['status', 'createdAt'])
@Index('ix_orders_created', ['createdAt'])
export class OrderEntity {
  @PrimaryColumn({ type: 'char', length: 36 })
  id!: string;

  @Column({ name: 'channel_id', type: 'char', length: 36 })
  channelId!: string;

  @Column({ name: 'customer_reference', type: 'varchar', length: 128, nullable: true })
  customerReference!: string | null;

  @Column({ type: 'varchar', length: 32 })
  status!: OrderStatus;

  @Column({ name: 'fulfilment_method', type: 'varchar', length: 16 })
  fulfilmentMethod!: FulfilmentMethod;

  @Column({ name: 'destination_region', type: 'varchar', length: 100, nullable: true })
  destinationRegion!: string | null;

  @Column({ name: 'pickup_location_id', type: 'char', length: 36, nullable: true })
  pickupLocationId!: string | null;

  @Index('ux_orders_idempotency_key', { unique: true })
  @Column({ name: 'idempotency_key', type: 'varchar', length: 128, nullable: true })
  idempotencyKey!: string | null;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}

@Entity({ name: 'order_lines' })
@Index('ux_order_lines_number', ['orderId', 'lineNumber'], { unique: true })
@Index('ix_order_lines_sku', ['sku'])
export class OrderLineEntity {
  @PrimaryColumn({ type: 'char', length: 36 })
  id!: string;

  @Column({ name: 'order_id', type: 'char', length: 36 })
  orderId!: string;

  @Column({ name: 'line_number', type: 'int' })
  lineNumber!: number;

  @Column({ type: 'varchar', length: 64 })
  sku!: string;

  @Column({ type: 'int' })
  quantity!: number;

  @Column({ name: 'fulfilled_quantity', type: 'int', default: 0 })
  fulfilledQuantity!: number;

  @Column({ name: 'cancelled_quantity', type: 'int', default: 0 })
  cancelledQuantity!: number;

  @Column({ name: 'returned_quantity', type: 'int', default: 0 })
  returnedQuantity!: number;
}
