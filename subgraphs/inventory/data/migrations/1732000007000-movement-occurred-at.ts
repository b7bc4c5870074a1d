import type { MigrationInterface, QueryRunner } from 'typeorm';

/** When a movement happened where it happened (a POS sale's time), as distinct from when it was recorded. */
export class MovementOccurredAt1732000007000 implements MigrationInterface {
  name = 'MovementOccurredAt1732000007000';

  async up(q: QueryRunner): Promise<void> {
    // A nullable column at the end: MariaDB adds it in place, without copying the ledger.
    await q.query('ALTER TABLE stock_movements ADD COLUMN occurred_at DATETIME(3) NULL');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE stock_movements DROP COLUMN occurred_at');
  }
}
