import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createOutboxTable } from '../../../../lib/outbox.js';

/**
 * The exceptions inbox: an exception per root cause (`group_key`), the subjects the modules
 * reported under it, the evidence they named, its history, and the webhooks told about it.
 * `open_key` holds the group key while the exception is unresolved and NULL after: the unique index
 * lets one unresolved exception exist per cause, and a recurrence after resolution open a new one.
 */
export class CreateExceptions1740000000000 implements MigrationInterface {
  name = 'CreateExceptions1740000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE exceptions (
        id CHAR(36) NOT NULL,
        kind VARCHAR(40) NOT NULL,
        group_key VARCHAR(400) NOT NULL,
        open_key VARCHAR(400) NULL,
        state VARCHAR(16) NOT NULL,
        severity VARCHAR(16) NOT NULL,
        cause VARCHAR(100) NOT NULL,
        explanation TEXT NOT NULL,
        sku VARCHAR(100) NULL,
        location_id VARCHAR(64) NULL,
        channel_id VARCHAR(64) NULL,
        open_subjects INT NOT NULL DEFAULT 0,
        total_subjects INT NOT NULL DEFAULT 0,
        units_at_risk INT NULL,
        value_at_risk DECIMAL(16,2) NULL,
        measure DOUBLE NULL,
        action TEXT NULL,
        team VARCHAR(100) NULL,
        acknowledged_by VARCHAR(200) NULL,
        acknowledged_at DATETIME(3) NULL,
        resolved_by VARCHAR(200) NULL,
        resolved_at DATETIME(3) NULL,
        resolution VARCHAR(20) NULL,
        note TEXT NULL,
        first_seen_at DATETIME(3) NOT NULL,
        last_seen_at DATETIME(3) NOT NULL,
        version INT NOT NULL DEFAULT 1,
        PRIMARY KEY (id),
        UNIQUE KEY ux_exceptions_open (open_key),
        KEY ix_exceptions_state (state, first_seen_at, id),
        KEY ix_exceptions_kind (kind, state),
        KEY ix_exceptions_channel (channel_id, state),
        KEY ix_exceptions_sku (sku, state)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await q.query(`
      CREATE TABLE exception_subjects (
        kind VARCHAR(40) NOT NULL,
        subject VARCHAR(200) NOT NULL,
        exception_id CHAR(36) NOT NULL,
        open TINYINT(1) NOT NULL,
        sku VARCHAR(100) NULL,
        location_id VARCHAR(64) NULL,
        units INT NULL,
        value DECIMAL(16,2) NULL,
        measure DOUBLE NULL,
        explanation TEXT NOT NULL,
        source VARCHAR(40) NOT NULL,
        seq BIGINT NOT NULL,
        raised_at DATETIME(3) NOT NULL,
        cleared_at DATETIME(3) NULL,
        PRIMARY KEY (kind, subject),
        KEY ix_subjects_exception (exception_id, open)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await q.query(`
      CREATE TABLE exception_evidence (
        exception_id CHAR(36) NOT NULL,
        type VARCHAR(24) NOT NULL,
        ref_id VARCHAR(200) NOT NULL,
        subject VARCHAR(200) NOT NULL,
        at DATETIME(3) NOT NULL,
        PRIMARY KEY (exception_id, type, ref_id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await q.query(`
      CREATE TABLE exception_events (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        exception_id CHAR(36) NOT NULL,
        event VARCHAR(24) NOT NULL,
        state VARCHAR(16) NOT NULL,
        severity VARCHAR(16) NOT NULL,
        actor VARCHAR(200) NULL,
        note TEXT NULL,
        at DATETIME(3) NOT NULL,
        PRIMARY KEY (id),
        KEY ix_events_exception (exception_id, id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await q.query(`
      CREATE TABLE exception_webhooks (
        id CHAR(36) NOT NULL,
        url VARCHAR(2000) NOT NULL,
        secret VARCHAR(200) NOT NULL,
        min_severity VARCHAR(16) NOT NULL,
        kinds TEXT NULL,
        created_by VARCHAR(200) NULL,
        created_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await createOutboxTable(q);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['outbox_events', 'exception_webhooks', 'exception_events', 'exception_evidence', 'exception_subjects', 'exceptions']) {
      await q.query(`DROP TABLE ${t}`);
    }
  }
}
