import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The order lifecycle: what placing an order needs to be retried safely (request fingerprint,
 * reservation, its time to live), why an order was rejected, and the lifecycle steps (shipments,
 * cancellation, returns) under their idempotency keys.
 */
export class OrderLifecycle1732000005000 implements MigrationInterface {
  name = 'OrderLifecycle1732000005000';

  async up(q: QueryRunner): Promise<void> {
    // Idempotency keys are opaque: "abc" and "ABC" are two keys, as they are in inventory.
    // ix_orders_unheld finds confirmed orders whose reservation inventory has not made permanent yet.
    await q.query(`
      ALTER TABLE orders
        MODIFY idempotency_key VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
        ADD COLUMN request_hash CHAR(64) NULL AFTER idempotency_key,
        ADD COLUMN reservation_id CHAR(36) NULL AFTER pickup_location_id,
        ADD COLUMN reservation_ttl_seconds INT NULL AFTER reservation_id,
        ADD COLUMN reservation_held_at DATETIME(3) NULL AFTER reservation_ttl_seconds,
        ADD COLUMN rejection TEXT NULL AFTER reservation_held_at,
        ADD KEY ix_orders_unheld (status, reservation_held_at, updated_at),
        ADD CONSTRAINT ck_orders_rejection CHECK (rejection IS NULL OR JSON_VALID(rejection))`);
    await q.query(`
      ALTER TABLE order_status_history
        ADD COLUMN operation_id CHAR(36) NULL AFTER reason,
        ADD KEY ix_order_status_history_operation (operation_id)`);
    // One row per step and key; UNIQUE (order_id, idempotency_key) makes a retry find the first.
    await q.query(`
      CREATE TABLE order_operations (
        id CHAR(36) NOT NULL,
        order_id CHAR(36) NOT NULL,
        idempotency_key VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
        kind VARCHAR(16) NOT NULL,
        request_hash CHAR(64) NOT NULL,
        payload TEXT NOT NULL,
        state VARCHAR(16) NOT NULL,
        actor VARCHAR(128) NULL,
        attempts INT NOT NULL DEFAULT 0,
        last_error VARCHAR(500) NULL,
        created_at DATETIME(3) NOT NULL,
        completed_at DATETIME(3) NULL,
        PRIMARY KEY (id),
        UNIQUE KEY ux_order_operations_key (order_id, idempotency_key),
        KEY ix_order_operations_state (state, created_at),
        CONSTRAINT fk_order_operations_order FOREIGN KEY (order_id) REFERENCES orders (id),
        CONSTRAINT ck_order_operations_payload CHECK (JSON_VALID(payload))
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE order_operations');
    await q.query('ALTER TABLE order_status_history DROP KEY ix_order_status_history_operation, DROP COLUMN operation_id');
    await q.query(`
      ALTER TABLE orders
        DROP CONSTRAINT ck_orders_rejection,
        DROP KEY ix_orders_unheld,
        DROP COLUMN rejection, DROP COLUMN reservation_held_at, DROP COLUMN reservation_ttl_seconds,
        DROP COLUMN reservation_id, DROP COLUMN request_hash,
        MODIFY idempotency_key VARCHAR(128) NULL`);
  }
}
