import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Idempotency keys of reservations are scoped to the client that sends them: another client's key
 * is neither a conflict nor a replay of its reservation. `key_owner` is the actor, or '' without one.
 */
export class ReservationKeyOwner1732000006000 implements MigrationInterface {
  name = 'ReservationKeyOwner1732000006000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE reservations ADD COLUMN key_owner VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '' AFTER idempotency_key`);
    await q.query(`UPDATE reservations SET key_owner = COALESCE(actor, '')`);
    await q.query('ALTER TABLE reservations DROP INDEX ux_reservations_idempotency_key, ADD UNIQUE KEY ux_reservations_owner_key (key_owner, idempotency_key)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE reservations DROP INDEX ux_reservations_owner_key, ADD UNIQUE KEY ux_reservations_idempotency_key (idempotency_key), DROP COLUMN key_owner');
  }
}
