import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Listings: per (channel, SKU) the marketplace's SKU and listing id, and the rule of what the channel is shown. */
export class Listings1738000001000 implements MigrationInterface {
  name = 'Listings1738000001000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE marketplace_listings (
        channel_id CHAR(36) NOT NULL,
        sku VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        marketplace_sku VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
        listing_id VARCHAR(128) NULL,
        max_shown INT NULL,
        share DECIMAL(5,4) NULL,
        show_zero_below INT NULL,
        updated_at DATETIME(3) NOT NULL,
        PRIMARY KEY (channel_id, sku),
        UNIQUE KEY ux_marketplace_listings_marketplace_sku (channel_id, marketplace_sku)
      ) ENGINE=InnoDB`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE marketplace_listings');
  }
}
