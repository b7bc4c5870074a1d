import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Marketplace SKUs a channel no longer lists, each to be pushed 0 once (then forgotten). */
export class RetiredSkus1738000008000 implements MigrationInterface {
  name = 'RetiredSkus1738000008000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE marketplace_retired_skus (
        channel_id CHAR(36) NOT NULL,
        marketplace_sku VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
        sku VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        retired_at DATETIME(3) NOT NULL,
        PRIMARY KEY (channel_id, marketplace_sku)
      ) ENGINE=InnoDB`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE marketplace_retired_skus');
  }
}
