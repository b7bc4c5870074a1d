import { Column, Entity, PrimaryColumn } from 'typeorm';

import type { ReservationLine, ReservationState, ReservationStatus } from '../domain/stock.js';

@Entity({ name: 'reservations' })
export class ReservationEntity implements ReservationState {
  @PrimaryColumn({ type: 'char', length: 36 })
  id!: string;

  @Column({ name: 'idempotency_key', type: 'varchar', length: 128 })
  idempotencyKey!: string;

  /** Whose key it is (reservation-rules.ts keyOwnerOf): keys are unique per client. */
  @Column({ name: 'key_owner', type: 'varchar', length: 128 })
  keyOwner!: string;

  @Column({ name: 'channel_id', type: 'char', length: 36 })
  channelId!: string;

  @Column({ type: 'varchar', length: 500, nullable: true })
  reference!: string | null;

  @Column({ name: 'pickup_location_id', type: 'char', length: 36, nullable: true })
  pickupLocationId!: string | null;

  @Column({ type: 'varchar', length: 16 })
  status!: ReservationStatus;

  @Column({ name: 'expires_at', type: 'datetime', precision: 3, nullable: true })
  expiresAt!: Date | null;

  /** Fingerprint of the request, so a key reused for another request is a CONFLICT, not a replay. */
  @Column({ name: 'request_hash', type: 'char', length: 64 })
  requestHash!: string;

  @Column({ type: 'varchar', length: 128, nullable: true })
  actor!: string | null;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}

@Entity({ name: 'reservation_lines' })
export class ReservationLineEntity implements ReservationLine {
  @PrimaryColumn({ name: 'reservation_id', type: 'char', length: 36 })
  reservationId!: string;

  @PrimaryColumn({ type: 'varchar', length: 64 })
  sku!: string;

  @PrimaryColumn({ name: 'location_id', type: 'char', length: 36 })
  locationId!: string;

  @Column({ type: 'int' })
  quantity!: number;

  @Column({ name: 'committed_quantity', type: 'int' })
  committedQuantity!: number;

  @Column({ name: 'released_quantity', type: 'int' })
  releasedQuantity!: number;

  /** Still holds stock: quantity - committed - released > 0 and not expired and released. */
  @Column({ type: 'boolean' })
  open!: boolean;

  @Column({ name: 'expires_at', type: 'datetime', precision: 3, nullable: true })
  expiresAt!: Date | null;
}
