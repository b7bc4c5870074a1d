import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * When an order was raised as a STUCK_ORDER problem (null: it is not raised), so the sweeper raises
 * it once, and the transaction that settles it knows to clear it.
 */
export class OrderStuck1740000001000 implements MigrationInterface {
  name = 'OrderStuck1740000001000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE orders ADD COLUMN stuck_raised_at DATETIME(3) NULL AFTER rejection');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE orders DROP COLUMN stuck_raised_at');
  }
}
