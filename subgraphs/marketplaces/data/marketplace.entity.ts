import type { Protection } from '../../../contracts/protection.js';
import type { Catalogue } from '../domain/listing-rules.js';
import type { OversellPolicy } from '../domain/intake-rules.js';
import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintAsNumber } from '../../../lib/db.js';
import type { MarketplaceKind } from '../connectors/types.js';

/** How a marketplace channel reaches its marketplace account. Credentials live in the named secret only. */
@Entity({ name: 'marketplace_connections' })
export class MarketplaceConnectionEntity {
  @PrimaryColumn({ name: 'channel_id', type: 'char', length: 36 })
  channelId!: string;

  @Column({ type: 'varchar', length: 16 })
  kind!: MarketplaceKind;

  @Column({ name: 'account_id', type: 'varchar', length: 128 })
  accountId!: string;

  @Column({ name: 'base_url', type: 'varchar', length: 500 })
  baseUrl!: string;

  @Column({ name: 'secret_name', type: 'varchar', length: 128 })
  secretName!: string;

  /** JSON object of the marketplace's non-secret settings. */
  @Column({ type: 'text' })
  settings!: string;

  /** JSON RatePolicy overriding the marketplace's documented limits; null = the defaults. */
  @Column({ name: 'rate_policy', type: 'text', nullable: true })
  ratePolicy!: string | null;

  /** OFF or PROTECTIVE (contracts/protection.ts). */
  @Column({ type: 'varchar', length: 16 })
  protection!: Protection;

  /** EVERY_SKU or LISTED: what the channel is pushed (domain/listing-rules.ts Catalogue). */
  @Column({ type: 'varchar', length: 16 })
  catalogue!: Catalogue;

  /** RECORD, CANCEL, BACKORDER or REALLOCATE (domain/intake-rules.ts). */
  @Column({ name: 'oversell_policy', type: 'varchar', length: 16 })
  oversellPolicy!: OversellPolicy;

  @Column({ name: 'throttle_count', type: 'bigint', transformer: bigintAsNumber })
  throttleCount!: number;

  @Column({ name: 'last_throttled_at', type: 'datetime', precision: 3, nullable: true })
  lastThrottledAt!: Date | null;

  /** Why pushes cannot go out, as the jobs process last found it (SECRET_MISSING, SECRET_UNREADABLE); null while healthy. */
  @Column({ name: 'problem_code', type: 'varchar', length: 32, nullable: true })
  problemCode!: string | null;

  @Column({ name: 'problem_message', type: 'varchar', length: 500, nullable: true })
  problemMessage!: string | null;

  /** When the current problem was first found. */
  @Column({ name: 'problem_since', type: 'datetime', precision: 3, nullable: true })
  problemSince!: Date | null;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}

/** What the marketplace was last told about one SKU of one channel, and whether a newer change waits. */
@Entity({ name: 'marketplace_sync_state' })
export class SyncStateEntity {
  @PrimaryColumn({ name: 'channel_id', type: 'char', length: 36 })
  channelId!: string;

  @PrimaryColumn({ type: 'varchar', length: 64 })
  sku!: string;

  @Column({ type: 'boolean' })
  pending!: boolean;

  @Column({ name: 'pending_since', type: 'datetime', precision: 3, nullable: true })
  pendingSince!: Date | null;

  /** sortableStreamId of the last stock event seen for the SKU at a source of the channel; '' for none. */
  @Column({ name: 'last_event_seq', type: 'char', length: 26 })
  lastEventSeq!: string;

  @Column({ name: 'last_pushed_quantity', type: 'int', nullable: true })
  lastPushedQuantity!: number | null;

  @Column({ name: 'last_pushed_at', type: 'datetime', precision: 3, nullable: true })
  lastPushedAt!: Date | null;

  /** The last event the pushed quantity includes. */
  @Column({ name: 'last_pushed_seq', type: 'char', length: 26, nullable: true })
  lastPushedSeq!: string | null;

  @Column({ name: 'last_lag_ms', type: 'int', nullable: true })
  lastLagMs!: number | null;

  @Column({ name: 'last_error', type: 'varchar', length: 2000, nullable: true })
  lastError!: string | null;

  @Column({ name: 'last_error_at', type: 'datetime', precision: 3, nullable: true })
  lastErrorAt!: Date | null;

  @Column({ name: 'last_verified_at', type: 'datetime', precision: 3, nullable: true })
  lastVerifiedAt!: Date | null;
}

/** A push the marketplace refused in a way retrying cannot fix; replayable once the cause is fixed. */
@Entity({ name: 'marketplace_dead_letters' })
export class DeadLetterEntity {
  @PrimaryColumn({ type: 'char', length: 36 })
  id!: string;

  @Column({ name: 'channel_id', type: 'char', length: 36 })
  channelId!: string;

  @Column({ type: 'varchar', length: 64 })
  sku!: string;

  @Column({ type: 'int' })
  quantity!: number;

  @Column({ type: 'varchar', length: 2000 })
  message!: string;

  @Column({ type: 'varchar', length: 128, nullable: true })
  code!: string | null;

  @Column({ type: 'int' })
  attempts!: number;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;

  @Column({ name: 'replayed_at', type: 'datetime', precision: 3, nullable: true })
  replayedAt!: Date | null;
}

@Entity({ name: 'marketplace_drift_runs' })
export class DriftRunEntity {
  @PrimaryColumn({ type: 'char', length: 36 })
  id!: string;

  @Column({ name: 'channel_id', type: 'char', length: 36 })
  channelId!: string;

  @Column({ name: 'started_at', type: 'datetime', precision: 3 })
  startedAt!: Date;

  @Column({ name: 'finished_at', type: 'datetime', precision: 3, nullable: true })
  finishedAt!: Date | null;

  @Column({ type: 'int' })
  checked!: number;

  @Column({ type: 'int' })
  drifted!: number;

  @Column({ type: 'int' })
  corrected!: number;

  @Column({ type: 'varchar', length: 2000, nullable: true })
  error!: string | null;
}

/** A SKU whose marketplace quantity differed from our available-to-sell by more than the tolerance. */
@Entity({ name: 'marketplace_drift_lines' })
export class DriftLineEntity {
  @PrimaryColumn({ name: 'run_id', type: 'char', length: 36 })
  runId!: string;

  @PrimaryColumn({ type: 'varchar', length: 64 })
  sku!: string;

  @Column({ type: 'int' })
  ours!: number;

  /** Null: the marketplace does not list the SKU. */
  @Column({ type: 'int', nullable: true })
  theirs!: number | null;
}

export const MARKETPLACE_ENTITIES = [MarketplaceConnectionEntity, SyncStateEntity, DeadLetterEntity, DriftRunEntity, DriftLineEntity];
