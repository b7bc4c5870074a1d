import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What an order's reservation is for (contracts/inventory-client.ts Sourcing): a live
 * buyer, or a sale the channel already made (marketplace intake). Kept so every retry and the
 * sweeper reserve the order the same way.
 */
export class OrderSourcing1739000000000 implements MigrationInterface {
  name = 'OrderSourcing1739000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE orders ADD COLUMN sourcing VARCHAR(24) NOT NULL DEFAULT 'LIVE' AFTER pickup_location_id`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE orders DROP COLUMN sourcing');
  }
}
