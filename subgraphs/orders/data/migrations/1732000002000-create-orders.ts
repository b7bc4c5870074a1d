import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateOrders1732000002000 implements MigrationInterface {
  name = 'CreateOrders1732000002000';

  async up(q: QueryRunner): Promise<void> {
    // channel_id and pickup_location_id reference other subgraphs' databases: no foreign keys.
    // The idempotency key is NULL for orders imported without one; a UNIQUE index allows many NULLs.
    await q.query(`
      CREATE TABLE orders (
        id CHAR(36) NOT NULL,
        channel_id CHAR(36) NOT NULL,
        customer_reference VARCHAR(128) NULL,
        status VARCHAR(32) NOT NULL,
        fulfilment_method VARCHAR(16) NOT NULL,
        destination_region VARCHAR(100) NULL,
        pickup_location_id CHAR(36) NULL,
        idempotency_key VARCHAR(128) NULL,
        created_at DATETIME(3) NOT NULL,
        updated_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id),
        UNIQUE KEY ux_orders_idempotency_key (idempotency_key),
        KEY ix_orders_channel_created (channel_id, created_at),
        KEY ix_orders_status_created (status, created_at),
        KEY ix_orders_created (created_at),
        CONSTRAINT ck_orders_fulfilment CHECK (
          (fulfilment_method = 'SHIP' AND pickup_location_id IS NULL)
          OR (fulfilment_method = 'PICKUP' AND pickup_location_id IS NOT NULL))
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    // The CHECK is the last line of defence for the lifecycle's conditional updates: a line can never be
    // fulfilled or cancelled beyond its quantity, nor returned beyond what was fulfilled.
    await q.query(`
      CREATE TABLE order_lines (
        id CHAR(36) NOT NULL,
        order_id CHAR(36) NOT NULL,
        line_number INT NOT NULL,
        sku VARCHAR(64) NOT NULL,
        quantity INT NOT NULL,
        fulfilled_quantity INT NOT NULL DEFAULT 0,
        cancelled_quantity INT NOT NULL DEFAULT 0,
        returned_quantity INT NOT NULL DEFAULT 0,
        PRIMARY KEY (id),
        UNIQUE KEY ux_order_lines_number (order_id, line_number),
        KEY ix_order_lines_sku (sku),
        CONSTRAINT fk_order_lines_order FOREIGN KEY (order_id) REFERENCES orders (id),
        CONSTRAINT ck_order_lines_quantities CHECK (
          quantity > 0 AND fulfilled_quantity >= 0 AND cancelled_quantity >= 0 AND returned_quantity >= 0
          AND fulfilled_quantity + cancelled_quantity <= quantity AND returned_quantity <= fulfilled_quantity)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await q.query(`
      CREATE TABLE order_status_history (
        id BIGINT NOT NULL AUTO_INCREMENT,
        order_id CHAR(36) NOT NULL,
        status VARCHAR(32) NOT NULL,
        actor VARCHAR(128) NULL,
        reason VARCHAR(500) NULL,
        created_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id),
        KEY ix_order_status_history_order (order_id, id),
        CONSTRAINT fk_order_status_history_order FOREIGN KEY (order_id) REFERENCES orders (id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE order_status_history');
    await q.query('DROP TABLE order_lines');
    await q.query('DROP TABLE orders');
  }
}
