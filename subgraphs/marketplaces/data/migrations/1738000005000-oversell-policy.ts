import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Per connection, what happens to an oversold marketplace order; per order, what was done. */
export class OversellPolicy1738000005000 implements MigrationInterface {
  name = 'OversellPolicy1738000005000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE marketplace_connections ADD COLUMN oversell_policy VARCHAR(16) NOT NULL DEFAULT 'RECORD'`);
    await q.query('ALTER TABLE marketplace_orders ADD COLUMN resolution VARCHAR(32) NULL');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE marketplace_orders DROP COLUMN resolution');
    await q.query('ALTER TABLE marketplace_connections DROP COLUMN oversell_policy');
  }
}
