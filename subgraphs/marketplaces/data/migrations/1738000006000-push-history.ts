import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every quantity a marketplace accepted from us, kept a day: an oversold order's cause is judged on
 * what the marketplace had been told when the buyer ordered, not on what it was told since.
 */
export class PushHistory1738000006000 implements MigrationInterface {
  name = 'PushHistory1738000006000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE marketplace_push_history (
        channel_id CHAR(36) NOT NULL,
        sku VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        pushed_at DATETIME(3) NOT NULL,
        quantity INT NOT NULL,
        pending_since DATETIME(3) NULL,
        lag_ms INT NULL,
        PRIMARY KEY (channel_id, sku, pushed_at),
        KEY ix_push_history_pushed_at (pushed_at)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE marketplace_push_history');
  }
}
