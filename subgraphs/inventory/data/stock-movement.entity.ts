import { randomUUID } from 'node:crypto';
import { Column, Entity, PrimaryColumn } from 'typeorm';
import { ADJUSTMENT_REASONS, MOVEMENT_TYPES, type AdjustmentReason, type MovementType } from '../domain/stock.js';

export { ADJUSTMENT_REASONS, MOVEMENT_TYPES, type AdjustmentReason, type MovementType };

/** One line of the append-only stock ledger; `quantity` is the signed change of on-hand. */
@Entity({ name: 'stock_movements' })
export class StockMovementEntity {
  @PrimaryColumn({ type: 'char', length: 36 })
  id!: string;

  /** Ledger position, assigned by the database on insert. */
  @Column({ type: 'bigint', insert: false, update: false })
  seq!: string;

  @Column({ name: 'idempotency_key', type: 'varchar', length: 128 })
  idempotencyKey!: string;

  @Column({ type: 'varchar', length: 64 })
  sku!: string;

  @Column({ name: 'location_id', type: 'char', length: 36 })
  locationId!: string;

  @Column({ type: 'varchar', length: 32 })
  type!: MovementType;

  @Column({ type: 'varchar', length: 32, nullable: true })
  reason!: AdjustmentReason | null;

  @Column({ type: 'int' })
  quantity!: number;

  @Column({ type: 'varchar', length: 500, nullable: true })
  reference!: string | null;

  @Column({ name: 'on_hand_before', type: 'int' })
  onHandBefore!: number;

  @Column({ name: 'on_hand_after', type: 'int' })
  onHandAfter!: number;

  @Column({ name: 'damaged_change', type: 'int' })
  damagedChange!: number;

  @Column({ name: 'incoming_change', type: 'int' })
  incomingChange!: number;

  @Column({ name: 'version_after', type: 'int' })
  versionAfter!: number;

  @Column({ type: 'varchar', length: 128, nullable: true })
  actor!: string | null;

  @Column({ name: 'correlation_id', type: 'varchar', length: 128, nullable: true })
  correlationId!: string | null;

  @Column({ name: 'transfer_id', type: 'char', length: 36, nullable: true })
  transferId!: string | null;

  @Column({ name: 'reservation_id', type: 'char', length: 36, nullable: true })
  reservationId!: string | null;

  /** Fingerprint of the request, so a reused idempotency key with another request is a CONFLICT. */
  @Column({ name: 'request_hash', type: 'char', length: 64, nullable: true })
  requestHash!: string | null;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;

  /** When it happened where it happened (a POS sale's time), when the caller said; else null (it happened when recorded). */
  @Column({ name: 'occurred_at', type: 'datetime', precision: 3, nullable: true })
  occurredAt!: Date | null;
}

type Required = 'idempotencyKey' | 'sku' | 'locationId' | 'type' | 'quantity' | 'onHandBefore' | 'onHandAfter' | 'versionAfter' | 'createdAt';

/** A new ledger line: what every movement states, with the optional columns empty unless given. */
export function ledgerLine(fields: Pick<StockMovementEntity, Required> & Partial<Omit<StockMovementEntity, Required | 'id' | 'seq'>>): StockMovementEntity {
  return Object.assign(new StockMovementEntity(), {
    id: randomUUID(),
    reason: null,
    reference: null,
    damagedChange: 0,
    incomingChange: 0,
    actor: null,
    correlationId: null,
    transferId: null,
    reservationId: null,
    requestHash: null,
    occurredAt: null,
    ...fields,
  });
}
