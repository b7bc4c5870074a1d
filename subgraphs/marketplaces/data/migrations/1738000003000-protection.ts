import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Per connection: whether the channel is shown less of a SKU that sells faster than the channel hears of it (protective available-to-sell). */
export class Protection1738000003000 implements MigrationInterface {
  name = 'Protection1738000003000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE marketplace_connections ADD COLUMN protection VARCHAR(16) NOT NULL DEFAULT 'OFF'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE marketplace_connections DROP COLUMN protection');
  }
}
