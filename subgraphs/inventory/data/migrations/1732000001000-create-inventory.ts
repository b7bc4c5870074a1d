import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * SKUs and location ids are ASCII with binary collation: SKUs are case-sensitive identifiers and
 * location ids are stored lower-case, so SQL equality matches JavaScript equality (loaders map rows
 * back to keys by string) and the keys stay narrow in every index. Idempotency keys compare exactly.
 */
export class CreateInventory1732000001000 implements MigrationInterface {
  name = 'CreateInventory1732000001000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE inventory_items (
        sku VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        name VARCHAR(200) NOT NULL,
        description VARCHAR(2000) NULL,
        barcode VARCHAR(14) CHARACTER SET ascii COLLATE ascii_bin NULL,
        status VARCHAR(16) NOT NULL DEFAULT 'ACTIVE',
        created_at DATETIME(3) NOT NULL,
        updated_at DATETIME(3) NOT NULL,
        PRIMARY KEY (sku)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await q.query(`
      CREATE TABLE stock_levels (
        sku VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        location_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        on_hand INT NOT NULL DEFAULT 0,
        reserved INT NOT NULL DEFAULT 0,
        safety_stock INT NOT NULL DEFAULT 0,
        incoming INT NOT NULL DEFAULT 0,
        damaged INT NOT NULL DEFAULT 0,
        quality_control INT NOT NULL DEFAULT 0,
        version INT NOT NULL DEFAULT 0,
        updated_at DATETIME(3) NOT NULL,
        PRIMARY KEY (sku, location_id),
        KEY ix_stock_levels_location (location_id, sku),
        CONSTRAINT fk_stock_levels_item FOREIGN KEY (sku) REFERENCES inventory_items (sku),
        CONSTRAINT ck_stock_levels_non_negative CHECK (
          on_hand >= 0 AND reserved >= 0 AND safety_stock >= 0
          AND incoming >= 0 AND damaged >= 0 AND quality_control >= 0)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    // type is a VARCHAR, not an ENUM, so new movement types need no DDL.
    await q.query(`
      CREATE TABLE stock_movements (
        id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        idempotency_key VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
        sku VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        location_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        type VARCHAR(32) NOT NULL,
        quantity INT NOT NULL,
        reference VARCHAR(500) NULL,
        on_hand_before INT NOT NULL,
        on_hand_after INT NOT NULL,
        created_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id),
        UNIQUE KEY ux_stock_movements_idempotency_key (idempotency_key),
        KEY ix_stock_movements_level (sku, location_id, created_at),
        CONSTRAINT fk_stock_movements_item FOREIGN KEY (sku) REFERENCES inventory_items (sku)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE stock_movements');
    await q.query('DROP TABLE stock_levels');
    await q.query('DROP TABLE inventory_items');
  }
}
