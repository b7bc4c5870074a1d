import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import type { FulfilmentMethod, OperationKind, OperationState, OrderSourcing, OrderStatus } from '../domain/order-vocabulary.js';


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

  /** What its reservation is for (a live buyer, or a sale already made); every retry reserves so. */
  @Column({ type: 'varchar', length: 24 })
  sourcing!: OrderSourcing;

  @Index('ux_orders_idempotency_key', { unique: true })
  @Column({ name: 'idempotency_key', type: 'varchar', length: 128, nullable: true })
  idempotencyKey!: string | null;

  /** Fingerprint of the placeOrder request, so a key reused for another request is a CONFLICT, not a replay. */
  @Column({ name: 'request_hash', type: 'char', length: 64, nullable: true })
  requestHash!: string | null;

  /** Inventory's reservation holding the order's stock; set when the order is confirmed. */
  @Column({ name: 'reservation_id', type: 'char', length: 36, nullable: true })
  reservationId!: string | null;

  /** The time to live asked for at placement, so every retry of the reservation is the same request. */
  @Column({ name: 'reservation_ttl_seconds', type: 'int', nullable: true })
  reservationTtlSeconds!: number | null;

  /** When inventory made the reservation permanent (extendReservation with no time to live). */
  @Column({ name: 'reservation_held_at', type: 'datetime', precision: 3, nullable: true })
  reservationHeldAt!: Date | null;

  /** JSON of a REJECTED order's Rejection (see order-rules.ts). */
  @Column({ type: 'text', nullable: true })
  rejection!: string | null;

  /** When the sweeper raised the order as a STUCK_ORDER problem; null when it is not raised (never, or cleared since). */
  @Column({ name: 'stuck_raised_at', type: 'datetime', precision: 3, nullable: true })
  stuckRaisedAt!: Date | null;

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

@Entity({ name: 'order_status_history' })
export class OrderStatusChangeEntity {
  /** BIGINT AUTO_INCREMENT, read as a string (mysql2's bigNumberStrings); orders the history. */
  @PrimaryColumn({ type: 'bigint' })
  id!: string;

  @Column({ name: 'order_id', type: 'char', length: 36 })
  orderId!: string;

  @Column({ type: 'varchar', length: 32 })
  status!: OrderStatus;

  @Column({ type: 'varchar', length: 128, nullable: true })
  actor!: string | null;

  @Column({ type: 'varchar', length: 500, nullable: true })
  reason!: string | null;

  /** The lifecycle step that made the change, when one did (undoing the step removes the row). */
  @Column({ name: 'operation_id', type: 'char', length: 36, nullable: true })
  operationId!: string | null;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;
}


/**
 * One lifecycle step of an order (a shipment, the cancellation, a return) under the caller's
 * idempotency key. Recorded with its line changes before inventory is told; PENDING until
 * inventory has applied it, so a crash in between is finished by a retry or the sweeper.
 */
@Entity({ name: 'order_operations' })
export class OrderOperationEntity {
  @PrimaryColumn({ type: 'char', length: 36 })
  id!: string;

  @Column({ name: 'order_id', type: 'char', length: 36 })
  orderId!: string;

  @Column({ name: 'idempotency_key', type: 'varchar', length: 128 })
  idempotencyKey!: string;

  @Column({ type: 'varchar', length: 16 })
  kind!: OperationKind;

  @Column({ name: 'request_hash', type: 'char', length: 64 })
  requestHash!: string;

  /** JSON of the step's OperationPayload (see order-rules.ts). */
  @Column({ type: 'text' })
  payload!: string;

  @Column({ type: 'varchar', length: 16 })
  state!: OperationState;

  @Column({ type: 'varchar', length: 128, nullable: true })
  actor!: string | null;

  @Column({ type: 'int', default: 0 })
  attempts!: number;

  @Column({ name: 'last_error', type: 'varchar', length: 500, nullable: true })
  lastError!: string | null;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;

  @Column({ name: 'completed_at', type: 'datetime', precision: 3, nullable: true })
  completedAt!: Date | null;
}
