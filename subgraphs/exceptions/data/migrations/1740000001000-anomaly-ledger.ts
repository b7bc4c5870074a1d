import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What anomaly detection reads: the movement ledger summed per SKU, location and day
 * (`ledger_daily`, fed by the `stock` events), the channels' daily sync figures (`problem_daily`),
 * promotions announced in advance and findings people dismissed. `ledger_applied_events` holds the
 * (source, seq) of every stock event summed in, so a redelivered event is not counted twice.
 *
 * Days are INT days since 1970-01-01 UTC, as the rules count them. SKUs, location and channel ids
 * are ASCII with binary collation, as in inventory: narrow keys that compare as JavaScript does.
 */
export class AnomalyLedger1740000001000 implements MigrationInterface {
  name = 'AnomalyLedger1740000001000';

  async up(q: QueryRunner): Promise<void> {
    // on_hand_version: the stock level's version that set on_hand_end; a day's events may arrive out of order.
    await q.query(`
      CREATE TABLE ledger_daily (
        sku VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        location_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        day INT NOT NULL,
        sold INT NOT NULL DEFAULT 0,
        shrink INT NOT NULL DEFAULT 0,
        corrections INT NOT NULL DEFAULT 0,
        correction_units INT NOT NULL DEFAULT 0,
        received INT NOT NULL DEFAULT 0,
        movements INT NOT NULL DEFAULT 0,
        on_hand_end INT NULL,
        on_hand_version BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (sku, location_id, day)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    // ix_ledger_applied_day: pruning what is older than any redelivery.
    await q.query(`
      CREATE TABLE ledger_applied_events (
        source VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        seq BIGINT NOT NULL,
        day INT NOT NULL,
        PRIMARY KEY (source, seq),
        KEY ix_ledger_applied_day (day)
      ) ENGINE=InnoDB`);
    // value: the day's longest lag (seconds) for SYNC_LAG_TREND, the day's drift lines for DRIFT_TREND.
    await q.query(`
      CREATE TABLE problem_daily (
        kind VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        channel_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        day INT NOT NULL,
        value DOUBLE NOT NULL,
        PRIMARY KEY (kind, channel_id, day),
        KEY ix_problem_daily_day (day)
      ) ENGINE=InnoDB`);
    // ix_anomaly_announcements_to: the announcements a window overlaps (those ending in or after it).
    await q.query(`
      CREATE TABLE anomaly_announcements (
        id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        sku VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        location_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
        from_day INT NOT NULL,
        to_day INT NOT NULL,
        note VARCHAR(500) NULL,
        created_by VARCHAR(200) NULL,
        created_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id),
        KEY ix_anomaly_announcements_to (to_day, sku)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    // sku and location_id for the ledger kinds, channel_id for the trends.
    await q.query(`
      CREATE TABLE anomaly_feedback (
        id BIGINT NOT NULL AUTO_INCREMENT,
        kind VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        sku VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
        location_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
        channel_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
        score DOUBLE NOT NULL,
        day INT NOT NULL,
        created_by VARCHAR(200) NULL,
        note VARCHAR(2000) NULL,
        created_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id),
        KEY ix_anomaly_feedback_day (day)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE anomaly_feedback');
    await q.query('DROP TABLE anomaly_announcements');
    await q.query('DROP TABLE problem_daily');
    await q.query('DROP TABLE ledger_applied_events');
    await q.query('DROP TABLE ledger_daily');
  }
}
