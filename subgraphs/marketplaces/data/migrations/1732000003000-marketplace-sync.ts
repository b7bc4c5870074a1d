import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Marketplace connections (no secrets: the name of the secret only), per (channel, SKU) push state,
 * dead letters and drift-repair runs. Event sequences are Redis stream ids in a fixed-width form
 * (lib/events.ts sortableStreamId) so they compare in SQL as text. Created by the channels
 * subgraph's migrations until marketplaces became a subgraph of its own (with no foreign key to
 * channels then: they live in another service's database).
 */
export class MarketplaceSync1732000003000 implements MigrationInterface {
  name = 'MarketplaceSync1732000003000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE marketplace_connections (
        channel_id CHAR(36) NOT NULL,
        kind VARCHAR(16) NOT NULL,
        account_id VARCHAR(128) NOT NULL,
        base_url VARCHAR(500) NOT NULL,
        secret_name VARCHAR(128) NOT NULL,
        settings TEXT NOT NULL,
        rate_policy TEXT NULL,
        throttle_count BIGINT NOT NULL DEFAULT 0,
        last_throttled_at DATETIME(3) NULL,
        created_at DATETIME(3) NOT NULL,
        updated_at DATETIME(3) NOT NULL,
        PRIMARY KEY (channel_id),
        KEY ix_marketplace_connections_account (kind, account_id)
      ) ENGINE=InnoDB`);
    await q.query(`
      CREATE TABLE marketplace_sync_state (
        channel_id CHAR(36) NOT NULL,
        sku VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        pending BOOLEAN NOT NULL,
        pending_since DATETIME(3) NULL,
        last_event_seq CHAR(26) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
        last_pushed_quantity INT NULL,
        last_pushed_at DATETIME(3) NULL,
        last_pushed_seq CHAR(26) CHARACTER SET ascii COLLATE ascii_bin NULL,
        last_lag_ms INT NULL,
        last_error VARCHAR(2000) NULL,
        last_error_at DATETIME(3) NULL,
        last_verified_at DATETIME(3) NULL,
        PRIMARY KEY (channel_id, sku),
        KEY ix_marketplace_sync_pending (channel_id, pending),
        KEY ix_marketplace_sync_pushed (channel_id, last_pushed_at),
        KEY ix_marketplace_sync_verified (channel_id, last_verified_at)
      ) ENGINE=InnoDB`);
    await q.query(`
      CREATE TABLE marketplace_dead_letters (
        id CHAR(36) NOT NULL,
        channel_id CHAR(36) NOT NULL,
        sku VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        quantity INT NOT NULL,
        message VARCHAR(2000) NOT NULL,
        code VARCHAR(128) NULL,
        attempts INT NOT NULL,
        created_at DATETIME(3) NOT NULL,
        replayed_at DATETIME(3) NULL,
        PRIMARY KEY (id),
        KEY ix_marketplace_dead_letters_open (channel_id, replayed_at, created_at)
      ) ENGINE=InnoDB`);
    await q.query(`
      CREATE TABLE marketplace_drift_runs (
        id CHAR(36) NOT NULL,
        channel_id CHAR(36) NOT NULL,
        started_at DATETIME(3) NOT NULL,
        finished_at DATETIME(3) NULL,
        checked INT NOT NULL DEFAULT 0,
        drifted INT NOT NULL DEFAULT 0,
        corrected INT NOT NULL DEFAULT 0,
        error VARCHAR(2000) NULL,
        PRIMARY KEY (id),
        KEY ix_marketplace_drift_runs_channel (channel_id, started_at)
      ) ENGINE=InnoDB`);
    await q.query(`
      CREATE TABLE marketplace_drift_lines (
        run_id CHAR(36) NOT NULL,
        sku VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        ours INT NOT NULL,
        theirs INT NULL,
        PRIMARY KEY (run_id, sku)
      ) ENGINE=InnoDB`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['marketplace_drift_lines', 'marketplace_drift_runs', 'marketplace_dead_letters', 'marketplace_sync_state', 'marketplace_connections']) {
      await q.query(`DROP TABLE ${table}`);
    }
  }
}
