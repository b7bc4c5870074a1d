import { Column, Entity, PrimaryColumn } from 'typeorm';

export type DriftOutcome = 'REPORTED' | 'CORRECTED' | 'CONFLICT' | 'UNKNOWN_ITEM' | 'UNKNOWN_LOCATION';

@Entity({ name: 'reconciliation_runs' })
export class ReconciliationRunEntity {
  @PrimaryColumn({ type: 'char', length: 36 })
  id!: string;

  @Column({ name: 'idempotency_key', type: 'varchar', length: 128 })
  idempotencyKey!: string;

  /** Fingerprint of the snapshot, so a key reused for another snapshot is a CONFLICT, not a replay. */
  @Column({ name: 'request_hash', type: 'char', length: 64 })
  requestHash!: string;

  @Column({ type: 'varchar', length: 100 })
  source!: string;

  @Column({ type: 'int' })
  tolerance!: number;

  @Column({ type: 'boolean' })
  applied!: boolean;

  @Column({ name: 'lines_checked', type: 'int' })
  linesChecked!: number;

  @Column({ name: 'drift_count', type: 'int' })
  driftCount!: number;

  @Column({ type: 'varchar', length: 128, nullable: true })
  actor!: string | null;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;
}

@Entity({ name: 'reconciliation_drifts' })
export class DriftLineEntity {
  @PrimaryColumn({ name: 'run_id', type: 'char', length: 36 })
  runId!: string;

  @PrimaryColumn({ type: 'varchar', length: 64 })
  sku!: string;

  @PrimaryColumn({ name: 'location_id', type: 'char', length: 36 })
  locationId!: string;

  /** On-hand in the snapshot. */
  @Column({ type: 'int' })
  theirs!: number;

  /** Our on-hand when the snapshot was compared. */
  @Column({ type: 'int' })
  ours!: number;

  @Column({ type: 'varchar', length: 24 })
  outcome!: DriftOutcome;

  @Column({ name: 'movement_id', type: 'char', length: 36, nullable: true })
  movementId!: string | null;
}
