import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createOutboxTable } from '../../../../lib/outbox.js';

/**
 * The full ledger, reservations, transfers, the outbox, and inventory's replicas of the channel
 * rules and location states it needs at reservation time (fed by the channels and locations
 * subgraphs' events; see README "Data ownership").
 */
export class LedgerReservations1732000003000 implements MigrationInterface {
  name = 'LedgerReservations1732000003000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE stock_movements
        ADD COLUMN seq BIGINT UNSIGNED NOT NULL AUTO_INCREMENT UNIQUE FIRST,
        ADD COLUMN reason VARCHAR(32) NULL AFTER type,
        ADD COLUMN damaged_change INT NOT NULL DEFAULT 0 AFTER on_hand_after,
        ADD COLUMN incoming_change INT NOT NULL DEFAULT 0 AFTER damaged_change,
        ADD COLUMN version_after INT NOT NULL DEFAULT 0 AFTER incoming_change,
        ADD COLUMN actor VARCHAR(128) NULL,
        ADD COLUMN correlation_id VARCHAR(128) NULL,
        ADD COLUMN transfer_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,
        ADD COLUMN reservation_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,
        ADD COLUMN request_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
        ADD KEY ix_stock_movements_level_seq (sku, location_id, seq),
        ADD KEY ix_stock_movements_created (created_at, seq)`);
    await q.query(`
      CREATE TABLE transfers (
        id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        sku VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        from_location_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        to_location_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        quantity INT NOT NULL,
        received_quantity INT NOT NULL DEFAULT 0,
        status VARCHAR(16) NOT NULL,
        created_at DATETIME(3) NOT NULL,
        updated_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id),
        CONSTRAINT ck_transfers_received CHECK (received_quantity >= 0 AND received_quantity <= quantity)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await q.query(`
      CREATE TABLE reservations (
        id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        idempotency_key VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
        channel_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        reference VARCHAR(500) NULL,
        pickup_location_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,
        status VARCHAR(16) NOT NULL,
        expires_at DATETIME(3) NULL,
        request_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        actor VARCHAR(128) NULL,
        created_at DATETIME(3) NOT NULL,
        updated_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id),
        UNIQUE KEY ux_reservations_idempotency_key (idempotency_key),
        KEY ix_reservations_expiry (status, expires_at)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    // expires_at is copied from the reservation so the level's expired-but-unreleased quantity is
    // one range read of ix_reservation_lines_level.
    await q.query(`
      CREATE TABLE reservation_lines (
        reservation_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        sku VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        location_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        quantity INT NOT NULL,
        committed_quantity INT NOT NULL DEFAULT 0,
        released_quantity INT NOT NULL DEFAULT 0,
        open TINYINT(1) NOT NULL DEFAULT 1,
        expires_at DATETIME(3) NULL,
        PRIMARY KEY (reservation_id, sku, location_id),
        KEY ix_reservation_lines_level (sku, location_id, open, expires_at),
        CONSTRAINT fk_reservation_lines_reservation FOREIGN KEY (reservation_id) REFERENCES reservations (id),
        CONSTRAINT ck_reservation_lines_quantities CHECK (
          quantity > 0 AND committed_quantity >= 0 AND released_quantity >= 0
          AND committed_quantity + released_quantity <= quantity)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await q.query(`
      CREATE TABLE replica_locations (
        location_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        status VARCHAR(16) NOT NULL,
        ships TINYINT(1) NOT NULL,
        pickup TINYINT(1) NOT NULL,
        version BIGINT NOT NULL,
        updated_at DATETIME(3) NOT NULL,
        PRIMARY KEY (location_id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await q.query(`
      CREATE TABLE replica_channels (
        channel_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        status VARCHAR(16) NOT NULL,
        buffer_kind VARCHAR(16) NULL,
        buffer_value INT NULL,
        cap INT NULL,
        allow_split_shipments TINYINT(1) NOT NULL,
        version BIGINT NOT NULL,
        updated_at DATETIME(3) NOT NULL,
        PRIMARY KEY (channel_id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await q.query(`
      CREATE TABLE replica_channel_sources (
        channel_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        location_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        priority INT NOT NULL,
        PRIMARY KEY (channel_id, location_id),
        CONSTRAINT fk_replica_sources_channel FOREIGN KEY (channel_id) REFERENCES replica_channels (channel_id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await createOutboxTable(q);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['outbox_events', 'replica_channel_sources', 'replica_channels', 'replica_locations', 'reservation_lines', 'reservations', 'transfers']) {
      await q.query(`DROP TABLE ${t}`);
    }
    await q.query(`
      ALTER TABLE stock_movements
        DROP KEY ix_stock_movements_level_seq, DROP KEY ix_stock_movements_created,
        DROP COLUMN seq, DROP COLUMN reason, DROP COLUMN damaged_change, DROP COLUMN incoming_change,
        DROP COLUMN version_after, DROP COLUMN actor, DROP COLUMN correlation_id, DROP COLUMN transfer_id,
        DROP COLUMN reservation_id, DROP COLUMN request_hash`);
  }
}
