import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What a connection's channel is pushed (domain/listing-rules.ts Catalogue): EVERY_SKU, each under
 * its listing's marketplace SKU or else ours, or LISTED, its listed SKUs only.
 */
export class Catalogue1739000002000 implements MigrationInterface {
  name = 'Catalogue1739000002000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE marketplace_connections ADD COLUMN catalogue VARCHAR(16) NOT NULL DEFAULT 'EVERY_SKU'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE marketplace_connections DROP COLUMN catalogue');
  }
}
