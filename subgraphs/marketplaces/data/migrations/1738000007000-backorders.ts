import type { MigrationInterface, QueryRunner } from 'typeorm';

/** A backordered marketplace order counts the placements stock refused, each under a key of its own. */
export class Backorders1738000007000 implements MigrationInterface {
  name = 'Backorders1738000007000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE marketplace_orders ADD COLUMN backorder_attempts INT NOT NULL DEFAULT 0');
    await q.query('CREATE INDEX ix_marketplace_orders_resolution ON marketplace_orders (channel_id, resolution, received_at)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX ix_marketplace_orders_resolution ON marketplace_orders');
    await q.query('ALTER TABLE marketplace_orders DROP COLUMN backorder_attempts');
  }
}
