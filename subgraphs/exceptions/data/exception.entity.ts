import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { ExceptionKind, ExceptionState, Resolution, Severity } from '../domain/exception-rules.js';
import { decimalAsNumber } from '../../../lib/db.js';

/** An exception: one root cause, the subjects reported under it, and what people did about it. */
@Entity({ name: 'exceptions' })
export class ExceptionEntity {
  @PrimaryColumn({ type: 'char', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 40 })
  kind!: ExceptionKind;

  @Column({ name: 'group_key', type: 'varchar', length: 400 })
  groupKey!: string;

  @Column({ name: 'open_key', type: 'varchar', length: 400, nullable: true })
  openKey!: string | null;

  @Column({ type: 'varchar', length: 16 })
  state!: ExceptionState;

  @Column({ type: 'varchar', length: 16 })
  severity!: Severity;

  @Column({ type: 'varchar', length: 100 })
  cause!: string;

  @Column({ type: 'text' })
  explanation!: string;

  @Column({ type: 'varchar', length: 100, nullable: true })
  sku!: string | null;

  @Column({ name: 'location_id', type: 'varchar', length: 64, nullable: true })
  locationId!: string | null;

  @Column({ name: 'channel_id', type: 'varchar', length: 64, nullable: true })
  channelId!: string | null;

  @Column({ name: 'open_subjects', type: 'int' })
  openSubjects!: number;

  @Column({ name: 'total_subjects', type: 'int' })
  totalSubjects!: number;

  @Column({ name: 'units_at_risk', type: 'int', nullable: true })
  unitsAtRisk!: number | null;

  @Column({ name: 'value_at_risk', type: 'decimal', precision: 16, scale: 2, nullable: true, transformer: decimalAsNumber })
  valueAtRisk!: number | null;

  @Column({ type: 'double', nullable: true })
  measure!: number | null;

  /** The suggested action (contracts/events.ts ProblemAction) as JSON. */
  @Column({ type: 'text', nullable: true })
  action!: string | null;

  @Column({ type: 'varchar', length: 100, nullable: true })
  team!: string | null;

  @Column({ name: 'acknowledged_by', type: 'varchar', length: 200, nullable: true })
  acknowledgedBy!: string | null;

  @Column({ name: 'acknowledged_at', type: 'datetime', precision: 3, nullable: true })
  acknowledgedAt!: Date | null;

  @Column({ name: 'resolved_by', type: 'varchar', length: 200, nullable: true })
  resolvedBy!: string | null;

  @Column({ name: 'resolved_at', type: 'datetime', precision: 3, nullable: true })
  resolvedAt!: Date | null;

  @Column({ type: 'varchar', length: 20, nullable: true })
  resolution!: Resolution | null;

  /** The last note a person left. */
  @Column({ type: 'text', nullable: true })
  note!: string | null;

  @Column({ name: 'first_seen_at', type: 'datetime', precision: 3 })
  firstSeenAt!: Date;

  @Column({ name: 'last_seen_at', type: 'datetime', precision: 3 })
  lastSeenAt!: Date;

  @Column({ type: 'int' })
  version!: number;
}
