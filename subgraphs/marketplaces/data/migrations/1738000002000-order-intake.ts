import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Order intake: every marketplace order taken in (and how), and where each channel's polling resumes. */
export class OrderIntake1738000002000 implements MigrationInterface {
  name = 'OrderIntake1738000002000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE marketplace_orders (
        channel_id CHAR(36) NOT NULL,
        marketplace_order_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        status VARCHAR(16) NOT NULL,
        marketplace_status VARCHAR(16) NOT NULL,
        order_id CHAR(36) NULL,
        \`lines\` TEXT NOT NULL,
        placed_at DATETIME(3) NOT NULL,
        marketplace_updated_at DATETIME(3) NOT NULL,
        received_at DATETIME(3) NOT NULL,
        updated_at DATETIME(3) NOT NULL,
        oversold_units INT NULL,
        cause VARCHAR(32) NULL,
        evidence TEXT NULL,
        message VARCHAR(1000) NULL,
        PRIMARY KEY (channel_id, marketplace_order_id),
        KEY ix_marketplace_orders_status (channel_id, status, received_at)
      ) ENGINE=InnoDB`);
    await q.query(`
      CREATE TABLE marketplace_intake_cursors (
        channel_id CHAR(36) NOT NULL PRIMARY KEY,
        cursor_value VARCHAR(2000) NOT NULL,
        polled_at DATETIME(3) NOT NULL
      ) ENGINE=InnoDB`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE marketplace_intake_cursors');
    await q.query('DROP TABLE marketplace_orders');
  }
}
