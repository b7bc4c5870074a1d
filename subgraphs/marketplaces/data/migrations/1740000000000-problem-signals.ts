import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The problems marketplace sync raised and has not cleared (domain/problem-rules.ts), one row per
 * (kind, subject): written in the transaction that appends the problem event, so a problem is raised
 * and cleared once whatever process sees it, across restarts. Subjects hold marketplace SKUs, which
 * differ by case: binary collation.
 *
 * Also: an index that finds a channel's oldest change waiting for a push without reading every
 * waiting SKU (the sync lag check), and the channel replica's buffer (an oversell's suggested buffer
 * must raise it, never lower it; NULL: not known, until the channel's next snapshot).
 */
export class ProblemSignals1740000000000 implements MigrationInterface {
  name = 'ProblemSignals1740000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE marketplace_problems (
        kind VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        subject VARCHAR(200) NOT NULL,
        channel_id CHAR(36) NOT NULL,
        cause VARCHAR(100) NOT NULL,
        units INT NULL,
        measure DOUBLE NULL,
        evidence TEXT NOT NULL,
        raised_at DATETIME(3) NOT NULL,
        updated_at DATETIME(3) NOT NULL,
        PRIMARY KEY (kind, subject),
        KEY ix_marketplace_problems_channel (channel_id, kind)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
    await q.query('ALTER TABLE marketplace_sync_state ADD KEY ix_marketplace_sync_pending_since (channel_id, pending, pending_since)');
    await q.query('ALTER TABLE marketplace_channels ADD COLUMN buffer VARCHAR(100) NULL');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE marketplace_channels DROP COLUMN buffer');
    await q.query('ALTER TABLE marketplace_sync_state DROP KEY ix_marketplace_sync_pending_since');
    await q.query('DROP TABLE marketplace_problems');
  }
}
