import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Location codes in the replica, so refusals name a location as people know it (DC-DAV), not only by
 * id. Null until the location's next snapshot arrives (`npm run resync` sends every one).
 */
export class ReplicaLocationCode1732000005000 implements MigrationInterface {
  name = 'ReplicaLocationCode1732000005000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE replica_locations ADD COLUMN code VARCHAR(64) NULL AFTER location_id');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE replica_locations DROP COLUMN code');
  }
}
