import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintAsNumber } from '../../lib/db.js';

export type CheckKind = 'CHECK' | 'PUBLISH' | 'ROLLBACK' | 'REMOVE' | 'PROMOTE';

/** One check (on its own, or the one a publish or rollback ran), with its full result as JSON. */
@Entity({ name: 'check_runs' })
export class CheckRunEntity {
  @PrimaryColumn({ type: 'char', length: 36 })
  id!: string;

  /** The registry environment it checked against. */
  @Column({ type: 'varchar', length: 32 })
  environment!: string;

  @Column({ type: 'varchar', length: 64 })
  subgraph!: string;

  @Column({ type: 'varchar', length: 16 })
  kind!: CheckKind;

  @Column({ name: 'proposed_hash', type: 'char', length: 64 })
  proposedHash!: string;

  @Column({ name: 'base_supergraph_version', type: 'bigint', nullable: true, transformer: bigintAsNumber })
  baseSupergraphVersion!: number | null;

  @Column({ type: 'boolean' })
  ok!: boolean;

  /** The CheckResult as JSON. */
  @Column({ type: 'longtext' })
  result!: string;

  @Column({ type: 'varchar', length: 200 })
  actor!: string;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;
}

/** A breaking change a check found, by fingerprint, so that an approval can name it. */
@Entity({ name: 'check_changes' })
export class CheckChangeEntity {
  @PrimaryColumn({ name: 'check_run_id', type: 'char', length: 36 })
  checkRunId!: string;

  @PrimaryColumn({ type: 'char', length: 16 })
  fingerprint!: string;

  @Column({ type: 'varchar', length: 64 })
  subgraph!: string;

  @Column({ type: 'varchar', length: 64 })
  type!: string;

  @Column({ type: 'varchar', length: 500, nullable: true })
  coordinate!: string | null;

  @Column({ type: 'text' })
  message!: string;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;
}

/** An approved breaking change; it stays in force until a publish ships the change. */
@Entity({ name: 'approvals' })
export class ApprovalEntity {
  @PrimaryColumn({ type: 'bigint', generated: 'increment', transformer: bigintAsNumber })
  id!: number;

  /** The registry environment it lets the change through in. */
  @Column({ type: 'varchar', length: 32 })
  environment!: string;

  @Column({ type: 'char', length: 16 })
  fingerprint!: string;

  @Column({ type: 'varchar', length: 64 })
  subgraph!: string;

  @Column({ type: 'varchar', length: 64 })
  type!: string;

  @Column({ type: 'varchar', length: 500, nullable: true })
  coordinate!: string | null;

  @Column({ type: 'text' })
  message!: string;

  @Column({ name: 'approved_by', type: 'varchar', length: 200 })
  approvedBy!: string;

  @Column({ type: 'varchar', length: 500, nullable: true })
  reason!: string | null;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;

  /** The supergraph version that shipped the change; null while the approval is pending. */
  @Column({ name: 'shipped_supergraph_version', type: 'bigint', nullable: true, transformer: bigintAsNumber })
  shippedSupergraphVersion!: number | null;
}
