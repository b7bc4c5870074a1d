import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A marketplace connection's health as the jobs process last found it: why its pushes cannot go
 * out (its secret missing or unreadable) and since when; all null while it is healthy. Kept with the
 * connection so the subgraph and the CLI report it without reading the secrets themselves.
 */
export class MarketplaceConnectionProblem1732000004000 implements MigrationInterface {
  name = 'MarketplaceConnectionProblem1732000004000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE marketplace_connections
        ADD COLUMN problem_code VARCHAR(32) NULL,
        ADD COLUMN problem_message VARCHAR(500) NULL,
        ADD COLUMN problem_since DATETIME(3) NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE marketplace_connections DROP COLUMN problem_code, DROP COLUMN problem_message, DROP COLUMN problem_since`);
  }
}
