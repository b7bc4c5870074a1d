import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Idempotency keys of reservations are scoped to whoever sends them (reservation-rules.ts
 * keyOwnerOf): another client's key is neither a conflict nor a replay of its reservation. Existing
 * rows: the orders service's (its key is the order id, which is also the reference) become
 * `service:orders`, so an order in flight across the upgrade is replayed, not reserved twice; the
 * others their actor's.
 */
export class ReservationKeyOwner1732000006000 implements MigrationInterface {
  name = 'ReservationKeyOwner1732000006000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE reservations ADD COLUMN key_owner VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '' AFTER idempotency_key`);
    await q.query(`UPDATE reservations SET key_owner = IF(reference = idempotency_key, 'service:orders', COALESCE(actor, ''))`);
    await q.query('ALTER TABLE reservations DROP INDEX ux_reservations_idempotency_key, ADD UNIQUE KEY ux_reservations_owner_key (key_owner, idempotency_key)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE reservations DROP INDEX ux_reservations_owner_key, ADD UNIQUE KEY ux_reservations_idempotency_key (idempotency_key), DROP COLUMN key_owner');
  }
}
