import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Reconciliation runs against ERP/WMS snapshots and the drift lines each found. */
export class Reconciliation1732000004000 implements MigrationInterface {
  name = 'Reconciliation1732000004000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE reconciliation_runs (
        id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        idempotency_key VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
        request_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        source VARCHAR(100) NOT NULL,
        tolerance INT NOT NULL,
        applied TINYINT(1) NOT NULL,
        lines_checked INT NOT NULL,
        drift_count INT NOT NULL,
        actor VARCHAR(128) NULL,
        created_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id),
        UNIQUE KEY ux_reconciliation_runs_key (idempotency_key),
        KEY ix_reconciliation_runs_source (source, created_at)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await q.query(`
      CREATE TABLE reconciliation_drifts (
        run_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        sku VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        location_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        theirs INT NOT NULL,
        ours INT NOT NULL,
        outcome VARCHAR(24) NOT NULL,
        movement_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,
        PRIMARY KEY (run_id, sku, location_id),
        CONSTRAINT fk_reconciliation_drifts_run FOREIGN KEY (run_id) REFERENCES reconciliation_runs (id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE reconciliation_drifts');
    await q.query('DROP TABLE reconciliation_runs');
  }
}
