import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintAsNumber } from '../../lib/db.js';

/** How often one client's operation used one schema coordinate on one day (UTC). */
@Entity({ name: 'usage_records' })
export class UsageRecordEntity {
  @PrimaryColumn({ type: 'varchar', length: 500 })
  coordinate!: string;

  /** YYYY-MM-DD. */
  @PrimaryColumn({ type: 'date' })
  day!: string;

  @PrimaryColumn({ name: 'client_id', type: 'varchar', length: 128 })
  clientId!: string;

  /** sha256 of the operation document. */
  @PrimaryColumn({ name: 'operation_hash', type: 'char', length: 64 })
  operationHash!: string;

  @Column({ name: 'operation_name', type: 'varchar', length: 200 })
  operationName!: string;

  @Column({ type: 'bigint', transformer: bigintAsNumber })
  count!: number;

  @Column({ name: 'last_seen', type: 'datetime', precision: 3 })
  lastSeen!: Date;

  /** The registry environment of the gateway that recorded it (REGISTRY_ENVIRONMENT). */
  @PrimaryColumn({ type: 'varchar', length: 32, default: 'production' })
  environment!: string;

  /** Whether the operation's omitted arguments were recorded too (false: recorded before they were). */
  @Column({ name: 'omissions_recorded', type: 'boolean', default: false })
  omissionsRecorded!: boolean;
}
